//! Session actors: one tokio task per live session owns its `parley_core::Session`.
//! Connections talk to it through a mailbox; nothing is shared under a lock on the
//! message path. The registry maps session ids to mailboxes (a std mutex, held for a
//! map lookup only) and restores a session from the store when a client comes back to
//! one this process does not hold.
//!
//! Layout: `mod.rs` registry and restoration; `command.rs` commands, replies and the
//! mailbox handle; `session.rs` the actor loop; `commit.rs` the ordering of effects behind
//! durable commits and their delivery; `reply.rs` the replies that wait for a commit;
//! `refresh.rs` answering connectionless refreshes (live and closed sessions).

mod command;
mod commit;
mod facts;
mod refresh;
mod reply;

pub use command::{
    Acked, CmdError, Command, ConnId, FileOp, Format, Outbound, Refreshed, Rendered, SessionHandle,
    Subscriber,
};
pub use refresh::closed_refresh;
mod session;

use std::collections::HashMap;
use std::sync::Mutex;

use parley_core::session::Stored;
use parley_core::{Session, SessionId, UnixMillis};
use parley_proto::basic::ServerFrame;
use parley_proto::ErrorCode;
use parley_store::{Claim, Epoch, HealthStore, NewSession, TranscriptStore};
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::state::AppState;

/// Live sessions of this process.
#[derive(Default)]
pub struct Registry {
    map: Mutex<HashMap<SessionId, SessionHandle>>,
    /// Serialises restorations (rare) so one session is never restored twice at once.
    restoring: tokio::sync::Mutex<()>,
}

impl Registry {
    /// The mailbox of a live session.
    pub fn get(&self, id: &SessionId) -> Option<SessionHandle> {
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

    /// How many sessions are live here.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no session is live here.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes the session from the registry when its actor ends, however it ends.
struct RegistryGuard {
    state: AppState,
    id: SessionId,
}

impl Drop for RegistryGuard {
    fn drop(&mut self) {
        let remaining = self.state.registry.remove(&self.id);
        self.state.counters.sessions_live_set(remaining);
        info!(session_id = %self.id, sessions = remaining, "session deleted");
    }
}

/// The current time as the core sees it.
pub fn now() -> UnixMillis {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Starts the actor of a newly created session. Its first commit creates the session
/// and interaction records.
pub fn spawn_created(
    state: &AppState,
    session: Session,
    effects: Vec<parley_core::Effect>,
    record: NewSession,
    creator: Option<Subscriber>,
    reply: oneshot::Sender<Result<ServerFrame, CmdError>>,
) -> SessionHandle {
    let id = session.id().clone();
    let party = session
        .parties()
        .first()
        .map(|p| p.id.clone())
        .expect("a created session has its creator");
    let creator = Some(reply::Deferred::creator(party, creator, reply));
    let handle = session::spawn(
        state.clone(),
        session,
        Epoch(1),
        effects,
        Some(record),
        creator,
    );
    state.registry.insert(id, handle.clone());
    state.counters.sessions_live_set(state.registry.len());
    handle
}

/// The mailbox of a session, restoring it from the store when this process does not hold
/// it and restoration is on (`session-restoration-mode = simple` with auto-save).
pub async fn find(state: &AppState, id: &SessionId) -> Result<SessionHandle, CmdError> {
    if let Some(h) = state.registry.get(id) {
        return Ok(h);
    }
    let not_found = || CmdError::new(ErrorCode::SessionNotFound, "no such chat session");
    if !state.policy.restoration {
        return Err(not_found());
    }
    let _one_at_a_time = state.restoring_lock().await;
    if let Some(h) = state.registry.get(id) {
        return Ok(h);
    }
    let now = now();
    let lease_until = now.plus_ms(state.policy.lease_ms);
    let claim = state
        .store
        .claim_session(
            id,
            &state.instance,
            now,
            lease_until,
            state.store.single_node(),
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
        Claim::Held { .. } => {
            return Err(CmdError::new(
                ErrorCode::Unavailable,
                "the session is served by another instance",
            ))
        }
    };
    let epoch = stored.epoch;
    let (session, effects) = Session::restore(
        Stored {
            id: stored.id.clone(),
            created_at: stored.created_at,
            password: stored.password.clone(),
            events: stored.events,
            last_event_id: stored.last_event_id,
        },
        state.policy.session.clone(),
        now,
    );
    info!(session_id = %id, epoch = epoch.0, "session restored");
    state.counters.sessions_restored.inc();
    let handle = session::spawn(state.clone(), session, epoch, effects, None, None);
    state.registry.insert(id.clone(), handle.clone());
    state.counters.sessions_live_set(state.registry.len());
    Ok(handle)
}

impl crate::state::Shared {
    async fn restoring_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.registry.restoring.lock().await
    }
}
