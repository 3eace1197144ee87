//! The connection cap: how many connections are open, and which one to close when a new
//! one arrives at the cap — the one that has waited longest without a request in progress
//! (just accepted, or idle between requests). A queue in the order connections went idle
//! makes that choice O(1) on average: entries are never removed when a connection gets
//! busy or closes, only skipped (their `idle_gen` no longer matches) and pruned in bulk.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use tracing::debug;

use super::watch::Watch;
use crate::counters::Counters;

/// Open connections and the idle queue.
#[derive(Debug)]
pub(super) struct Table {
    /// The effective connection cap.
    pub(super) cap: u64,
    counters: Arc<Counters>,
    /// Connections that went idle, oldest first, with the `idle_gen` they had then.
    idle: Mutex<VecDeque<(u64, Weak<Watch>)>>,
}

impl Table {
    pub(super) fn new(cap: u64, counters: Arc<Counters>) -> Table {
        Table {
            cap,
            counters,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// Open connections.
    pub(super) fn open(&self) -> u64 {
        self.counters.conns_live()
    }

    /// Counts an accepted connection; it is idle (no request yet).
    pub(super) fn opened(&self, watch: &Arc<Watch>) -> u64 {
        let conns = self.counters.conn_opened();
        self.went_idle(0, watch);
        conns
    }

    /// A connection closed (its socket was dropped).
    pub(super) fn closed(&self) {
        let conns = self.counters.conn_closed();
        debug!(conns, "connection closed");
    }

    /// `watch` has no request in progress since its `gen`-th went idle.
    pub(super) fn went_idle(&self, gen: u64, watch: &Arc<Watch>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.push_back((gen, Arc::downgrade(watch)));
        // Stale entries (busy again, or closed) are pruned once they outnumber the open
        // connections, so the queue stays within a small multiple of them.
        let open = usize::try_from(self.open()).unwrap_or(usize::MAX);
        if idle.len() > open.saturating_mul(2).saturating_add(64) {
            idle.retain(|(gen, w)| w.upgrade().is_some_and(|w| w.evictable(*gen)));
        }
    }

    /// Tells the connection idle longest to close; false when every open connection is
    /// busy or upgraded. Counts it as shed.
    pub(super) fn evict_one(&self) -> bool {
        let victim = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let Some((gen, weak)) = idle.pop_front() else {
                    break None;
                };
                if let Some(w) = weak.upgrade() {
                    if w.evictable(gen) && !w.evicted.swap(true, Ordering::AcqRel) {
                        break Some(w);
                    }
                }
            }
        };
        let Some(victim) = victim else {
            return false;
        };
        victim.evict.notify_one();
        self.counters.connections_shed.inc();
        true
    }
}
