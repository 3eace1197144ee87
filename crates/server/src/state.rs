//! Shared server state: the store, the persistence pipeline, the session registry, the
//! policy derived from the configuration, and the counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parley_core::session::{FileSettings, Limits, SaveNotices};
use parley_core::SessionSettings;
use parley_store::{AnyStore, InstanceId};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::actor::Registry;
use crate::config::{self, Config};
use crate::persist::Pipeline;

/// Shared by every connection and actor.
pub type AppState = Arc<Shared>;

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
                    ..Limits::default()
                },
                idempotency_window: 1024,
            },
            lease_ms: s.session_lease_timeout_s.saturating_mul(1000),
            max_frame_bytes: s.max_frame_size_bytes,
            register_timeout: Duration::from_secs(s.user_register_timeout_s),
            ping_interval: (s.ws_ping_interval_s > 0)
                .then(|| Duration::from_secs(s.ws_ping_interval_s)),
            log: crate::telemetry::LogPolicy::from_config(c),
            flex_refresh_max_wait: Duration::from_secs(s.flex_refresh_max_wait_s),
        }
    }
}

/// Everything shared.
pub struct Shared {
    /// The validated configuration.
    pub config: Config,
    /// Resolved policy.
    pub policy: Policy,
    /// The store.
    pub store: AnyStore,
    /// The group-commit pipeline.
    pub pipeline: Pipeline,
    /// Live sessions.
    pub registry: Registry,
    /// Flex logins waiting for their join.
    pub logins: crate::customer::PendingLogins,
    /// This process, as owner of session leases.
    pub instance: InstanceId,
    /// Counters for `/counters`.
    pub counters: Counters,
    /// Fires on shutdown.
    pub shutdown: CancellationToken,
    /// Session actors and connections, awaited on shutdown.
    pub tracker: TaskTracker,
    /// Routing, agents, webhooks.
    pub center: crate::center::Center,
}

/// A cumulative counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// KPI counters (cumulative, as the seed's "How counter values are calculated" says),
/// and gauges for what is open now.
#[derive(Debug, Default)]
pub struct Counters {
    /// Sessions created.
    pub sessions_created: Counter,
    /// Sessions closed.
    pub sessions_closed: Counter,
    /// Sessions restored from the store.
    pub sessions_restored: Counter,
    /// Transcript events emitted.
    pub events: Counter,
    /// Events delivered live to subscribers.
    pub deliveries: Counter,
    /// Client requests that got an error.
    pub request_errors: Counter,
    /// Batches that could not be stored.
    pub store_failures: Counter,
    /// Connections opened.
    pub connections_opened: Counter,
    sessions_live: AtomicU64,
    connections_live: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CountersSnapshot {
    /// Gauge: live sessions on this instance.
    pub sessions: u64,
    /// Gauge: open connections.
    pub conns: u64,
    /// Cumulative: sessions created.
    pub sessions_created: u64,
    /// Cumulative: sessions closed.
    pub sessions_closed: u64,
    /// Cumulative: sessions restored.
    pub sessions_restored: u64,
    /// Cumulative: events.
    pub events: u64,
    /// Cumulative: live deliveries.
    pub deliveries: u64,
    /// Cumulative: request errors.
    pub request_errors: u64,
    /// Cumulative: failed batches.
    pub store_failures: u64,
    /// Cumulative: connections opened.
    pub connections_opened: u64,
}

impl Counters {
    /// Sets the live-session gauge.
    pub fn sessions_live_set(&self, n: usize) {
        self.sessions_live.store(n as u64, Ordering::Relaxed);
    }
    /// A connection opened; returns how many are open.
    pub fn conn_opened(&self) -> u64 {
        self.connections_opened.inc();
        self.connections_live.fetch_add(1, Ordering::Relaxed) + 1
    }
    /// A connection closed; returns how many are open.
    pub fn conn_closed(&self) -> u64 {
        self.connections_live.fetch_sub(1, Ordering::Relaxed) - 1
    }
    /// A snapshot.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            sessions: self.sessions_live.load(Ordering::Relaxed),
            conns: self.connections_live.load(Ordering::Relaxed),
            sessions_created: self.sessions_created.get(),
            sessions_closed: self.sessions_closed.get(),
            sessions_restored: self.sessions_restored.get(),
            events: self.events.get(),
            deliveries: self.deliveries.get(),
            request_errors: self.request_errors.get(),
            store_failures: self.store_failures.get(),
            connections_opened: self.connections_opened.get(),
        }
    }
}
