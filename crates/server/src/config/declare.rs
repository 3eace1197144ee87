//! The one declaration of every option: [`config_section!`].
//!
//! A section is written once, as a struct whose doc comment describes the section and
//! whose fields each carry their doc comment (the option's description) and one
//! `#[option(...)]` line:
//!
//! ```text
//! config_section! {
//!     /// Parley's own: the built-in routing strategy and agent sessions. ...
//!     #[section("routing")]
//!     #[derive(Debug, Clone, PartialEq, Eq)]
//!     pub struct Routing {
//!         /// Seconds a disconnected agent keeps its chats before they go back to their
//!         /// queues and the agent is set not ready. 0 = at once.
//!         #[option("agent-disconnect-timeout", Int(0..=3600, "seconds"), default = 60)]
//!         pub agent_disconnect_timeout_s: u64,
//!     }
//! }
//! ```
//!
//! `#[section(name)]` names a fixed section; `#[section(name, key = "login", example_key =
//! "anna")]` a keyed one (`[agents.<login>]`, shown in the example file as
//! `[agents.anna]`). `#[option(...)]` takes, in this order:
//!
//! - the TOML name;
//! - the [`Kind`] of value: `Int(min..=max)` or `Int(min..=max, "unit")`,
//!   `Choice("a", "b")`, `ChoiceOrBool(...)`, `IntChoice(0, 1)`, or a plain kind (`Bool`,
//!   `Str`, `Addr`, `Path`, `Url`, `StrList`, `UrlList`, `Secret`, `SecretList`);
//! - `default = <TOML value>` (written as it would be in the file: `60`, `"close"`,
//!   `["*"]`), `unset` (an `Option` field that is `None` by default; an `Int` one is
//!   range-checked when set) or
//!   `required = "what to set"`;
//! - optionally `example = <TOML value>`: what the example file shows instead of the
//!   default (commented out); every option without a default needs one;
//! - optionally `group = "heading"`: a heading the example file prints before the option.
//!
//! From that the macro generates the serde struct (`rename` = the TOML name,
//! `deny_unknown_fields`, missing options from the declared defaults), its doc comments
//! (ending in `default: ...`, STYLE.md convention 6), `Default` (unless an option is
//! required), and a [`DeclaredSection`] impl: the [`SectionSpec`] that the type check
//! (`check.rs`), the `PARLEY_` variables (`env.rs`) and the example file (`example.rs`)
//! read, and the integer range checks of [`DeclaredSection::range_problems`]. Rules that
//! involve more than one option stay hand-written in `validate.rs`.
//!
//! Defaults are TOML text, turned into the field's type by serde when a default is
//! needed ([`declared`]), so the value the example file shows is by construction the one
//! the code uses.

use serde::de::DeserializeOwned;

use super::schema::{Kind, SectionSpec};
use super::ConfigProblem;

/// What [`config_section!`] generates for each section besides the struct itself.
pub(super) trait DeclaredSection: Sized {
    /// The section's entry in the option table.
    const SPEC: SectionSpec;

    /// Every option at its declared default; a required option holds a placeholder
    /// (see [`required_placeholder`]).
    fn declared_defaults() -> Self;

    /// Each option's value when the option is an integer, else `None`, in declaration
    /// order (the order of `SPEC.options`).
    fn integers(&self) -> Vec<Option<u64>>;

    /// Pushes one problem per integer option outside its declared range, naming the
    /// table `label` (`settings`, `queues.sales`).
    fn range_problems(&self, label: &str, problems: &mut Vec<ConfigProblem>) {
        for (option, value) in Self::SPEC.options.iter().zip(self.integers()) {
            if let (Kind::Int(range), Some(value)) = (option.kind, value) {
                if !range.contains(value) {
                    problems.push(
                        ConfigProblem::new(label, option.name, range.describe()).with_value(value),
                    );
                }
            }
        }
    }
}

/// Serde's container default for every declared section (serde wants a function path).
pub(super) fn declared_defaults<T: DeclaredSection>() -> T {
    T::declared_defaults()
}

/// The declared default `toml` (a TOML value, as written in the declaration) as a `T`.
///
/// # Panics
///
/// If the declaration's default does not deserialize as its field's type; every default
/// is exercised by the tests.
pub(super) fn declared<T: DeserializeOwned>(toml: &str) -> T {
    T::deserialize(toml::de::ValueDeserializer::new(toml))
        .unwrap_or_else(|e| panic!("declared default {toml} does not deserialize: {e}"))
}

/// What a required option (such as `password-hash`) holds in
/// [`DeclaredSection::declared_defaults`]: the empty string. Serde fills a missing
/// option from there, but a loaded configuration never keeps it: the type check drops a
/// table that lacks a required option before serde runs, and `validate()` refuses an
/// empty value.
pub(super) fn required_placeholder<T: DeserializeOwned>() -> T {
    declared("\"\"")
}

/// An integer option's value, widened for the range check; `None` for an optional one
/// that is unset (`Option<u64>` declared `unset`), which has no range to be outside of.
pub(super) trait IntValue {
    fn int_value(&self) -> Option<u64>;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl IntValue for $t {
            fn int_value(&self) -> Option<u64> {
                Some(u64::try_from(*self).unwrap_or(u64::MAX))
            }
        }
        impl IntValue for Option<$t> {
            fn int_value(&self) -> Option<u64> {
                self.as_ref().and_then(IntValue::int_value)
            }
        }
    )*};
}

int_value!(u16, u32, u64, usize);

/// Declares one section; see the module documentation.
macro_rules! config_section {
    // The option's kind, as a `Kind`.
    (@kind Int($min:literal ..= $max:literal $(, $unit:literal)?)) => {
        $crate::config::schema::Kind::Int($crate::config::schema::Range {
            min: $min,
            max: $max,
            unit: $crate::config::declare::config_section!(@or_empty $($unit)?),
        })
    };
    (@kind $kind:ident($($value:literal),+ $(,)?)) => {
        $crate::config::schema::Kind::$kind(&[$($value),+])
    };
    (@kind $kind:ident) => {
        $crate::config::schema::Kind::$kind
    };
    (@or_empty) => { "" };
    (@or_empty $text:literal) => { $text };
    (@some) => { None };
    (@some $text:literal) => { Some($text) };
    (@some_toml) => { None };
    (@some_toml $toml:tt) => { Some(stringify!($toml)) };

    // The field's value in `declared_defaults`.
    (@value default $toml:tt) => { $crate::config::declare::declared(stringify!($toml)) };
    (@value unset) => { None };
    (@value required $what:literal) => { $crate::config::declare::required_placeholder() };

    // `OptionSpec::default` and `OptionSpec::required`.
    (@default default $toml:tt) => { Some(stringify!($toml)) };
    (@default $($other:tt)*) => { None };
    (@required required $what:literal) => { Some($what) };
    (@required $($other:tt)*) => { None };

    // The last line of the field's doc comment.
    (@doc default $toml:tt) => { concat!("default: `", stringify!($toml), "`") };
    (@doc unset) => { "default: unset" };
    (@doc required $what:literal) => { "default: none (required)" };

    // The value for the range check: only `Int` options have one.
    (@int $value:expr, Int $($range:tt)*) => {
        $crate::config::declare::IntValue::int_value(&$value)
    };
    (@int $value:expr, $($kind:tt)*) => { None };

    // `Default` for a section without required options (given every option's mode).
    (@impl_default $name:ident;) => {
        impl Default for $name {
            fn default() -> $name {
                <$name as $crate::config::declare::DeclaredSection>::declared_defaults()
            }
        }
    };
    (@impl_default $name:ident; required $($rest:ident)*) => {};
    (@impl_default $name:ident; $mode:ident $($rest:ident)*) => {
        $crate::config::declare::config_section!(@impl_default $name; $($rest)*);
    };

    (
        $(#[doc = $section_doc:literal])*
        #[section($section:literal $(, key = $key:literal, example_key = $example_key:literal)?)]
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                #[option(
                    $toml:literal,
                    $kind:ident $(($($kind_arg:tt)*))?,
                    $mode:ident $(= $value:tt)?
                    $(, example = $example:tt)?
                    $(, group = $group:literal)?
                    $(,)?
                )]
                pub $field:ident: $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[doc = $section_doc])*
        $(#[$meta])*
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields, default = "crate::config::declare::declared_defaults")]
        pub struct $name {
            $(
                #[doc = concat!("`", $toml, "`:")]
                $(#[doc = $doc])*
                #[doc = ""]
                #[doc = $crate::config::declare::config_section!(@doc $mode $($value)?)]
                #[serde(rename = $toml)]
                pub $field: $ty,
            )*
        }

        impl $crate::config::declare::DeclaredSection for $name {
            const SPEC: $crate::config::schema::SectionSpec = $crate::config::schema::SectionSpec {
                name: $section,
                key: $crate::config::declare::config_section!(@some $($key)?),
                example_key: $crate::config::declare::config_section!(@some $($example_key)?),
                description: concat!($($section_doc, "\n"),*),
                options: &[$(
                    $crate::config::schema::OptionSpec {
                        name: $toml,
                        kind: $crate::config::declare::config_section!(
                            @kind $kind $(($($kind_arg)*))?
                        ),
                        default: $crate::config::declare::config_section!(
                            @default $mode $($value)?
                        ),
                        required: $crate::config::declare::config_section!(
                            @required $mode $($value)?
                        ),
                        example: $crate::config::declare::config_section!(
                            @some_toml $($example)?
                        ),
                        group: $crate::config::declare::config_section!(@some $($group)?),
                        description: concat!($($doc, "\n"),*),
                    }
                ),*],
            };

            fn declared_defaults() -> $name {
                $name {
                    $($field: $crate::config::declare::config_section!(@value $mode $($value)?),)*
                }
            }

            fn integers(&self) -> Vec<Option<u64>> {
                vec![$(
                    $crate::config::declare::config_section!(
                        @int self.$field, $kind $(($($kind_arg)*))?
                    )
                ),*]
            }
        }

        $crate::config::declare::config_section!(@impl_default $name; $($mode)*);
    };
}

pub(super) use config_section;
