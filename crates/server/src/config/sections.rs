//! The typed sections: `[server]`, `[settings]`, `[log-filter-data]`,
//! `[client-file-transfer]`, `[web]`, `[security]`, their value enums and their named
//! default functions.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::Secret;

/// `[server]`: where Parley listens and keeps its data.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// `listen`: the address of the shared listener (all front doors).
    /// default: `127.0.0.1:8080`
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `data-dir`: directory for the SQLite database and other local state.
    /// default: `./parley-data`
    #[serde(default = "default_data_dir", rename = "data-dir")]
    pub data_dir: PathBuf,
    /// `store-url`: the transcript/session store (`sqlite://…`, `postgres://…`). May carry
    /// a password, so `Debug` hides the user part. Unset means SQLite in `data-dir`.
    /// default: unset (`sqlite://<data-dir>/parley.db`)
    #[serde(default = "default_store_url", rename = "store-url")]
    pub store_url: Option<String>,
}

/// `[settings]`: the Genesys Chat Server options Parley implements.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// `transcript-auto-save`: 0 = save the transcript only at session end, 1 = after
    /// every message, 2 = as 1 and tell basic clients of each save and failure. Genesys defaults to 0; Parley
    /// to 1 because it never loses an acknowledged line.
    /// default: `1`
    #[serde(default = "default_transcript_auto_save")]
    pub transcript_auto_save: AutoSave,
    /// `transcript-save-on-error`: on a non-recoverable save error, `close` the session
    /// (reason 5) or `continue` it.
    /// default: `continue`
    #[serde(default = "default_transcript_save_on_error")]
    pub transcript_save_on_error: SaveOnError,
    /// `transcript-resend-attempts`: retries of a failed transcript save, 0..=100.
    /// default: `3`
    #[serde(default = "default_transcript_resend_attempts")]
    pub transcript_resend_attempts: u32,
    /// `transcript-resend-delay`: seconds between those retries, 0..=60.
    /// default: `1`
    #[serde(
        default = "default_transcript_resend_delay_s",
        rename = "transcript-resend-delay"
    )]
    pub transcript_resend_delay_s: u64,
    /// `transcript-save-notices`: which notices are saved in the transcript: `default`
    /// (those Genesys saves) or `all`.
    /// default: `default`
    #[serde(default = "default_transcript_save_notices")]
    pub transcript_save_notices: SaveNotices,
    /// `session-restoration-mode`: `simple` lets clients restore sessions after a
    /// failover; `none` refuses. Genesys defaults to `none`.
    /// default: `simple`
    #[serde(default = "default_session_restoration_mode")]
    pub session_restoration_mode: RestorationMode,
    /// `session-password-enforce`: joining a session requires its session password.
    /// default: `false`
    #[serde(default = "default_session_password_enforce")]
    pub session_password_enforce: bool,
    /// `user-register-timeout`: seconds a new connection has to register (basic) or send
    /// its first request (flex) before it is closed, 1..=3600.
    /// default: `30`
    #[serde(
        default = "default_user_register_timeout_s",
        rename = "user-register-timeout"
    )]
    pub user_register_timeout_s: u64,
    /// `flex-disconnect-timeout`: seconds a flex (web) client may go without sending any
    /// protocol request before it is disconnected and leaves its session, 1..=1728000.
    /// Inactivity means no requests, not no messages: a client that only refreshes stays.
    /// default: `45`
    #[serde(
        default = "default_flex_disconnect_timeout_s",
        rename = "flex-disconnect-timeout"
    )]
    pub flex_disconnect_timeout_s: u64,
    /// `flex-refresh-max-wait`: the longest, in seconds, a flex or GMS refresh waits for
    /// new transcript events before it answers with none (long polling), 0..=120; 0
    /// answers at once. Must be less than `flex-disconnect-timeout`. Parley's own.
    /// default: `30`
    #[serde(
        default = "default_flex_refresh_max_wait_s",
        rename = "flex-refresh-max-wait"
    )]
    pub flex_refresh_max_wait_s: u64,
    /// `message-log-print-size`: leading characters of each message printed in the log
    /// (after masking, at trace level), 0..=7000; 0 prints none.
    /// default: `0`
    #[serde(
        default = "default_message_log_print_size_chars",
        rename = "message-log-print-size"
    )]
    pub message_log_print_size_chars: usize,
    /// `hide-attached-data`: keep attached user data out of the log.
    /// default: `true`
    #[serde(default = "default_hide_attached_data")]
    pub hide_attached_data: bool,
    /// `max-frame-size`: largest inbound frame (WebSocket message or HTTP body) in bytes,
    /// 200..=16777216.
    /// default: `65536`
    #[serde(default = "default_max_frame_size_bytes", rename = "max-frame-size")]
    pub max_frame_size_bytes: usize,
    /// `max-message-size`: largest chat message text in bytes, 1..=1048576; must be less
    /// than `max-frame-size`.
    /// default: `16384`
    #[serde(
        default = "default_max_message_size_bytes",
        rename = "max-message-size"
    )]
    pub max_message_size_bytes: usize,
    /// `basic-reconnect-timeout`: seconds a basic party whose connection dropped stays in
    /// its sessions waiting to resume, 0..=86400.
    /// default: `60`
    #[serde(
        default = "default_basic_reconnect_timeout_s",
        rename = "basic-reconnect-timeout"
    )]
    pub basic_reconnect_timeout_s: u64,
    /// `ws-ping-interval`: seconds between WebSocket pings, 0..=3600; 0 turns pings off.
    /// default: `20`
    #[serde(default = "default_ws_ping_interval_s", rename = "ws-ping-interval")]
    pub ws_ping_interval_s: u64,
    /// `session-lease-timeout`: seconds an instance's lease on a session lasts without
    /// renewal before another instance may take the session over, 5..=3600.
    /// default: `30`
    #[serde(
        default = "default_session_lease_timeout_s",
        rename = "session-lease-timeout"
    )]
    pub session_lease_timeout_s: u64,
    /// `commit-batch-max`: most writes in one group commit, 1..=10000.
    /// default: `512`
    #[serde(default = "default_commit_batch_max")]
    pub commit_batch_max: usize,
    /// `shutdown-timeout`: seconds a graceful shutdown waits for sessions to flush,
    /// 1..=600.
    /// default: `10`
    #[serde(default = "default_shutdown_timeout_s", rename = "shutdown-timeout")]
    pub shutdown_timeout_s: u64,
    /// `stop-abandoned-interaction`: whether the interaction is stopped when its chat
    /// ends: `always`, `never`, `noagents` (no agent or supervisor present), `noanswer` (no
    /// agent ever joined); legacy `true` = `noanswer`, `false` = `never`. When it is not
    /// stopped, `IsOnline` becomes false and the agents mark it done.
    /// default: `never`
    #[serde(default)]
    pub stop_abandoned_interaction: parley_core::routing::StopAbandoned,
}

/// `[log-filter-data]`: how these attached-data keys appear in logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFilterData {
    /// `Transcript`: the transcript key.
    /// default: `hide`
    #[serde(default = "default_filter_transcript", rename = "Transcript")]
    pub transcript: FilterAction,
    /// `StructuredText`: the UCS XML transcript key.
    /// default: `hide`
    #[serde(default = "default_filter_structured_text", rename = "StructuredText")]
    pub structured_text: FilterAction,
}

/// `[client-file-transfer]`: what customers (flex and GMS clients) may upload and
/// download in a session. Agents are not limited. These values are also what a client's
/// file-limits request reports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClientFileTransfer {
    /// `upload-max-files`: most files a customer may upload per session, 0..=1000; 0
    /// forbids uploads.
    /// default: `3`
    #[serde(default = "default_upload_max_files")]
    pub upload_max_files: u64,
    /// `upload-max-file-size`: largest single upload in bytes, 0..=1073741823.
    /// default: `2097152`
    #[serde(
        default = "default_upload_max_file_size_bytes",
        rename = "upload-max-file-size"
    )]
    pub upload_max_file_size_bytes: u64,
    /// `upload-max-total-size`: most bytes a customer may upload per session, in total,
    /// 0..=1073741823.
    /// default: `5242880`
    #[serde(
        default = "default_upload_max_total_size_bytes",
        rename = "upload-max-total-size"
    )]
    pub upload_max_total_size_bytes: u64,
    /// `upload-file-types`: the extensions a customer may upload, without dots,
    /// colon-separated (`pdf:png:jpg`), each 1..=16 ASCII letters and digits, matched
    /// case-insensitively; empty allows any type. Read it with
    /// [`ClientFileTransfer::file_types`].
    /// default: `bmp:csv:doc:docx:gif:jpeg:jpg:pdf:png:rtf:txt:xls:xlsx` (no executables)
    #[serde(default = "default_upload_file_types")]
    pub upload_file_types: String,
    /// `upload-need-agent`: customers may upload only while an agent is in the session.
    /// default: `false`
    #[serde(default = "default_upload_need_agent")]
    pub upload_need_agent: bool,
    /// `download-attempts`: most downloads a customer may make per session, 0..=1000; 0
    /// forbids downloads.
    /// default: `10`
    #[serde(default = "default_download_attempts")]
    pub download_attempts: u64,
    /// `delete-file`: deleting an uploaded file gives its allowance (one file and its
    /// size) back to the customer.
    /// default: `false`
    #[serde(default = "default_delete_file")]
    pub delete_file: bool,
}

impl ClientFileTransfer {
    /// The allowed extensions, lower-cased, in the configured order; empty means any type.
    pub fn file_types(&self) -> Vec<String> {
        if self.upload_file_types.is_empty() {
            return Vec::new();
        }
        self.upload_file_types
            .split(':')
            .map(str::to_ascii_lowercase)
            .collect()
    }
}

/// `[web]`: the browser-facing side. Parley's own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Web {
    /// `cors-allowed-origins`: origins allowed to call the customer endpoints (flex, GMS
    /// v2, widget) from a browser: each `*` (any origin) or an `http`/`https` origin
    /// without a path, in the form browsers send it: lower case, no default port
    /// (`https://shop.example`, `http://localhost:3000`). Empty allows no cross-origin
    /// call. Compare with [`Web::allows_origin`] (or byte for byte).
    /// default: `["*"]`
    #[serde(
        default = "default_cors_allowed_origins",
        rename = "cors-allowed-origins"
    )]
    pub cors_allowed_origins: Vec<String>,
    /// `web-dir`: serve `web/` from this directory instead of the files compiled into the
    /// binary, so edits show without a rebuild. For development.
    /// default: unset (the compiled-in files)
    #[serde(default = "default_web_dir", rename = "web-dir")]
    pub web_dir: Option<PathBuf>,
}

impl Web {
    /// Whether a browser's `Origin` header value is allowed: `*` allows any; otherwise an
    /// ASCII case-insensitive match with a configured origin.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.cors_allowed_origins
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

/// `[security]`: credentials.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// `api-keys`: keys accepted from workflows (ESP) and bots, each at least 32
    /// characters. Never printed.
    /// default: `[]` (no key is accepted)
    #[serde(default = "default_api_keys", rename = "api-keys")]
    pub api_keys: Vec<Secret>,
    /// `esp-api-keys`: keys accepted by the ESP port (`/esp/{Method}`, workflows), each at
    /// least 32 characters. Never printed.
    /// default: `[]` (ESP refuses every request)
    #[serde(default = "default_api_keys", rename = "esp-api-keys")]
    pub esp_api_keys: Vec<Secret>,
    /// `admin-api-keys`: keys accepted by the admin API (`/admin/v1/...`: agents,
    /// contacts, interactions), each at least 32 characters. Never printed.
    /// default: `[]` (the admin API refuses every request)
    #[serde(default = "default_api_keys", rename = "admin-api-keys")]
    pub admin_api_keys: Vec<Secret>,
}

impl Security {
    /// Whether `presented` is one of the API keys. Compares against every key in
    /// constant time, without stopping at a match.
    pub fn accepts_api_key(&self, presented: &str) -> bool {
        accepts(&self.api_keys, presented)
    }

    /// Whether `presented` is one of the ESP keys (constant time, as above).
    pub fn accepts_esp_key(&self, presented: &str) -> bool {
        accepts(&self.esp_api_keys, presented)
    }

    /// Whether `presented` is one of the admin keys (constant time, as above).
    pub fn accepts_admin_key(&self, presented: &str) -> bool {
        accepts(&self.admin_api_keys, presented)
    }
}

/// Compares against every key in constant time, without stopping at a match.
fn accepts(keys: &[Secret], presented: &str) -> bool {
    keys.iter()
        .fold(false, |found, key| found | key.matches(presented))
}

/// `transcript-auto-save`: 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "i64")]
pub enum AutoSave {
    /// `0`: the transcript is saved at session end only.
    Off,
    /// `1`: saved after every message.
    Save,
    /// `2`: saved after every message, and basic clients are told when a save fails.
    SaveAndNotify,
}

impl AutoSave {
    /// The Genesys number.
    pub fn as_i64(self) -> i64 {
        match self {
            AutoSave::Off => 0,
            AutoSave::Save => 1,
            AutoSave::SaveAndNotify => 2,
        }
    }
}

impl TryFrom<i64> for AutoSave {
    type Error = String;
    fn try_from(v: i64) -> Result<AutoSave, String> {
        match v {
            0 => Ok(AutoSave::Off),
            1 => Ok(AutoSave::Save),
            2 => Ok(AutoSave::SaveAndNotify),
            _ => Err("allowed values are 0, 1, 2".into()),
        }
    }
}

/// `transcript-save-on-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaveOnError {
    /// Close the session without a final save (quit reason 5).
    Close,
    /// Keep the session going; the save is retried later.
    Continue,
}

/// `transcript-save-notices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaveNotices {
    /// The notices Genesys saves.
    Default,
    /// Every notice.
    All,
}

/// `session-restoration-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestorationMode {
    /// Restoration requests are refused.
    None,
    /// Restoration requests are processed.
    Simple,
}

/// A `[log-filter-data]` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    /// Print the value as is.
    Copy,
    /// Leave the key out.
    Skip,
    /// Print the key with a hidden value.
    Hide,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./parley-data")
}
fn default_store_url() -> Option<String> {
    None
}
fn default_transcript_auto_save() -> AutoSave {
    AutoSave::Save
}
fn default_transcript_save_on_error() -> SaveOnError {
    SaveOnError::Continue
}
fn default_transcript_resend_attempts() -> u32 {
    3
}
fn default_transcript_resend_delay_s() -> u64 {
    1
}
fn default_transcript_save_notices() -> SaveNotices {
    SaveNotices::Default
}
fn default_session_restoration_mode() -> RestorationMode {
    RestorationMode::Simple
}
fn default_session_password_enforce() -> bool {
    false
}
fn default_user_register_timeout_s() -> u64 {
    30
}
fn default_flex_disconnect_timeout_s() -> u64 {
    45
}
fn default_flex_refresh_max_wait_s() -> u64 {
    30
}
fn default_message_log_print_size_chars() -> usize {
    0
}
fn default_hide_attached_data() -> bool {
    true
}
fn default_max_frame_size_bytes() -> usize {
    65_536
}
fn default_max_message_size_bytes() -> usize {
    16_384
}
fn default_basic_reconnect_timeout_s() -> u64 {
    60
}
fn default_ws_ping_interval_s() -> u64 {
    20
}
fn default_session_lease_timeout_s() -> u64 {
    30
}
fn default_commit_batch_max() -> usize {
    512
}
fn default_shutdown_timeout_s() -> u64 {
    10
}
fn default_filter_transcript() -> FilterAction {
    FilterAction::Hide
}
fn default_filter_structured_text() -> FilterAction {
    FilterAction::Hide
}
fn default_upload_max_files() -> u64 {
    3
}
fn default_upload_max_file_size_bytes() -> u64 {
    2_097_152
}
fn default_upload_max_total_size_bytes() -> u64 {
    5_242_880
}
fn default_upload_file_types() -> String {
    "bmp:csv:doc:docx:gif:jpeg:jpg:pdf:png:rtf:txt:xls:xlsx".to_owned()
}
fn default_upload_need_agent() -> bool {
    false
}
fn default_download_attempts() -> u64 {
    10
}
fn default_delete_file() -> bool {
    false
}
fn default_cors_allowed_origins() -> Vec<String> {
    vec!["*".to_owned()]
}
fn default_web_dir() -> Option<PathBuf> {
    None
}
fn default_api_keys() -> Vec<Secret> {
    Vec::new()
}

impl Default for ServerSection {
    fn default() -> ServerSection {
        ServerSection {
            listen: default_listen(),
            data_dir: default_data_dir(),
            store_url: default_store_url(),
        }
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            transcript_auto_save: default_transcript_auto_save(),
            transcript_save_on_error: default_transcript_save_on_error(),
            transcript_resend_attempts: default_transcript_resend_attempts(),
            transcript_resend_delay_s: default_transcript_resend_delay_s(),
            transcript_save_notices: default_transcript_save_notices(),
            session_restoration_mode: default_session_restoration_mode(),
            session_password_enforce: default_session_password_enforce(),
            user_register_timeout_s: default_user_register_timeout_s(),
            flex_disconnect_timeout_s: default_flex_disconnect_timeout_s(),
            flex_refresh_max_wait_s: default_flex_refresh_max_wait_s(),
            message_log_print_size_chars: default_message_log_print_size_chars(),
            hide_attached_data: default_hide_attached_data(),
            max_frame_size_bytes: default_max_frame_size_bytes(),
            max_message_size_bytes: default_max_message_size_bytes(),
            basic_reconnect_timeout_s: default_basic_reconnect_timeout_s(),
            ws_ping_interval_s: default_ws_ping_interval_s(),
            session_lease_timeout_s: default_session_lease_timeout_s(),
            commit_batch_max: default_commit_batch_max(),
            shutdown_timeout_s: default_shutdown_timeout_s(),
            stop_abandoned_interaction: parley_core::routing::StopAbandoned::Never,
        }
    }
}

impl Default for LogFilterData {
    fn default() -> LogFilterData {
        LogFilterData {
            transcript: default_filter_transcript(),
            structured_text: default_filter_structured_text(),
        }
    }
}

impl Default for ClientFileTransfer {
    fn default() -> ClientFileTransfer {
        ClientFileTransfer {
            upload_max_files: default_upload_max_files(),
            upload_max_file_size_bytes: default_upload_max_file_size_bytes(),
            upload_max_total_size_bytes: default_upload_max_total_size_bytes(),
            upload_file_types: default_upload_file_types(),
            upload_need_agent: default_upload_need_agent(),
            download_attempts: default_download_attempts(),
            delete_file: default_delete_file(),
        }
    }
}

impl Default for Web {
    fn default() -> Web {
        Web {
            cors_allowed_origins: default_cors_allowed_origins(),
            web_dir: default_web_dir(),
        }
    }
}

impl Default for Security {
    fn default() -> Security {
        Security {
            api_keys: default_api_keys(),
            esp_api_keys: default_api_keys(),
            admin_api_keys: default_api_keys(),
        }
    }
}

impl fmt::Debug for ServerSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSection")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("store_url", &self.store_url.as_deref().map(redact_url))
            .finish()
    }
}

/// `postgres://user:pw@host/db` → `postgres://<redacted>@host/db`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<redacted>{}", &rest[at..]),
        None => url.to_owned(),
    }
}
