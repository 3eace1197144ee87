//! Tests of the session actor through its public entry, [`Sessions`](super::Sessions),
//! with the test playing the group-commit writer (`Pipeline::stub`): each batch's
//! outcome (committed, fenced, failed) is the test's choice, so the guarantees that hang
//! on durability can be checked one commit at a time.

mod fixture;

use parley_core::session::{EndedBy, EndedReason};
use parley_core::view::EventView;
use parley_core::{AfterAction, EventBody, EventId, PartyType};
use parley_proto::ErrorCode;
use parley_store::{StoreError, Write};

use super::{Command, Push, SessionFact};
use crate::config::SaveOnError;
use fixture::{commit, fail, pending, reply, settle, shown, within, Fixture, Party};

/// The event of a live push (panics on any other push).
fn event(push: Push) -> EventView {
    match push {
        Push::Event { event, .. } => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn text(e: &EventView) -> Option<&str> {
    match &e.body {
        EventBody::Message { text, .. } => Some(text),
        _ => None,
    }
}

/// Nothing leaves the actor before the batch holding it is durable: not the creator's
/// snapshot, not a send's acknowledgement, not the live event to another party. A client
/// must never see what a crash could still lose.
#[tokio::test]
async fn nothing_is_observable_before_its_batch_is_durable() {
    let mut fx = Fixture::new(|_| {}).await;
    let mut cust = Party::basic("cust", PartyType::Client, 1);
    let mut agent = Party::basic("agent", PartyType::Agent, 2);

    let (id, mut created) = fx.create(&cust);
    let job = fx.job().await;
    match job.writes.as_slice() {
        [Write::CreateSession(r), Write::Append { events, .. }] => {
            assert_eq!(r.id, id);
            assert!(
                matches!(events.as_slice(), [e] if matches!(e.body, EventBody::NewParty { .. }))
            );
        }
        other => panic!("unexpected creation writes: {other:?}"),
    }
    settle().await;
    pending(&mut created, "the creator's snapshot");
    commit(job);
    let snapshot = reply(created, "the creation").await.expect("created");
    assert_eq!(snapshot.last_event_id, EventId(1));

    fx.joined(&id, &agent).await;
    event(cust.next_push().await); // the agent's arrival

    let mut sent = fx.say(&id, &cust, "hello").await;
    let job = fx.job().await;
    let stored = match job.writes.as_slice() {
        [Write::Append { events, .. }] => match events.as_slice() {
            [e] if matches!(&e.body, EventBody::Message { text, .. } if text == "hello") => e.id,
            other => panic!("expected the message, got {other:?}"),
        },
        other => panic!("unexpected send writes: {other:?}"),
    };
    settle().await;
    pending(&mut sent, "the send's ack");
    agent.no_push();
    cust.no_push();

    commit(job);
    let ack = reply(sent, "the ack").await.expect("acked");
    assert_eq!(ack.event_id, stored);
    let live = event(agent.next_push().await);
    assert_eq!((live.id, text(&live)), (stored, Some("hello")));
}

/// Every event reaches a subscriber exactly once: a joining party gets what precedes
/// its join in its snapshot, and only what follows live, however the batches interleave
/// (here a message committed just before the join, the join, and one just after).
#[tokio::test]
async fn a_joining_party_gets_each_event_once_in_its_snapshot_or_live() {
    let mut fx = Fixture::new(|_| {}).await;
    let cust = Party::basic("cust", PartyType::Client, 1);
    let mut agent = Party::basic("agent", PartyType::Agent, 2);
    let (id, _) = fx.created(&cust).await;

    // Three batches in flight at once: before, the join, after.
    let before = fx.say(&id, &cust, "before").await;
    let first = fx.job().await;
    let joined = fx.join(&id, &agent).await;
    let second = fx.job().await;
    let after = fx.say(&id, &cust, "after").await;
    let third = fx.job().await;
    commit(first);
    commit(second);
    commit(third);

    reply(before, "the first ack").await.expect("acked");
    let snapshot = reply(joined, "the join").await.expect("joined");
    let after = reply(after, "the second ack").await.expect("acked");
    assert!(snapshot
        .events
        .iter()
        .all(|e| e.id <= snapshot.last_event_id));
    assert!(snapshot.events.iter().any(|e| text(e) == Some("before")));
    assert!(snapshot.events.iter().any(|e| e.from == agent.id));
    assert!(snapshot.events.iter().all(|e| text(e) != Some("after")));

    // Live: only the later message, not its own join nor "before".
    let live = event(agent.next_push().await);
    assert_eq!((live.id, text(&live)), (after.event_id, Some("after")));
    assert!(live.id > snapshot.last_event_id);
    settle().await;
    agent.no_push();
}

/// A party that leaves is shown its own leave (its client learns the release took
/// effect), and nothing after it.
#[tokio::test]
async fn a_leaver_sees_its_own_leave_and_nothing_after() {
    let mut fx = Fixture::new(|_| {}).await;
    let mut cust = Party::basic("cust", PartyType::Client, 1);
    let mut agent = Party::basic("agent", PartyType::Agent, 2);
    let (id, _) = fx.created(&cust).await;
    fx.joined(&id, &agent).await;
    event(cust.next_push().await); // the agent's arrival

    let released = fx
        .command(&id, |reply| Command::Release {
            party: agent.id.clone(),
            key: None,
            action: AfterAction::KeepAlive,
            text: None,
            reply,
        })
        .await;
    commit(fx.job().await);
    reply(released, "the release").await.expect("released");
    let own = event(agent.next_push().await);
    assert_eq!(own.from, agent.id);
    assert!(matches!(own.body, EventBody::PartyLeft { .. }), "{own:?}");
    assert!(matches!(
        event(cust.next_push().await).body,
        EventBody::PartyLeft { .. }
    ));

    let sent = fx.say(&id, &cust, "anyone?").await;
    commit(fx.job().await);
    reply(sent, "the ack").await.expect("acked");
    assert_eq!(text(&event(cust.next_push().await)), Some("anyone?"));
    settle().await;
    agent.no_push();
}

/// A fenced commit means another instance has claimed the session: this actor stops at
/// once, failing what waits (`Unavailable`: resume elsewhere), closing every connection
/// (so clients resume on the new owner) and leaving the registry.
#[tokio::test]
async fn a_fenced_commit_hands_the_session_over() {
    let mut fx = Fixture::new(|_| {}).await;
    let cust = Party::basic("cust", PartyType::Client, 1);
    let agent = Party::basic("agent", PartyType::Agent, 2);
    let (id, _) = fx.created(&cust).await;
    fx.joined(&id, &agent).await;
    assert_eq!(fx.sessions.live(), 1);

    let sent = fx.say(&id, &cust, "hello").await;
    fail(fx.job().await, StoreError::Fenced(id.clone()));
    let err = reply(sent, "the ack").await.expect_err("fenced");
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(cust.kicked() && agent.kicked());
    fx.ended().await;
}

/// `transcript-save-on-error = close`: a batch that cannot be stored closes the session
/// (System, DbError) without a final save; what waited fails with `StoreFailed`.
#[tokio::test]
async fn a_failed_commit_closes_the_session_when_configured_to() {
    let mut fx = Fixture::new(|c| c.settings.transcript_save_on_error = SaveOnError::Close).await;
    let mut cust = Party::basic("cust", PartyType::Client, 1);
    let mut agent = Party::basic("agent", PartyType::Agent, 2);
    let (id, _) = fx.created(&cust).await;
    fx.joined(&id, &agent).await;
    event(cust.next_push().await); // the agent's arrival

    let sent = fx.say(&id, &cust, "hello").await;
    fail(fx.job().await, StoreError::Backend("disk full".into()));
    let err = reply(sent, "the ack").await.expect_err("not stored");
    assert_eq!(err.code, ErrorCode::StoreFailed);
    for p in [&mut cust, &mut agent] {
        match p.next_push().await {
            Push::SessionOver { by, reason, .. } => {
                assert_eq!((by, reason), (EndedBy::System, EndedReason::DbError));
            }
            other => panic!("expected the end, got {other:?}"),
        }
    }
    fx.ended().await;
}

/// `transcript-save-on-error = continue` (the default): the same writes are submitted
/// again after the pause, and the reply waits for them.
#[tokio::test]
async fn a_failed_commit_is_retried_by_default() {
    // Delay 0 s: the actor's floor of 100 ms applies.
    let mut fx = Fixture::new(|c| c.settings.transcript_resend_delay_s = 0).await;
    let cust = Party::basic("cust", PartyType::Client, 1);
    let mut agent = Party::basic("agent", PartyType::Agent, 2);
    let (id, _) = fx.created(&cust).await;
    fx.joined(&id, &agent).await;

    let mut sent = fx.say(&id, &cust, "hello").await;
    let job = fx.job().await;
    let writes = shown(&job.writes);
    fail(job, StoreError::Backend("disk full".into()));
    let retry = fx.job().await;
    assert_eq!(shown(&retry.writes), writes, "the same writes again");
    settle().await;
    pending(&mut sent, "the ack of an unsaved message");
    agent.no_push();

    commit(retry);
    let ack = reply(sent, "the ack").await.expect("acked after the retry");
    assert_eq!(event(agent.next_push().await).id, ack.event_id);
    assert_eq!(fx.sessions.live(), 1);
}

/// A long-polling refresh of a connectionless party with nothing new waits, and is
/// answered by the commit of a batch with an event it may see (not by its staging).
/// A job the writer drops unanswered (it stopped) is never retried as an empty job: the
/// send is not acknowledged, and the session is handed over for restoration.
#[tokio::test]
async fn a_job_the_writer_dropped_is_not_acknowledged() {
    let mut fx = Fixture::new(|c| c.settings.transcript_resend_delay_s = 0).await;
    let cust = Party::basic("cust", PartyType::Client, 1);
    let (id, _) = fx.created(&cust).await;
    let sent = fx.say(&id, &cust, "hello").await;
    drop(fx.job().await);
    let e = reply(sent, "the ack")
        .await
        .expect_err("nothing was stored");
    assert_eq!(e.code, ErrorCode::Unavailable);
    within("the actor to end", async {
        while fx.sessions.live() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_long_poll_waits_for_a_committed_event() {
    let mut fx = Fixture::new(|_| {}).await;
    let cust = Party::flex("cust", PartyType::Client);
    let agent = Party::basic("agent", PartyType::Agent, 2);
    let (id, snapshot) = fx.created(&cust).await;
    let from = EventId(snapshot.last_event_id.0 + 1);

    let mut polled = fx
        .command(&id, |reply| Command::Refresh {
            party: cust.id.clone(),
            key: cust.key,
            from,
            wait: true,
            reply,
        })
        .await;
    settle().await;
    pending(&mut polled, "a refresh with nothing new");

    let joined = fx.join(&id, &agent).await;
    let job = fx.job().await;
    settle().await;
    pending(&mut polled, "a refresh before the commit");

    commit(job);
    reply(joined, "the join").await.expect("joined");
    let refreshed = reply(polled, "the refresh").await.expect("refreshed");
    assert!(!refreshed.chat_ended);
    match refreshed.events.as_slice() {
        [e] => {
            assert_eq!((e.id, &e.from), (from, &agent.id));
            assert!(matches!(e.body, EventBody::NewParty { .. }));
            assert_eq!(refreshed.next_position, from.0 + 1);
        }
        other => panic!("expected the agent's join, got {other:?}"),
    }
}

/// Routing hears of joins, leaves and the end only once they are durable: it must not
/// act on a party or a close that a crash could undo.
#[tokio::test]
async fn facts_are_reported_after_their_commit() {
    let mut fx = Fixture::new(|_| {}).await;
    let cust = Party::basic("cust", PartyType::Client, 1);
    let agent = Party::basic("agent", PartyType::Agent, 2);

    let (id, created) = fx.create(&cust);
    let job = fx.job().await;
    settle().await;
    assert!(
        fx.facts.try_recv().is_err(),
        "a fact before the creation commit"
    );
    commit(job);
    reply(created, "the creation").await.expect("created");
    let fact = within("a fact", fx.facts.recv()).await.expect("facts open");
    assert!(
        matches!(&fact, SessionFact::Joined { party, .. } if *party == cust.id),
        "{fact:?}"
    );

    let joined = fx.join(&id, &agent).await;
    let job = fx.job().await;
    settle().await;
    assert!(
        fx.facts.try_recv().is_err(),
        "a fact before the join commit"
    );
    commit(job);
    reply(joined, "the join").await.expect("joined");
    let fact = within("a fact", fx.facts.recv()).await.expect("facts open");
    assert!(
        matches!(&fact, SessionFact::Joined { party, .. } if *party == agent.id),
        "{fact:?}"
    );

    let closed = fx
        .command(&id, |reply| Command::SystemClose {
            reason: EndedReason::Force,
            reply,
        })
        .await;
    let job = fx.job().await;
    assert!(job.writes.iter().any(|w| matches!(w, Write::Close { .. })));
    settle().await;
    assert!(
        fx.facts.try_recv().is_err(),
        "a fact before the close commit"
    );
    commit(job);
    reply(closed, "the close").await.expect("closed");
    // Both parties are shown leaving, then the end.
    let mut facts = Vec::new();
    while !matches!(facts.last(), Some(SessionFact::Ended { .. })) {
        facts.push(within("a fact", fx.facts.recv()).await.expect("facts open"));
    }
    match facts.as_slice() {
        [SessionFact::Left { .. }, SessionFact::Left { .. }, SessionFact::Ended {
            interaction, end, ..
        }] => {
            assert_eq!(interaction, &id);
            assert_eq!(end.ended_by, EndedBy::System);
        }
        other => panic!("expected two leaves and the end, got {other:?}"),
    }
    fx.ended().await;
}
