//! The interaction properties workflows and reports rely on (`ChatServerAppName`,
//! `IsOnline`, `ChatServerSessionPassword`, the queue and the routing state with its
//! timestamps), kept in the interaction record. Updates are written by one background
//! task that merges whatever piled up per interaction, so a burst of routing changes
//! costs one write per interaction, and neither the router nor a session ever waits on
//! them.

use std::collections::BTreeMap;

use parley_core::routing::AgentId;
use parley_core::{SessionId, UserData};
use parley_store::InteractionStore;
use tokio::sync::mpsc;
use tracing::warn;

use super::Submitted;
use crate::actor::now;
use crate::state::AppState;

/// The application name workflows address ESP requests to.
pub(super) const APP_NAME: &str = "Parley";

/// Most updates merged into one round of writes.
const DRAIN_MAX: usize = 1024;

/// A properties update.
pub(super) type Update = (SessionId, UserData);

fn queue(state: &AppState, id: &SessionId, set: UserData) {
    let _ = state.center.properties.send((id.clone(), set));
}

/// Writes the updates `rx` receives, until the server ends: whatever piled up meanwhile,
/// merged per interaction, in one transaction.
pub(super) async fn write_loop(state: AppState, mut rx: mpsc::UnboundedReceiver<Update>) {
    let mut buf = Vec::new();
    while rx.recv_many(&mut buf, DRAIN_MAX).await > 0 {
        let mut merged: BTreeMap<SessionId, UserData> = BTreeMap::new();
        for (id, set) in buf.drain(..) {
            merged.entry(id).or_default().extend(set);
        }
        let updates: Vec<Update> = merged.into_iter().collect();
        if let Err(e) = state.store.update_interactions_properties(&updates).await {
            warn!(error = %e, interactions = updates.len(), "interaction properties not stored");
        }
    }
}

fn props<const N: usize>(pairs: [(&str, String); N]) -> UserData {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A chat was submitted.
pub(super) fn submitted(state: &AppState, chat: &Submitted) {
    let mut set = props([
        ("ChatServerAppName", APP_NAME.to_owned()),
        ("IsOnline", "true".to_owned()),
        ("Queue", chat.queue.to_string()),
        ("RoutingState", "queued".to_owned()),
        ("SubmittedAt", now().0.to_string()),
    ]);
    if let Some(p) = &chat.password {
        set.insert("ChatServerSessionPassword".into(), p.clone());
    }
    queue(state, &chat.interaction, set);
}

/// The routing state changed (`queued`, `offered`, `handled`).
pub(super) fn routing_state(
    state: &AppState,
    id: &SessionId,
    routing: &str,
    agent: Option<&AgentId>,
) {
    let mut set = props([("RoutingState", routing.to_owned())]);
    if let Some(a) = agent {
        set.insert("Agent".into(), a.to_string());
    }
    queue(state, id, set);
}

/// The chat session is over: the interaction is offline.
pub(super) fn ended(state: &AppState, id: &SessionId) {
    queue(
        state,
        id,
        props([
            ("IsOnline", "false".to_owned()),
            ("EndedAt", now().0.to_string()),
        ]),
    );
}

/// The interaction was stopped.
pub(super) fn stopped(state: &AppState, id: &SessionId, reason: &str) {
    queue(
        state,
        id,
        props([
            ("RoutingState", "stopped".to_owned()),
            ("StopReason", reason.to_owned()),
            ("StoppedAt", now().0.to_string()),
        ]),
    );
}
