//! The actor loop of one session: take commands, apply them to the core, stage the
//! effects, submit them to the persistence pipeline, and release replies and deliveries
//! in order as commits complete. Time comes from the shell: the loop sleeps until the
//! core's next deadline and then feeds it a `Tick`.

use std::collections::HashMap;
use std::time::Duration;

use parley_core::session::SendBody;
use parley_core::{
    CoreError, Effect, EventId, Input, KeyHash, LeftReason, PartyId, PartyType, Protocol, Session,
};
use parley_proto::ErrorCode;
use parley_store::{Epoch, NewSession};
use tokio::sync::mpsc;
use tracing::{debug, info_span, Instrument};

use super::batches::Batches;
use super::reply::Deferred;
use super::Sessions;
use super::{CmdError, Command, FileOp, Queued, RegistryGuard, SessionHandle};
use crate::clock::now;
use crate::throttle::{CustomerBuckets, Sent};

/// Most commands applied before their effects are submitted as one job.
const DRAIN_MAX: usize = 64;
/// Mailbox depth per session.
const MAILBOX: usize = 256;

/// Starts the actor of `session`. `tenant` is its interaction's, for the statistics
/// attached at its end.
// Each argument is a separate fact of how the session starts; a struct of them would be
// built in two places only to be taken apart here.
#[allow(clippy::too_many_arguments)]
pub(super) fn spawn(
    ctx: Sessions,
    session: Session,
    epoch: Epoch,
    durable: EventId,
    initial: Vec<Effect>,
    record: Option<NewSession>,
    creator: Option<Deferred>,
    tenant: String,
) -> SessionHandle {
    let (tx, rx) = mpsc::channel(MAILBOX);
    let id = session.id().clone();
    let span = info_span!("session", session_id = %id);
    let guard = RegistryGuard {
        ctx: ctx.clone(),
        id,
    };
    let tracker = ctx.tracker.clone();
    tracker.spawn(
        async move {
            let _guard = guard;
            let mut actor = Actor {
                batches: Batches::new(ctx.clone(), epoch, durable, tenant),
                session,
                ctx,
                flex_users: 0,
                buckets: HashMap::new(),
            };
            if let Some(r) = record {
                actor.batches.create(r);
            }
            // A restored session arrives with its whole stored transcript.
            actor.batches.trim(&mut actor.session);
            actor
                .batches
                .stage_effects(&actor.session, initial, creator);
            actor.count_flex_users();
            actor.run(rx).await;
        }
        .instrument(span),
    );
    SessionHandle { tx }
}

struct Actor {
    session: Session,
    ctx: Sessions,
    batches: Batches,
    /// Flex users present in the session, as last added to the load limits' gauge.
    flex_users: i64,
    /// Each customer's rate-limit buckets (`[rate-limits]`), made on its first send.
    buckets: HashMap<PartyId, CustomerBuckets>,
}

impl Drop for Actor {
    /// However the actor ends, its flex users leave the gauge.
    fn drop(&mut self) {
        self.ctx.limits.add_flex_users(-self.flex_users);
    }
}

impl Actor {
    async fn run(&mut self, mut rx: mpsc::Receiver<Box<Queued>>) {
        let shutdown = self.ctx.shutdown.clone();
        loop {
            self.batches.submit_staged(&self.session).await;
            if self.batches.finished() {
                break;
            }
            let deadline = self.session.next_deadline().map(|d| {
                let wait = u64::try_from((d.0 - now().0).max(0)).unwrap_or(0);
                tokio::time::Instant::now() + Duration::from_millis(wait)
            });
            tokio::select! {
                biased;
                done = self.batches.next_done() => {
                    self.batches.complete(&self.session, done).await;
                    self.batches.trim(&mut self.session);
                }
                cmd = rx.recv(), if !self.batches.closing() => match cmd {
                    Some(q) => {
                        self.arrived(*q).await;
                        for _ in 1..DRAIN_MAX {
                            match rx.try_recv() {
                                Ok(q) => self.arrived(*q).await,
                                Err(_) => break,
                            }
                        }
                    }
                    None => self.batches.stop(),
                },
                () = sleep_until(deadline) => {
                    self.input(Input::Tick, None);
                }
                () = shutdown.cancelled(), if !self.batches.stopping() => {
                    // Leave the session alive in the store for restoration; just finish
                    // what was submitted.
                    debug!("shutdown: flushing session");
                    self.batches.stop();
                }
            }
        }
        self.batches.end();
    }

    /// Applies input to the core and stages the effects, with a reply for the requester.
    fn input(&mut self, input: Input, reply: Option<Deferred>) {
        match self.session.handle(now(), input) {
            Ok(effects) => {
                self.batches.stage_effects(&self.session, effects, reply);
                self.count_flex_users();
            }
            Err(e) => {
                if let Some(r) = reply {
                    r.fail(CmdError::from(e));
                }
            }
        }
    }

    /// Applies a command from the mailbox; the replies it stages count their delay from
    /// its arrival.
    async fn arrived(&mut self, q: Queued) {
        self.batches.arrived = q.at;
        self.apply(q.cmd).await;
    }

    /// Brings the load limits' flex-user gauge up to date with this session (flex and
    /// GMS v2 customers present in it).
    fn count_flex_users(&mut self) {
        let n = self
            .session
            .parties()
            .iter()
            .filter(|p| p.present && p.protocol == Protocol::Flex)
            .count() as i64;
        if n != self.flex_users {
            self.ctx.limits.add_flex_users(n - self.flex_users);
            self.flex_users = n;
        }
    }

    async fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Join { req, sub, reply } => {
                let party = req.party.clone();
                self.input(
                    Input::Join(req),
                    Some(Deferred::info(party, sub, EventId(0), reply)),
                );
            }
            Command::Resume {
                party,
                key,
                party_type,
                last,
                sub,
                reply,
            } => {
                if let Err(e) = self.session.check_key(&party, &key) {
                    let _ = reply.send(Err(e.into()));
                    return;
                }
                if self.session.party(&party).map(|p| p.party_type) != Some(party_type) {
                    let _ = reply.send(Err(CmdError::new(
                        ErrorCode::NotAllowed,
                        "register with the party type you joined as",
                    )));
                    return;
                }
                self.input(
                    Input::Attach {
                        party: party.clone(),
                    },
                    Some(Deferred::info(party, sub, last, reply)),
                );
            }
            Command::Send { req, key, reply } => {
                let sent = match req.body {
                    SendBody::Message { .. } => Sent::Message,
                    SendBody::Notice { .. } => Sent::Notice,
                };
                let checked = self
                    .authorize(&req.from, key.as_ref(), false)
                    .and_then(|()| self.throttle(&req.from, sent));
                if let Err(e) = checked {
                    let _ = reply.send(Err(e));
                    return;
                }
                self.input(Input::Send(req), Some(Deferred::Ack { reply, ack: None }));
            }
            Command::External { req, reply } => {
                self.input(
                    Input::External(req),
                    Some(Deferred::Ack { reply, ack: None }),
                );
            }
            Command::IdleControl { change, reply } => {
                self.input(Input::IdleControl(change), Some(Deferred::Done { reply }))
            }
            Command::Release {
                party,
                key,
                action,
                text,
                reply,
            } => {
                if let Err(e) = self.authorize(&party, key.as_ref(), false) {
                    let _ = reply.send(Err(e));
                    return;
                }
                self.input(
                    Input::Release {
                        party: party.clone(),
                        after_action: action,
                        text,
                    },
                    Some(Deferred::Released { reply, party }),
                );
            }
            Command::Remove {
                party,
                reason,
                reply,
            } => self.input(
                Input::Remove {
                    party,
                    reason,
                    asker: None,
                },
                Some(Deferred::Done { reply }),
            ),
            Command::SystemClose { reason, reply } => self.input(
                Input::SystemClose { reason },
                Some(Deferred::Done { reply }),
            ),
            Command::Detach { party, conn } => {
                if self.batches.unsubscribe(&party, conn) {
                    self.input(Input::Detach { party }, None);
                }
            }
            Command::Refresh {
                party,
                key,
                from,
                wait,
                reply,
            } => {
                if let Err(e) = self.authorize(&party, Some(&key), true) {
                    let _ = reply.send(Err(e));
                    return;
                }
                self.batches
                    .refresh(&self.session, party, from, wait, reply)
                    .await;
            }
            Command::UpdateUserData {
                party,
                key,
                data,
                reply,
            } => {
                if let Err(e) = self.authorize(&party, Some(&key), false) {
                    let _ = reply.send(Err(e));
                    return;
                }
                if let Err(e) = self.session.check_user_data(&data) {
                    let _ = reply.send(Err(e.into()));
                    return;
                }
                self.batches.stage_user_data(data, reply);
            }
            Command::File { party, key, op } => {
                if let Err(e) = self.authorize(&party, Some(&key), false) {
                    op.fail(e);
                    return;
                }
                self.file(party, op);
            }
        }
    }

    /// Checks a connectionless caller's key and counts the request as activity. A flex
    /// party with a wrong key is removed at once (reason 6), as Genesys does against
    /// hijacking; a party of another protocol just gets the error.
    fn authorize(
        &mut self,
        party: &PartyId,
        key: Option<&KeyHash>,
        read_only: bool,
    ) -> Result<(), CmdError> {
        let Some(key) = key else { return Ok(()) };
        match self.session.check_key(party, key) {
            Ok(()) => {
                if !self.present(party) {
                    // A connectionless customer's first request after a restoration
                    // (restart, crash, failover) re-admits it, as a basic client's resume
                    // does: the transcript shows it joining again and the request goes on.
                    // The core refuses any other departure, which stays final.
                    self.input(
                        Input::Attach {
                            party: party.clone(),
                        },
                        None,
                    );
                }
                if self.present(party) {
                    let _ = self.session.handle(
                        now(),
                        Input::Touch {
                            party: party.clone(),
                        },
                    );
                    return Ok(());
                }
                if read_only {
                    // A party that has left may still read up to its leave.
                    return Ok(());
                }
                Err(CmdError::new(
                    ErrorCode::LoggedOut,
                    "you were logged out of this chat session",
                ))
            }
            Err(CoreError::BadSecureKey) => {
                // A wrong key proves nothing about the real customer: it stays, unless the
                // operator chose the Genesys behaviour (`bad-secure-key-removes-party`).
                let flex_present = self
                    .session
                    .party(party)
                    .is_some_and(|p| p.present && p.protocol == Protocol::Flex);
                if flex_present && self.ctx.policy.bad_key_removes_party {
                    self.input(
                        Input::Remove {
                            party: party.clone(),
                            reason: LeftReason::BadSecureKey,
                            asker: None,
                        },
                        None,
                    );
                }
                Err(CoreError::BadSecureKey.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Takes a token from a customer's bucket for what it sends; staff are not limited
    /// here (they are authenticated, and bots may be fast on purpose).
    fn throttle(&mut self, party: &PartyId, sent: Sent) -> Result<(), CmdError> {
        if !self
            .session
            .party(party)
            .is_some_and(|p| p.party_type == PartyType::Client)
        {
            return Ok(());
        }
        let quotas = &self.ctx.policy.customer_quotas;
        let taken = self
            .buckets
            .entry(party.clone())
            .or_insert_with(|| quotas.buckets())
            .take(sent);
        taken.map_err(|e| {
            self.ctx.counters.rate_limited.inc();
            CmdError::from(e)
        })
    }

    fn present(&self, party: &PartyId) -> bool {
        self.session.party(party).is_some_and(|p| p.present)
    }

    fn file(&mut self, party: PartyId, op: FileOp) {
        match op {
            FileOp::Allowance { name, reply } => {
                // Every upload asks for its allowance before a byte is stored.
                let _ = reply.send(self.throttle(&party, Sent::File).and_then(|()| {
                    self.session
                        .upload_allowance(&party, &name)
                        .map_err(CmdError::from)
                }));
            }
            FileOp::StaffOnly { reply } => {
                let staff = self
                    .session
                    .party(&party)
                    .is_some_and(|p| p.present && p.party_type.is_staff());
                let _ = reply.send(if staff {
                    Ok(())
                } else {
                    Err(CmdError::new(
                        ErrorCode::NotAllowed,
                        "customers upload through the flex or GMS file endpoints",
                    ))
                });
            }
            FileOp::Limits { reply } => {
                let settings = self.session.settings().files.clone();
                let _ = reply.send(Ok((settings, self.session.file_usage())));
            }
            FileOp::Upload { file, reply } => {
                self.input(
                    Input::UploadFile { party, file },
                    Some(Deferred::Ack { reply, ack: None }),
                );
            }
            FileOp::Delete { file_id, reply } => {
                self.input(
                    Input::DeleteFile { party, file_id },
                    Some(Deferred::Ack { reply, ack: None }),
                );
            }
            FileOp::Download { file_id, reply } => {
                // Counting a download changes no stored state, so it is answered at once.
                let res = self
                    .session
                    .handle(now(), Input::DownloadFile { party, file_id })
                    .map_err(CmdError::from)
                    .and_then(|effects| {
                        effects
                            .into_iter()
                            .find_map(|e| match e {
                                Effect::ServeDocument(r) => Some(r),
                                _ => None,
                            })
                            .ok_or_else(|| CmdError::new(ErrorCode::Internal, "no document"))
                    });
                let _ = reply.send(res);
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
