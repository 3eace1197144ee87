//! The basic protocol: JSON text frames over a WebSocket (`GET /basic`), for agents,
//! supervisors, bots, the customer widget and rich clients. Every frame is an object
//! whose `type` names it. Documented frame by frame in `docs/protocol/basic.md`.
//!
//! Inbound frames (`ClientFrame`) reject unknown fields, so a typo is an error rather
//! than a silently ignored option. Outbound frames may gain fields over time; clients
//! must ignore fields they do not know.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::codes::ErrorCode;

/// Version of this frame set, sent in `registered`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Key/value user data.
pub type UserData = BTreeMap<String, String>;

/// Kind of participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartyType {
    /// A customer.
    Client,
    /// An agent or bot.
    Agent,
    /// A supervisor.
    Supervisor,
    /// A workflow or other external party.
    External,
    /// The server.
    System,
}

/// Who sees an event; as a join visibility, how the party takes part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Visibility {
    /// Everyone.
    #[default]
    All,
    /// Agents and supervisors (monitoring).
    Int,
    /// Supervisors and coaches (coaching).
    Vip,
}

/// What happens to the session when a party leaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfterAction {
    /// The session goes on.
    #[default]
    KeepAlive,
    /// Close if no agent remains.
    CloseIfNoAgents,
    /// Close the session.
    ForceClose,
}

/// Proof of who a non-customer party is: exactly one of an API key and an agent token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawCredentials")]
pub struct Credentials {
    /// An API key from `[security] api-keys` (bots, external systems, integrations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// A login token from `POST /agent/v1/login` (agents and supervisors of the
    /// directory; docs/protocol/desktop.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_token: Option<String>,
}

/// `credentials` as sent, before the one-of check.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCredentials {
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    agent_token: Option<String>,
}

impl TryFrom<RawCredentials> for Credentials {
    type Error = &'static str;
    fn try_from(raw: RawCredentials) -> Result<Credentials, Self::Error> {
        match (&raw.api_key, &raw.agent_token) {
            (Some(_), None) | (None, Some(_)) => Ok(Credentials {
                api_key: raw.api_key,
                agent_token: raw.agent_token,
            }),
            _ => Err("credentials need exactly one of apiKey and agentToken"),
        }
    }
}

/// Identity of an earlier registration, to keep the same `userId` after a reconnect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeIdentity {
    /// The `userId` the server gave.
    pub user_id: String,
    /// The `secureKey` the server gave.
    pub secure_key: String,
}

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ClientFrame {
    /// First frame of a connection: who the client is.
    Register {
        /// Echoed in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// Display name.
        nickname: String,
        /// Kind of participant.
        party_type: PartyType,
        /// Capability level, 101 to 106 (default 101).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_version: Option<u16>,
        /// Required for every party type except `CLIENT`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credentials: Option<Credentials>,
        /// Keep the identity of an earlier registration (reconnect).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<ResumeIdentity>,
    },
    /// Start a new session with this user as its first party.
    CreateSession {
        /// Echoed in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// Session user data (`GCTI_Chat_SessionPassword` sets a password).
        #[serde(default, skip_serializing_if = "UserData::is_empty")]
        user_data: UserData,
        /// The subject of the chat.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        /// The endpoint (`[endpoints.<tenant>]` option name); `default` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
    },
    /// Join an existing session.
    Join {
        /// Echoed in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
        /// `ALL` (default), `INT` to monitor, `VIP` to coach.
        #[serde(default)]
        visibility: Visibility,
        /// Join user data (`GCTI_Chat_SessionPassword`, `GCTI_Chat_SetPartyStyle`).
        #[serde(default, skip_serializing_if = "UserData::is_empty")]
        user_data: UserData,
    },
    /// Come back to a session after a reconnect; replays what was missed.
    Resume {
        /// Echoed in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
        /// The last event the client has (0 for all).
        last_event_id: u64,
    },
    /// Send a chat message.
    Message {
        /// Echoed in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
        /// The text.
        text: String,
        /// `ALL` (default), `INT` or `VIP`.
        #[serde(default)]
        visibility: Visibility,
        /// Send only to this party (direct message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver_id: Option<String>,
        /// Opaque tag echoed to everyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_type: Option<String>,
        /// Idempotency id: a retry with the same id is not stored twice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_message_id: Option<String>,
    },
    /// Send a notice.
    Notify {
        /// Echoed in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
        /// `TYPING_STARTED`, `TYPING_STOPPED`, `USER_PUSHED_URL`, `USER_CUSTOM`,
        /// `USER_UPDATE_NICK` or `SYS_COMMAND`.
        notice_type: String,
        /// Notice text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Notice user data.
        #[serde(default, skip_serializing_if = "UserData::is_empty")]
        user_data: UserData,
        /// `ALL` (default), `INT` or `VIP`.
        #[serde(default)]
        visibility: Visibility,
        /// Send only to this party (direct notice).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver_id: Option<String>,
        /// Idempotency id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_message_id: Option<String>,
    },
    /// Leave a session.
    Release {
        /// Echoed in the reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
        /// What happens to the session (default `KeepAlive`).
        #[serde(default)]
        after_action: AfterAction,
        /// Farewell text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

/// Why a party left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftReason {
    /// Genesys reason code (0 quit, 1 close-if-no-agents, 2 force close, 3 disconnect,
    /// 4 removed by another party, 5 system, 6 bad secure key, 7 inactivity,
    /// 8 restoration).
    pub code: u8,
    /// The reason's name.
    pub name: String,
}

/// One transcript event as a client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    /// Per-session, increasing.
    pub event_id: u64,
    /// `newParty`, `partyLeft`, `message` or `notice`.
    pub kind: String,
    /// When (ms since the epoch, UTC).
    pub utc_time: i64,
    /// Whole seconds since the session started.
    pub time_shift: u64,
    /// The party it is from or about.
    pub user_id: String,
    /// That party's nickname at the time of delivery.
    pub nickname: String,
    /// That party's type.
    pub party_type: PartyType,
    /// Event visibility.
    pub visibility: Visibility,
    /// Receiver of a direct message or notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<String>,
    /// Message or notice text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Message tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// Notice type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_type: Option<String>,
    /// Join or notice user data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<UserData>,
    /// `GCTI_SYSTEM` attributes (ClientVersion 106).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_attributes: Option<serde_json::Value>,
    /// Why a party left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<LeftReason>,
    /// After-action of a leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_action: Option<AfterAction>,
    /// The party that removed the leaving one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asker_id: Option<String>,
    /// The sender's idempotency id (shown to the sender only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// On the server's idle-control notices (ClientVersion 103): when the inactivity
    /// timer that follows expires (ms since the epoch, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_time_expire: Option<i64>,
}

/// A party as listed in `sessionInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireParty {
    /// Its id.
    pub user_id: String,
    /// Its nickname.
    pub nickname: String,
    /// Its type.
    pub party_type: PartyType,
    /// How it joined.
    pub visibility: Visibility,
    /// Whether it is a bot.
    pub bot: bool,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEnd {
    /// `CLIENT`, `AGENT`, `SUPERVISOR`, `BOT` or `SYSTEM`.
    pub ended_by: String,
    /// `DISCONNECT`, `QUIT`, `FORCE`, `INACTIVE` or `DB_ERROR`.
    pub reason: String,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ServerFrame {
    /// Reply to `register`.
    Registered {
        /// Echo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The user's id (kept across reconnects with `resume`).
        user_id: String,
        /// The user's secret; present it to resume. Shown only here.
        secure_key: String,
        /// The capability level in force.
        client_version: u16,
        /// [`PROTOCOL_VERSION`].
        protocol_version: u32,
    },
    /// Reply to `createSession`, `join` and `resume`: the session and the events the
    /// client may see (all of them on join, those after `lastEventId` on resume).
    SessionInfo {
        /// Echo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
        /// Session start (ms since the epoch).
        start_at: i64,
        /// The newest event id the session has allocated.
        last_event_id: u64,
        /// The session password: only in the reply to the creator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_password: Option<String>,
        /// Whether someone silently monitors (ClientVersion 105, agents only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        monitored: Option<bool>,
        /// Parties present now.
        parties: Vec<WireParty>,
        /// Transcript events for this client.
        events: Vec<WireEvent>,
    },
    /// A live transcript event.
    Event {
        /// The session.
        session_id: String,
        /// The event (boxed: it is by far the largest variant, and the commonest frame
        /// should not make every other frame as large).
        event: Box<WireEvent>,
    },
    /// Reply to `message` and `notify`: stored (and durable when auto-save is on).
    Ack {
        /// Echo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
        /// Id of the stored event.
        event_id: u64,
        /// True when this was a retry of an already stored send.
        duplicate: bool,
    },
    /// Reply to `release`.
    Released {
        /// Echo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session.
        session_id: String,
    },
    /// The session is over.
    SessionOver {
        /// The session.
        session_id: String,
        /// How it ended.
        end: SessionEnd,
    },
    /// `transcript-auto-save = 2`: the transcript was saved up to an event (`save`), or
    /// saving failed (`ucs-save-fail`).
    TranscriptSaved {
        /// The session.
        session_id: String,
        /// Saved through this event.
        last_event_id: u64,
        /// `save` or `ucs-save-fail`.
        result: String,
    },
    /// A request failed, or the connection is being closed for a reason.
    Error {
        /// Echo of the failed request's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
        /// The session concerned, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        /// Stable numeric code.
        code: ErrorCode,
        /// Stable name of the code.
        name: String,
        /// Human-readable detail.
        message: String,
        /// On `RATE_LIMITED`: milliseconds until the client may send again. The server
        /// also stops reading the connection until then, so frames sent sooner wait in
        /// the client's socket rather than cost the server work.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ServerFrame {
    /// An error frame.
    pub fn error(
        request_id: Option<u64>,
        session_id: Option<String>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> ServerFrame {
        ServerFrame::Error {
            request_id,
            session_id,
            code,
            name: code.name().to_owned(),
            message: message.into(),
            retry_after_ms: None,
        }
    }
}
