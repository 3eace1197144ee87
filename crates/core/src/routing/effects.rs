//! `RouteEffect`: what the router asks the shell to carry out, and the small enums that
//! say why.

use super::ids::{AgentId, QueueName};
use crate::ids::{SessionId, UnixMillis};
use crate::party::Visibility;

/// Why an offer was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferKind {
    /// A chat waiting in this queue.
    Queue(QueueName),
    /// A transfer from this agent.
    Transfer {
        /// The agent handing the chat over.
        from: AgentId,
    },
    /// An invitation to a conference by this agent.
    Conference {
        /// The agent who invited.
        inviter: AgentId,
    },
}

/// What a customer notice is about (the text is rendered already; the kind lets the
/// shell localise it instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    /// The queue's greeting.
    Greeting,
    /// The place in the queue and the estimate (`None` = unknown or not configured).
    Position {
        /// 1 = next.
        place: u32,
        /// Estimated wait.
        estimated_wait_ms: Option<u64>,
    },
    /// The maximum time in queue is up.
    MaxWait,
}

/// Why a chat went back to a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequeueReason {
    /// Its agent stayed disconnected too long.
    AgentDisconnected(AgentId),
    /// Its agent logged out.
    AgentLoggedOut(AgentId),
    /// Its last agent left with `KeepAlive`.
    AgentLeft(AgentId),
    /// Its agent transferred it to the queue.
    Transferred(AgentId),
}

/// Why the router closes a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The maximum time in queue is up and the queue closes such chats.
    MaxWait,
}

/// Why an interaction is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `stop-abandoned-interaction` said so when the chat ended.
    Policy,
    /// The chat is over and every agent who held it marked it done.
    Done,
}

/// What the shell must carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteEffect {
    /// Offer the chat to the agent until `until`.
    Offer {
        /// To whom.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
        /// When the offer times out.
        until: UnixMillis,
        /// Why.
        kind: OfferKind,
    },
    /// The agent's offer is gone (timed out, or the agent or chat changed).
    OfferWithdrawn {
        /// Whose.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
        /// Why: a lapsed offer is the agent's no-answer (reported as a rejection).
        why: WithdrawReason,
    },
    /// The agent took the chat: join it to the session (the chat is over when the
    /// interaction ended: the agent only gets it for after-chat work).
    Assigned {
        /// Who.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
        /// The accepted offer's kind.
        kind: OfferKind,
    },
    /// The agent holds again a chat it was handling before a restart or a failover
    /// (`RouteInput::Reattach`): let it back into the session and tell its desktop.
    Reattached {
        /// Who.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
    },
    /// A transfer or conference invitation was rejected, timed out or withdrawn.
    InviteFailed {
        /// Which chat.
        interaction: SessionId,
        /// The invited agent.
        invitee: AgentId,
        /// The invitation.
        kind: OfferKind,
    },
    /// Remove the agent from the chat session (transfer done, disconnect, logout).
    LeaveChat {
        /// Who.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
    },
    /// The agent is now not ready (no answer, disconnected).
    SetNotReady {
        /// Who.
        agent: AgentId,
        /// Why.
        reason: String,
    },
    /// Join the supervisor to the chat with this visibility.
    SupervisorJoined {
        /// Who.
        supervisor: AgentId,
        /// Which chat.
        interaction: SessionId,
        /// `Int` monitor, `Vip` coach, `All` barge-in.
        visibility: Visibility,
    },
    /// Send a system notice to the customer.
    CustomerNotice {
        /// Which chat.
        interaction: SessionId,
        /// What about.
        kind: NoticeKind,
        /// The text.
        text: String,
    },
    /// The chat went (back) to a queue.
    Requeued {
        /// Which chat.
        interaction: SessionId,
        /// Which queue.
        queue: QueueName,
        /// Why.
        why: RequeueReason,
    },
    /// Close the chat session. The router has forgotten the interaction (it is over for
    /// routing: the shell stops it).
    CloseInteraction {
        /// Which chat.
        interaction: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// Stop processing the interaction (`RequestStopProcessing`); the router forgot it.
    StopInteraction {
        /// Which.
        interaction: SessionId,
        /// Why.
        why: StopReason,
    },
}

/// Why an offer was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WithdrawReason {
    /// The offer timed out: the agent did not answer (it is set not ready).
    Lapsed,
    /// The agent became unavailable: not ready, logged out, disconnected, or its other
    /// offer lapsed.
    AgentUnavailable,
    /// The chat no longer needs this agent: it ended, closed after its maximum wait, or
    /// went back to the queue.
    ChatChanged,
}
