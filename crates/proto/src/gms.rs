//! The GMS "Chat API Version 2" facade (`/genesys/2/chat/{serviceName}`): the response
//! envelope and transcript event objects that existing Genesys web clients parse.
//! Requests are `application/x-www-form-urlencoded` (or `multipart/form-data`) forms,
//! decoded by the server; only responses need types. See `docs/gms-v2.md`.

use serde::{Deserialize, Serialize};

use crate::basic::UserData;

/// One entry of `errors[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GmsError {
    /// Parley's stable error code (see `ErrorCode`).
    pub code: u16,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// The participant an event is from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GmsParticipant {
    /// Nickname.
    pub nickname: String,
    /// Small per-session number (1 = the first participant).
    pub participant_id: u32,
    /// `Client`, `Agent`, `External` or `System`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One transcript event in `messages[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GmsMessage {
    /// The sender or subject.
    pub from: GmsParticipant,
    /// Position in the transcript (Parley's event id).
    pub index: u64,
    /// `ParticipantJoined`, `ParticipantLeft`, `Message`, `PushUrl`, `TypingStarted`,
    /// `TypingStopped`, `NicknameUpdated`, `FileUploaded`, `FileDeleted`,
    /// `CustomNotice`, `Notice`, `IdleAlert`, `IdleClose`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text, URL or notice text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Sender-supplied tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// Milliseconds since the epoch.
    pub utc_time: i64,
    /// File attributes and similar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<UserData>,
    /// `GCTI_SYSTEM` attributes (quit reason, party style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_attributes: Option<serde_json::Value>,
}

/// The response envelope of every operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GmsResponse {
    /// 0 on success; 1 for a request error, 2 for a server error.
    pub status_code: i32,
    /// Errors, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<GmsError>>,
    /// Alias of the serving instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The customer's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The customer's secure key (only in the request-chat reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_key: Option<String>,
    /// The chat (session) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// True once the chat is over for this customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_ended: Option<bool>,
    /// Position for the next refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_position: Option<u64>,
    /// Transcript events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<GmsMessage>>,
    /// Operation data (e.g. the `file-id` of an upload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<UserData>,
    /// Whether a supervisor monitors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitored: Option<bool>,
}
