//! Checks of large, mixed batches: each write sees what the writes before it in the same
//! batch did, whichever sessions they were for, and a refused write in the middle of a
//! batch changes nothing while the writes around it are applied.

use super::*;
use crate::{Claim, SessionState};

/// Claims `id` for a new owner (forced); the new epoch.
async fn take_over<S: Store>(store: &S, run: &Run, id: &SessionId, check: &str) -> Epoch {
    let claim = store
        .claim_session(
            id,
            &run.owner(),
            UnixMillis(T0),
            UnixMillis(T0 + 10_000),
            true,
        )
        .await;
    match claim {
        Ok(Claim::Claimed(s)) => s.epoch,
        other => panic!("{check}: claim of {id}: {other:?}"),
    }
}

fn annihilate(session: &SessionId, epoch: Epoch, ids: &[u64]) -> Write {
    Write::Annihilate {
        session: session.clone(),
        epoch,
        ids: ids.iter().map(|&i| EventId(i)).collect(),
    }
}

pub(super) async fn many_sessions_interleaved_with_fenced_ones<S: Store>(store: &S, run: &Run) {
    let check = "mixed batch of many sessions";
    let owner = run.owner();
    // 60 sessions that exist, every fourth taken over by another owner (so their writes
    // under the first epoch are fenced), and 20 that the batch itself creates.
    let old: Vec<SessionId> = (0..60).map(|_| run.session()).collect();
    let new: Vec<SessionId> = (0..20).map(|_| run.session()).collect();
    let created: Vec<Write> = old
        .iter()
        .map(|id| Write::CreateSession(new_session(id, &owner, T0)))
        .collect();
    commit_ok(store, created, check).await;
    let mut current = Vec::new();
    for (i, id) in old.iter().enumerate() {
        current.push(if i % 4 == 1 {
            take_over(store, run, id, check).await
        } else {
            FIRST
        });
    }

    // Round-robin over every session, six times, so that the writes of one session are
    // spread over the whole batch; a new session's first write comes before its create.
    let mut batch = Vec::new();
    let mut expect: Vec<&str> = Vec::new();
    for id in &new {
        batch.push(append(id, FIRST, vec![message(1, "too early")], 1));
        expect.push("not found");
    }
    for id in &new {
        batch.push(Write::CreateSession(new_session(id, &owner, T0)));
        expect.push("ok");
    }
    for n in 1..=6_u64 {
        for (i, id) in old.iter().enumerate() {
            batch.push(append(id, FIRST, vec![message(n, &format!("{id} {n}"))], n));
            expect.push(if i % 4 == 1 { "fenced" } else { "ok" });
        }
        for id in &new {
            batch.push(append(id, FIRST, vec![message(n, &format!("{id} {n}"))], n));
            expect.push("ok");
        }
    }
    // The sessions taken over, written under their current epoch, after the refused
    // writes of their old owner.
    for (i, id) in old.iter().enumerate().filter(|(i, _)| i % 4 == 1) {
        batch.push(append(id, current[i], vec![message(1, "new owner")], 3));
        expect.push("ok");
    }
    // Closing a session in the middle: its later writes find it closed.
    batch.push(close(&old[0], FIRST, vec![message(1, "x")], 6));
    expect.push("ok");
    batch.push(append(&old[0], FIRST, vec![message(7, "late")], 7));
    expect.push("closed");
    // A duplicate of an event the same batch appended.
    batch.push(append(&new[0], FIRST, vec![message(6, "again")], 9));
    expect.push("conflict");
    batch.push(Write::UpdateUserData {
        session: new[1].clone(),
        epoch: FIRST,
        user_data: UserData::from([("Plan".to_owned(), "gold".to_owned())]),
    });
    expect.push("ok");
    assert!(batch.len() > 500, "{check}: a large batch");

    let outcomes = commit(store, batch, check).await;
    for (i, (outcome, want)) in outcomes.iter().zip(&expect).enumerate() {
        let matches = match *want {
            "ok" => outcome.is_ok(),
            "fenced" => matches!(outcome, Err(StoreError::Fenced(_))),
            "not found" => matches!(outcome, Err(StoreError::NotFound(_))),
            "closed" => matches!(outcome, Err(StoreError::Conflict(_, "session is closed"))),
            _ => matches!(outcome, Err(StoreError::Conflict(..))),
        };
        assert!(
            matches,
            "{check}: write {i}: expected {want}, got {outcome:?}"
        );
    }

    for (i, id) in old.iter().enumerate() {
        let s = load(store, id, check).await;
        if i == 0 {
            assert_eq!(s.state, SessionState::Closed, "{check}: closed");
            assert_eq!(s.last_event_id, EventId(6), "{check}: closed high water");
        } else if i % 4 == 1 {
            assert_eq!(
                s.events,
                [message(1, "new owner")],
                "{check}: only the new owner's write of {id}"
            );
            assert_eq!(s.last_event_id, EventId(3), "{check}: high water of {id}");
        } else {
            let want: Vec<Event> = (1..=6).map(|n| message(n, &format!("{id} {n}"))).collect();
            assert!(s.events == want, "{check}: events of {id}");
            assert_eq!(s.last_event_id, EventId(6), "{check}: high water of {id}");
        }
    }
    for (i, id) in new.iter().enumerate() {
        let s = load(store, id, check).await;
        assert_eq!(s.epoch, FIRST, "{check}: created");
        let want: Vec<Event> = (1..=6).map(|n| message(n, &format!("{id} {n}"))).collect();
        assert!(s.events == want, "{check}: events of new session {id}");
        assert_eq!(
            s.last_event_id,
            EventId(6),
            "{check}: refused write raised nothing"
        );
        if i == 1 {
            assert_eq!(
                s.user_data.get("Plan").map(String::as_str),
                Some("gold"),
                "{check}: user data of a session created in the batch"
            );
            let record = store.interaction(id).await.ok().flatten();
            assert_eq!(
                record.and_then(|r| r.user_data.get("Plan").cloned()),
                Some("gold".to_owned()),
                "{check}: and of its interaction record"
            );
        }
    }
    let record = store.interaction(&old[0]).await.ok().flatten();
    assert_eq!(
        record.map(|r| (r.state, r.transcript)),
        Some((SessionState::Closed, Some(vec![message(1, "x")]))),
        "{check}: the closed session's record"
    );
}

pub(super) async fn annihilations_in_the_batch_of_their_events<S: Store>(store: &S, run: &Run) {
    let check = "annihilations beside appends";
    let (id, other, owner) = (run.session(), run.session(), run.owner());
    create(store, &id, &owner, T0).await;
    create(store, &other, &owner, T0).await;
    commit_ok(
        store,
        vec![append(
            &id,
            FIRST,
            vec![message(1, "a"), read_confirm(2, 1)],
            2,
        )],
        check,
    )
    .await;
    let stale = take_over(store, run, &other, check).await;
    assert_eq!(stale, Epoch(2), "{check}: taken over");

    let outcomes = commit(
        store,
        vec![
            append(&id, FIRST, vec![read_confirm(3, 1), message(4, "b")], 4),
            // A stored event and one of this batch.
            annihilate(&id, FIRST, &[2, 3]),
            // The other session's old owner: fenced, between the writes of `id`.
            annihilate(&other, FIRST, &[1]),
            append(&other, FIRST, vec![message(1, "stale")], 1),
            append(&id, FIRST, vec![read_confirm(5, 4), message(6, "c")], 6),
            annihilate(&id, FIRST, &[5, 99]),
            append(&other, stale, vec![read_confirm(1, 0), message(2, "d")], 2),
            annihilate(&other, stale, &[1]),
        ],
        check,
    )
    .await;
    for i in [0, 1, 4, 5, 6, 7] {
        assert!(outcomes[i].is_ok(), "{check}: write {i}: {:?}", outcomes[i]);
    }
    assert_fenced(&outcomes[2], &format!("{check}: stale annihilate"));
    assert_fenced(&outcomes[3], &format!("{check}: stale append"));

    let s = load(store, &id, check).await;
    assert_eq!(ids(&s.events), [1, 4, 6], "{check}: kept events");
    assert_eq!(s.events[2], message(6, "c"), "{check}: content");
    assert_eq!(s.last_event_id, EventId(6), "{check}: high water");
    let s = load(store, &other, check).await;
    assert_eq!(s.events, [message(2, "d")], "{check}: the other session");
    assert_eq!(s.last_event_id, EventId(2), "{check}: its high water");

    // The annihilated events are gone for later batches too.
    commit_ok(store, vec![annihilate(&id, FIRST, &[4])], check).await;
    assert_eq!(
        ids(&load(store, &id, check).await.events),
        [1, 6],
        "{check}: next batch"
    );
}
