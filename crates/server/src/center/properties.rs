//! The interaction properties workflows and reports rely on (`ChatServerAppName`,
//! `IsOnline`, `ChatServerSessionPassword`, the queue and the routing state with its
//! timestamps), kept in the interaction record, and the links of chats to their contacts.
//! These side writes go through one background task that waits a few milliseconds for
//! more, merges property updates per interaction, and writes each kind in one
//! transaction: under load they cost a handful of syncs a second beside the transcript's
//! group commit (SQLite has one writer), and neither routing nor a new chat waits on them.

use std::collections::BTreeMap;
use std::time::Duration;

use parley_core::contacts::ContactId;
use parley_core::routing::AgentId;
use parley_core::{SessionId, UnixMillis, UserData};
use parley_store::{AnyStore, ContactStore, InteractionStore};
use tokio::sync::mpsc;
use tracing::warn;

use super::{Center, Submitted};
use crate::clock::now;

/// The application name workflows address ESP requests to.
pub(super) const APP_NAME: &str = "Parley";

/// Most side writes taken in one round.
const DRAIN_MAX: usize = 4096;
/// How long a round waits for more writes after the first (what it adds to the time
/// before a property is readable; it bounds the side writes to a few rounds a second).
const GATHER: Duration = Duration::from_millis(100);

/// A side write.
pub(super) enum Update {
    /// Merge these properties into the interaction's.
    Properties(SessionId, UserData),
    /// The interaction belongs to this contact.
    Link(ContactId, SessionId, UnixMillis),
}

fn queue(center: &Center, id: &SessionId, set: UserData) {
    let _ = center.side_writes.send(Update::Properties(id.clone(), set));
}

/// Writes what `rx` receives, until the server ends.
pub(super) async fn write_loop(store: AnyStore, mut rx: mpsc::UnboundedReceiver<Update>) {
    let mut buf = Vec::new();
    while rx.recv_many(&mut buf, DRAIN_MAX).await > 0 {
        tokio::time::sleep(GATHER).await;
        while buf.len() < DRAIN_MAX {
            match rx.try_recv() {
                Ok(update) => buf.push(update),
                Err(_) => break,
            }
        }
        let mut properties: BTreeMap<SessionId, UserData> = BTreeMap::new();
        let mut links = Vec::new();
        for update in buf.drain(..) {
            match update {
                Update::Properties(id, set) => properties.entry(id).or_default().extend(set),
                Update::Link(contact, session, at) => links.push((contact, session, at)),
            }
        }
        if !links.is_empty() {
            // Links first: a property update never depends on them, a history read may.
            if let Err(e) = store.link_interactions(&links).await {
                warn!(error = %e, chats = links.len(), "chats not linked to their contacts");
            }
        }
        let updates: Vec<(SessionId, UserData)> = properties.into_iter().collect();
        if !updates.is_empty() {
            if let Err(e) = store.update_interactions_properties(&updates).await {
                warn!(error = %e, interactions = updates.len(), "interaction properties not stored");
            }
        }
    }
}

fn props<const N: usize>(pairs: [(&str, String); N]) -> UserData {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A chat was submitted (again, after a restart, when `first_submitted`: its first
/// submission time is kept).
pub(super) fn submitted(center: &Center, chat: &Submitted, first_submitted: Option<UnixMillis>) {
    let mut set = props([
        ("ChatServerAppName", APP_NAME.to_owned()),
        ("IsOnline", "1".to_owned()),
        ("Queue", chat.queue.to_string()),
        ("RoutingState", "queued".to_owned()),
        (
            "SubmittedAt",
            first_submitted.unwrap_or_else(now).0.to_string(),
        ),
    ]);
    if let Some(p) = &chat.password {
        set.insert("ChatServerSessionPassword".into(), p.clone());
    }
    queue(center, &chat.interaction, set);
}

/// The routing state changed (`queued`, `offered`, `handled`).
pub(super) fn routing_state(
    center: &Center,
    id: &SessionId,
    routing: &str,
    agent: Option<&AgentId>,
) {
    let mut set = props([("RoutingState", routing.to_owned())]);
    if let Some(a) = agent {
        set.insert("Agent".into(), a.to_string());
    }
    queue(center, id, set);
}

/// The chat session is over: the interaction is offline.
pub(super) fn ended(center: &Center, id: &SessionId) {
    queue(
        center,
        id,
        props([
            ("IsOnline", "0".to_owned()),
            ("EndedAt", now().0.to_string()),
        ]),
    );
}

/// The interaction was stopped.
pub(super) fn stopped(center: &Center, id: &SessionId, reason: &str) {
    queue(
        center,
        id,
        props([
            ("RoutingState", "stopped".to_owned()),
            ("StopReason", reason.to_owned()),
            ("StoppedAt", now().0.to_string()),
        ]),
    );
}
