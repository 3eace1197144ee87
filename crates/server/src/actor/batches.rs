//! Effects held back until they are durable. With `transcript-auto-save` on, nothing a
//! client can observe — a live event, a join or resume reply, an acknowledgement — leaves
//! the actor before the batch holding it has committed. So a client never sees an event
//! that a crash could lose, and restored sessions never reuse an id a client has seen.
//!
//! Batches complete in submission order. Each subscriber has a high-water mark: the last
//! event it has received (in a reply or live). Live delivery skips events at or below it,
//! which makes every event reach every subscriber exactly once, whether it arrives in a
//! `sessionInfo` reply or as a live `event`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parley_core::session::{EndedBy, EndedReason};
use parley_core::{Event, EventId, PartyId, Session};
use parley_proto::ErrorCode;
use parley_store::{DocumentStore, Epoch, StoreError, Write};
use tokio::sync::oneshot;
use tracing::{error, warn};

use super::deliver::Sub;
use super::reply::Deferred;
use super::stage::Batch;
use super::waiters::Waiter;
use super::{CmdError, Push, Sessions};
use crate::persist::{Failed, JobResult};
use crate::policy::AutoSave;

struct InFlight {
    batch: Batch,
    /// Whether the batch wrote anything (for `transcriptSaved`).
    wrote: bool,
    rx: Option<oneshot::Receiver<JobResult>>,
}

/// The staged batch, the batches in flight, and the subscribers they are delivered to.
/// The other files of this folder add its staging (`stage.rs`), delivery (`deliver.rs`)
/// and long-polling (`waiters.rs`).
pub(super) struct Batches {
    pub(super) ctx: Sessions,
    pub(super) epoch: Epoch,
    pub(super) subs: Vec<Sub>,
    /// Recent transient events with their audiences.
    pub(super) recent: VecDeque<(Event, Vec<PartyId>)>,
    /// Bytes of text in `recent`.
    pub(super) recent_bytes: usize,
    /// Highest event id known durable (and so visible to clients).
    pub(super) committed: EventId,
    /// Long-polling refreshes waiting for an event.
    pub(super) waiters: Vec<Waiter>,
    pub(super) staged: Batch,
    inflight: VecDeque<InFlight>,
    /// When the command being applied arrived in the mailbox (the replies it stages
    /// count their delay from there; the creator's from the actor's start).
    pub(super) arrived: Instant,
    pub(super) closing: bool,
    /// The interaction's tenant (`csg_TenantId`).
    pub(super) tenant: String,
    stopping: bool,
    done: bool,
}

impl Batches {
    /// Batches of a session whose events up to `durable` are already stored (a restored
    /// session's: they are visible to refreshes from the start).
    pub(super) fn new(ctx: Sessions, epoch: Epoch, durable: EventId, tenant: String) -> Batches {
        Batches {
            ctx,
            epoch,
            subs: Vec::new(),
            recent: VecDeque::new(),
            recent_bytes: 0,
            committed: durable,
            waiters: Vec::new(),
            staged: Batch::default(),
            inflight: VecDeque::new(),
            arrived: Instant::now(),
            closing: false,
            tenant,
            stopping: false,
            done: false,
        }
    }

    /// Submits the staged batch (if any) to the persistence pipeline.
    pub(super) async fn submit_staged(&mut self, session: &Session) {
        if !self.staged.dirty {
            return;
        }
        let mut batch = std::mem::take(&mut self.staged);
        let final_transcript = match batch.closed {
            Some(end) => {
                let transcript = self.final_transcript(session).await;
                self.attach_statistics(session, end, &transcript, &mut batch);
                Some(transcript)
            }
            None => None,
        };
        let writes = self.writes(session, &mut batch, final_transcript);
        let wrote = !writes.is_empty();
        let rx = if wrote {
            Some(self.ctx.pipeline.submit(writes).await)
        } else {
            None
        };
        self.inflight.push_back(InFlight { batch, wrote, rx });
    }

    /// Resolves with the outcome of the oldest batch in flight (never, when none is).
    pub(super) async fn next_done(&mut self) -> JobResult {
        match self.inflight.front_mut() {
            None => std::future::pending().await,
            Some(InFlight { rx: None, .. }) => Ok(()),
            Some(InFlight { rx: Some(rx), .. }) => rx
                .await
                .unwrap_or_else(|_| Err(Failed::stopped(Vec::new()))),
        }
    }

    /// Handles the outcome of the oldest batch in flight.
    pub(super) async fn complete(&mut self, session: &Session, result: JobResult) {
        match result {
            Ok(()) => {
                if let Some(done) = self.inflight.pop_front() {
                    self.release(session, done.batch, done.wrote).await;
                }
            }
            Err(Failed {
                error: StoreError::Fenced(_),
                ..
            }) => {
                warn!("session claimed by another instance; handing it over");
                self.abandon(CmdError::new(
                    ErrorCode::Unavailable,
                    "the session moved to another instance; resume it again",
                ));
            }
            Err(Failed { stopped: true, .. }) => {
                // The writer is gone: nothing was written and nothing can be, here. The
                // session stays alive in the store for another instance (or this one,
                // restarted) to restore; its clients resume there.
                warn!("transcript writer stopped; handing the session over");
                self.abandon(CmdError::new(
                    ErrorCode::Unavailable,
                    "this instance is stopping; resume the session again",
                ));
            }
            Err(Failed { error, writes, .. }) => self.failed(session, error, writes),
        }
    }

    /// A batch could not be stored even after the pipeline's retries.
    fn failed(&mut self, session: &Session, e: StoreError, writes: Vec<Write>) {
        error!(error = %e, "transcript could not be saved");
        self.ctx.counters.store_failures.inc();
        if self.ctx.policy.auto_save == AutoSave::SaveAndNotify {
            self.broadcast(
                |id| Push::TranscriptSaved {
                    session: id.clone(),
                    last_event_id: EventId(0),
                    saved: false,
                },
                session,
            );
        }
        // Only a failed transaction applied nothing and can be retried as it is; a write
        // the store refused (conflict, unknown session) will be refused again.
        let retryable = matches!(e, StoreError::Backend(_));
        if self.ctx.policy.close_on_save_error || !retryable {
            // `transcript-save-on-error = close`: close without a final update.
            self.broadcast(
                |id| Push::SessionOver {
                    session: id.clone(),
                    by: EndedBy::System,
                    reason: EndedReason::DbError,
                },
                session,
            );
            // Clients were told the session is over; their connections (which may carry
            // healthy sessions) stay open.
            self.fail_pending(CmdError::new(
                ErrorCode::StoreFailed,
                "the transcript could not be saved; session closed",
            ));
            self.subs.clear();
            self.done = true;
            return;
        }
        // `continue`: keep the batch at the head and try again after a pause; replies
        // stay pending, and clients may retry with the same clientMessageId meanwhile.
        if let Some(front) = self.inflight.front_mut() {
            let (tx, rx) = oneshot::channel();
            let pipeline = self.ctx.pipeline.clone();
            let pause = self.ctx.policy.resend_delay.max(Duration::from_millis(100));
            tokio::spawn(async move {
                tokio::time::sleep(pause).await;
                let res = pipeline.submit(writes).await.await;
                let _ = tx.send(res.unwrap_or_else(|_| Err(Failed::stopped(Vec::new()))));
            });
            front.rx = Some(rx);
        }
    }

    /// Fails every pending reply, closes every subscriber, and ends the actor.
    fn abandon(&mut self, e: CmdError) {
        self.fail_pending(e);
        for sub in self.subs.drain(..) {
            sub.s.kick.cancel();
        }
        self.done = true;
    }

    /// Fails every reply still waiting.
    fn fail_pending(&mut self, e: CmdError) {
        for f in self.inflight.drain(..) {
            for r in f.batch.replies {
                r.fail(e.clone());
            }
        }
        for r in std::mem::take(&mut self.staged).replies {
            r.fail(e.clone());
        }
    }

    /// Delivers a durable batch: live events, then replies, then notices.
    async fn release(&mut self, session: &Session, batch: Batch, wrote: bool) {
        self.committed = self.committed.max(batch.upto);
        for document_id in batch.drop_documents {
            let store = self.ctx.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.delete_document(&document_id).await {
                    tracing::warn!(error = %e, "could not delete a document");
                }
            });
        }
        self.deliver(session, &batch.deliveries);
        self.record_delays(&batch.requests);
        super::facts::report(
            &self.ctx,
            session,
            &batch.deliveries,
            batch.closed.as_ref(),
            &batch.statistics,
        );
        let closing = batch.closed.is_some();
        for reply in batch.replies {
            match reply {
                Deferred::Info {
                    party,
                    sub,
                    after,
                    creator,
                    reply,
                } => {
                    let snapshot = self.older(session, after).await.map(|older| {
                        session.snapshot_for(&party, after, batch.upto, creator, &older)
                    });
                    if let Some(sub) = sub {
                        self.caught_up(&sub, batch.upto);
                    }
                    let _ = reply.send(snapshot);
                }
                Deferred::Ack { reply, ack } => {
                    let res =
                        ack.ok_or_else(|| CmdError::new(ErrorCode::Internal, "nothing stored"));
                    let _ = reply.send(res);
                }
                Deferred::Done { reply } => {
                    let _ = reply.send(Ok(()));
                }
                Deferred::Released { reply, party } => {
                    // The party has left: its connections get nothing more from here,
                    // except the `sessionOver` of the close it caused.
                    if !closing {
                        self.drop_party(&party);
                    }
                    let _ = reply.send(Ok(()));
                }
            }
        }
        self.wake_waiters(session, false);
        if wrote && self.ctx.policy.auto_save == AutoSave::SaveAndNotify {
            let upto = batch.upto;
            self.broadcast(
                |id| Push::TranscriptSaved {
                    session: id.clone(),
                    last_event_id: upto,
                    saved: true,
                },
                session,
            );
        }
        if let Some(end) = batch.closed {
            self.broadcast(
                |id| Push::SessionOver {
                    session: id.clone(),
                    by: end.ended_by,
                    reason: end.reason,
                },
                session,
            );
            self.ctx.counters.sessions_closed.inc();
            self.wake_waiters(session, true);
            // `[log-filter-data] Transcript`: copy, hide (default) or skip.
            match batch.closed_log {
                Some(t) => {
                    tracing::info!(ended_by = ?end.ended_by, reason = ?end.reason, transcript = %t, "session closed")
                }
                None => {
                    tracing::info!(ended_by = ?end.ended_by, reason = ?end.reason, "session closed")
                }
            }
            self.done = true;
        }
    }

    /// Adds the delays of the replies this batch releases to the load limits' measure and
    /// to the delivery latency histogram (arrival to durable delivery).
    fn record_delays(&self, requests: &[Instant]) {
        if requests.is_empty() {
            return;
        }
        let now = Instant::now();
        let histogram = &self.ctx.counters.metrics.delivery_latency;
        let total: Duration = requests
            .iter()
            .map(|at| {
                let waited = now.saturating_duration_since(*at);
                histogram.record(waited.as_secs_f64());
                waited
            })
            .sum();
        self.ctx.limits.record_replies(total, requests.len() as u64);
    }

    pub(super) fn stop(&mut self) {
        self.stopping = true;
    }
    pub(super) fn stopping(&self) -> bool {
        self.stopping
    }
    pub(super) fn closing(&self) -> bool {
        self.closing
    }
    /// Whether the actor has nothing left to do.
    pub(super) fn finished(&self) -> bool {
        self.done || (self.stopping && self.inflight.is_empty() && !self.staged.dirty)
    }

    /// Last words when the actor ends: pending replies learn the session is gone.
    pub(super) fn end(&mut self) {
        self.fail_pending(CmdError::new(
            ErrorCode::SessionOver,
            "the chat session is over",
        ));
    }
}
