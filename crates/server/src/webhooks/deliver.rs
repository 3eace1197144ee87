//! One delivery task per URL: takes events from its queue one at a time (so a URL sees
//! them in order), POSTs each with retries, and counts the outcome. A slow or dead URL
//! only ever delays its own queue.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::event::Envelope;
use super::retry::{self, Verdict};
use super::sign::{Signer, EVENT_ID_HEADER, SIGNATURE_HEADER};
use super::Counters;

/// How deliveries are tried, from `[webhooks]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    /// Tries per event in all (at least 1).
    pub(super) attempts: u32,
    /// Wait before the first retry.
    pub(super) retry_delay: Duration,
    /// Longest wait between tries (also caps `Retry-After`).
    pub(super) max_retry_delay: Duration,
    /// Longest one request may take, connecting included.
    pub(super) timeout: Duration,
}

/// The task delivering to one URL.
pub(super) struct Worker {
    pub(super) client: reqwest::Client,
    pub(super) url: reqwest::Url,
    /// `scheme://host:port` only: what logs name, since a path or query may hold a token.
    pub(super) origin: String,
    pub(super) signer: Signer,
    pub(super) policy: Policy,
    pub(super) counters: Arc<Counters>,
    pub(super) cancel: CancellationToken,
}

/// Why an attempt did not deliver, for the log line.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Connect,
    Timeout,
    Transport,
    Status(u16),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect => f.write_str("connection failed"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Transport => f.write_str("request failed"),
            Failure::Status(s) => write!(f, "HTTP {s}"),
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    Retry {
        failure: Failure,
        after: Option<Duration>,
    },
    Refused(u16),
}

impl Worker {
    /// Delivers queued events until shutdown or until every [`super::Webhooks`] is gone.
    pub(super) async fn run(self, mut queue: mpsc::Receiver<Arc<Envelope>>) {
        loop {
            let envelope = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return,
                next = queue.recv() => match next {
                    Some(envelope) => envelope,
                    None => return,
                },
            };
            if !self.deliver(&envelope).await {
                return;
            }
        }
    }

    /// Tries `envelope` up to `attempts` times; false when shutdown interrupted a wait.
    async fn deliver(&self, envelope: &Envelope) -> bool {
        let attempts = self.policy.attempts.max(1);
        let mut tried = 0;
        loop {
            tried += 1;
            // An attempt in flight is not interrupted by shutdown; it is bounded by
            // `timeout`, and cutting it would leave the receiver unsure anyway.
            let (failure, after) = match self.attempt(envelope).await {
                Attempt::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Attempt::Refused(status) => {
                    self.counters.dropped_failed.fetch_add(1, Ordering::Relaxed);
                    warn!(
                        webhook = %self.origin,
                        event_id = %envelope.id,
                        kind = envelope.kind.as_str(),
                        status,
                        "webhook refused (not retried); event dropped for this URL"
                    );
                    return true;
                }
                Attempt::Retry { failure, after } => (failure, after),
            };
            if tried >= attempts {
                self.counters.dropped_failed.fetch_add(1, Ordering::Relaxed);
                warn!(
                    webhook = %self.origin,
                    event_id = %envelope.id,
                    kind = envelope.kind.as_str(),
                    attempts = tried,
                    cause = %failure,
                    "webhook delivery failed; event dropped for this URL"
                );
                return true;
            }
            let wait = after.unwrap_or_else(|| {
                retry::backoff(
                    self.policy.retry_delay,
                    self.policy.max_retry_delay,
                    tried,
                    retry::jitter(),
                )
            });
            debug!(
                webhook = %self.origin,
                event_id = %envelope.id,
                attempt = tried,
                cause = %failure,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "webhook attempt failed; retrying"
            );
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return false,
                () = tokio::time::sleep(wait) => {}
            }
            self.counters.retried.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One signed POST.
    async fn attempt(&self, envelope: &Envelope) -> Attempt {
        let signature = self.signer.header(unix_seconds(), &envelope.body);
        let sent = self
            .client
            .post(self.url.clone())
            .timeout(self.policy.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, envelope.id.as_str())
            .header(SIGNATURE_HEADER, signature)
            .body(envelope.body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let failure = if e.is_timeout() {
                    Failure::Timeout
                } else if e.is_connect() {
                    Failure::Connect
                } else {
                    Failure::Transport
                };
                return Attempt::Retry {
                    failure,
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        // The response body is not read: only the status matters, and an unread body
        // cannot be made to cost us memory.
        match retry::classify(status, retry_after, self.policy.max_retry_delay) {
            Verdict::Delivered => Attempt::Delivered,
            Verdict::Retry { after } => Attempt::Retry {
                failure: Failure::Status(status),
                after,
            },
            Verdict::Refused => Attempt::Refused(status),
        }
    }
}

/// Now, in whole seconds since the Unix epoch (the signature's `t`).
fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
