//! Newtypes for the router's identifiers, in the pattern of `crate::ids`: an `AgentId`
//! cannot be passed where a `QueueName` (or a `PartyId`) is expected. Interactions are
//! identified by the chat's `SessionId` (the same value, as in Genesys).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// Checks 1..=64 ASCII letters or digits, or one of `extra`.
fn check(field: &'static str, s: &str, extra: &[u8]) -> Result<(), CoreError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CoreError::InvalidField {
            field,
            reason: "must be 1 to 64 letters, digits or allowed punctuation",
        })
    }
}

macro_rules! routing_id {
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
                check($field, s, $extra)?;
                Ok($name(s.to_owned()))
            }
        }
        impl TryFrom<String> for $name {
            type Error = CoreError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                check($field, &s, $extra)?;
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

routing_id!(
    /// An agent or supervisor login (Genesys employee id): letters, digits, `-`, `_`,
    /// `.` or `@`.
    AgentId,
    "agentId",
    b"-_.@"
);
routing_id!(
    /// A routing queue, as named in the configuration: letters, digits, `-`, `_` or `.`.
    QueueName,
    "queue",
    b"-_."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_ids_reject_bad_shapes() {
        assert!("jane.doe@acme".parse::<AgentId>().is_ok());
        assert!("sales.chat-1".parse::<QueueName>().is_ok());
        assert!("".parse::<AgentId>().is_err());
        assert!("a@b".parse::<QueueName>().is_err());
        assert!("x".repeat(65).parse::<QueueName>().is_err());
        assert!(serde_json::from_str::<AgentId>("\"a b\"").is_err());
        assert_eq!(
            serde_json::to_string(&"q1".parse::<QueueName>().unwrap()).unwrap(),
            "\"q1\""
        );
    }
}
