//! The frames of the desktop WebSocket (`/agent/v1/ws`, docs/protocol/desktop.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A frame from a desktop.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum DesktopRequest {
    /// Authenticate (first frame).
    #[serde(rename_all = "camelCase")]
    Hello {
        /// Echoed.
        request_id: Option<u64>,
        /// The login token.
        token: String,
    },
    /// Ready for chats.
    #[serde(rename_all = "camelCase")]
    Ready {
        /// Echoed.
        request_id: Option<u64>,
    },
    /// Not ready.
    #[serde(rename_all = "camelCase")]
    NotReady {
        /// Echoed.
        request_id: Option<u64>,
        /// Why.
        reason: Option<String>,
    },
    /// Accept an offer.
    #[serde(rename_all = "camelCase")]
    Accept {
        /// Echoed.
        request_id: Option<u64>,
        /// Which chat.
        interaction_id: String,
    },
    /// Reject an offer.
    #[serde(rename_all = "camelCase")]
    Reject {
        /// Echoed.
        request_id: Option<u64>,
        /// Which chat.
        interaction_id: String,
    },
    /// Transfer to an agent or a queue.
    #[serde(rename_all = "camelCase")]
    Transfer {
        /// Echoed.
        request_id: Option<u64>,
        /// Which chat.
        interaction_id: String,
        /// Target agent.
        to_agent: Option<String>,
        /// Target queue.
        to_queue: Option<String>,
    },
    /// Invite a second agent.
    #[serde(rename_all = "camelCase")]
    Conference {
        /// Echoed.
        request_id: Option<u64>,
        /// Which chat.
        interaction_id: String,
        /// Whom.
        invitee: String,
    },
    /// After-chat work done.
    #[serde(rename_all = "camelCase")]
    MarkDone {
        /// Echoed.
        request_id: Option<u64>,
        /// Which chat.
        interaction_id: String,
    },
    /// Monitor, coach or barge in.
    #[serde(rename_all = "camelCase")]
    Supervise {
        /// Echoed.
        request_id: Option<u64>,
        /// Which chat.
        interaction_id: String,
        /// `monitor`, `coach` or `barge`.
        mode: SuperviseMode,
    },
    /// Supervisors: receive `overview` frames.
    #[serde(rename_all = "camelCase")]
    Watch {
        /// Echoed.
        request_id: Option<u64>,
    },
    /// Log out of routing.
    #[serde(rename_all = "camelCase")]
    Logout {
        /// Echoed.
        request_id: Option<u64>,
    },
}

impl DesktopRequest {
    /// The request id to echo.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            DesktopRequest::Hello { request_id, .. }
            | DesktopRequest::Ready { request_id }
            | DesktopRequest::NotReady { request_id, .. }
            | DesktopRequest::Accept { request_id, .. }
            | DesktopRequest::Reject { request_id, .. }
            | DesktopRequest::Transfer { request_id, .. }
            | DesktopRequest::Conference { request_id, .. }
            | DesktopRequest::MarkDone { request_id, .. }
            | DesktopRequest::Supervise { request_id, .. }
            | DesktopRequest::Watch { request_id }
            | DesktopRequest::Logout { request_id } => *request_id,
        }
    }
}

/// How a supervisor takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuperviseMode {
    /// Silent (INT).
    Monitor,
    /// Coach (VIP).
    Coach,
    /// Visible (ALL).
    Barge,
}

/// The agent as the desktop shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentInfo {
    /// Login.
    pub login: String,
    /// Nickname.
    pub nickname: String,
    /// `agent` or `supervisor`.
    pub role: &'static str,
    /// Queues.
    pub queues: Vec<String>,
    /// Capacity.
    pub capacity: u32,
}

/// The agent's routing status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// `ready`, `notReady` or `loggedOut`.
    pub status: &'static str,
    /// Not-ready reason.
    pub reason: Option<String>,
    /// Chats held and offered.
    pub load: u32,
    /// Capacity.
    pub capacity: u32,
}

/// An offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferInfo {
    /// Which chat.
    pub interaction_id: String,
    /// Its queue.
    pub queue: String,
    /// `queue`, `transfer` or `conference`.
    pub kind: &'static str,
    /// The inviting agent.
    pub from: Option<String>,
    /// When it times out.
    pub until: i64,
    /// Milliseconds left when sent.
    pub timeout_ms: u64,
    /// The chat's subject.
    pub subject: Option<String>,
    /// The chat's user data.
    pub user_data: BTreeMap<String, String>,
    /// Whether the website vouched for the customer's identity: `verified` or
    /// `unverified`; `null` when the chat's tenant does not check identities.
    pub identity: Option<&'static str>,
    /// The chat's session password, when it has one (`session-password-enforce`, or
    /// chosen by a basic creator): the desktop presents it as `GCTI_Chat_SessionPassword`
    /// when it joins. Staff frames only; absent when the chat has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_password: Option<String>,
}

/// A chat the agent holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatInfo {
    /// Which chat.
    pub interaction_id: String,
    /// Its queue.
    pub queue: String,
    /// `ALL`, `INT` or `VIP`.
    pub visibility: &'static str,
    /// `active` or `wrapUp`.
    pub hold: &'static str,
    /// Subject.
    pub subject: Option<String>,
    /// User data.
    pub user_data: BTreeMap<String, String>,
    /// `verified`, `unverified`, or `null` when the tenant does not check identities (as
    /// in [`OfferInfo`]).
    pub identity: Option<&'static str>,
    /// The chat's session password, to join with (as in [`OfferInfo`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_password: Option<String>,
}

/// A queue in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueView {
    /// Name.
    pub name: String,
    /// Chats waiting.
    pub waiting: u32,
    /// Longest wait now.
    pub longest_wait_ms: u64,
    /// Agents of the queue that are ready.
    pub agents_ready: u32,
}

/// An agent in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    /// Login.
    pub login: String,
    /// Nickname.
    pub nickname: String,
    /// Role.
    pub role: &'static str,
    /// `ready`, `notReady`, `loggedOut`.
    pub status: &'static str,
    /// Not-ready reason.
    pub reason: Option<String>,
    /// Load.
    pub load: u32,
    /// Capacity.
    pub capacity: u32,
    /// Desktop connected.
    pub connected: bool,
}

/// A supervisor in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorView {
    /// Login.
    pub login: String,
    /// `monitor`, `coach`, `barge`.
    pub mode: SuperviseMode,
}

/// A session in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Which chat.
    pub interaction_id: String,
    /// Queue.
    pub queue: String,
    /// `waiting`, `offered`, `handled`, `wrapUp`.
    pub state: &'static str,
    /// The customer's nickname.
    pub customer: Option<String>,
    /// When it was submitted.
    pub submitted_at: i64,
    /// Agents in it.
    pub agents: Vec<String>,
    /// Supervisors in it.
    pub supervisors: Vec<SupervisorView>,
}

/// A frame to a desktop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DesktopEvent {
    /// After `hello`.
    Welcome {
        /// Who.
        agent: AgentInfo,
        /// Status.
        status: StatusInfo,
        /// Pending offers.
        offers: Vec<OfferInfo>,
        /// Held chats.
        chats: Vec<ChatInfo>,
    },
    /// Status changed.
    Status(StatusInfo),
    /// An offer.
    Offer(OfferInfo),
    /// An offer is gone.
    #[serde(rename_all = "camelCase")]
    OfferWithdrawn {
        /// Which chat.
        interaction_id: String,
    },
    /// Join this chat.
    Assigned(ChatInfo),
    /// Taken out of a chat.
    #[serde(rename_all = "camelCase")]
    ChatRemoved {
        /// Which chat.
        interaction_id: String,
        /// Why.
        reason: &'static str,
    },
    /// Marked done.
    #[serde(rename_all = "camelCase")]
    ChatDone {
        /// Which chat.
        interaction_id: String,
    },
    /// An invitation failed.
    #[serde(rename_all = "camelCase")]
    InviteFailed {
        /// Which chat.
        interaction_id: String,
        /// Whom.
        invitee: String,
    },
    /// Supervisors' live view.
    Overview {
        /// Queues.
        queues: Vec<QueueView>,
        /// Agents.
        agents: Vec<AgentView>,
        /// Sessions.
        sessions: Vec<SessionView>,
    },
    /// Applied.
    #[serde(rename_all = "camelCase")]
    Ok {
        /// Echoed.
        request_id: Option<u64>,
    },
    /// Refused.
    #[serde(rename_all = "camelCase")]
    Error {
        /// Echoed.
        request_id: Option<u64>,
        /// Stable code.
        code: &'static str,
        /// Detail.
        message: String,
    },
}

impl DesktopEvent {
    /// An error frame.
    pub fn error(request_id: Option<u64>, code: &'static str, message: impl Into<String>) -> Self {
        DesktopEvent::Error {
            request_id,
            code,
            message: message.into(),
        }
    }
}
