//! How a session ended, for reporting (`csg_SessionEndedBy`, `csg_SessionEndedReason`,
//! `csg_SessionEndedAgent`) and the interaction record.

use serde::{Deserialize, Serialize};

use crate::event::LeftReason;
use crate::ids::UnixMillis;
use crate::party::{Party, PartyStyle, PartyType};

/// Who ended the session (`csg_SessionEndedBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EndedBy {
    /// A customer left first.
    Client,
    /// An agent.
    Agent,
    /// A supervisor.
    Supervisor,
    /// A bot.
    Bot,
    /// The server.
    System,
}

impl EndedBy {
    /// The kind of actor a party is, for reporting.
    pub fn of(party: &Party) -> EndedBy {
        match (party.party_type, party.style) {
            (PartyType::Client, _) => EndedBy::Client,
            (_, PartyStyle::Bot) => EndedBy::Bot,
            (PartyType::Agent, _) => EndedBy::Agent,
            (PartyType::Supervisor, _) => EndedBy::Supervisor,
            (PartyType::External | PartyType::System, _) => EndedBy::System,
        }
    }
}

/// How the session was ended (`csg_SessionEndedReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EndedReason {
    /// The party left by disconnect or flex timeout.
    Disconnect,
    /// The party left normally (KeepAlive).
    Quit,
    /// The party asked to close (CloseIfNoAgents, ForceClose).
    Force,
    /// Closed by inactivity control.
    Inactive,
    /// Closed because the transcript could not be stored (`transcript-save-on-error=close`).
    DbError,
}

impl EndedReason {
    /// The reporting reason for a party leaving with `reason`.
    pub fn of_leave(reason: LeftReason) -> EndedReason {
        match reason {
            LeftReason::Quit | LeftReason::RemovedByParty | LeftReason::Restoration => {
                EndedReason::Quit
            }
            LeftReason::CloseIfNoAgents | LeftReason::ForceClose => EndedReason::Force,
            LeftReason::Disconnect | LeftReason::BadSecureKey | LeftReason::System => {
                EndedReason::Disconnect
            }
            LeftReason::Inactivity => EndedReason::Inactive,
        }
    }
}

/// Agent presence at the end (`csg_SessionEndedAgent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EndedAgent {
    /// No visible human agent ever joined: abandoned.
    Absent,
    /// A visible human agent was present at the close.
    Present,
    /// One took part but none was present at the close.
    Visited,
}

/// The end of a session, kept on its interaction record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndInfo {
    /// When the session closed.
    pub closed_at: UnixMillis,
    /// Who ended it.
    pub ended_by: EndedBy,
    /// How.
    pub reason: EndedReason,
    /// Agent presence.
    pub agent: EndedAgent,
}
