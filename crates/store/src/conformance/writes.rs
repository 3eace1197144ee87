//! Checks of the group commit: creating, appending, annihilating and closing, per-write
//! outcomes, and reading back what was written.

use super::*;
use crate::SessionState;

pub(super) async fn empty_batch<S: Store>(store: &S) {
    let outcomes = store.commit(&[]).await;
    assert!(
        matches!(&outcomes, Ok(v) if v.is_empty()),
        "empty batch: {outcomes:?}"
    );
}

pub(super) async fn create_and_load<S: Store>(store: &S, run: &Run) {
    let check = "create and load";
    let (id, owner) = (run.session(), run.owner());
    let new = new_session(&id, &owner, T0 + 30_000);
    commit_ok(store, vec![Write::CreateSession(new.clone())], check).await;
    let s = load(store, &id, check).await;
    assert_eq!(s.id, id, "{check}: id");
    assert_eq!(s.created_at, new.created_at, "{check}: created_at");
    assert_eq!(
        (&s.tenant, &s.endpoint, &s.queue),
        (&new.tenant, &new.endpoint, &new.queue)
    );
    assert_eq!(s.subject, new.subject, "{check}: subject");
    assert_eq!(s.user_data, new.user_data, "{check}: user data");
    assert_eq!(s.password, new.password, "{check}: password");
    assert_eq!(s.state, SessionState::Alive, "{check}: state");
    assert_eq!(s.owner, owner, "{check}: owner");
    assert_eq!(s.epoch, FIRST, "{check}: a new session is at epoch 1");
    assert_eq!(s.lease_until, UnixMillis(T0 + 30_000), "{check}: lease");
    assert_eq!(
        s.last_event_id,
        EventId(0),
        "{check}: no event allocated yet"
    );
    assert!(s.events.is_empty(), "{check}: no events");

    // Optional fields left empty stay empty.
    let bare_id = run.session();
    let mut bare = new_session(&bare_id, &owner, T0);
    bare.subject = None;
    bare.password = None;
    bare.user_data = UserData::new();
    commit_ok(store, vec![Write::CreateSession(bare)], check).await;
    let s = load(store, &bare_id, check).await;
    assert_eq!(
        (s.subject, s.password, s.user_data),
        (None, None, UserData::new())
    );
}

pub(super) async fn create_twice_conflicts<S: Store>(store: &S, run: &Run) {
    let check = "create twice";
    let (id, other, owner) = (run.session(), run.session(), run.owner());
    create(store, &id, &owner, T0).await;
    let mut again = new_session(&id, &run.owner(), T0 + 1);
    again.tenant = "other-tenant".into();
    let outcomes = commit(
        store,
        vec![
            Write::CreateSession(again),
            Write::CreateSession(new_session(&other, &owner, T0)),
        ],
        check,
    )
    .await;
    assert_conflict(&outcomes[0], check);
    assert!(
        outcomes[1].is_ok(),
        "{check}: the other write is applied: {:?}",
        outcomes[1]
    );
    let s = load(store, &id, check).await;
    assert_eq!(
        (s.tenant.as_str(), &s.owner),
        ("acme", &owner),
        "{check}: first one kept"
    );
    load(store, &other, check).await;
}

pub(super) async fn append_in_order_with_high_water<S: Store>(store: &S, run: &Run) {
    let check = "append";
    let (id, owner) = (run.session(), run.owner());
    create(store, &id, &owner, T0).await;
    let batch = vec![
        append(&id, FIRST, vec![joined(1, "Ada"), message(2, "hello")], 2),
        // Transient events (typing) raise the high-water id without being kept.
        append(&id, FIRST, vec![], 5),
        append(&id, FIRST, vec![message(6, "six"), message(7, "seven")], 8),
    ];
    commit_ok(store, batch, check).await;
    let s = load(store, &id, check).await;
    assert_eq!(
        ids(&s.events),
        [1, 2, 6, 7],
        "{check}: kept events in id order"
    );
    assert_eq!(s.events[0], joined(1, "Ada"), "{check}: event round trip");
    assert_eq!(
        s.events[3],
        message(7, "seven"),
        "{check}: event round trip"
    );
    assert_eq!(s.last_event_id, EventId(8), "{check}: high water");

    // An empty append raises the high water on its own, in its own batch ...
    commit_ok(store, vec![append(&id, FIRST, vec![], 11)], check).await;
    assert_eq!(
        load(store, &id, check).await.last_event_id,
        EventId(11),
        "{check}: raised"
    );
    // ... and a lower one never lowers it, so ids are not reused.
    commit_ok(store, vec![append(&id, FIRST, vec![], 3)], check).await;
    assert_eq!(
        load(store, &id, check).await.last_event_id,
        EventId(11),
        "{check}: kept"
    );
    // Events above the given high water still raise it.
    commit_ok(
        store,
        vec![append(&id, FIRST, vec![message(14, "x")], 12)],
        check,
    )
    .await;
    assert_eq!(
        load(store, &id, check).await.last_event_id,
        EventId(14),
        "{check}: max"
    );
}

pub(super) async fn duplicate_event_conflicts_alone<S: Store>(store: &S, run: &Run) {
    let check = "duplicate event";
    let (id, other, owner) = (run.session(), run.session(), run.owner());
    create(store, &id, &owner, T0).await;
    create(store, &other, &owner, T0).await;
    commit_ok(
        store,
        vec![append(
            &id,
            FIRST,
            vec![message(1, "a"), message(2, "b")],
            2,
        )],
        check,
    )
    .await;
    let outcomes = commit(
        store,
        vec![
            append(&other, FIRST, vec![message(1, "other")], 1),
            // Event 3 is new but event 2 is stored: the whole write is refused.
            append(&id, FIRST, vec![message(2, "again"), message(3, "c")], 9),
            append(&id, FIRST, vec![message(4, "d")], 4),
        ],
        check,
    )
    .await;
    assert!(
        outcomes[0].is_ok(),
        "{check}: write before applied: {:?}",
        outcomes[0]
    );
    assert_conflict(&outcomes[1], check);
    assert!(
        outcomes[2].is_ok(),
        "{check}: write after applied: {:?}",
        outcomes[2]
    );
    let s = load(store, &id, check).await;
    assert_eq!(
        ids(&s.events),
        [1, 2, 4],
        "{check}: refused write stored nothing"
    );
    assert_eq!(s.events[1], message(2, "b"), "{check}: original event kept");
    assert_eq!(
        s.last_event_id,
        EventId(4),
        "{check}: refused write raised nothing"
    );
    assert_eq!(ids(&load(store, &other, check).await.events), [1]);
}

pub(super) async fn events_out_of_order_are_refused<S: Store>(store: &S, run: &Run) {
    let check = "events out of order";
    let (id, owner) = (run.session(), run.owner());
    create(store, &id, &owner, T0).await;
    let outcome = commit_one(
        store,
        append(&id, FIRST, vec![message(2, "b"), message(1, "a")], 2),
        check,
    )
    .await;
    assert_conflict(&outcome, check);
    let repeated = append(&id, FIRST, vec![message(1, "a"), message(1, "a")], 1);
    assert_conflict(&commit_one(store, repeated, check).await, check);
    let s = load(store, &id, check).await;
    assert!(
        s.events.is_empty() && s.last_event_id == EventId(0),
        "{check}: nothing stored"
    );
}

pub(super) async fn annihilate_removes_events<S: Store>(store: &S, run: &Run) {
    let check = "annihilate";
    let (id, owner) = (run.session(), run.owner());
    create(store, &id, &owner, T0).await;
    let events = vec![
        message(1, "a"),
        read_confirm(2, 1),
        read_confirm(3, 1),
        message(4, "b"),
    ];
    commit_ok(store, vec![append(&id, FIRST, events, 4)], check).await;
    let annihilate = |ids: &[u64]| Write::Annihilate {
        session: id.clone(),
        epoch: FIRST,
        ids: ids.iter().map(|&i| EventId(i)).collect(),
    };
    commit_ok(store, vec![annihilate(&[2, 3])], check).await;
    let s = load(store, &id, check).await;
    assert_eq!(ids(&s.events), [1, 4], "{check}: removed");
    assert_eq!(s.last_event_id, EventId(4), "{check}: high water unchanged");
    // Ids not stored (gone already, or never kept) are no error.
    commit_ok(store, vec![annihilate(&[2, 99]), annihilate(&[])], check).await;
    assert_eq!(
        ids(&load(store, &id, check).await.events),
        [1, 4],
        "{check}: idempotent"
    );
}

pub(super) async fn close_writes_the_interaction<S: Store>(store: &S, run: &Run) {
    let check = "close";
    let (id, owner) = (run.session(), run.owner());
    let new = new_session(&id, &owner, T0);
    commit_ok(store, vec![Write::CreateSession(new.clone())], check).await;
    commit_ok(
        store,
        vec![append(
            &id,
            FIRST,
            vec![joined(1, "Ada"), message(2, "hi")],
            3,
        )],
        check,
    )
    .await;

    let alive = match store.interaction(&id).await {
        Ok(Some(r)) => r,
        other => panic!("{check}: interaction of a live session: {other:?}"),
    };
    assert_eq!(alive.id, id, "{check}: interaction id is the session id");
    assert_eq!(alive.created_at, new.created_at);
    assert_eq!(
        (&alive.tenant, &alive.endpoint, &alive.queue),
        (&new.tenant, &new.endpoint, &new.queue)
    );
    assert_eq!(
        (&alive.subject, &alive.user_data),
        (&new.subject, &new.user_data)
    );
    assert_eq!(
        alive.state,
        SessionState::Alive,
        "{check}: alive until closed"
    );
    assert!(
        alive.end.is_none() && alive.transcript.is_none(),
        "{check}: no end yet"
    );

    let transcript = vec![joined(1, "Ada"), message(2, "hi"), left(4)];
    commit_ok(store, vec![close(&id, FIRST, transcript.clone(), 4)], check).await;
    let s = load(store, &id, check).await;
    assert_eq!(s.state, SessionState::Closed, "{check}: state flipped");
    assert_eq!(s.last_event_id, EventId(4), "{check}: final high water");
    let closed = match store.interaction(&id).await {
        Ok(Some(r)) => r,
        other => panic!("{check}: interaction of a closed session: {other:?}"),
    };
    assert_eq!(
        closed.state,
        SessionState::Closed,
        "{check}: interaction closed"
    );
    assert_eq!(closed.end, Some(end_info()), "{check}: end info");
    assert_eq!(
        closed.transcript,
        Some(transcript),
        "{check}: final transcript"
    );
    assert_eq!(
        (&closed.subject, &closed.user_data),
        (&new.subject, &new.user_data)
    );

    let after = [
        append(&id, FIRST, vec![message(5, "late")], 5),
        Write::Annihilate {
            session: id.clone(),
            epoch: FIRST,
            ids: vec![EventId(2)],
        },
        close(&id, FIRST, vec![], 6),
    ];
    for (write, outcome) in after.iter().zip(commit(store, after.to_vec(), check).await) {
        assert_conflict(&outcome, &format!("{check}: {write:?} after close"));
    }
    let s = load(store, &id, check).await;
    assert_eq!(
        (ids(&s.events), s.last_event_id),
        (vec![1, 2], EventId(4)),
        "{check}: frozen"
    );
    let unknown = store.interaction(&run.session()).await;
    assert!(
        matches!(unknown, Ok(None)),
        "{check}: unknown interaction: {unknown:?}"
    );
}

pub(super) async fn events_between_reads_a_range(store: &impl Store, run: &Run) {
    let check = "events between";
    let (id, other, owner) = (run.session(), run.session(), run.owner());
    create(store, &id, &owner, T0).await;
    create(store, &other, &owner, T0).await;
    let events = vec![
        joined(1, "Ada"),
        message(2, "two"),
        message(4, "four"),
        read_confirm(5, 2),
        message(7, "seven"),
    ];
    commit_ok(store, vec![append(&id, FIRST, events.clone(), 9)], check).await;
    commit_ok(
        store,
        vec![append(&other, FIRST, vec![message(3, "x")], 3)],
        check,
    )
    .await;
    let between = |after: u64, upto: u64| {
        let id = id.clone();
        async move {
            store
                .events_between(&id, EventId(after), EventId(upto))
                .await
                .unwrap_or_else(|e| panic!("{check}: {e}"))
        }
    };
    assert_eq!(
        between(0, 9).await,
        events,
        "{check}: everything, round trip"
    );
    assert_eq!(ids(&between(2, 5).await), [4, 5], "{check}: (after, upto]");
    assert_eq!(
        ids(&between(1, 3).await),
        [2],
        "{check}: only this session's"
    );
    assert!(
        between(7, 9).await.is_empty(),
        "{check}: nothing past the last"
    );
    // Annihilated events are gone from the range too.
    commit_ok(
        store,
        vec![Write::Annihilate {
            session: id.clone(),
            epoch: FIRST,
            ids: vec![EventId(5)],
        }],
        check,
    )
    .await;
    assert_eq!(
        ids(&between(0, 9).await),
        [1, 2, 4, 7],
        "{check}: annihilated"
    );
    let unknown = store
        .events_between(&run.session(), EventId(0), EventId(9))
        .await;
    assert!(
        matches!(&unknown, Ok(v) if v.is_empty()),
        "{check}: unknown session: {unknown:?}"
    );
}
