//! Session actors: one tokio task per live session owns its `parley_core::Session`.
//! Connections talk to it through a mailbox; nothing is shared under a lock on the
//! message path. [`Sessions`] is the one way in: it finds a live session (restoring it
//! from the store when this process does not hold it), creates sessions, and calls them.
//!
//! The actor is given what it uses ([`Context`]: the commit pipeline, the store, the
//! policy, counters, shutdown) and knows nothing of the front doors or of routing: it
//! speaks domain values, and reports what routing must know as [`SessionFact`]s on a
//! channel.
//!
//! Layout: `mod.rs` the facade, registry and restoration; `command.rs` commands, replies
//! and the mailbox handle; `session.rs` the actor loop; `batches.rs` effects held until
//! their batch is durable; `stage.rs` staging a batch's writes; `deliver.rs` delivery to
//! subscribers; `waiters.rs` long-polling refreshes; `reply.rs` the replies that wait for
//! a commit; `refresh.rs` answering connectionless refreshes (live and closed sessions);
//! `facts.rs` the facts reported after a commit; `orphans.rs` the orphan sweep;
//! `gate.rs` holding a new subscriber's pushes until its reply is out.

mod batches;
mod command;
mod deliver;
mod facts;
mod gate;
mod older;
mod orphans;
mod refresh;
mod reply;
mod session;
mod stage;
#[cfg(test)]
mod tests;
mod waiters;

use command::Queued;
pub use command::{
    Acked, CmdError, Command, ConnId, FileOp, Held, Inbox, Push, PushError, Refreshed,
    SessionHandle, Subscriber,
};
pub use facts::SessionFact;
pub use gate::ReplyGate;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use parley_core::mask::{RuleSet, TypingPreview};
use parley_core::session::{
    Effect, ExternalRequest, SessionMasking, SessionSettings, Stored, DEFAULT_EXTERNAL_NICKNAME,
};
use parley_core::view::SessionSnapshot;
use parley_core::{EventBody, EventId, LeftReason, Session, SessionId, Visibility};
use parley_proto::ErrorCode;
use parley_store::{
    AnyStore, Claim, ClusterStore, Epoch, HealthStore, InstanceId, NewSession, StoredSession,
    TranscriptStore,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::clock::now;
use crate::counters::Counters;
use crate::limits::Limits;
use crate::masking::Masking;
use crate::persist::Pipeline;
use crate::policy::Policy;

/// What session actors are given: everything they use, and nothing else.
pub struct Context {
    /// The group-commit pipeline.
    pub pipeline: Pipeline,
    /// The store (restoration claims, documents, final transcripts).
    pub store: AnyStore,
    /// Resolved policy.
    pub policy: Arc<Policy>,
    /// Counters for `/counters`.
    pub counters: Arc<Counters>,
    /// Load limits: fed the session count, flex users and reply delays; refuse
    /// restorations while limited.
    pub limits: Arc<Limits>,
    /// Masking: the options and each tenant's rules, given to each session it starts.
    pub masking: Arc<Masking>,
    /// This process, as owner of session leases.
    pub instance: InstanceId,
    /// Fires on shutdown.
    pub shutdown: CancellationToken,
    /// Session actors (and connections), awaited on shutdown.
    pub tracker: TaskTracker,
    /// Where facts go once durable (the contact center reads them).
    facts: mpsc::UnboundedSender<SessionFact>,
    registry: Registry,
}

/// The sessions of this process: find, create and call them. Cloning is cheap.
#[derive(Clone)]
pub struct Sessions(Arc<Context>);

impl Deref for Sessions {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.0
    }
}

/// The receiving end of the session facts, for the contact center.
pub type Facts = mpsc::UnboundedReceiver<SessionFact>;

impl Sessions {
    /// The facade over `pipeline` and `store`, and the facts its sessions will report.
    // Each argument is a separate part the caller composes; a struct of them would only
    // repeat `Context`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pipeline: Pipeline,
        store: AnyStore,
        policy: Arc<Policy>,
        counters: Arc<Counters>,
        limits: Arc<Limits>,
        masking: Arc<Masking>,
        instance: InstanceId,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> (Sessions, Facts) {
        // Unbounded: an actor reporting a fact never waits on routing.
        let (facts, rx) = mpsc::unbounded_channel();
        let ctx = Context {
            pipeline,
            store,
            policy,
            counters,
            limits,
            masking,
            instance,
            shutdown,
            tracker,
            facts,
            registry: Registry::default(),
        };
        (Sessions(Arc::new(ctx)), rx)
    }

    /// The settings a session of `tenant` runs with: the configured ones and the
    /// tenant's masking rules. Rules that cannot be read fail closed: every message of
    /// the session is masked whole (and that is logged here, once per session).
    pub async fn settings_for(&self, tenant: &str) -> SessionSettings {
        let mut settings = self.policy.session.clone();
        let policy = self.masking.policy.core();
        if !policy.enabled() && policy.typing_preview == TypingPreview::None {
            return settings;
        }
        let rules = match self.masking.rules.rules_for(tenant).await {
            Ok(rules) => rules.set,
            Err(e) => {
                warn!(tenant, error = %e, "masking rules unavailable: masking every message whole");
                Arc::new(RuleSet::unavailable(self.masking.rules.style()))
            }
        };
        settings.masking = Some(SessionMasking { policy, rules });
        settings
    }

    /// Whether this process holds session `id` now.
    pub fn holds(&self, id: &SessionId) -> bool {
        self.registry.get(id).is_some()
    }

    /// How many sessions are live here.
    pub fn live(&self) -> usize {
        self.registry.len()
    }

    /// The registry now holds `n` sessions.
    fn live_changed(&self, n: usize) {
        self.counters.sessions_live_set(n);
        self.limits.set_sessions(n);
    }

    /// Calls session `id`: finds (or restores) it, sends the command `make` builds around
    /// its reply channel, and waits for the reply.
    pub async fn call<T>(
        &self,
        id: &SessionId,
        make: impl FnOnce(oneshot::Sender<Result<T, CmdError>>) -> Command,
    ) -> Result<T, CmdError> {
        let handle = self.find(id).await?;
        let (tx, rx) = oneshot::channel();
        handle.call(make(tx), rx).await
    }

    /// Posts into session `id` as an EXTERNAL party (ESP, the routing strategy's
    /// notices): the party of that nickname joins on its first post; a blank nickname is
    /// `System`. Durable before it returns.
    pub async fn post_external(
        &self,
        id: &SessionId,
        mut req: ExternalRequest,
    ) -> Result<Acked, CmdError> {
        req.nickname = match req.nickname.trim() {
            "" => DEFAULT_EXTERNAL_NICKNAME.to_owned(),
            n => n.to_owned(),
        };
        self.call(id, |reply| Command::External { req, reply })
            .await
    }

    /// Starts the actor of a newly created session. Its first commit creates the session
    /// and interaction records; `reply` gets the creator's view once it is durable.
    pub fn spawn_created(
        &self,
        session: Session,
        effects: Vec<parley_core::Effect>,
        record: NewSession,
        creator: Option<Subscriber>,
        reply: oneshot::Sender<Result<SessionSnapshot, CmdError>>,
    ) -> SessionHandle {
        let id = session.id().clone();
        let party = session
            .parties()
            .first()
            .map(|p| p.id.clone())
            .expect("a created session has its creator");
        let creator = Some(reply::Deferred::creator(party, creator, reply));
        let handle = session::spawn(
            self.clone(),
            session,
            Epoch(1),
            EventId(0),
            effects,
            Some(record),
            creator,
        );
        self.registry.insert(id, handle.clone());
        self.live_changed(self.registry.len());
        handle
    }

    /// The mailbox of a session, restoring it from the store when this process does not
    /// hold it and restoration is on (`session-restoration-mode = simple` with
    /// auto-save).
    pub async fn find(&self, id: &SessionId) -> Result<SessionHandle, CmdError> {
        if let Some(h) = self.registry.get(id) {
            return Ok(h);
        }
        let not_found = || CmdError::new(ErrorCode::SessionNotFound, "no such chat session");
        if !self.policy.restoration {
            return Err(not_found());
        }
        // A limited instance restores nothing (a client coming back is refused and may
        // try elsewhere; an orphan waits for another instance or for the load to fall).
        // A session a live peer holds is still named, for the front door to forward to.
        if let Err(refused) = self.limits.check() {
            return Err(self
                .held_elsewhere(id)
                .await
                .unwrap_or_else(|| refused.into()));
        }
        let _one_at_a_time = self.registry.restoring(id).lock().await;
        if let Some(h) = self.registry.get(id) {
            return Ok(h);
        }
        self.limits.check()?;
        let now = now();
        let lease_until = now.plus_ms(self.policy.lease_ms);
        let claim = self
            .store
            .claim_session(
                id,
                &self.instance,
                now,
                lease_until,
                self.store.single_node(),
            )
            .await
            .map_err(|e| {
                warn!(session_id = %id, error = %e, "restoration failed");
                CmdError::new(ErrorCode::Internal, "the session could not be restored")
            })?;
        let stored = match claim {
            Claim::Claimed(s) => s,
            Claim::NotFound => return Err(not_found()),
            Claim::Closed => {
                return Err(CmdError::new(
                    ErrorCode::SessionOver,
                    "the chat session is over",
                ))
            }
            Claim::Held { owner } => return Err(CmdError::held(id.clone(), owner)),
        };
        let settings = self.settings_for(&stored.tenant).await;
        Ok(self.restore(*stored, settings))
    }

    /// Starts the actor of a session this instance has just claimed (`stored` comes with
    /// the claim): restored from its transcript and normalised as the seed says, its
    /// parties shown leaving. The caller holds the session's restoration lock.
    fn restore(&self, stored: StoredSession, settings: SessionSettings) -> SessionHandle {
        let id = stored.id.clone();
        let now = now();
        let epoch = stored.epoch;
        let durable = stored
            .events
            .last()
            .map_or(stored.last_event_id, |e| e.id.max(stored.last_event_id));
        let (session, effects) = Session::restore(
            Stored {
                id: stored.id,
                created_at: stored.created_at,
                password: stored.password,
                events: stored.events,
                last_event_id: stored.last_event_id,
            },
            settings,
            now,
        );
        info!(session_id = %id, epoch = epoch.0, "session restored");
        self.counters.sessions_restored.inc();
        let customer = session.parties().first().map(|p| p.nickname.clone());
        let agents = agents_marked_gone(&session, &effects);
        let handle = session::spawn(self.clone(), session, epoch, durable, effects, None, None);
        self.registry.insert(id.clone(), handle.clone());
        self.live_changed(self.registry.len());
        let _ = self.facts.send(SessionFact::Restored {
            interaction: id,
            customer: customer.unwrap_or_default(),
            agents,
        });
        handle
    }
}

impl Sessions {
    /// The refusal naming the live instance that holds `id`, if another does (looked up
    /// without claiming; never on a single node).
    async fn held_elsewhere(&self, id: &SessionId) -> Option<CmdError> {
        if self.store.single_node() {
            return None;
        }
        match self.store.session_holder(id, now()).await {
            Ok(Some(owner)) if owner != self.instance => Some(CmdError::held(id.clone(), owner)),
            Ok(_) => None,
            Err(e) => {
                warn!(session_id = %id, error = %e, "could not look up a session's owner");
                None
            }
        }
    }
}

/// The logins of the visible human agents a restoration marked gone (see
/// `SessionFact::Restored`).
fn agents_marked_gone(session: &Session, effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Emit { event, .. }
                if matches!(
                    event.body,
                    EventBody::PartyLeft {
                        reason: LeftReason::Restoration,
                        ..
                    }
                ) =>
            {
                session.party(&event.from)
            }
            _ => None,
        })
        .filter(|p| p.is_visible_agent() && p.visibility == Visibility::All)
        .filter_map(|p| p.person_id.clone())
        .collect()
}

/// Live sessions of this process.
struct Registry {
    map: Mutex<HashMap<SessionId, SessionHandle>>,
    /// Serialises the restorations of one session so it is never restored twice at once;
    /// sessions hashing to different shards are restored concurrently (the orphan sweep
    /// after a failover restores thousands).
    restoring: [tokio::sync::Mutex<()>; RESTORING_SHARDS],
}

/// Shards of `Registry::restoring`.
const RESTORING_SHARDS: usize = 64;

impl Default for Registry {
    fn default() -> Registry {
        Registry {
            map: Mutex::default(),
            restoring: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
        }
    }
}

impl Registry {
    /// The lock serialising restorations of `id`.
    fn restoring(&self, id: &SessionId) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(id.as_str());
        &self.restoring[(h % RESTORING_SHARDS as u64) as usize]
    }

    fn get(&self, id: &SessionId) -> Option<SessionHandle> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    fn insert(&self, id: SessionId, handle: SessionHandle) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, handle);
    }

    /// Removes a session; returns how many remain.
    fn remove(&self, id: &SessionId) -> usize {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
        map.len()
    }

    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Removes the session from the registry when its actor ends, however it ends.
struct RegistryGuard {
    ctx: Sessions,
    id: SessionId,
}

impl Drop for RegistryGuard {
    fn drop(&mut self) {
        let remaining = self.ctx.registry.remove(&self.id);
        self.ctx.live_changed(remaining);
        info!(session_id = %self.id, sessions = remaining, "session deleted");
    }
}
