//! The orphan sweep: live sessions that no live instance holds (their owner died, or
//! released them at shutdown) are claimed a page at a time and restored here.

use std::time::Duration;

use parley_core::SessionId;
use parley_store::{HealthStore, TranscriptStore};
use tracing::warn;

use super::Sessions;
use crate::clock::now;

/// Most orphans read per page of the sweep.
const ORPHAN_PAGE: u32 = 256;

/// Orphans claimed in one statement (`claim_orphans`): each claim is then one row of a
/// shared transaction, and the transcripts come in one read, instead of a transaction
/// and two reads per session (10,000 orphans took 5.95 s that way: docs/BENCHMARKS.md).
const ORPHAN_CLAIM: usize = 64;

/// Batch claims in flight at once, so the next page's claim overlaps the restoration of
/// the last one. Below the store's pool size, so requests keep connections of their own.
const ORPHAN_CONCURRENCY: usize = 3;

/// Sweeps per lease: an orphan is found at most a quarter lease after its lease lapsed.
const SWEEPS_PER_LEASE: u64 = 4;

impl Sessions {
    /// Takes over, until shutdown, the live sessions that no live instance holds: those
    /// of an instance that died once its lease lapses, those another released at its
    /// shutdown, and on a single node those of this process's previous life. Each is
    /// restored as if a client had come back (so its parties are shown leaving and its
    /// timers run: one nobody returns to ends by the usual timeouts, and routing puts a
    /// waiting one back in its queue); nothing stays alive forever without an owner.
    /// Runs every quarter lease, at once on start; claims the orphans a page at a time
    /// (`adopt_page`). A sweep stops while this instance is limited by its load limits,
    /// leaving the rest to another instance (or a later sweep); with load limits on it
    /// restores one orphan at a time, each restoration checking the limit that the
    /// previous one may have reached.
    pub async fn adopt_orphans(self) {
        use futures::StreamExt;
        if !self.policy.restoration {
            return;
        }
        let period = Duration::from_millis((self.policy.lease_ms / SWEEPS_PER_LEASE).max(500));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = self.shutdown.cancelled() => return,
            }
            let mut after: Option<SessionId> = None;
            while self.limits.check().is_ok() {
                let page = self
                    .store
                    .orphaned_sessions(
                        &self.instance,
                        now(),
                        self.store.single_node(),
                        after.as_ref(),
                        ORPHAN_PAGE,
                    )
                    .await;
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        warn!(error = %e, "could not look for orphaned sessions");
                        break;
                    }
                };
                let me = &self;
                if self.limits.enabled() {
                    let adopt = futures::stream::iter(&page)
                        .take_while(|_| {
                            std::future::ready(
                                !me.shutdown.is_cancelled() && me.limits.check().is_ok(),
                            )
                        })
                        .for_each(|id| async move {
                            // Another instance may win the claim: then it holds the session.
                            if let Err(e) = me.find(id).await {
                                tracing::debug!(session_id = %id, error = %e.message, "orphan not adopted");
                            }
                        });
                    adopt.await;
                } else {
                    futures::stream::iter(page.chunks(ORPHAN_CLAIM))
                        .for_each_concurrent(ORPHAN_CONCURRENCY, |ids| me.adopt_page(ids))
                        .await;
                }
                if self.shutdown.is_cancelled() {
                    return;
                }
                if page.len() < ORPHAN_PAGE as usize {
                    break;
                }
                after = page.last().cloned();
            }
        }
    }

    /// Claims the orphans among `ids` in one statement and restores each. Those another
    /// instance claimed first are simply not returned. Each restoration takes the
    /// session's restoration lock: a client's request that restored the session meanwhile
    /// (it claims over this claim, with a newer epoch) stands, and this one is dropped.
    async fn adopt_page(&self, ids: &[SessionId]) {
        if self.shutdown.is_cancelled() {
            return;
        }
        let now = now();
        let claimed = self
            .store
            .claim_orphans(
                ids,
                &self.instance,
                now,
                now.plus_ms(self.policy.lease_ms),
                self.store.single_node(),
            )
            .await;
        let claimed = match claimed {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "could not claim orphaned sessions");
                return;
            }
        };
        for stored in claimed {
            let _one_at_a_time = self.registry.restoring(&stored.id).lock().await;
            if self.registry.get(&stored.id).is_none() {
                let settings = self.settings_for(&stored.tenant).await;
                self.restore(stored, settings);
            }
        }
    }
}
