//! What the session actors and front doors need from the configuration, resolved once
//! at start: the transcript's durability, restoration, bounds and timeouts.

use std::time::Duration;

use parley_core::session::{FileSettings, Limits, SaveNotices};
use parley_core::SessionSettings;

use crate::config::{self, Config};

/// `transcript-auto-save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSave {
    /// 0: the transcript is written when the session ends.
    Off,
    /// 1: every event is durable before anyone sees it.
    Save,
    /// 2: as 1, and basic clients are told of each save (`transcriptSaved`).
    SaveAndNotify,
}

/// What the session actors and front doors need from the configuration, resolved once.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Transcript durability.
    pub auto_save: AutoSave,
    /// `transcript-save-on-error = close`.
    pub close_on_save_error: bool,
    /// Pause between transcript save attempts.
    pub resend_delay: Duration,
    /// `session-restoration-mode = simple` (and auto-save on).
    pub restoration: bool,
    /// `session-password-enforce`.
    pub password_enforce: bool,
    /// `bad-secure-key-removes-party`: the Genesys reaction to a wrong secure key.
    pub bad_key_removes_party: bool,
    /// Core settings for every session.
    pub session: SessionSettings,
    /// Ownership lease of live sessions.
    pub lease_ms: u64,
    /// Largest inbound frame accepted (bytes).
    pub max_frame_bytes: usize,
    /// `user-register-timeout`.
    pub register_timeout: Duration,
    /// WebSocket ping period (`None`: off).
    pub ping_interval: Option<Duration>,
    /// Logging choices.
    pub log: crate::telemetry::LogPolicy,
    /// The longest a flex/GMS refresh long-poll waits (`flex-refresh-max-wait`).
    pub flex_refresh_max_wait: Duration,
    /// How fast one customer may send in one chat (`[rate-limits]`).
    pub customer_quotas: crate::throttle::CustomerQuotas,
}

impl Policy {
    /// Resolves the policy from a validated configuration.
    pub fn from_config(c: &Config) -> Policy {
        let s = &c.settings;
        let auto_save = match s.transcript_auto_save {
            config::AutoSave::Off => AutoSave::Off,
            config::AutoSave::Save => AutoSave::Save,
            config::AutoSave::SaveAndNotify => AutoSave::SaveAndNotify,
        };
        Policy {
            auto_save,
            close_on_save_error: s.transcript_save_on_error == config::SaveOnError::Close,
            resend_delay: Duration::from_secs(s.transcript_resend_delay_s),
            restoration: s.session_restoration_mode == config::RestorationMode::Simple
                && auto_save != AutoSave::Off,
            password_enforce: s.session_password_enforce,
            bad_key_removes_party: c.security.bad_secure_key_removes_party,
            session: SessionSettings {
                save_notices: match s.transcript_save_notices {
                    config::SaveNotices::Default => SaveNotices::Default,
                    config::SaveNotices::All => SaveNotices::All,
                },
                reconnect_timeout_ms: s.basic_reconnect_timeout_s.saturating_mul(1000),
                flex_disconnect_timeout_ms: s.flex_disconnect_timeout_s.saturating_mul(1000),
                files: {
                    let f = &c.client_file_transfer;
                    FileSettings {
                        max_files: f.upload_max_files,
                        max_file_size: f.upload_max_file_size_bytes,
                        max_total_size: f.upload_max_total_size_bytes,
                        file_types: f.file_types(),
                        need_agent: f.upload_need_agent,
                        download_attempts: f.download_attempts,
                        delete_returns_quota: f.delete_file,
                    }
                },
                limits: Limits {
                    max_text_bytes: s.max_message_size_bytes,
                    max_transcript_events: s.max_transcript_events,
                    max_transcript_bytes: s.max_transcript_size_bytes,
                    window_events: s.transcript_memory_events,
                    window_bytes: s.transcript_memory_size_bytes,
                    ..Limits::default()
                },
                idempotency_window: 1024,
                customer_join_by_id: c.security.customer_join_by_chat_id,
                masking: None,
            },
            lease_ms: s.session_lease_timeout_s.saturating_mul(1000),
            max_frame_bytes: s.max_frame_size_bytes,
            register_timeout: Duration::from_secs(s.user_register_timeout_s),
            ping_interval: (s.ws_ping_interval_s > 0)
                .then(|| Duration::from_secs(s.ws_ping_interval_s)),
            log: crate::telemetry::LogPolicy::from_config(c),
            flex_refresh_max_wait: Duration::from_secs(s.flex_refresh_max_wait_s),
            customer_quotas: crate::throttle::CustomerQuotas::new(&c.rate_limits),
        }
    }
}
