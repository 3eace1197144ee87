//! The retention purge (`[retention]`, docs/security.md "Retention and erasure"): a
//! background task that, every `purge-interval`, removes from each tenant's closed chats
//! what its periods say is kept no longer, in batches of `purge-batch` chats (one short
//! transaction each) with `purge-pause` between them, so the chats' own writes never
//! wait long behind it (SQLite has one writer).
//!
//! Every instance runs it. The batches are idempotent (a purged chat leaves the index the
//! next batch reads), and on PostgreSQL instances purging at once skip each other's
//! locked rows, so they share the work rather than repeat it. What was removed is counted
//! in `/counters` (`purged-*`) and summed up in one `info` line per pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_core::UnixMillis;
use parley_store::{AnyStore, PurgeKind, Purged, RetentionStore, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock;
use crate::config::{Config, RetentionRules};
use crate::counters::Counters;

/// The longest wait before the first pass, whatever `purge-interval` says.
const FIRST_PASS_MAX: Duration = Duration::from_secs(60);

/// What one tenant's pass removes: each kind whose period is set, with the close time
/// before which it is due, in the order the pass runs them (whole records first: what
/// they remove, the others need not). Pure: `now` is given.
pub fn plan(rules: &RetentionRules, now: UnixMillis) -> Vec<(PurgeKind, UnixMillis)> {
    PurgeKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let period_s = match kind {
                PurgeKind::Transcripts => rules.transcripts_s,
                PurgeKind::Files => rules.files_s,
                PurgeKind::Interactions => rules.interactions_s,
            };
            let period_ms = i64::try_from(period_s.saturating_mul(1000)).unwrap_or(i64::MAX);
            (period_s > 0).then(|| (kind, UnixMillis(now.0.saturating_sub(period_ms))))
        })
        .collect()
}

/// What a pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    transcripts: u64,
    files: u64,
    interactions: u64,
    events: u64,
    file_bytes: u64,
}

impl Totals {
    fn add(&mut self, kind: PurgeKind, p: Purged, counters: &Counters) {
        let (total, counter) = match kind {
            PurgeKind::Transcripts => (&mut self.transcripts, &counters.purged_transcripts),
            PurgeKind::Files => (&mut self.files, &counters.purged_files),
            PurgeKind::Interactions => (&mut self.interactions, &counters.purged_interactions),
        };
        *total += p.interactions;
        counter.add(p.interactions);
        self.events += p.events;
        self.file_bytes += p.file_bytes;
        counters.purged_events.add(p.events);
        counters.purged_file_bytes.add(p.file_bytes);
    }
}

/// The purge task; returns at once when no tenant's chats are ever purged, else runs
/// until `shutdown`.
pub async fn run(
    store: AnyStore,
    config: Arc<Config>,
    counters: Arc<Counters>,
    shutdown: CancellationToken,
) {
    if !config.retention_purges() {
        info!("retention: closed chats are kept forever (no [retention] periods set)");
        return;
    }
    let interval = Duration::from_secs(config.retention.purge_interval_s);
    let mut wait = interval.min(FIRST_PASS_MAX);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return,
        }
        wait = interval;
        let started = Instant::now();
        let mut totals = Totals::default();
        let outcome = pass(&store, &config, &counters, &shutdown, &mut totals).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Ok(()) => info!(
                transcripts = totals.transcripts,
                files = totals.files,
                interactions = totals.interactions,
                events = totals.events,
                file_bytes = totals.file_bytes,
                elapsed_ms,
                "retention purge done"
            ),
            Err(e) => warn!(
                error = %e,
                transcripts = totals.transcripts,
                files = totals.files,
                interactions = totals.interactions,
                elapsed_ms,
                "retention purge stopped; the next pass goes on from there"
            ),
        }
    }
}

/// One pass over every tenant that has records.
async fn pass(
    store: &AnyStore,
    config: &Config,
    counters: &Counters,
    shutdown: &CancellationToken,
    totals: &mut Totals,
) -> Result<(), StoreError> {
    let settings = &config.retention;
    let pause = Duration::from_millis(settings.purge_pause_ms);
    let batch = settings.purge_batch;
    let now = clock::now();
    for tenant in store.interaction_tenants().await? {
        for (kind, closed_before) in plan(&config.retention_for(&tenant), now) {
            loop {
                if shutdown.is_cancelled() {
                    return Ok(());
                }
                let purged = store
                    .purge(kind, &tenant, closed_before, batch, clock::now())
                    .await?;
                totals.add(kind, purged, counters);
                if purged.interactions < u64::from(batch) {
                    break;
                }
                // A full batch: more may be due. Leave the database to the chats a while.
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = shutdown.cancelled() => return Ok(()),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_take_only_the_periods_set_records_first() {
        let now = UnixMillis(1_000_000_000);
        let none = RetentionRules {
            transcripts_s: 0,
            files_s: 0,
            interactions_s: 0,
        };
        assert!(plan(&none, now).is_empty());
        let rules = RetentionRules {
            transcripts_s: 60,
            files_s: 0,
            interactions_s: 3600,
        };
        assert_eq!(
            plan(&rules, now),
            vec![
                (
                    PurgeKind::Interactions,
                    UnixMillis(1_000_000_000 - 3_600_000)
                ),
                (PurgeKind::Transcripts, UnixMillis(1_000_000_000 - 60_000)),
            ]
        );
        // A period longer than the epoch: nothing is due, and nothing overflows.
        let huge = RetentionRules {
            files_s: u64::MAX,
            ..none
        };
        assert_eq!(
            plan(&huge, UnixMillis(5)),
            vec![(PurgeKind::Files, UnixMillis(5 - i64::MAX))]
        );
    }
}
