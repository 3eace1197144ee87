//! What routing holds right now, for `/counters`: chats by routing state and agents by
//! status. The router task publishes them when it refreshes the supervisors' overview (at
//! most once a second, and only after a change), so reading them never reaches the task.

use std::sync::atomic::{AtomicU64, Ordering};

use parley_core::routing::{AgentStatus, Router, Stage};
use serde::Serialize;

/// The published gauges.
#[derive(Debug, Default)]
pub struct RoutingGauges {
    waiting: AtomicU64,
    offered: AtomicU64,
    handled: AtomicU64,
    wrap_up: AtomicU64,
    agents_logged_in: AtomicU64,
    agents_ready: AtomicU64,
}

/// The gauges as `/counters` shows them (under `routing`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RoutingSnapshot {
    /// Chats in a queue with no offer out (offline chats kept under
    /// `stop-abandoned-interaction = never` included).
    pub waiting: u64,
    /// Chats offered to an agent, waiting for the answer.
    pub offered: u64,
    /// Chats an agent handles.
    pub handled: u64,
    /// Chats whose agents only do after-chat work (until `markDone`).
    pub wrap_up: u64,
    /// Agents and supervisors logged in.
    pub agents_logged_in: u64,
    /// Of those, the ones ready for chats.
    pub agents_ready: u64,
}

impl RoutingGauges {
    /// Counts what `router` holds and publishes it.
    pub(super) fn publish(&self, router: &Router) {
        let mut s = RoutingSnapshot::default();
        for ix in router.interactions() {
            let gauge = match ix.stage() {
                Stage::Waiting => &mut s.waiting,
                Stage::Offered => &mut s.offered,
                Stage::Handled => &mut s.handled,
                Stage::WrapUp => &mut s.wrap_up,
            };
            *gauge += 1;
        }
        for a in router.agents() {
            if a.logged_in() {
                s.agents_logged_in += 1;
            }
            if a.status == AgentStatus::Ready {
                s.agents_ready += 1;
            }
        }
        for (gauge, value) in [
            (&self.waiting, s.waiting),
            (&self.offered, s.offered),
            (&self.handled, s.handled),
            (&self.wrap_up, s.wrap_up),
            (&self.agents_logged_in, s.agents_logged_in),
            (&self.agents_ready, s.agents_ready),
        ] {
            gauge.store(value, Ordering::Relaxed);
        }
    }

    /// The last published values.
    pub fn snapshot(&self) -> RoutingSnapshot {
        RoutingSnapshot {
            waiting: self.waiting.load(Ordering::Relaxed),
            offered: self.offered.load(Ordering::Relaxed),
            handled: self.handled.load(Ordering::Relaxed),
            wrap_up: self.wrap_up.load(Ordering::Relaxed),
            agents_logged_in: self.agents_logged_in.load(Ordering::Relaxed),
            agents_ready: self.agents_ready.load(Ordering::Relaxed),
        }
    }
}
