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
use std::time::Duration;

use parley_core::session::EndInfo;
use parley_core::{Effect, Event, EventId, PartyId, Session};
use parley_proto::basic::ServerFrame;
use parley_proto::ErrorCode;
use parley_store::{DocumentStore, Epoch, NewSession, StoreError, Write};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use super::reply::{session_info, Deferred};
use super::Sessions;
use super::{Acked, CmdError, ConnId, Format, Refreshed, Subscriber};
use crate::basic::map;
use crate::persist::{Failed, JobResult};
use crate::policy::AutoSave;

/// How many recent transient events are kept for refreshes.
const RECENT_MAX: usize = 256;

/// A refresh held until there is something to answer.
struct Waiter {
    party: PartyId,
    from: EventId,
    format: Format,
    reply: oneshot::Sender<Result<Refreshed, CmdError>>,
}

/// The `file-id` of a `file-uploaded` notice.
fn uploaded_file_id(event: &Event) -> Option<u64> {
    match &event.body {
        parley_core::EventBody::Notice {
            text: Some(t),
            user_data,
            ..
        } if t == parley_core::session::FILE_UPLOADED => {
            user_data.get("file-id").and_then(|v| v.parse().ok())
        }
        _ => None,
    }
}

struct Sub {
    s: Subscriber,
    /// Last event this subscriber has; `None` until its `sessionInfo` reply is sent.
    high_water: Option<EventId>,
}

#[derive(Default)]
struct Batch {
    create: Option<NewSession>,
    kept: Vec<Event>,
    annihilated: Vec<EventId>,
    /// Events with the parties that may see them live.
    deliveries: Vec<(Event, Vec<PartyId>)>,
    replies: Vec<Deferred>,
    closed: Option<EndInfo>,
    /// Documents to remove from the store once the batch is durable.
    drop_documents: Vec<String>,
    /// User data to merge into the session's (and interaction's).
    user_data: parley_core::UserData,
    /// Highest event id allocated when the batch was staged.
    upto: EventId,
    dirty: bool,
}

struct InFlight {
    batch: Batch,
    /// Whether the batch wrote anything (for `transcriptSaved`).
    wrote: bool,
    rx: Option<oneshot::Receiver<JobResult>>,
}

/// The staged batch, the batches in flight, and the subscribers they are delivered to.
pub(super) struct Pipeline {
    ctx: Sessions,
    epoch: Epoch,
    subs: Vec<Sub>,
    /// Recent transient events with their audiences.
    recent: VecDeque<(Event, Vec<PartyId>)>,
    /// Highest event id known durable (and so visible to clients).
    committed: EventId,
    /// Long-polling refreshes waiting for an event.
    waiters: Vec<Waiter>,
    staged: Batch,
    inflight: VecDeque<InFlight>,
    closing: bool,
    stopping: bool,
    done: bool,
}

impl Pipeline {
    pub(super) fn new(ctx: Sessions, epoch: Epoch) -> Pipeline {
        Pipeline {
            ctx,
            epoch,
            subs: Vec::new(),
            recent: VecDeque::new(),
            committed: EventId(0),
            waiters: Vec::new(),
            staged: Batch::default(),
            inflight: VecDeque::new(),
            closing: false,
            stopping: false,
            done: false,
        }
    }

    pub(super) fn create(&mut self, record: NewSession) {
        self.staged.create = Some(record);
        self.staged.dirty = true;
    }

    /// Stages the effects of one successful input and its reply.
    pub(super) fn stage_effects(
        &mut self,
        session: &Session,
        effects: Vec<Effect>,
        mut reply: Option<Deferred>,
    ) {
        let persist = self.ctx.policy.auto_save != AutoSave::Off;
        for effect in effects {
            match effect {
                Effect::Emit {
                    event,
                    keep,
                    audience,
                } => {
                    if let Some(Deferred::Ack { ack, .. }) = &mut reply {
                        *ack = Some(Acked {
                            event_id: event.id,
                            duplicate: false,
                            file_id: uploaded_file_id(&event),
                        });
                    }
                    if keep && persist {
                        self.staged.kept.push(event.clone());
                    }
                    if !keep {
                        // Transient events (typing) are not in the transcript; refreshes
                        // of connectionless clients find them here.
                        if self.recent.len() == RECENT_MAX {
                            self.recent.pop_front();
                        }
                        self.recent.push_back((event.clone(), audience.clone()));
                    }
                    self.ctx.counters.events.inc();
                    self.staged.deliveries.push((event, audience));
                }
                Effect::Annihilate { id } => {
                    if persist {
                        self.staged.annihilated.push(id);
                    }
                }
                Effect::Duplicate { id } => {
                    if let Some(Deferred::Ack { ack, .. }) = &mut reply {
                        *ack = Some(Acked {
                            event_id: id,
                            duplicate: true,
                            file_id: None,
                        });
                    }
                }
                Effect::Closed(end) => {
                    self.staged.closed = Some(end);
                    self.closing = true;
                }
                Effect::DropDocument { document_id } => {
                    self.staged.drop_documents.push(document_id);
                }
                // Answered by the actor directly (downloads change no stored state).
                Effect::ServeDocument(_) => {}
            }
        }
        if let Some(Deferred::Info { sub: Some(sub), .. }) = &reply {
            self.subscribe(sub.clone());
        }
        if let Some(r) = reply {
            self.staged.replies.push(r);
        }
        self.staged.upto = session.last_event_id();
        self.staged.dirty = true;
    }

    /// Stages a user-data merge, replied to once durable.
    pub(super) fn stage_user_data(
        &mut self,
        data: parley_core::UserData,
        reply: oneshot::Sender<Result<(), CmdError>>,
    ) {
        self.staged.user_data.extend(data);
        self.staged.replies.push(Deferred::Done { reply });
        self.staged.dirty = true;
    }

    fn subscribe(&mut self, s: Subscriber) {
        self.subs
            .retain(|x| !(x.s.conn == s.conn && x.s.party == s.party));
        self.subs.push(Sub {
            s,
            high_water: None,
        });
    }

    /// Drops a connection's subscription; true when the party has no connection left.
    pub(super) fn unsubscribe(&mut self, party: &PartyId, conn: ConnId) -> bool {
        self.subs
            .retain(|x| !(x.s.conn == conn && &x.s.party == party));
        !self.subs.iter().any(|x| &x.s.party == party)
    }

    /// Submits the staged batch (if any) to the persistence pipeline.
    pub(super) async fn submit_staged(&mut self, session: &Session) {
        if !self.staged.dirty {
            return;
        }
        let mut batch = std::mem::take(&mut self.staged);
        let mut writes = Vec::new();
        if let Some(record) = &batch.create {
            writes.push(Write::CreateSession(record.clone()));
        }
        if self.ctx.policy.auto_save != AutoSave::Off {
            if !batch.kept.is_empty() || !batch.deliveries.is_empty() {
                writes.push(Write::Append {
                    session: session.id().clone(),
                    epoch: self.epoch,
                    events: std::mem::take(&mut batch.kept),
                    last_event_id: batch.upto,
                });
            }
            if !batch.annihilated.is_empty() {
                writes.push(Write::Annihilate {
                    session: session.id().clone(),
                    epoch: self.epoch,
                    ids: batch.annihilated.clone(),
                });
            }
        }
        if !batch.user_data.is_empty() {
            writes.push(Write::UpdateUserData {
                session: session.id().clone(),
                epoch: self.epoch,
                user_data: batch.user_data.clone(),
            });
        }
        if let Some(end) = batch.closed {
            writes.push(Write::Close {
                session: session.id().clone(),
                epoch: self.epoch,
                end,
                transcript: session.transcript().to_vec(),
                last_event_id: batch.upto,
            });
        }
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
    pub(super) fn complete(&mut self, session: &Session, result: JobResult) {
        match result {
            Ok(()) => {
                if let Some(done) = self.inflight.pop_front() {
                    self.release(session, done.batch, done.wrote);
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
            Err(Failed { error, writes }) => self.failed(session, error, writes),
        }
    }

    /// A batch could not be stored even after the pipeline's retries.
    fn failed(&mut self, session: &Session, e: StoreError, writes: Vec<Write>) {
        error!(error = %e, "transcript could not be saved");
        self.ctx.counters.store_failures.inc();
        if self.ctx.policy.auto_save == AutoSave::SaveAndNotify {
            self.broadcast(
                |id| ServerFrame::TranscriptSaved {
                    session_id: id.to_string(),
                    last_event_id: 0,
                    result: "ucs-save-fail".into(),
                },
                session,
            );
        }
        // Only a failed transaction applied nothing and can be retried as it is; a write
        // the store refused (conflict, unknown session) will be refused again.
        let retryable = matches!(e, StoreError::Backend(_));
        if self.ctx.policy.close_on_save_error || !retryable {
            // `transcript-save-on-error = close`: close without a final update.
            let end = parley_proto::basic::SessionEnd {
                ended_by: "SYSTEM".into(),
                reason: "DB_ERROR".into(),
            };
            self.broadcast(
                |id| ServerFrame::SessionOver {
                    session_id: id.to_string(),
                    end: end.clone(),
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
    fn release(&mut self, session: &Session, batch: Batch, wrote: bool) {
        self.committed = self.committed.max(batch.upto);
        for document_id in batch.drop_documents {
            let store = self.ctx.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.delete_document(&document_id).await {
                    tracing::warn!(error = %e, "could not delete a document");
                }
            });
        }
        for (event, audience) in &batch.deliveries {
            for i in 0..self.subs.len() {
                let sub = &self.subs[i];
                if !audience.contains(&sub.s.party)
                    || sub.high_water.is_none_or(|hw| hw >= event.id)
                {
                    continue;
                }
                let Some(viewer) = session.party(&sub.s.party) else {
                    continue;
                };
                let frame = ServerFrame::Event {
                    session_id: session.id().to_string(),
                    event: Box::new(map::wire_event(session, event, viewer)),
                };
                self.subs[i].high_water = Some(event.id);
                self.push(i, frame);
                self.ctx.counters.deliveries.inc();
            }
        }
        super::facts::report(&self.ctx, session, &batch.deliveries, batch.closed.as_ref());
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
                    let frame = session_info(session, &party, after, batch.upto, creator);
                    if let Some(sub) = sub {
                        if let Some(s) = self
                            .subs
                            .iter_mut()
                            .find(|x| x.s.conn == sub.conn && x.s.party == sub.party)
                        {
                            s.high_water = Some(batch.upto);
                        }
                    }
                    let _ = reply.send(Ok(frame));
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
                        self.subs.retain(|x| x.s.party != party);
                    }
                    let _ = reply.send(Ok(()));
                }
            }
        }
        self.wake_waiters(session, false);
        if wrote && self.ctx.policy.auto_save == AutoSave::SaveAndNotify {
            let upto = batch.upto.0;
            self.broadcast(
                |id| ServerFrame::TranscriptSaved {
                    session_id: id.to_string(),
                    last_event_id: upto,
                    result: "save".into(),
                },
                session,
            );
        }
        if let Some(end) = batch.closed {
            let end = map::session_end(&end);
            self.broadcast(
                |id| ServerFrame::SessionOver {
                    session_id: id.to_string(),
                    end: end.clone(),
                },
                session,
            );
            self.ctx.counters.sessions_closed.inc();
            self.wake_waiters(session, true);
            // `[log-filter-data] Transcript`: copy, hide (default) or skip.
            match self.ctx.policy.log.transcript(session.transcript()) {
                Some(t) => {
                    tracing::info!(ended_by = %end.ended_by, reason = %end.reason, transcript = %t, "session closed")
                }
                None => {
                    tracing::info!(ended_by = %end.ended_by, reason = %end.reason, "session closed")
                }
            }
            self.done = true;
        }
    }

    /// Answers a refresh now, or holds it (long poll) until an event it may see commits.
    pub(super) fn refresh(
        &mut self,
        session: &Session,
        party: PartyId,
        from: EventId,
        wait: bool,
        format: Format,
        reply: oneshot::Sender<Result<Refreshed, CmdError>>,
    ) {
        let r = self.render(session, &party, from, format);
        if r.events.is_empty() && wait && !r.chat_ended {
            self.waiters.retain(|w| !w.reply.is_closed());
            self.waiters.push(Waiter {
                party,
                from,
                format,
                reply,
            });
        } else {
            let _ = reply.send(Ok(r));
        }
    }

    /// Answers the waiting refreshes that now have something (all of them when `all`).
    fn wake_waiters(&mut self, session: &Session, all: bool) {
        for w in std::mem::take(&mut self.waiters) {
            if w.reply.is_closed() {
                continue;
            }
            let r = self.render(session, &w.party, w.from, w.format);
            if all || !r.events.is_empty() || r.chat_ended {
                let _ = w.reply.send(Ok(r));
            } else {
                self.waiters.push(w);
            }
        }
    }

    fn render(
        &self,
        session: &Session,
        party: &PartyId,
        from: EventId,
        format: Format,
    ) -> Refreshed {
        super::refresh::render(session, &self.recent, self.committed, party, from, format)
    }

    fn broadcast(
        &mut self,
        frame: impl Fn(&parley_core::SessionId) -> ServerFrame,
        session: &Session,
    ) {
        for i in 0..self.subs.len() {
            if self.subs[i].high_water.is_some() {
                self.push(i, frame(session.id()));
            }
        }
    }

    /// Queues a frame for a subscriber; one that cannot keep up is disconnected (it will
    /// resume from its last event id) instead of buffering without bound.
    fn push(&mut self, i: usize, frame: ServerFrame) {
        let sub = &self.subs[i].s;
        if let Err(e) = sub.tx.try_send(Box::new(frame)) {
            if matches!(e, mpsc::error::TrySendError::Full(_)) {
                warn!(conn = sub.conn, "subscriber too slow; disconnecting it");
            }
            sub.kick.cancel();
        }
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
