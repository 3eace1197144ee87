//! The one behaviour suite every backend passes: `run_all(&store)` panics, naming the
//! check, on the first behaviour that differs from the contract in `lib.rs`.
//!
//! Every check uses session ids and owner ids unique to the run, so runs can share a
//! database (as the PostgreSQL tests do) and counts such as `renew_leases` stay exact.
//! Each check reads back what it wrote: a backend that acknowledged a write without
//! storing it fails.

mod adoption;
mod agents;
mod batches;
mod contacts;
mod documents;
mod erasure;
mod inspect;
mod instances;
mod interactions;
mod masking;
mod ownership;
mod payloads;
mod retention;
mod routing;
mod writes;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parley_core::session::{EndInfo, EndedAgent, EndedBy, EndedReason};
use parley_core::{
    AfterAction, ClientVersion, Event, EventBody, EventId, KeyHash, LeftReason, NoticeType,
    PartyId, PartyStyle, PartyType, Protocol, SessionId, SessionPassword, UnixMillis, UserData,
    Visibility,
};

use crate::{Epoch, InstanceId, NewSession, Store, StoreError, StoredSession, Write};

pub use inspect::{Inspect, CONTACT_TABLES, SESSION_TABLES};

/// Runs every check against `store`, which must be migrated and may hold other data.
pub async fn run_all<S: Store + Inspect>(store: &S) {
    let run = Run::new();
    writes::empty_batch(store).await;
    writes::create_and_load(store, &run).await;
    writes::create_twice_conflicts(store, &run).await;
    writes::append_in_order_with_high_water(store, &run).await;
    writes::duplicate_event_conflicts_alone(store, &run).await;
    writes::events_out_of_order_are_refused(store, &run).await;
    writes::annihilate_removes_events(store, &run).await;
    writes::events_between_reads_a_range(store, &run).await;
    writes::close_writes_the_interaction(store, &run).await;
    payloads::text_round_trips_exactly(store, &run).await;
    payloads::thousand_writes_commit_in_one_call(store, &run).await;
    batches::many_sessions_interleaved_with_fenced_ones(store, &run).await;
    batches::annihilations_in_the_batch_of_their_events(store, &run).await;
    ownership::unknown_sessions_are_not_found(store, &run).await;
    ownership::stale_epoch_is_fenced_alone(store, &run).await;
    ownership::claim_after_lease_lapsed(store, &run).await;
    ownership::claim_of_held_lease(store, &run).await;
    ownership::claim_of_closed_and_unknown(store, &run).await;
    ownership::renew_and_release_leases(store, &run).await;
    ownership::concurrent_claims_have_one_winner(store, &run).await;
    ownership::orphans_are_live_sessions_nobody_holds(store, &run).await;
    adoption::orphans_are_claimed_in_one_batch(store, &run).await;
    adoption::a_batch_claim_racing_a_claim_has_one_winner(store, &run).await;
    documents::documents_round_trip_and_delete(store, &run).await;
    documents::user_data_updates_merge(store, &run).await;
    contacts::contacts_are_found_each_way(store, &run).await;
    contacts::contacts_do_not_cross_talk(store, &run).await;
    contacts::contact_search_is_bounded_and_case_insensitive(store, &run).await;
    contacts::contact_history_lists_interactions_with_transcripts(store, &run).await;
    contacts::contact_attributes_update(store, &run).await;
    contacts::contacts_are_found_by_identifier(store, &run).await;
    agents::agents_round_trip_upsert_and_delete(store, &run).await;
    agents::agents_are_listed_by_login(store, &run).await;
    agents::agent_tokens_expire_and_are_revoked(store, &run).await;
    instances::instances_register_renew_and_leave(store, &run).await;
    instances::cluster_secret_is_created_once(store, &run).await;
    instances::session_holder_is_the_live_lease(store, &run).await;
    interactions::interaction_properties_merge(store, &run).await;
    interactions::interactions_are_listed_newest_first(store, &run).await;
    interactions::interactions_know_their_contact(store, &run).await;
    routing::leader_lease_changes_hands_when_lapsed(store, &run).await;
    routing::bus_messages_are_taken_in_order_and_fenced(store, &run).await;
    routing::session_owners_are_known(store, &run).await;
    retention::purges_remove_each_kind_before_the_cutoff(store, &run).await;
    retention::purges_go_in_batches_oldest_first(store, &run).await;
    erasure::erasure_leaves_nothing_of_the_contact(store, &run).await;
    erasure::erasure_waits_for_live_chats(store, &run).await;
    masking::masking_rules_round_trip(store, &run).await;
    masking::masking_rules_reorder(store, &run).await;
    assert!(store.ping().await.is_ok(), "ping: a working store answers");
}

/// Ids unique to one run of the suite.
struct Run {
    prefix: String,
    counter: AtomicU32,
}

impl Run {
    fn new() -> Run {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Run {
            prefix: format!("cf{nanos:x}p{:x}", std::process::id()),
            counter: AtomicU32::new(0),
        }
    }

    fn next(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A session id no other run uses.
    fn session(&self) -> SessionId {
        let id = format!("{}-s{}", self.prefix, self.next());
        id.parse()
            .unwrap_or_else(|e| panic!("fixture session id {id:?}: {e}"))
    }

    /// An instance id no other run uses.
    fn owner(&self) -> InstanceId {
        InstanceId(format!("{}-o{}", self.prefix, self.next()))
    }
}

/// A plausible "now" for leases and event times.
const T0: i64 = 1_700_000_000_000;

/// The epoch a new session starts at.
const FIRST: Epoch = Epoch(1);

fn party(name: &str) -> PartyId {
    name.parse()
        .unwrap_or_else(|e| panic!("fixture party id {name:?}: {e}"))
}

fn new_session(id: &SessionId, owner: &InstanceId, lease_until: i64) -> NewSession {
    NewSession {
        id: id.clone(),
        created_at: UnixMillis(T0),
        tenant: "acme".into(),
        endpoint: "default".into(),
        queue: "chat-in".into(),
        subject: Some("Billing question".into()),
        user_data: UserData::from([
            ("FirstName".to_owned(), "Ada".to_owned()),
            ("Channel".to_owned(), "web".to_owned()),
        ]),
        password: Some(SessionPassword::new("s3cret-pw")),
        owner: owner.clone(),
        lease_until: UnixMillis(lease_until),
    }
}

fn event(id: u64, body: EventBody) -> Event {
    Event {
        id: EventId(id),
        at: UnixMillis(T0 + i64::try_from(id).unwrap_or(0)),
        from: party("customer-1"),
        visibility: Visibility::All,
        receiver: None,
        body,
        pii: None,
    }
}

fn message(id: u64, text: &str) -> Event {
    event(
        id,
        EventBody::Message {
            text: text.into(),
            message_type: None,
            client_msg_id: None,
        },
    )
}

fn joined(id: u64, nickname: &str) -> Event {
    let mut e = event(
        id,
        EventBody::NewParty {
            nickname: nickname.into(),
            party_type: PartyType::Client,
            style: PartyStyle::Normal,
            protocol: Protocol::Basic,
            client_version: ClientVersion::LATEST,
            user_data: UserData::from([("Lang".to_owned(), "fr".to_owned())]),
            person_id: None,
            key_hash: Some(KeyHash([0xa5; 32])),
        },
    );
    e.visibility = Visibility::Int;
    e
}

fn read_confirm(id: u64, seen: u64) -> Event {
    let mut e = event(
        id,
        EventBody::Notice {
            notice_type: NoticeType::SysCommand,
            text: Some(parley_core::event::READ_CONFIRM.into()),
            user_data: UserData::from([(
                parley_core::event::LAST_EVENT_ID_KEY.to_owned(),
                seen.to_string(),
            )]),
            client_msg_id: None,
        },
    );
    e.receiver = Some(party("agent-1"));
    e
}

fn left(id: u64) -> Event {
    event(
        id,
        EventBody::PartyLeft {
            reason: LeftReason::ForceClose,
            after_action: AfterAction::ForceClose,
            text: Some("bye".into()),
            asker: None,
        },
    )
}

fn end_info() -> EndInfo {
    EndInfo {
        closed_at: UnixMillis(T0 + 60_000),
        ended_by: EndedBy::Client,
        reason: EndedReason::Force,
        agent: EndedAgent::Visited,
    }
}

fn append(session: &SessionId, epoch: Epoch, events: Vec<Event>, last: u64) -> Write {
    Write::Append {
        session: session.clone(),
        epoch,
        events,
        last_event_id: EventId(last),
    }
}

fn close(session: &SessionId, epoch: Epoch, transcript: Vec<Event>, last: u64) -> Write {
    Write::Close {
        session: session.clone(),
        epoch,
        end: end_info(),
        transcript,
        last_event_id: EventId(last),
    }
}

/// Commits a batch that must not fail as a whole; one outcome per write.
async fn commit<S: Store>(
    store: &S,
    batch: Vec<Write>,
    check: &str,
) -> Vec<Result<(), StoreError>> {
    let outcomes = match store.commit(&batch).await {
        Ok(outcomes) => outcomes,
        Err(e) => panic!("{check}: batch failed as a whole: {e}"),
    };
    assert_eq!(
        outcomes.len(),
        batch.len(),
        "{check}: one outcome per write"
    );
    outcomes
}

/// Commits a batch whose every write must succeed.
async fn commit_ok<S: Store>(store: &S, batch: Vec<Write>, check: &str) {
    for (i, outcome) in commit(store, batch, check).await.into_iter().enumerate() {
        if let Err(e) = outcome {
            panic!("{check}: write {i} refused: {e}");
        }
    }
}

/// Commits one write; its outcome.
async fn commit_one<S: Store>(store: &S, write: Write, check: &str) -> Result<(), StoreError> {
    commit(store, vec![write], check)
        .await
        .pop()
        .unwrap_or_else(|| panic!("{check}: no outcome"))
}

/// A session that must exist.
async fn load<S: Store>(store: &S, id: &SessionId, check: &str) -> StoredSession {
    match store.load_session(id).await {
        Ok(Some(s)) => s,
        Ok(None) => panic!("{check}: session {id} not found"),
        Err(e) => panic!("{check}: load_session failed: {e}"),
    }
}

/// Creates a session owned by `owner` with its lease until `lease_until`.
async fn create<S: Store>(store: &S, id: &SessionId, owner: &InstanceId, lease_until: i64) {
    let write = Write::CreateSession(new_session(id, owner, lease_until));
    commit_ok(store, vec![write], "create fixture").await;
}

fn assert_conflict(outcome: &Result<(), StoreError>, check: &str) {
    assert!(
        matches!(outcome, Err(StoreError::Conflict(..))),
        "{check}: expected Conflict, got {outcome:?}"
    );
}

fn assert_fenced(outcome: &Result<(), StoreError>, check: &str) {
    assert!(
        matches!(outcome, Err(StoreError::Fenced(_))),
        "{check}: expected Fenced, got {outcome:?}"
    );
}

fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.id.0).collect()
}
