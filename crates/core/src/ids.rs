//! Newtypes for identifiers and instants. Raw strings and integers never cross a crate
//! boundary: a `SessionId` cannot be passed where a `PartyId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// Milliseconds since the Unix epoch (UTC). The core never reads a clock: every input
/// carries the `now` the shell read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// `self + ms`, saturating.
    pub fn plus_ms(self, ms: u64) -> UnixMillis {
        UnixMillis(self.0.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX)))
    }
    /// Whole seconds from `earlier` to `self` (never negative): the Genesys `timeShift`.
    pub fn secs_since(self, earlier: UnixMillis) -> u64 {
        u64::try_from((self.0 - earlier.0).max(0) / 1000).unwrap_or(0)
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Position of an event in one session's transcript. Strictly increasing per session,
/// never reused (not even after a restoration), with gaps where an event was transient.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EventId(pub u64);

impl EventId {
    /// The id after this one.
    pub fn next(self) -> EventId {
        EventId(self.0 + 1)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for EventId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<u64>()
            .map(EventId)
            .map_err(|_| CoreError::InvalidField {
                field: "eventId",
                reason: "not a non-negative integer",
            })
    }
}

/// Checks the shape shared by the textual ids: 1..=64 ASCII letters, digits, or bytes of
/// `extra` (`-` and `_` for the session-level ids).
pub(crate) fn check_token(field: &'static str, s: &str, extra: &[u8]) -> Result<(), CoreError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CoreError::InvalidField {
            field,
            reason: if extra == b"-_" {
                "must be 1 to 64 letters, digits, '-' or '_'"
            } else {
                "must be 1 to 64 letters, digits or allowed punctuation"
            },
        })
    }
}

/// A textual id newtype: validated on parse and on deserialize, `Display`, serde as a
/// string. `$extra` is the punctuation allowed besides letters and digits.
macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $crate::ids::token_id!($(#[$doc])* $name, $field, b"-_");
    };
    ($(#[$doc:meta])* $name:ident, $field:literal, $extra:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::ids::check_token($field, s, $extra)?;
                Ok($name(s.to_owned()))
            }
        }
        impl TryFrom<String> for $name {
            type Error = CoreError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $crate::ids::check_token($field, &s, $extra)?;
                Ok($name(s))
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

pub(crate) use token_id;

token_id!(
    /// A chat session, which is also the id of its interaction (as in Genesys).
    SessionId,
    "sessionId"
);
token_id!(
    /// A user (Genesys `userId`): one registered connection or flex login. The same user
    /// keeps its id in every session it joins and across reconnects.
    PartyId,
    "userId"
);
token_id!(
    /// A sender-chosen id on a message or notice, so a retry after a lost reply is
    /// recognised and not stored twice.
    ClientMsgId,
    "clientMessageId"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_reject_bad_shapes() {
        assert!("abc-_09".parse::<SessionId>().is_ok());
        assert!("".parse::<SessionId>().is_err());
        assert!("a b".parse::<PartyId>().is_err());
        assert!("x".repeat(65).parse::<ClientMsgId>().is_err());
        assert!(serde_json::from_str::<SessionId>("\"../etc\"").is_err());
    }

    #[test]
    fn time_shift_is_whole_seconds_and_never_negative() {
        assert_eq!(UnixMillis(5_999).secs_since(UnixMillis(1_000)), 4);
        assert_eq!(UnixMillis(0).secs_since(UnixMillis(1_000)), 0);
    }
}
