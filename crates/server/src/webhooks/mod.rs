//! Webhooks: interaction events POSTed to the `[webhooks] urls`, signed with HMAC-SHA256,
//! retried with back-off, never blocking a session.
//!
//! Layout:
//! - `mod.rs`      the [`Webhooks`] handle (`start`, `emit`, `shutdown`), the counters
//! - `event.rs`    the events and their wire body; event ids
//! - `sign.rs`     the `X-Parley-Signature` header, and [`sign::verify`] for receivers
//! - `retry.rs`    the retry policy as pure functions (which statuses, how long to wait)
//! - `deliver.rs`  the delivery task of one URL
//!
//! Each URL has its own bounded queue and task: `emit` only `try_send`s, so a full queue
//! drops the event *for that URL* (counted, warned about at most every
//! [`FULL_WARN_EVERY`]) instead of slowing the chat that emitted it, and a dead URL
//! never delays another. The receiver's contract is in `docs/webhooks.md`.

mod deliver;
mod event;
pub(crate) mod retry;
pub mod sign;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, warn};

use crate::config;
use deliver::{Policy, Worker};
use event::{new_event_id, Body, Envelope};
pub use event::{WebhookEvent, WebhookKind};
use sign::Signer;

/// The least time between two "queue full" warnings for one URL.
pub const FULL_WARN_EVERY: Duration = Duration::from_secs(10);

/// Delivery counters, over all URLs (one event to two URLs counts twice).
#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    retried: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_failed: AtomicU64,
}

/// A snapshot of the counters (for tests and `/counters`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookStats {
    /// Deliveries answered with a 2xx.
    pub delivered: u64,
    /// Attempts that were retries (not counting each event's first attempt).
    pub retried: u64,
    /// Events given up for a URL, for any reason (the sum of the two below).
    pub dropped: u64,
    /// Events not queued because the URL's queue was full (or its task had stopped).
    pub dropped_queue_full: u64,
    /// Events dropped after `attempts` tries, or refused by the receiver (4xx, 3xx).
    pub dropped_failed: u64,
}

/// One URL: its queue and when a "queue full" warning may next be logged.
struct Target {
    origin: String,
    queue: mpsc::Sender<Arc<Envelope>>,
    /// Milliseconds after [`Inner::epoch`] before which "full" is not warned about again.
    next_full_warn_ms: AtomicU64,
    /// Drops since the last warning (reported in the next one).
    unwarned_drops: AtomicU64,
}

struct Inner {
    targets: Vec<Target>,
    counters: Arc<Counters>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    epoch: Instant,
}

/// The delivery service (cheap to clone). The default has no URL: `emit` does nothing.
#[derive(Clone, Default)]
pub struct Webhooks {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls = self.inner.as_ref().map_or(0, |i| i.targets.len());
        f.debug_struct("Webhooks").field("urls", &urls).finish()
    }
}

impl Webhooks {
    /// Starts one delivery task per URL (none when no URL is configured). Must be called
    /// inside the tokio runtime. A URL that does not parse, or a missing secret, is logged
    /// and skipped rather than fatal: validation refuses both before this point.
    pub fn start(config: &config::Webhooks) -> Webhooks {
        if config.urls.is_empty() {
            return Webhooks::default();
        }
        let Some(secret) = &config.secret else {
            error!("[webhooks] urls are set without a secret; webhooks are off");
            return Webhooks::default();
        };
        if tokio::runtime::Handle::try_current().is_err() {
            error!("webhooks started outside the tokio runtime; webhooks are off");
            return Webhooks::default();
        }
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            .user_agent(concat!("parley/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                error!(error = %e, "cannot build the webhook HTTP client; webhooks are off");
                return Webhooks::default();
            }
        };
        let policy = Policy {
            attempts: config.attempts.max(1),
            retry_delay: Duration::from_millis(config.retry_delay_ms),
            max_retry_delay: Duration::from_millis(config.max_retry_delay_ms),
            timeout: Duration::from_millis(config.timeout_ms),
        };
        let signer = Signer::new(secret.expose().as_bytes());
        let counters = Arc::new(Counters::default());
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        let mut targets = Vec::with_capacity(config.urls.len());
        for (index, raw) in config.urls.iter().enumerate() {
            let url = match reqwest::Url::parse(raw) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => url,
                _ => {
                    // The URL itself is not logged: it may carry a token.
                    error!(index, "a [webhooks] url is not an http(s) URL; skipped");
                    continue;
                }
            };
            let origin = url.origin().ascii_serialization();
            let (tx, rx) = mpsc::channel(config.queue_size.max(1));
            let worker = Worker {
                client: client.clone(),
                url,
                origin: origin.clone(),
                signer: signer.clone(),
                policy,
                counters: Arc::clone(&counters),
                cancel: cancel.clone(),
            };
            tasks.spawn(worker.run(rx));
            targets.push(Target {
                origin,
                queue: tx,
                next_full_warn_ms: AtomicU64::new(0),
                unwarned_drops: AtomicU64::new(0),
            });
        }
        tasks.close();
        Webhooks {
            inner: Some(Arc::new(Inner {
                targets,
                counters,
                cancel,
                tasks,
                epoch: Instant::now(),
            })),
        }
    }

    /// Queues `event` for every URL; never waits. The event gets its id here, once: the
    /// same for every URL and every retry.
    pub fn emit(&self, event: WebhookEvent) {
        let Some(inner) = &self.inner else {
            return;
        };
        if inner.targets.is_empty() {
            return;
        }
        let id = new_event_id();
        let body = match serde_json::to_vec(&Body {
            id: &id,
            event: &event,
        }) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                // Cannot happen for a `serde_json::Value`; counted rather than panicking.
                error!(error = %e, kind = event.kind.as_str(), "cannot serialise a webhook event");
                let n = u64::try_from(inner.targets.len()).unwrap_or(u64::MAX);
                inner
                    .counters
                    .dropped_failed
                    .fetch_add(n, Ordering::Relaxed);
                return;
            }
        };
        let envelope = Arc::new(Envelope {
            id,
            kind: event.kind,
            body,
        });
        for target in &inner.targets {
            match target.queue.try_send(Arc::clone(&envelope)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    inner.count_queue_drop();
                    inner.warn_full(target);
                }
                // The task has stopped: the server is shutting down, nothing to warn about.
                Err(mpsc::error::TrySendError::Closed(_)) => inner.count_queue_drop(),
            }
        }
    }

    /// The counters, summed over all URLs.
    pub fn stats(&self) -> WebhookStats {
        let Some(inner) = &self.inner else {
            return WebhookStats::default();
        };
        let c = &inner.counters;
        let dropped_queue_full = c.dropped_queue_full.load(Ordering::Relaxed);
        let dropped_failed = c.dropped_failed.load(Ordering::Relaxed);
        WebhookStats {
            delivered: c.delivered.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dropped: dropped_queue_full + dropped_failed,
            dropped_queue_full,
            dropped_failed,
        }
    }

    /// Stops the delivery tasks: waits between retries end at once, queued events are not
    /// sent, a request in flight finishes (bounded by `timeout`). Events emitted afterwards
    /// are never sent (counted as dropped once the tasks have ended). Dropping the last
    /// handle does the same.
    pub fn shutdown(&self) {
        if let Some(inner) = &self.inner {
            inner.cancel.cancel();
        }
    }

    /// Resolves once every delivery task has ended (after [`Webhooks::shutdown`]).
    pub async fn stopped(&self) {
        if let Some(inner) = &self.inner {
            inner.tasks.wait().await;
        }
    }
}

/// The last handle gone: the tasks stop rather than deliver to nobody's benefit.
impl Drop for Inner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Inner {
    fn count_queue_drop(&self) {
        self.counters
            .dropped_queue_full
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Logs that `target`'s queue is full, at most once per [`FULL_WARN_EVERY`], with the
    /// number of events dropped since the last such warning.
    fn warn_full(&self, target: &Target) {
        target.unwarned_drops.fetch_add(1, Ordering::Relaxed);
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let due = target.next_full_warn_ms.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(u64::try_from(FULL_WARN_EVERY.as_millis()).unwrap_or(0));
        if target
            .next_full_warn_ms
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return; // another emitter is warning right now
        }
        let dropped = target.unwarned_drops.swap(0, Ordering::Relaxed);
        warn!(
            webhook = %target.origin,
            dropped,
            "webhook queue full; events dropped for this URL"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_urls_emit_does_nothing() {
        let hooks = Webhooks::start(&config::Webhooks::default());
        hooks.emit(WebhookEvent {
            kind: WebhookKind::Ended,
            interaction_id: "abc".parse().expect("id"),
            at: parley_core::UnixMillis(0),
            data: serde_json::Value::Null,
        });
        assert_eq!(hooks.stats(), WebhookStats::default());
    }
}
