//! The messages of the routing bus between instances (docs/ha.md, "Cluster-wide
//! routing"), as JSON: inputs to the routing leader from the instance where they arise
//! ([`ToLeader`]), and the leader's outputs to the instance where they are carried out
//! ([`ToInstance`]). Router inputs and refusals have wire mirrors here, so the pure core
//! needs no serde.

use parley_core::routing::{AgentId, QueueName, RouteError, RouteInput};
use parley_core::{PartyId, SessionId, Visibility};
use serde::{Deserialize, Serialize};

use super::{AgentProfile, Submitted};
use crate::actor::SessionFact;

/// An input to the routing leader. `from` is the posting instance (where replies and
/// desktop frames go back).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub(crate) enum ToLeader {
    /// A new chat, created on `from`.
    Submit { chat: Box<Submitted> },
    /// A fact of a session `from` holds.
    Fact { fact: Box<SessionFact> },
    /// A desktop connected to `from` (or is announced again to a new leader, with the
    /// ready state it had): reply with its welcome.
    Connect {
        from: String,
        rid: u64,
        profile: Box<AgentProfile>,
        conn: u64,
        watching: bool,
        ready: bool,
    },
    /// A desktop connection on `from` closed.
    Disconnect { agent: AgentId, conn: u64 },
    /// A supervisor's desktop on `from` wants overviews.
    Watch { agent: AgentId, conn: u64 },
    /// A desktop request; `at` lets the leader drop one its asker stopped waiting for.
    Route {
        from: String,
        rid: u64,
        at: i64,
        input: WireInput,
    },
    /// Whether the agent was offered or holds the interaction.
    MayRead {
        from: String,
        rid: u64,
        agent: AgentId,
        interaction: SessionId,
    },
    /// How the agent may join the chat.
    JoinGrant {
        from: String,
        rid: u64,
        agent: AgentId,
        interaction: SessionId,
    },
    /// An agent created or changed through the admin API.
    Profile { profile: Box<AgentProfile> },
    /// An agent removed through the admin API.
    Removed { agent: AgentId },
}

/// An output of the leader to one instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub(crate) enum ToInstance {
    /// A frame for one of its desktops (the desktop protocol's JSON).
    Desk { conn: u64, frame: String },
    /// Close one of its desktops (logged out, too slow, replaced).
    Kick { conn: u64 },
    /// The answer to a request.
    Reply { rid: u64, reply: Reply },
    /// Something routing does to a session it holds, in order per session.
    Chat { interaction: SessionId, op: ChatOp },
}

/// An answer from the leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub(crate) enum Reply {
    /// A desktop's welcome (JSON).
    Welcome { frame: String },
    /// A desktop request applied (`None`) or refused (the refusal's name).
    Routed { refused: Option<String> },
    /// A yes or no.
    Bool { yes: bool },
    /// A join grant.
    Grant { visibility: Option<Visibility> },
}

/// What routing does to a chat's session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub(crate) enum ChatOp {
    /// Post a notice as the strategy's EXTERNAL party (`nickname`).
    Notice { nickname: String, text: String },
    /// Close the session (maximum wait).
    Close,
    /// Take an agent's party out (transfer done, re-queue, logout).
    Remove { party: PartyId },
}

/// The router inputs desktops make, as they cross the bus.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub(crate) enum WireInput {
    Ready {
        agent: AgentId,
    },
    NotReady {
        agent: AgentId,
        reason: String,
    },
    Logout {
        agent: AgentId,
    },
    Accept {
        agent: AgentId,
        interaction: SessionId,
    },
    Reject {
        agent: AgentId,
        interaction: SessionId,
    },
    ToAgent {
        from: AgentId,
        to: AgentId,
        interaction: SessionId,
    },
    ToQueue {
        from: AgentId,
        queue: QueueName,
        interaction: SessionId,
    },
    Conference {
        agent: AgentId,
        interaction: SessionId,
        invitee: AgentId,
    },
    MarkDone {
        agent: AgentId,
        interaction: SessionId,
    },
    Supervise {
        supervisor: AgentId,
        interaction: SessionId,
        visibility: Visibility,
    },
}

impl WireInput {
    /// The wire form of a desktop's input; `None` for inputs only the leader makes.
    pub(crate) fn of(input: RouteInput) -> Option<WireInput> {
        Some(match input {
            RouteInput::AgentReady { agent } => WireInput::Ready { agent },
            RouteInput::AgentNotReady { agent, reason } => WireInput::NotReady { agent, reason },
            RouteInput::AgentLogout { agent } => WireInput::Logout { agent },
            RouteInput::Accept { agent, interaction } => WireInput::Accept { agent, interaction },
            RouteInput::Reject { agent, interaction } => WireInput::Reject { agent, interaction },
            RouteInput::TransferToAgent {
                from,
                to,
                interaction,
            } => WireInput::ToAgent {
                from,
                to,
                interaction,
            },
            RouteInput::TransferToQueue {
                from,
                queue,
                interaction,
            } => WireInput::ToQueue {
                from,
                queue,
                interaction,
            },
            RouteInput::Conference {
                agent,
                interaction,
                invitee,
            } => WireInput::Conference {
                agent,
                interaction,
                invitee,
            },
            RouteInput::MarkDone { agent, interaction } => {
                WireInput::MarkDone { agent, interaction }
            }
            RouteInput::Supervise {
                supervisor,
                interaction,
                visibility,
            } => WireInput::Supervise {
                supervisor,
                interaction,
                visibility,
            },
            _ => return None,
        })
    }

    /// The router input.
    pub(crate) fn input(self) -> RouteInput {
        match self {
            WireInput::Ready { agent } => RouteInput::AgentReady { agent },
            WireInput::NotReady { agent, reason } => RouteInput::AgentNotReady { agent, reason },
            WireInput::Logout { agent } => RouteInput::AgentLogout { agent },
            WireInput::Accept { agent, interaction } => RouteInput::Accept { agent, interaction },
            WireInput::Reject { agent, interaction } => RouteInput::Reject { agent, interaction },
            WireInput::ToAgent {
                from,
                to,
                interaction,
            } => RouteInput::TransferToAgent {
                from,
                to,
                interaction,
            },
            WireInput::ToQueue {
                from,
                queue,
                interaction,
            } => RouteInput::TransferToQueue {
                from,
                queue,
                interaction,
            },
            WireInput::Conference {
                agent,
                interaction,
                invitee,
            } => RouteInput::Conference {
                agent,
                interaction,
                invitee,
            },
            WireInput::MarkDone { agent, interaction } => {
                RouteInput::MarkDone { agent, interaction }
            }
            WireInput::Supervise {
                supervisor,
                interaction,
                visibility,
            } => RouteInput::Supervise {
                supervisor,
                interaction,
                visibility,
            },
        }
    }
}

/// Every refusal with its wire name.
const REFUSALS: [(RouteError, &str); 13] = [
    (RouteError::NotLoggedIn, "not-logged-in"),
    (RouteError::UnknownQueue, "unknown-queue"),
    (RouteError::UnknownInteraction, "unknown-interaction"),
    (RouteError::AlreadySubmitted, "already-submitted"),
    (RouteError::InteractionOver, "interaction-over"),
    (RouteError::NoSuchOffer, "no-such-offer"),
    (RouteError::NotHandling, "not-handling"),
    (RouteError::AlreadyHandling, "already-handling"),
    (RouteError::OfferPending, "offer-pending"),
    (RouteError::AgentUnavailable, "agent-unavailable"),
    (RouteError::NotSupervisor, "not-supervisor"),
    (RouteError::StillInChat, "still-in-chat"),
    (RouteError::Conferenced, "conferenced"),
];

/// The wire name of a refusal.
pub(crate) fn refusal_name(e: &RouteError) -> String {
    REFUSALS
        .iter()
        .find(|(r, _)| r == e)
        .map_or("unknown", |(_, n)| n)
        .to_owned()
}

/// The refusal a wire name stands for.
pub(crate) fn refusal(name: &str) -> Option<RouteError> {
    REFUSALS
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(r, _)| r.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_round_trip() {
        for (e, _) in REFUSALS {
            assert_eq!(refusal(&refusal_name(&e)), Some(e));
        }
    }

    #[test]
    fn inputs_round_trip_through_json() {
        let input = RouteInput::Accept {
            agent: "anna".parse().unwrap(),
            interaction: "s1".parse().unwrap(),
        };
        let wire = WireInput::of(input.clone()).unwrap();
        let json = serde_json::to_string(&ToLeader::Route {
            from: "i".into(),
            rid: 1,
            at: 0,
            input: wire,
        })
        .unwrap();
        let ToLeader::Route { input: back, .. } = serde_json::from_str(&json).unwrap() else {
            panic!("{json}");
        };
        assert_eq!(back.input(), input);
    }
}
