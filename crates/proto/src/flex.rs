//! The flex protocol: connectionless HTTP + JSON for web customers (`POST /flex/v1/...`).
//! Every request after `login` names the user (`userId`, `secureKey`) and the session;
//! every reply is a [`FlexReply`]. Documented in `docs/protocol/flex.md`.
//!
//! A flex user is in one session. It keeps itself alive by making requests: one that
//! makes none for `flex-disconnect-timeout` is removed from the session (reason 3). A
//! request with a wrong `secureKey` removes the user at once (reason 6, error 8210).

use serde::{Deserialize, Serialize};

use crate::basic::{UserData, WireEvent, WireParty};
use crate::codes::ErrorCode;

/// Version of this request set.
pub const PROTOCOL_VERSION: u32 = 1;

/// `POST /flex/v1/login`: get an identity. Give `nickname`, or `firstName` and `lastName`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// First name (also sent as user data `FirstName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name (user data `LastName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// E-mail (user data `EmailAddress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Capability level, 101 to 106 (default 106 for flex clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<u16>,
}

/// `POST /flex/v1/join`: start a session (no `sessionId`), join one (`sessionId`), or
/// come back to one after a reload or a restart (`sessionId` and `transcriptPosition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JoinRequest {
    /// From `login`.
    pub user_id: String,
    /// From `login`.
    pub secure_key: String,
    /// The session to join or return to; absent to start one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// When returning: the first event position wanted (1 = all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_position: Option<u64>,
    /// Chat subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `tenant:endpoint` or `endpoint` (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Session user data.
    #[serde(default, skip_serializing_if = "UserData::is_empty")]
    pub user_data: UserData,
}

/// `POST /flex/v1/send`: a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    /// From `login`.
    pub user_id: String,
    /// From `login`.
    pub secure_key: String,
    /// The session.
    pub session_id: String,
    /// The text.
    pub text: String,
    /// Opaque tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// Idempotency id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// When present, the reply also carries the events from this position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_position: Option<u64>,
}

/// `POST /flex/v1/notify`: a notice (typing with preview, pushed URL, custom, nickname,
/// read-confirm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyRequest {
    /// From `login`.
    pub user_id: String,
    /// From `login`.
    pub secure_key: String,
    /// The session.
    pub session_id: String,
    /// Notice type (`TYPING_STARTED`, `USER_PUSHED_URL`, ...).
    pub notice_type: String,
    /// Notice text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Notice user data.
    #[serde(default, skip_serializing_if = "UserData::is_empty")]
    pub user_data: UserData,
    /// Idempotency id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// When present, the reply also carries the events from this position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_position: Option<u64>,
}

/// `POST /flex/v1/refresh`: the events from a position; waits up to `waitMs` (bounded by
/// the server's `flex-refresh-max-wait`) when there are none yet (long poll).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    /// From `login`.
    pub user_id: String,
    /// From `login`.
    pub secure_key: String,
    /// The session.
    pub session_id: String,
    /// First event position wanted (the previous reply's `nextPosition`; 1 = all).
    pub transcript_position: u64,
    /// Long-poll wait in milliseconds (0 = answer at once).
    #[serde(default)]
    pub wait_ms: u64,
}

/// `POST /flex/v1/logout`: leave the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogoutRequest {
    /// From `login`.
    pub user_id: String,
    /// From `login`.
    pub secure_key: String,
    /// The session.
    pub session_id: String,
}

/// A file operation on a session (`POST /flex/v1/file/limits`, `/file/download`,
/// `/file/delete`; uploads are `multipart/form-data` on `/flex/v1/file/upload` with the
/// same fields plus `file` and optional `description`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileRequest {
    /// From `login` (or a basic registration).
    pub user_id: String,
    /// From `login`.
    pub secure_key: String,
    /// The session.
    pub session_id: String,
    /// The file (download, delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

/// File-transfer allowances of a session for this user (`[client-file-transfer]`, and
/// what is used so far). Sizes in bytes; `uploadFileTypes` is colon-separated extensions
/// (empty: any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileLimits {
    /// Most uploads per session.
    pub upload_max_files: u64,
    /// Largest upload.
    pub upload_max_file_size: u64,
    /// Most bytes uploaded per session.
    pub upload_max_total_size: u64,
    /// Allowed extensions, e.g. `pdf:png:jpg`.
    pub upload_file_types: String,
    /// Uploads only while an agent is present.
    pub upload_need_agent: bool,
    /// Most downloads per session.
    pub download_attempts: u64,
    /// Whether deleting a file gives its upload allowance back.
    pub delete_file: bool,
    /// Uploads so far.
    pub used_upload_max_files: u64,
    /// Bytes uploaded so far.
    pub used_upload_max_total_size: u64,
    /// Downloads so far.
    pub used_download_attempts: u64,
}

/// A flex error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlexError {
    /// Stable code.
    pub code: ErrorCode,
    /// Its name.
    pub name: String,
    /// Detail.
    pub message: String,
}

/// Every flex reply. Fields are present when they apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlexReply {
    /// `ok` or `error`.
    pub status: String,
    /// The error, when `status` is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FlexError>,
    /// From `login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// From `login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_key: Option<String>,
    /// The session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The session password (only to the creator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_password: Option<String>,
    /// Id of the stored event (send, notify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u64>,
    /// True when a send was a retry of a stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
    /// Events from the requested position that this user may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<WireEvent>>,
    /// Position to ask for next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_position: Option<u64>,
    /// Parties present (join).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parties: Option<Vec<WireParty>>,
    /// The file a request stored (upload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// File allowances (file/limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<FileLimits>,
    /// True once the session is over or this user was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_ended: Option<bool>,
}

impl FlexReply {
    /// A success with nothing else set.
    pub fn ok() -> FlexReply {
        FlexReply {
            status: "ok".into(),
            ..FlexReply::default()
        }
    }

    /// An error reply.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> FlexReply {
        FlexReply {
            status: "error".into(),
            error: Some(FlexError {
                code,
                name: code.name().into(),
                message: message.into(),
            }),
            ..FlexReply::default()
        }
    }
}
