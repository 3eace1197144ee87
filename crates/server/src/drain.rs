//! Draining: an operator takes an instance out of service without interrupting anyone
//! (the seed's "How to Upgrade Running Chat Solution"). A draining instance refuses new
//! sessions (`UNAVAILABLE`, HTTP 503 with `Retry-After`) and answers `/readyz` with 503
//! "draining", so a load balancer sends new chats elsewhere; its current sessions go on
//! until they end, and then the process exits (`lib.rs` watches), or after
//! `[settings] drain-timeout` it hands the rest over to the other instances.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Whether this instance is draining, and since when.
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
    since: Mutex<Option<Instant>>,
}

impl Drain {
    /// Starts draining; false when it already was.
    pub fn start(&self) -> bool {
        let started = !self.draining.swap(true, Ordering::SeqCst);
        if started {
            *self.since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        started
    }

    /// Whether new sessions are refused.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// When draining started.
    pub fn since(&self) -> Option<Instant> {
        *self.since.lock().unwrap_or_else(|p| p.into_inner())
    }
}
