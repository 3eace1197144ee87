//! KPI counters (cumulative, as the seed's "How counter values are calculated" says) and
//! gauges of what is open now, shared by the session actors and the front doors.
//!
//! Each counter is declared once, in [`kpi_counters!`] below: its field, its name in
//! `/Counters` and its description (`/Counters?metadata=true`, the `# HELP` line of
//! `/metrics`). The values are plain atomics that only ever grow, so counting never takes
//! a lock on the message path; `/Counters` reads them through [`view`] (which applies the
//! seed's `reset` as a baseline, leaving Prometheus' counters monotonic) and `/metrics`
//! through [`prom`], the Prometheus registry that also holds the histograms.

pub mod prom;
pub mod view;

use std::sync::atomic::{AtomicU64, Ordering};

pub use prom::Metrics;

/// A cumulative counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The value since the process started.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether a counter only grows (and `reset` applies to it) or says what is so now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Counts since the start or the last reset.
    Cumulative,
    /// A current value (open sessions, process memory); never reset.
    Gauge,
}

/// A counter's declaration: its `/Counters` name (kebab-case; `group.name` inside a
/// group), kind and description.
#[derive(Debug, Clone, Copy)]
pub struct Described {
    /// The name in `/Counters` (`/metrics` prefixes `parley_`, uses `_` and adds `_total`).
    pub name: &'static str,
    /// Cumulative or gauge.
    pub kind: Kind,
    /// What it counts.
    pub description: &'static str,
}

/// Declares the cumulative KPI counters: the struct fields and [`KPI`] from one list.
macro_rules! kpi_counters {
    ($( $field:ident = $name:literal, $desc:literal; )*) => {
        /// KPI counters (cumulative) and gauges for what is open now.
        #[derive(Debug, Default)]
        pub struct Counters {
            $( #[doc = $desc] pub $field: Counter, )*
            sessions_live: AtomicU64,
            connections_live: AtomicU64,
            /// The Prometheus registry: histograms, labelled gauges, the rendering.
            pub metrics: Metrics,
            /// `reset` baselines and what each reader last saw (`content=new`).
            pub view: view::ViewState,
        }

        /// The cumulative KPI counters, in `/Counters` order.
        pub const KPI: &[Described] = &[
            $( Described { name: $name, kind: Kind::Cumulative, description: $desc }, )*
        ];

        impl Counters {
            /// Every cumulative counter with its value since the start, in [`KPI`] order.
            pub fn cumulative(&self) -> Vec<(&'static str, u64)> {
                vec![ $( ($name, self.$field.get()), )* ]
            }
        }
    };
}

kpi_counters! {
    sessions_created = "sessions-created", "Chat sessions created on this instance.";
    sessions_closed = "sessions-closed", "Chat sessions closed on this instance (sessions-created minus sessions-closed is what a drain waits for).";
    sessions_restored = "sessions-restored", "Chat sessions restored from the store (after a restart or from another instance).";
    events = "events", "Transcript events emitted (messages, notices, joins, leaves).";
    deliveries = "deliveries", "Events delivered live to connected or waiting parties.";
    request_errors = "request-errors", "Requests to a customer door (flex, GMS v2, web files) or basic-protocol requests refused or failed; paths no door serves do not count.";
    store_failures = "store-failures", "Transcript batches that could not be stored.";
    connections_opened = "connections-opened", "Client connections accepted (TCP, every listener).";
    connections_shed = "connections-shed", "Connections closed at the connection cap (max-connections) to make room.";
    connections_timed_out = "connections-timed-out", "Connections closed by user-register-timeout, request-header-timeout or http-idle-timeout.";
    forwarded_requests = "forwarded-requests", "HTTP requests forwarded to the instance holding their session.";
    forwarded_connections = "forwarded-connections", "Basic-protocol connections piped to the instance holding their session.";
    forward_failures = "forward-failures", "Forwards that could not reach the session's owner (the client was told to retry).";
    forward_refused = "forward-refused", "Requests refused for a forwarding header that did not verify.";
    rate_limited = "rate-limited", "Requests refused by a rate limit ([rate-limits]).";
    purged_transcripts = "purged-transcripts", "Closed chats whose transcripts the retention purge removed.";
    purged_files = "purged-files", "Closed chats whose files the retention purge removed.";
    purged_interactions = "purged-interactions", "Interaction records the retention purge removed.";
    purged_events = "purged-events", "Transcript event rows the retention purge removed.";
    purged_file_bytes = "purged-file-bytes", "Bytes of the files the retention purge removed.";
    contacts_erased = "contacts-erased", "Contacts erased through the admin API on this instance.";
    identity_verified = "identity-verified", "Chats whose customer the website vouched for ([identity.<tenant>]).";
    identity_missing = "identity-missing", "Chats in a tenant that checks identities whose customer sent no hash or token.";
    identity_failed = "identity-failed", "Chats whose identity hash or token did not verify.";
    identity_refused = "identity-refused", "Chats refused because their tenant requires a verified identity.";
    logins_failed = "logins-failed", "Agent and supervisor logins refused for a wrong login name or password.";
}

/// The name of the one KPI counter that is not cumulative (the seed's "process memory").
pub const PROCESS_MEMORY: &str = "process-memory";

/// The gauges every instance has, in `/Counters` order.
pub const GAUGES: &[Described] = &[
    Described {
        name: "sessions",
        kind: Kind::Gauge,
        description: "Chat sessions live on this instance now.",
    },
    Described {
        name: "conns",
        kind: Kind::Gauge,
        description: "Client connections open now (TCP, every listener).",
    },
    Described {
        name: PROCESS_MEMORY,
        kind: Kind::Gauge,
        description:
            "Resident memory of the process, in bytes (0 where the platform does not say).",
    },
];

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
    /// How many connections are open.
    pub fn conns_live(&self) -> u64 {
        self.connections_live.load(Ordering::Relaxed)
    }
    /// The [`GAUGES`], in order.
    pub fn gauges(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("sessions", self.sessions_live.load(Ordering::Relaxed)),
            ("conns", self.connections_live.load(Ordering::Relaxed)),
            (PROCESS_MEMORY, process_memory()),
        ]
    }
}

/// The resident set size of this process in bytes, from `/proc/self/status` (Linux);
/// 0 elsewhere. The seed's one non-cumulative KPI counter.
fn process_memory() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}
