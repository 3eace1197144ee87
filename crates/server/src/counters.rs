//! KPI counters (cumulative, as the seed's "How counter values are calculated" says) and
//! gauges of what is open now, shared by the session actors and the front doors. Plain
//! atomics: counting never takes a lock on the message path.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

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
    /// Connections closed at the connection cap (`max-connections`) to make room.
    pub connections_shed: Counter,
    /// Connections closed by `user-register-timeout`, `request-header-timeout` or
    /// `http-idle-timeout`.
    pub connections_timed_out: Counter,
    /// HTTP requests forwarded to the instance holding their session.
    pub forwarded_requests: Counter,
    /// Basic-protocol connections piped to the instance holding their session.
    pub forwarded_connections: Counter,
    /// Forwards that could not reach the owner (the client was told to retry).
    pub forward_failures: Counter,
    /// Requests refused for a forwarding header that did not verify.
    pub forward_refused: Counter,
    /// Requests refused by a rate limit (`[rate-limits]`).
    pub rate_limited: Counter,
    /// Closed chats whose transcripts the retention purge removed (`[retention]`).
    pub purged_transcripts: Counter,
    /// Closed chats whose files the retention purge removed.
    pub purged_files: Counter,
    /// Interaction records the retention purge removed.
    pub purged_interactions: Counter,
    /// Transcript event rows the retention purge removed (with transcripts or records).
    pub purged_events: Counter,
    /// Bytes of the files the retention purge removed.
    pub purged_file_bytes: Counter,
    /// Contacts erased through the admin API (on this instance).
    pub contacts_erased: Counter,
    /// Chats whose customer the website vouched for (`[identity.<tenant>]`).
    pub identity_verified: Counter,
    /// Chats in a tenant that checks identities whose customer sent no hash or token.
    pub identity_missing: Counter,
    /// Chats whose hash or token did not verify (wrong, expired, malformed).
    pub identity_failed: Counter,
    /// Chats refused because their tenant requires a verified identity.
    pub identity_refused: Counter,
    sessions_live: AtomicU64,
    connections_live: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CountersSnapshot {
    /// Gauge: live sessions on this instance.
    pub sessions: u64,
    /// Gauge: open client connections (TCP, all protocols).
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
    /// Cumulative: connections closed at the connection cap.
    pub connections_shed: u64,
    /// Cumulative: connections closed by a register, header or idle timeout.
    pub connections_timed_out: u64,
    /// Cumulative: HTTP requests forwarded to their session's owner.
    pub forwarded_requests: u64,
    /// Cumulative: basic-protocol connections piped to their session's owner.
    pub forwarded_connections: u64,
    /// Cumulative: forwards that could not reach the owner.
    pub forward_failures: u64,
    /// Cumulative: requests refused for a forwarding header that did not verify.
    pub forward_refused: u64,
    /// Cumulative: requests refused by a rate limit.
    pub rate_limited: u64,
    /// Cumulative: transcripts purged (by this instance).
    pub purged_transcripts: u64,
    /// Cumulative: chats whose files were purged.
    pub purged_files: u64,
    /// Cumulative: interaction records purged.
    pub purged_interactions: u64,
    /// Cumulative: transcript event rows purged.
    pub purged_events: u64,
    /// Cumulative: bytes of files purged.
    pub purged_file_bytes: u64,
    /// Cumulative: contacts erased.
    pub contacts_erased: u64,
    /// Cumulative: chats with a verified visitor identity.
    pub identity_verified: u64,
    /// Cumulative: chats without a hash or token in tenants that check identities.
    pub identity_missing: u64,
    /// Cumulative: chats whose hash or token did not verify.
    pub identity_failed: u64,
    /// Cumulative: chats refused for want of a verified identity.
    pub identity_refused: u64,
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
    /// How many connections are open.
    pub fn conns_live(&self) -> u64 {
        self.connections_live.load(Ordering::Relaxed)
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
            connections_shed: self.connections_shed.get(),
            connections_timed_out: self.connections_timed_out.get(),
            forwarded_requests: self.forwarded_requests.get(),
            forwarded_connections: self.forwarded_connections.get(),
            forward_failures: self.forward_failures.get(),
            forward_refused: self.forward_refused.get(),
            rate_limited: self.rate_limited.get(),
            purged_transcripts: self.purged_transcripts.get(),
            purged_files: self.purged_files.get(),
            purged_interactions: self.purged_interactions.get(),
            purged_events: self.purged_events.get(),
            purged_file_bytes: self.purged_file_bytes.get(),
            contacts_erased: self.contacts_erased.get(),
            identity_verified: self.identity_verified.get(),
            identity_missing: self.identity_missing.get(),
            identity_failed: self.identity_failed.get(),
            identity_refused: self.identity_refused.get(),
        }
    }
}
