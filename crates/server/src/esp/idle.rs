//! `IdleControlConfigure`: a session's overrides of `[inactivity-control]` (reference
//! §2.7). Every parameter is optional but at least one must be given; a parameter the
//! method does not define is refused, since a misspelt timeout would otherwise be
//! silently ignored.
//!
//! A valid request changes the session's settings and resets its running timer (the
//! core's `Input::IdleControl`, which announces the new expiry with `IDLE_CONTROL_SET`);
//! the merged overrides are also kept on the interaction (property `IdleControl`, a JSON
//! object) for workflows and reports to read.

use std::collections::BTreeMap;

use parley_core::session::{IdleOverride, IncludeNotices, MAX_IDLE_TIMEOUT_S};
use serde_json::{Map, Value};

use super::error::{EspCode, EspError};
use super::params::{bounded_text, optional, Bounds};

/// `reset-parameters`: start again from the application's configuration.
pub(crate) const RESET_PARAMETERS: &str = "reset-parameters";

/// Longest timeout, in seconds (the options' range ends at one day).
const MAX_TIMEOUT_S: u64 = MAX_IDLE_TIMEOUT_S;

/// The values `include-notices` takes.
const INCLUDE_NOTICES: &[&str] = &["none", "major", "major2", "typing", "all"];

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `true` / `false`.
    Bool,
    /// One of [`INCLUDE_NOTICES`].
    IncludeNotices,
    /// A text bounded by `max-message-size`; empty means "no message".
    Text,
    /// Whole seconds from `min` to [`MAX_TIMEOUT_S`].
    Seconds { min: u64 },
}

/// The settings `IdleControlConfigure` changes, with their kinds (seed table).
const SETTINGS: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("include-notices", Kind::IncludeNotices),
    ("message-alert", Kind::Text),
    ("message-alert2", Kind::Text),
    ("message-close", Kind::Text),
    ("timeout-alert", Kind::Seconds { min: 1 }),
    ("timeout-alert2", Kind::Seconds { min: 0 }),
    ("timeout-close", Kind::Seconds { min: 1 }),
];

/// A validated `IdleControlConfigure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdleControl {
    /// `reset-parameters=true`: earlier overrides are dropped before `set` applies.
    pub(crate) reset: bool,
    /// The settings given, typed (`"timeout-alert": 30`, `"enabled": true`).
    pub(crate) set: Map<String, Value>,
}

impl IdleControl {
    /// The change for the session's core.
    pub(crate) fn to_override(&self) -> IdleOverride {
        let text = |k: &str| self.set.get(k).and_then(Value::as_str).map(str::to_owned);
        let secs = |k: &str| self.set.get(k).and_then(Value::as_u64);
        IdleOverride {
            reset: self.reset,
            enabled: self.set.get("enabled").and_then(Value::as_bool),
            include_notices: self
                .set
                .get("include-notices")
                .and_then(Value::as_str)
                .and_then(IncludeNotices::parse),
            timeout_alert_s: secs("timeout-alert"),
            timeout_alert2_s: secs("timeout-alert2"),
            timeout_close_s: secs("timeout-close"),
            message_alert: text("message-alert"),
            message_alert2: text("message-alert2"),
            message_close: text("message-close"),
        }
    }

    /// The session's overrides after this request, from the stored ones (the JSON of the
    /// `IdleControl` property, if any): the previous overrides unless `reset`, with the
    /// settings of this request on top. Settings absent from the result follow the
    /// application's `[inactivity-control]`.
    pub(crate) fn apply(&self, previous: Option<&str>) -> Map<String, Value> {
        let mut out = if self.reset {
            Map::new()
        } else {
            previous
                .and_then(|p| serde_json::from_str::<Map<String, Value>>(p).ok())
                .unwrap_or_default()
        };
        for (k, v) in &self.set {
            out.insert(k.clone(), v.clone());
        }
        out
    }
}

/// Validates the parameters of an `IdleControlConfigure`.
pub(crate) fn parse(
    params: &BTreeMap<String, String>,
    bounds: Bounds,
) -> Result<IdleControl, EspError> {
    if let Some(unknown) = params
        .keys()
        .find(|k| k.as_str() != RESET_PARAMETERS && !SETTINGS.iter().any(|(n, _)| n == k))
    {
        return Err(EspError::param(
            EspCode::UnknownParameter,
            unknown,
            "IdleControlConfigure takes reset-parameters, enabled, include-notices, \
             message-alert, message-alert2, message-close, timeout-alert, timeout-alert2 \
             and timeout-close",
        ));
    }
    let reset = match optional(params, RESET_PARAMETERS) {
        Some(v) => boolean(RESET_PARAMETERS, v)?,
        None => false,
    };
    let mut set = Map::new();
    for &(name, kind) in SETTINGS {
        let value = match kind {
            // An empty message is a value: "send no message".
            Kind::Text => params.get(name).map(String::as_str),
            _ => optional(params, name),
        };
        let Some(value) = value else { continue };
        let typed = match kind {
            Kind::Bool => Value::Bool(boolean(name, value)?),
            Kind::IncludeNotices => {
                if !INCLUDE_NOTICES.contains(&value) {
                    return Err(EspError::invalid(
                        name,
                        "must be none, major, major2, typing or all",
                    ));
                }
                Value::String(value.to_owned())
            }
            Kind::Text => {
                bounded_text(name, value, bounds)?;
                Value::String(value.to_owned())
            }
            Kind::Seconds { min } => Value::from(seconds(name, value, min)?),
        };
        set.insert(name.to_owned(), typed);
    }
    if set.is_empty() && optional(params, RESET_PARAMETERS).is_none() {
        return Err(EspError::new(
            EspCode::MissingParameter,
            "IdleControlConfigure needs at least one parameter",
        ));
    }
    Ok(IdleControl { reset, set })
}

/// `true` or `false` (any ASCII case).
fn boolean(name: &str, value: &str) -> Result<bool, EspError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(EspError::invalid(name, "must be true or false"))
    }
}

/// Whole seconds, digits only, from `min` to one day.
fn seconds(name: &str, value: &str, min: u64) -> Result<u64, EspError> {
    let why = format!("must be whole seconds from {min} to {MAX_TIMEOUT_S}");
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EspError::invalid(name, why));
    }
    match digits.parse::<u64>() {
        Ok(n) if (min..=MAX_TIMEOUT_S).contains(&n) => Ok(n),
        _ => Err(EspError::invalid(name, why)),
    }
}
