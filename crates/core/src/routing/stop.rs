//! `stop-abandoned-interaction` (reference §2.4): whether the interaction is stopped when
//! its chat session finishes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// The values of `stop-abandoned-interaction`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "String")]
pub enum StopAbandoned {
    /// Always stop.
    Always,
    /// Never stop (the default, and what Genesys recommends): the interaction stays
    /// with its agents until they mark it done, or in its queue (offline) until an agent
    /// takes it. Legacy `false`.
    #[default]
    Never,
    /// Stop only if no agent or supervisor is present when the chat ends.
    NoAgents,
    /// Stop only if no agent ever joined the chat. Legacy `true`.
    NoAnswer,
}

/// Whether the interaction is stopped when its chat finishes. `agents_present_now`:
/// an agent or supervisor (bots never count) is in the chat at its end;
/// `agent_ever_joined`: a visible agent took part at some point.
pub fn should_stop(
    policy: StopAbandoned,
    agents_present_now: bool,
    agent_ever_joined: bool,
) -> bool {
    match policy {
        StopAbandoned::Always => true,
        StopAbandoned::Never => false,
        StopAbandoned::NoAgents => !agents_present_now,
        StopAbandoned::NoAnswer => !agent_ever_joined,
    }
}

impl StopAbandoned {
    /// The option value as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            StopAbandoned::Always => "always",
            StopAbandoned::Never => "never",
            StopAbandoned::NoAgents => "noagents",
            StopAbandoned::NoAnswer => "noanswer",
        }
    }
}

impl fmt::Display for StopAbandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StopAbandoned {
    type Err = CoreError;
    /// Accepts the four values and the legacy `true` (= `noanswer`) and `false`
    /// (= `never`), ignoring case and surrounding blanks.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "always" => Ok(StopAbandoned::Always),
            "never" | "false" => Ok(StopAbandoned::Never),
            "noagents" => Ok(StopAbandoned::NoAgents),
            "noanswer" | "true" => Ok(StopAbandoned::NoAnswer),
            _ => Err(CoreError::InvalidField {
                field: "stop-abandoned-interaction",
                reason: "must be always, never, noagents or noanswer",
            }),
        }
    }
}

impl From<StopAbandoned> for String {
    fn from(p: StopAbandoned) -> String {
        p.as_str().to_owned()
    }
}

/// The configured value: a name or a legacy boolean.
#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Bool(bool),
    Text(String),
}

impl TryFrom<Repr> for StopAbandoned {
    type Error = CoreError;
    fn try_from(r: Repr) -> Result<Self, Self::Error> {
        match r {
            Repr::Bool(true) => Ok(StopAbandoned::NoAnswer),
            Repr::Bool(false) => Ok(StopAbandoned::Never),
            Repr::Text(s) => s.parse(),
        }
    }
}
