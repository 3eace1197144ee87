//! The declarations of `[server]`, `[log-filter-data]`, `[client-file-transfer]`, `[web]`
//! and `[security]` (`[settings]` has its own file), with their value enums and methods.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::declare::config_section;
use super::Secret;

config_section! {
    /// Parley's own process options (no Genesys equivalent).
    #[section("server")]
    #[derive(Clone, PartialEq, Eq)]
    pub struct ServerSection {
        /// Address and port of the default listener: every front door (basic, flex, GMS, ESP,
        /// health, web pages) unless [listeners.<port-id>] moves some to a listener of their own.
        /// TLS with [tls]. Use 0.0.0.0:8080 or [::]:8080 to accept connections from other hosts.
        /// Any IPv4 or IPv6 socket address.
        #[option("listen", Addr, default = "127.0.0.1:8080")]
        pub listen: SocketAddr,

        /// Directory for local state: the SQLite database (when store-url is unset) and other
        /// files. Relative paths are relative to the working directory. Must not be empty.
        #[option("data-dir", Path, default = "./parley-data")]
        pub data_dir: PathBuf,

        /// Where sessions and transcripts are stored. Unset means SQLite in data-dir, i.e.
        /// "sqlite://<data-dir>/parley.db". Use PostgreSQL to run several instances (N+1) on one
        /// database. Must be a URL with a scheme (sqlite:, postgres:, ...). The URL may carry a
        /// password: Parley never prints it (`Debug` hides the user part; prefer setting it with
        /// PARLEY_SERVER__STORE_URL rather than in a file).
        #[option("store-url", Url, unset,
            example = "postgres://parley:secret@db.example/parley")]
        pub store_url: Option<String>,

        /// How log lines are written to standard error: text = one human-readable line each;
        /// json = one JSON object per line (timestamp, level, message, fields, and the spans
        /// with their request or connection id), for log shippers. RUST_LOG still chooses
        /// what is logged.
        #[option("log-format", Choice("text", "json"), default = "text")]
        pub log_format: LogFormat,
    }
}

/// `[server] log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

config_section! {
    /// How these attached-data keys appear in logs:
    ///   copy = print the value as is;
    ///   skip = leave the key out;
    ///   hide = print the key with its value hidden.
    #[section("log-filter-data")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LogFilterData {
        /// The transcript.
        #[option("Transcript", Choice("copy", "skip", "hide"), default = "hide")]
        pub transcript: FilterAction,

        /// The UCS XML transcript.
        #[option("StructuredText", Choice("copy", "skip", "hide"), default = "hide")]
        pub structured_text: FilterAction,
    }
}

config_section! {
    /// The Genesys [client-file-transfer] section: what customers (flex and GMS clients) may
    /// upload and download in a session. Agents are not limited. Clients read these values
    /// with a file-limits request.
    #[section("client-file-transfer")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ClientFileTransfer {
        /// Most files a customer may upload per session. 0 = no uploads.
        #[option("upload-max-files", Int(0..=1000), default = 3)]
        pub upload_max_files: u64,

        /// Largest single upload, in bytes (2097152 = 2 MiB).
        #[option("upload-max-file-size", Int(0..=1_073_741_823, "bytes"), default = 2097152)]
        pub upload_max_file_size_bytes: u64,

        /// Most bytes a customer may upload per session, all files together (5242880 = 5 MiB).
        #[option("upload-max-total-size", Int(0..=1_073_741_823, "bytes"), default = 5242880)]
        pub upload_max_total_size_bytes: u64,

        /// The file extensions a customer may upload, without dots, separated by colons, each 1 to
        /// 16 ASCII letters and digits, matched case-insensitively; "" allows any type. The
        /// default is a list of common documents and images without executables or scripts; Parley
        /// does not scan files, so keep it short.
        #[option("upload-file-types", Str,
            default = "bmp:csv:doc:docx:gif:jpeg:jpg:pdf:png:rtf:txt:xls:xlsx")]
        pub upload_file_types: String,

        /// Whether customers may upload only while an agent is in the session.
        #[option("upload-need-agent", Bool, default = false)]
        pub upload_need_agent: bool,

        /// Most downloads a customer may make per session. 0 = no downloads.
        #[option("download-attempts", Int(0..=1000), default = 10)]
        pub download_attempts: u64,

        /// Whether deleting an uploaded file gives its allowance (one file and its size) back to
        /// the customer.
        #[option("delete-file", Bool, default = false)]
        pub delete_file: bool,
    }
}

impl ClientFileTransfer {
    /// The allowed extensions of `upload-file-types`, lower-cased, in the configured
    /// order; empty means any type.
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

config_section! {
    /// Parley's own: the browser-facing side.
    #[section("web")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Web {
        /// Origins allowed to call the customer endpoints (flex, GMS v2, widget) from a browser
        /// (CORS). Each entry is "*" (any origin) or an http or https origin without a path, such
        /// as "https://shop.example" or "http://localhost:3000", written as browsers send it: in
        /// lower case and without the default port (:80 for http, :443 for https). [] allows no
        /// cross-origin call. List your sites in production instead of "*". Unless "*" is listed, a
        /// browser request or WebSocket from any other page (by its Origin header) is refused
        /// with 403 ORIGIN_NOT_ALLOWED; pages served by Parley itself are always allowed.
        #[option("cors-allowed-origins", StrList, default = ["*"])]
        pub cors_allowed_origins: Vec<String>,

        /// Reverse proxies (addresses such as "10.0.0.7" or networks such as "10.0.0.0/8")
        /// whose Forwarded or X-Forwarded-For header names the real client. The client's address
        /// (used by the failed-login limits and the logs) is the nearest address in that chain
        /// that is not listed here; a peer that is not listed is the client whatever headers it
        /// sends. [] believes no header: list your proxies when Parley runs behind one, or every
        /// client looks like the proxy.
        #[option("trusted-proxies", StrList, default = [], example = ["127.0.0.1", "10.0.0.0/8"])]
        pub trusted_proxies: Vec<String>,

        /// Serve the web files (web/) from this directory instead of the copies compiled into the
        /// binary, so edits show without a rebuild. For development. Unset serves the compiled-in
        /// files; must not be empty when set.
        #[option("web-dir", Path, unset, example = "./web")]
        pub web_dir: Option<PathBuf>,
    }
}

impl Web {
    /// Whether a browser's `Origin` header value is allowed by `cors-allowed-origins`:
    /// `*` allows any; otherwise an ASCII case-insensitive match with a configured origin.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.cors_allowed_origins
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

config_section! {
    /// Parley's own credentials section.
    #[section("security")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Security {
        /// API keys accepted from workflows (ESP) and bots. Each key must be at least 32
        /// characters and different from the others. They are compared in constant time and never
        /// printed. [] accepts no key. Prefer PARLEY_SECURITY__API_KEYS (comma-separated) to
        /// keeping keys in a file. Generate one with e.g. `openssl rand -hex 32`.
        #[option("api-keys", SecretList, default = [])]
        pub api_keys: Vec<Secret>,

        /// Keys accepted by the ESP port (/esp/<Method>: workflows acting on interactions), with
        /// the same rules: at least 32 characters each, all different, never printed. [] refuses
        /// every ESP request. Prefer PARLEY_SECURITY__ESP_API_KEYS.
        #[option("esp-api-keys", SecretList, default = [])]
        pub esp_api_keys: Vec<Secret>,

        /// Keys accepted by the admin API (/admin/v1/...: agents, contacts, interactions), with
        /// the same rules. Whoever holds one manages agents and reads every interaction: keep
        /// these few, and apart from the other keys. [] refuses every admin request. Prefer
        /// PARLEY_SECURITY__ADMIN_API_KEYS.
        #[option("admin-api-keys", SecretList, default = [])]
        pub admin_api_keys: Vec<Secret>,

        /// Parley's own. Whether a customer who knows a chat's id may join that chat without its
        /// session password (the Genesys behaviour). Off: a customer reaches only the chats it
        /// created, or another chat by presenting that chat's session password; a join by id
        /// alone is refused with NOT_ALLOWED (1010). Risk of turning it on: chat ids appear in
        /// GMS URLs, logs and reports, and whoever holds one reads that chat's whole transcript
        /// and files.
        #[option("customer-join-by-chat-id", Bool, default = false)]
        pub customer_join_by_chat_id: bool,

        /// Parley's own. Whether a request presenting a wrong secure key for a flex or GMS customer
        /// removes that customer from the chat (party-left reason 6, the Genesys behaviour). Off:
        /// the request is refused with BAD_SECURE_KEY (8210) and the real customer stays. Risk of
        /// turning it on: anyone who knows a chat id and a user id can end that customer's chat.
        #[option("bad-secure-key-removes-party", Bool, default = false)]
        pub bad_secure_key_removes_party: bool,
    }
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

impl fmt::Debug for ServerSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSection")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("store_url", &self.store_url.as_deref().map(redact_url))
            .field("log_format", &self.log_format)
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
