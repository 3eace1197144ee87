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
use parley_store::{Epoch, NewSession, StoreError, Write};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use super::{Acked, CmdError, ConnId, Subscriber};
use crate::basic::map;
use crate::persist::JobResult;
use crate::state::{AppState, AutoSave};

/// A reply that waits for its batch to be durable.
pub(super) enum Deferred {
    /// `sessionInfo` for a join, resume or creation.
    Info {
        sub: Subscriber,
        after: EventId,
        creator: bool,
        reply: oneshot::Sender<Result<ServerFrame, CmdError>>,
    },
    /// Acknowledgement of a send.
    Ack {
        reply: oneshot::Sender<Result<Acked, CmdError>>,
        ack: Option<Acked>,
    },
    /// Reply to a release.
    Released {
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
}

impl Deferred {
    pub(super) fn info(
        sub: Subscriber,
        after: EventId,
        reply: oneshot::Sender<Result<ServerFrame, CmdError>>,
    ) -> Deferred {
        Deferred::Info {
            sub,
            after,
            creator: false,
            reply,
        }
    }

    pub(super) fn creator(
        sub: Subscriber,
        reply: oneshot::Sender<Result<ServerFrame, CmdError>>,
    ) -> Deferred {
        Deferred::Info {
            sub,
            after: EventId(0),
            creator: true,
            reply,
        }
    }

    pub(super) fn fail(self, e: CmdError) {
        match self {
            Deferred::Info { reply, .. } => drop(reply.send(Err(e))),
            Deferred::Ack { reply, .. } => drop(reply.send(Err(e))),
            Deferred::Released { reply } => drop(reply.send(Err(e))),
        }
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
    /// Highest event id allocated when the batch was staged.
    upto: EventId,
    dirty: bool,
}

struct InFlight {
    batch: Batch,
    writes: Vec<Write>,
    rx: Option<oneshot::Receiver<JobResult>>,
}

/// The staged batch, the batches in flight, and the subscribers they are delivered to.
pub(super) struct Pipeline {
    state: AppState,
    epoch: Epoch,
    subs: Vec<Sub>,
    staged: Batch,
    inflight: VecDeque<InFlight>,
    closing: bool,
    stopping: bool,
    done: bool,
}

impl Pipeline {
    pub(super) fn new(state: AppState, epoch: Epoch) -> Pipeline {
        Pipeline {
            state,
            epoch,
            subs: Vec::new(),
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
        before: &[PartyId],
        mut reply: Option<Deferred>,
    ) {
        let persist = self.state.policy.auto_save != AutoSave::Off;
        for effect in effects {
            match effect {
                Effect::Emit { event, keep } => {
                    let audience = session
                        .parties()
                        .iter()
                        .filter(|p| p.present || before.contains(&p.id))
                        .filter(|p| session.visible_to(p, &event))
                        .map(|p| p.id.clone())
                        .collect();
                    if let Some(Deferred::Ack { ack, .. }) = &mut reply {
                        *ack = Some(Acked {
                            event_id: event.id,
                            duplicate: false,
                        });
                    }
                    if keep && persist {
                        self.staged.kept.push(event.clone());
                    }
                    self.state.counters.events.inc();
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
                        });
                    }
                }
                Effect::Closed(end) => {
                    self.staged.closed = Some(end);
                    self.closing = true;
                }
            }
        }
        if let Some(Deferred::Info { sub, .. }) = &reply {
            self.subscribe(sub.clone());
        }
        if let Some(r) = reply {
            self.staged.replies.push(r);
        }
        self.staged.upto = session.last_event_id();
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
        let batch = std::mem::take(&mut self.staged);
        let mut writes = Vec::new();
        if let Some(record) = &batch.create {
            writes.push(Write::CreateSession(record.clone()));
        }
        if self.state.policy.auto_save != AutoSave::Off {
            if !batch.kept.is_empty() || !batch.deliveries.is_empty() {
                writes.push(Write::Append {
                    session: session.id().clone(),
                    epoch: self.epoch,
                    events: batch.kept.clone(),
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
        if let Some(end) = batch.closed {
            writes.push(Write::Close {
                session: session.id().clone(),
                epoch: self.epoch,
                end,
                transcript: session.transcript().to_vec(),
                last_event_id: batch.upto,
            });
        }
        let rx = if writes.is_empty() {
            None
        } else {
            Some(self.state.pipeline.submit(writes.clone()).await)
        };
        self.inflight.push_back(InFlight { batch, writes, rx });
    }

    /// Resolves with the outcome of the oldest batch in flight (never, when none is).
    pub(super) async fn next_done(&mut self) -> JobResult {
        match self.inflight.front_mut() {
            None => std::future::pending().await,
            Some(InFlight { rx: None, .. }) => Ok(()),
            Some(InFlight { rx: Some(rx), .. }) => rx.await.unwrap_or_else(|_| {
                Err(StoreError::Backend("persistence pipeline stopped".into()))
            }),
        }
    }

    /// Handles the outcome of the oldest batch in flight.
    pub(super) fn complete(&mut self, session: &Session, result: JobResult) {
        match result {
            Ok(()) => {
                if let Some(done) = self.inflight.pop_front() {
                    let wrote = !done.writes.is_empty();
                    self.release(session, done.batch, wrote);
                }
            }
            Err(StoreError::Fenced(_)) => {
                warn!("session claimed by another instance; handing it over");
                self.abandon(CmdError::new(
                    ErrorCode::Unavailable,
                    "the session moved to another instance; resume it again",
                ));
            }
            Err(e) => self.failed(session, e),
        }
    }

    /// A batch could not be stored even after the pipeline's retries.
    fn failed(&mut self, session: &Session, e: StoreError) {
        error!(error = %e, "transcript could not be saved");
        self.state.counters.store_failures.inc();
        if self.state.policy.auto_save == AutoSave::SaveAndNotify {
            self.broadcast(
                |id| ServerFrame::TranscriptSaved {
                    session_id: id.to_string(),
                    last_event_id: 0,
                    result: "ucs-save-fail".into(),
                },
                session,
            );
        }
        if self.state.policy.close_on_save_error {
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
            self.abandon(CmdError::new(
                ErrorCode::StoreFailed,
                "the transcript could not be saved; session closed",
            ));
            return;
        }
        // `continue`: keep the batch at the head and try again after a pause; replies
        // stay pending, and clients may retry with the same clientMessageId meanwhile.
        if let Some(front) = self.inflight.front_mut() {
            let (tx, rx) = oneshot::channel();
            let pipeline = self.state.pipeline.clone();
            let writes = front.writes.clone();
            let pause = self
                .state
                .policy
                .resend_delay
                .max(Duration::from_millis(100));
            tokio::spawn(async move {
                tokio::time::sleep(pause).await;
                let res = pipeline.submit(writes).await.await;
                let _ = tx.send(
                    res.unwrap_or_else(|_| Err(StoreError::Backend("pipeline stopped".into()))),
                );
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
                    event: map::wire_event(session, event, viewer),
                };
                self.subs[i].high_water = Some(event.id);
                self.push(i, frame);
                self.state.counters.deliveries.inc();
            }
        }
        for reply in batch.replies {
            match reply {
                Deferred::Info {
                    sub,
                    after,
                    creator,
                    reply,
                } => {
                    let frame = session_info(session, &sub.party, after, batch.upto, creator);
                    if let Some(s) = self
                        .subs
                        .iter_mut()
                        .find(|x| x.s.conn == sub.conn && x.s.party == sub.party)
                    {
                        s.high_water = Some(batch.upto);
                    }
                    let _ = reply.send(Ok(frame));
                }
                Deferred::Ack { reply, ack } => {
                    let res =
                        ack.ok_or_else(|| CmdError::new(ErrorCode::Internal, "nothing stored"));
                    let _ = reply.send(res);
                }
                Deferred::Released { reply } => {
                    let _ = reply.send(Ok(()));
                }
            }
        }
        if wrote && self.state.policy.auto_save == AutoSave::SaveAndNotify {
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
            self.state.counters.sessions_closed.inc();
            self.done = true;
        }
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
        if let Err(e) = sub.tx.try_send(frame) {
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

/// The `sessionInfo` a party receives: present parties and the events after `after` (up
/// to the durable `upto`) that it may see.
fn session_info(
    session: &Session,
    party: &PartyId,
    after: EventId,
    upto: EventId,
    creator: bool,
) -> ServerFrame {
    let viewer = session.party(party);
    let events = match viewer {
        Some(v) => session
            .replay_for(party, after)
            .take_while(|e| e.id <= upto)
            .map(|e| map::wire_event(session, e, v))
            .collect(),
        None => Vec::new(),
    };
    ServerFrame::SessionInfo {
        request_id: None,
        session_id: session.id().to_string(),
        start_at: session.created_at().0,
        last_event_id: upto.0,
        session_password: session
            .password()
            .filter(|_| creator)
            .map(|p| p.expose().to_owned()),
        monitored: viewer.and_then(|v| map::monitored_for(session, v)),
        parties: session
            .parties()
            .iter()
            .filter(|p| p.present)
            .map(map::wire_party)
            .collect(),
        events,
    }
}
