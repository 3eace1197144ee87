//! The declaration of `[settings]`, the Genesys Chat Server options Parley implements,
//! with its value enums.

use serde::Deserialize;

use super::declare::config_section;

config_section! {
    /// The Genesys Chat Server [settings] section: transcript persistence, high availability,
    /// client timeouts, logging, and a few Parley limits.
    #[section("settings")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Settings {
        /// When the transcript is saved:
        ///   0 = only when the session ends (the Genesys default);
        ///   1 = after every message;
        ///   2 = after every message, and basic clients (agents, bots) are told of each save
        ///       (`transcriptSaved` with result `save`) and of each failure (`ucs-save-fail`).
        /// Parley's default is 1, a deliberate difference from Genesys' 0, because Parley never
        /// loses an acknowledged line: with 1, every message is in the store as it is delivered,
        /// not only when the session ends.
        #[option("transcript-auto-save", IntChoice(0, 1, 2), default = 1,
            group = "transcript persistence and high availability")]
        pub transcript_auto_save: AutoSave,

        /// What to do when the store answers a transcript save with a non-recoverable error:
        ///   close    = close the session without a final save (quit reason 5), as in the
        ///              Genesys high-availability recipe;
        ///   continue = keep the session going and save later.
        #[option("transcript-save-on-error", Choice("close", "continue"), default = "continue")]
        pub transcript_save_on_error: SaveOnError,

        /// How many times a failed transcript save is retried before it counts as an error.
        #[option("transcript-resend-attempts", Int(0..=100), default = 3)]
        pub transcript_resend_attempts: u32,

        /// Seconds between those retries.
        #[option("transcript-resend-delay", Int(0..=60, "seconds"), default = 1)]
        pub transcript_resend_delay_s: u64,

        /// Which notices are saved in the transcript:
        ///   default = the notices Genesys saves;
        ///   all     = every notice.
        #[option("transcript-save-notices", Choice("default", "all"), default = "default")]
        pub transcript_save_notices: SaveNotices,

        /// Whether clients may restore a session after a connection loss or an instance failure:
        ///   none   = restoration requests are refused (the Genesys default);
        ///   simple = restoration requests are processed.
        /// Parley's default is "simple", a deliberate difference from Genesys' "none", so that a
        /// client can resume after a failover without extra setup.
        #[option("session-restoration-mode", Choice("none", "simple"), default = "simple")]
        pub session_restoration_mode: RestorationMode,

        /// Whether joining an existing session requires its session password.
        #[option("session-password-enforce", Bool, default = false)]
        pub session_password_enforce: bool,

        /// Whether the interaction is stopped when its chat session ends:
        ///   always   = always stop it;
        ///   never    = never: it stays with its agents until they mark it done, or in its queue
        ///              until an agent takes it (the default, and what Genesys recommends);
        ///   noagents = stop it only if no agent or supervisor is in the chat when it ends;
        ///   noanswer = stop it only if no agent ever joined the chat.
        /// When it is not stopped, its IsOnline becomes 0. The legacy values true (= noanswer)
        /// and false (= never) are accepted too.
        #[option("stop-abandoned-interaction",
            ChoiceOrBool("always", "never", "noagents", "noanswer"), default = "never",
            group = "interactions")]
        pub stop_abandoned_interaction: parley_core::routing::StopAbandoned,

        /// Which reporting statistics are attached to the interaction's user data when its chat
        /// ends, before the interaction is stopped (docs/reporting.md lists them):
        ///   none  = only ChatServerSessionStartedAt, ChatServerSessionClosedAt, csg_MediaType
        ///           and csg_TenantId, which are always attached (the Genesys default);
        ///   fired = also the session's id, language, origin and end reasons, and the
        ///           statistics that occurred (no zero counts);
        ///   all   = every statistic, zero ones included (what Genesys Info Mart needs).
        #[option("attach-session-statistics", Choice("none", "fired", "all"), default = "none")]
        pub attach_session_statistics: parley_core::stats::AttachStatistics,

        /// Seconds a new connection has to register (basic protocol) or send its first request
        /// (flex protocol) before it is closed. Prevents idle sockets.
        #[option("user-register-timeout", Int(1..=3600, "seconds"), default = 30,
            group = "client connections")]
        pub user_register_timeout_s: u64,

        /// Parley's own. Seconds an HTTP client has, from the first byte of a request, to send
        /// the request's complete headers. A slower client (a "slowloris" trickling headers) is
        /// disconnected. This covers every request, the first one included.
        #[option("request-header-timeout", Int(1..=3600, "seconds"), default = 10)]
        pub request_header_timeout_s: u64,

        /// Parley's own. Seconds an HTTP keep-alive connection may wait for its next request
        /// after a response before the server closes it; also how long a response may stay
        /// stalled on a client that does not read it, and the longest pause between two parts
        /// of a request body. WebSockets are not concerned: they have their own pings.
        #[option("http-idle-timeout", Int(1..=3600, "seconds"), default = 30)]
        pub http_idle_timeout_s: u64,

        /// Most client connections open at once, all protocols together (Genesys fixes it at
        /// 32768 on Linux). The effective cap is lower when the open files limit
        /// (RLIMIT_NOFILE, raised to its hard limit at start) leaves less room. At the cap, a
        /// new connection closes the connection that has waited longest without a request in
        /// progress (just opened, or idle between requests); if there is none, the new one is
        /// closed. Registered WebSockets and requests in progress are never closed for it.
        #[option("max-connections", Int(16..=1_048_576), default = 32768)]
        pub max_connections: usize,

        /// Seconds a flex (web) client may go without sending any protocol request before it is
        /// disconnected and leaves its session. Inactivity means no requests, not no messages: a
        /// client that keeps refreshing stays. (Older Genesys releases defaulted to 300.)
        #[option("flex-disconnect-timeout", Int(1..=1_728_000, "seconds"), default = 45)]
        pub flex_disconnect_timeout_s: u64,

        /// Parley's own. The longest a flex or GMS refresh waits for new transcript events before
        /// it answers with none (long polling); 0 = answer at once. Must be less than
        /// flex-disconnect-timeout, since a client waiting in a refresh sends no other request.
        #[option("flex-refresh-max-wait", Int(0..=120, "seconds"), default = 30)]
        pub flex_refresh_max_wait_s: u64,

        /// Largest inbound frame (a WebSocket message or an HTTP request body), in bytes. Larger
        /// frames are refused. (Genesys caps its XML packets at 32768 bytes by default.)
        #[option("max-frame-size", Int(200..=16_777_216, "bytes"), default = 65536)]
        pub max_frame_size_bytes: usize,

        /// Largest chat message text, in bytes. Must be less than max-frame-size, since a message
        /// travels inside a frame.
        #[option("max-message-size", Int(1..=1_048_576, "bytes"), default = 16384)]
        pub max_message_size_bytes: usize,

        /// Parley's own. Most events one chat's transcript may hold. Past it, parties' messages
        /// and notices are refused with LIMIT_EXCEEDED (1011), and nobody new may join, while
        /// the chat can still end normally: this bounds what one client can make the server
        /// store.
        #[option("max-transcript-events", Int(100..=10_000_000), default = 10000)]
        pub max_transcript_events: usize,

        /// Parley's own. Most bytes of message and notice text one chat's transcript may hold,
        /// with the same effect as max-transcript-events (4194304 = 4 MiB).
        #[option("max-transcript-size", Int(65536..=1_073_741_824, "bytes"), default = 4194304)]
        pub max_transcript_size_bytes: usize,

        /// Parley's own. Most messages and notices a live chat keeps in memory once they are
        /// saved; older ones are read back from the database when a client resumes or refreshes
        /// from far back, and for the final transcript. Joins, leaves and read confirmations
        /// always stay in memory. Has no effect with transcript-auto-save = off, where memory
        /// holds the whole transcript until the end.
        #[option("transcript-memory-events", Int(16..=1_000_000), default = 256)]
        pub transcript_memory_events: usize,

        /// Parley's own. Most bytes of message and notice text a live chat keeps in memory once
        /// saved, with the same effect as transcript-memory-events (262144 = 256 KiB).
        #[option("transcript-memory-size", Int(16384..=1_073_741_824, "bytes"), default = 262144)]
        pub transcript_memory_size_bytes: usize,

        /// Seconds a basic party (agent, supervisor, bot) whose connection dropped stays in its
        /// sessions waiting to resume. After that it leaves them. 0 = leave at once.
        #[option("basic-reconnect-timeout", Int(0..=86_400, "seconds"), default = 60)]
        pub basic_reconnect_timeout_s: u64,

        /// Seconds between WebSocket pings, which detect dead connections. 0 = no pings.
        #[option("ws-ping-interval", Int(0..=3600, "seconds"), default = 20)]
        pub ws_ping_interval_s: u64,

        /// Seconds an instance's lease on a session lasts without renewal (it renews every
        /// third of it). When an instance dies, another one takes its sessions over after
        /// this long, so it bounds how long their customers wait on a failover.
        #[option("session-lease-timeout", Int(2..=3600, "seconds"), default = 5,
            group = "several instances, persistence, shutdown")]
        pub session_lease_timeout_s: u64,

        /// Most writes combined into one group commit of the store.
        #[option("commit-batch-max", Int(1..=10_000), default = 512)]
        pub commit_batch_max: usize,

        /// Seconds a graceful shutdown waits for sessions to flush their transcripts before the
        /// process exits anyway.
        #[option("shutdown-timeout", Int(1..=600, "seconds"), default = 10)]
        pub shutdown_timeout_s: u64,

        /// Parley's own. Seconds a draining instance (`POST /admin/v1/drain`, `parley
        /// drain`) waits for its sessions to finish before it hands the rest to the other
        /// instances (they restore them, as after a graceful shutdown) and exits. 0 = wait
        /// for the last session however long it takes.
        #[option("drain-timeout", Int(0..=604800, "seconds"), default = 3600)]
        pub drain_timeout_s: u64,

        /// Whether load limits are enforced. When any `limit-for-*` below is reached, this
        /// instance stops creating sessions, restoring sessions from the store and
        /// accepting flex logins (`UNAVAILABLE`, HTTP 503 with `Retry-After`) until every
        /// reached metric has fallen to `limits-restore-threshold` % of its limit
        /// (docs/ha.md, "Load limits").
        #[option("limits-control-enabled", Bool, default = false, group = "load limits")]
        pub limits_control_enabled: bool,

        /// Most live sessions on this instance. 0 = not checked.
        #[option("limit-for-sessions", Int(0..=1_000_000), default = 1000)]
        pub limit_for_sessions: u64,

        /// Most flex users (flex protocol and GMS v2 customers) present in this instance's
        /// sessions. 0 = not checked.
        #[option("limit-for-flex-users", Int(0..=1_000_000), default = 1001)]
        pub limit_for_flex_users: u64,

        /// Most average delay, in milliseconds, between a client request reaching its session
        /// and its (durable) reply, averaged over `limit-average-interval`. 0 = not checked
        /// (Parley's default; Genesys documents none).
        #[option("limit-for-reply-delay", Int(0..=600_000, "milliseconds"), default = 0)]
        pub limit_for_reply_delay_ms: u64,

        /// Seconds over which the reply delay is averaged.
        #[option("limit-average-interval", Int(1..=3600, "seconds"), default = 15)]
        pub limit_average_interval_s: u64,

        /// Percent of each limit a reached metric must fall to before full service returns.
        #[option("limits-restore-threshold", Int(0..=100, "percent"), default = 80)]
        pub limits_restore_threshold_pct: u64,

        /// Genesys reports "service unavailable" to SCS at a limit; Parley's equivalent is
        /// `/readyz` answering 503 "limited". false = `/readyz` stays 200 while limited (new
        /// sessions are refused all the same).
        #[option("limits-reached-report-scs", Bool, default = true)]
        pub limits_reached_report_scs: bool,

        /// How many leading characters of each chat message are printed in the log (after masking,
        /// at trace level). 0 = none.
        #[option("message-log-print-size", Int(0..=7000, "characters"), default = 0,
            group = "logging")]
        pub message_log_print_size_chars: usize,

        /// Keep attached user data out of the log.
        #[option("hide-attached-data", Bool, default = true)]
        pub hide_attached_data: bool,
    }
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
