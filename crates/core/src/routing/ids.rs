//! Newtypes for the router's identifiers, in the pattern of `crate::ids`: an `AgentId`
//! cannot be passed where a `QueueName` (or a `PartyId`) is expected. Interactions are
//! identified by the chat's `SessionId` (the same value, as in Genesys).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

crate::ids::token_id!(
    /// An agent or supervisor login (Genesys employee id): letters, digits, `-`, `_`,
    /// `.` or `@`.
    AgentId,
    "agentId",
    b"-_.@"
);
crate::ids::token_id!(
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
