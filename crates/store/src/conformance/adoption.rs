//! Checks of the orphan sweep's batch claim (`claim_orphans`): the same fencing as one
//! claim, for a page of sessions at once.

use super::*;
use crate::{Claim, SessionState};

async fn claim_orphans<S: Store>(
    store: &S,
    ids: &[SessionId],
    me: &InstanceId,
    now: i64,
    any_other_owner: bool,
) -> Vec<StoredSession> {
    store
        .claim_orphans(
            ids,
            me,
            UnixMillis(now),
            UnixMillis(now + 10_000),
            any_other_owner,
        )
        .await
        .unwrap_or_else(|e| panic!("claim_orphans failed: {e}"))
}

pub(super) async fn orphans_are_claimed_in_one_batch<S: Store>(store: &S, run: &Run) {
    let check = "batch claim of orphans";
    let (me, dead, live) = (run.owner(), run.owner(), run.owner());
    let [lapsed, lapsed_too, held, mine, closed, unknown] = [
        run.session(),
        run.session(),
        run.session(),
        run.session(),
        run.session(),
        run.session(),
    ];
    create(store, &lapsed, &dead, T0 + 1_000).await;
    create(store, &lapsed_too, &dead, T0 + 5_000).await;
    create(store, &held, &live, T0 + 60_000).await;
    create(store, &mine, &me, T0 + 1_000).await;
    create(store, &closed, &dead, T0 + 1_000).await;
    let events = vec![joined(1, "Ada"), message(2, "hello")];
    commit_ok(
        store,
        vec![
            append(&lapsed, FIRST, events.clone(), 4),
            close(&closed, FIRST, vec![], 0),
        ],
        check,
    )
    .await;
    let all = [
        closed.clone(),
        unknown.clone(),
        mine.clone(),
        held.clone(),
        lapsed_too.clone(),
        lapsed.clone(),
    ];

    // A lease ends at `lease_until`: both lapsed ones are orphans at T0 + 5 s.
    let got = claim_orphans(store, &all, &me, T0 + 5_000, false).await;
    let mut want = vec![lapsed.clone(), lapsed_too.clone()];
    want.sort();
    let got_ids: Vec<SessionId> = got.iter().map(|s| s.id.clone()).collect();
    assert_eq!(got_ids, want, "{check}: the lapsed ones, in id order");
    let first = got.iter().find(|s| s.id == lapsed).expect("claimed");
    assert_eq!(
        (first.epoch, first.owner.clone(), first.lease_until),
        (Epoch(2), me.clone(), UnixMillis(T0 + 15_000)),
        "{check}: epoch + 1, the new owner and lease"
    );
    assert_eq!(first.state, SessionState::Alive, "{check}: state");
    assert!(first.events == events, "{check}: the events come with it");
    assert_eq!(first.last_event_id, EventId(4), "{check}: high water");
    let second = got.iter().find(|s| s.id == lapsed_too).expect("claimed");
    assert!(second.events.is_empty(), "{check}: no events of another");
    for id in [&held, &mine, &closed] {
        let s = load(store, id, check).await;
        assert_eq!(s.epoch, FIRST, "{check}: {id} untouched");
    }
    let stored = load(store, &lapsed, check).await;
    assert_eq!((stored.epoch, stored.owner), (Epoch(2), me.clone()));
    // The previous owner is fenced, the new one writes.
    let late = commit_one(
        store,
        append(&lapsed, FIRST, vec![message(5, "x")], 5),
        check,
    )
    .await;
    assert_fenced(&late, check);
    commit_ok(
        store,
        vec![append(&lapsed, Epoch(2), vec![message(5, "y")], 5)],
        check,
    )
    .await;

    // Claimed, they are no longer orphans; on one node any other owner's session is.
    assert!(
        claim_orphans(store, &all, &me, T0 + 5_000, false)
            .await
            .is_empty(),
        "{check}: nothing left"
    );
    let single = claim_orphans(store, &all, &me, T0 + 5_000, true).await;
    let single_ids: Vec<SessionId> = single.iter().map(|s| s.id.clone()).collect();
    assert_eq!(single_ids, vec![held.clone()], "{check}: single node");
    assert!(
        claim_orphans(store, &[], &me, T0, true).await.is_empty(),
        "{check}: no ids"
    );
}

pub(super) async fn a_batch_claim_racing_a_claim_has_one_winner<S: Store>(store: &S, run: &Run) {
    let check = "batch claim racing a claim";
    let (dead, sweeper, client) = (run.owner(), run.owner(), run.owner());
    for _ in 0..10 {
        let id = run.session();
        create(store, &id, &dead, T0).await;
        let ids = [id.clone()];
        let (batch, one) = tokio::join!(
            claim_orphans(store, &ids, &sweeper, T0 + 1, false),
            store.claim_session(
                &id,
                &client,
                UnixMillis(T0 + 1),
                UnixMillis(T0 + 10_000),
                false
            )
        );
        let one = one.unwrap_or_else(|e| panic!("{check}: {e}"));
        match (batch.as_slice(), &one) {
            ([s], Claim::Held { owner }) => assert_eq!(
                (&s.owner, owner),
                (&sweeper, &sweeper),
                "{check}: the sweep won"
            ),
            ([], Claim::Claimed(s)) => assert_eq!(s.owner, client, "{check}: the client won"),
            _ => panic!("{check}: expected one winner, got {batch:?} and {one:?}"),
        }
        let s = load(store, &id, check).await;
        assert_eq!(s.epoch, Epoch(2), "{check}: one claim, one epoch");
    }
}
