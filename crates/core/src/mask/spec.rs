//! How a match is replaced: the `default-spec` option and a rule's own `spec`.
//!
//! Syntax (Parley's own; the seed names the choices but not a syntax):
//!
//! - `all`: every character of the match is replaced (separators and letters too);
//! - `digits`: only the digits of the match are replaced, so `4111-1111` becomes
//!   `****-****` and the shape of the data stays readable;
//! - `digits,keep-last=N`: as `digits`, but the last `N` digits of the match (0 to
//!   [`Spec::MAX_KEEP_LAST`]) stay as they are: `digits,keep-last=4` turns a card number into
//!   `****-****-****-1111`.
//!
//! Spaces around the comma and the `=` are allowed; names are lowercase. A "digit" is any
//! character Unicode calls numeric (`char::is_numeric`): every character `\d` matches and a
//! few more (such as `²`), so nothing a rule's `\d` found stays in clear.
//!
//! Every replaced character becomes one replacement character, so the masked text has as
//! many characters as the original and positions stay valid across rules.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a match is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spec {
    /// Every character of the match.
    All,
    /// The digits of the match, except the last `keep_last` of them.
    Digits {
        /// Digits at the end of the match that stay in clear.
        keep_last: u8,
    },
}

/// What a hit replaced, as the `replaced` of `GCTI_SYSTEM/pii-cleanup` positions says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replaced {
    /// Every character (`all`).
    All,
    /// Digits only (`digits`), whether or not some were kept.
    Digits,
}

impl Replaced {
    /// `all` or `digits`.
    pub fn as_str(self) -> &'static str {
        match self {
            Replaced::All => "all",
            Replaced::Digits => "digits",
        }
    }
}

impl fmt::Display for Replaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A spec that does not parse; the message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a masking spec: use \"all\", \"digits\" or \"digits,keep-last=N\" (N from 0 to 32)")]
pub struct SpecError(pub String);

impl Spec {
    /// The most digits `keep-last` may keep: more would leave a whole card number in clear.
    pub const MAX_KEEP_LAST: u8 = 32;

    /// Only digits, none kept (Parley's `default-spec`).
    pub const DIGITS: Spec = Spec::Digits { keep_last: 0 };

    /// What a hit made with this spec reports as `replaced`.
    pub fn replaced(self) -> Replaced {
        match self {
            Spec::All => Replaced::All,
            Spec::Digits { .. } => Replaced::Digits,
        }
    }

    /// Appends `span` to `out` with the characters this spec replaces turned into
    /// `repchar`. Appends exactly as many characters as `span` has.
    pub fn apply(self, span: &str, repchar: char, out: &mut String) {
        match self {
            Spec::All => out.extend(span.chars().map(|_| repchar)),
            Spec::Digits { keep_last } => {
                let digits = span.chars().filter(|c| c.is_numeric()).count();
                let mut to_mask = digits.saturating_sub(usize::from(keep_last));
                for c in span.chars() {
                    if c.is_numeric() && to_mask > 0 {
                        out.push(repchar);
                        to_mask -= 1;
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }
}

impl Default for Spec {
    fn default() -> Spec {
        Spec::DIGITS
    }
}

impl FromStr for Spec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Spec, SpecError> {
        let err = || SpecError(s.to_owned());
        let mut parts = s.split(',').map(str::trim);
        let spec = match parts.next() {
            Some("all") => Spec::All,
            Some("digits") => Spec::DIGITS,
            _ => return Err(err()),
        };
        let spec = match (spec, parts.next()) {
            (spec, None) => spec,
            (Spec::Digits { .. }, Some(option)) => {
                let (name, value) = option.split_once('=').ok_or_else(err)?;
                if name.trim() != "keep-last" {
                    return Err(err());
                }
                let value = value.trim();
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err());
                }
                match value.parse::<u8>() {
                    Ok(keep_last) if keep_last <= Spec::MAX_KEEP_LAST => Spec::Digits { keep_last },
                    _ => return Err(err()),
                }
            }
            (Spec::All, Some(_)) => return Err(err()),
        };
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(spec)
    }
}

impl fmt::Display for Spec {
    /// The canonical form: `all`, `digits`, `digits,keep-last=4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::All => f.write_str("all"),
            Spec::Digits { keep_last: 0 } => f.write_str("digits"),
            Spec::Digits { keep_last } => write!(f, "digits,keep-last={keep_last}"),
        }
    }
}

impl Serialize for Spec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Spec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Spec, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
