//! Checks of session ownership: fencing by epoch, claims, lease renewal and release.

use super::*;
use crate::{Claim, SessionState};

/// Claims `id` for `owner` at `now`, with a lease to `now + 10 s`.
async fn claim<S: Store>(
    store: &S,
    id: &SessionId,
    owner: &InstanceId,
    now: i64,
    force: bool,
) -> Claim {
    let lease = UnixMillis(now + 10_000);
    match store
        .claim_session(id, owner, UnixMillis(now), lease, force)
        .await
    {
        Ok(claim) => claim,
        Err(e) => panic!("claim of {id} failed: {e}"),
    }
}

/// The session a claim must have returned.
fn claimed(claim: Claim, check: &str) -> StoredSession {
    match claim {
        Claim::Claimed(s) => *s,
        other => panic!("{check}: expected Claimed, got {other:?}"),
    }
}

pub(super) async fn unknown_sessions_are_not_found<S: Store>(store: &S, run: &Run) {
    let check = "unknown session";
    let id = run.session();
    let batch = vec![
        append(&id, FIRST, vec![message(1, "x")], 1),
        Write::Annihilate {
            session: id.clone(),
            epoch: FIRST,
            ids: vec![EventId(1)],
        },
        close(&id, FIRST, vec![], 1),
    ];
    for outcome in commit(store, batch, check).await {
        assert!(
            matches!(outcome, Err(StoreError::NotFound(_))),
            "{check}: {outcome:?}"
        );
    }
    assert!(
        matches!(store.load_session(&id).await, Ok(None)),
        "{check}: load"
    );
    assert!(
        matches!(store.interaction(&id).await, Ok(None)),
        "{check}: nothing created"
    );
}

pub(super) async fn stale_epoch_is_fenced_alone<S: Store>(store: &S, run: &Run) {
    let check = "fencing";
    let (id, bystander, old, new) = (run.session(), run.session(), run.owner(), run.owner());
    create(store, &id, &old, T0).await;
    create(store, &bystander, &old, T0).await;
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
    let s = claimed(claim(store, &id, &new, T0 + 1, true).await, check);
    let current = s.epoch;
    assert_eq!(current, Epoch(2), "{check}: a claim adds one to the epoch");

    let outcomes = commit(
        store,
        vec![
            append(&id, FIRST, vec![message(3, "stale")], 3),
            append(&bystander, FIRST, vec![message(1, "fine")], 1),
            Write::Annihilate {
                session: id.clone(),
                epoch: FIRST,
                ids: vec![EventId(1)],
            },
            append(&id, current, vec![message(3, "current")], 3),
            close(&id, FIRST, vec![], 9),
            append(&id, Epoch(7), vec![], 9),
        ],
        check,
    )
    .await;
    assert_fenced(&outcomes[0], &format!("{check}: stale append"));
    assert!(
        outcomes[1].is_ok(),
        "{check}: other session's write: {:?}",
        outcomes[1]
    );
    assert_fenced(&outcomes[2], &format!("{check}: stale annihilate"));
    assert!(
        outcomes[3].is_ok(),
        "{check}: current epoch's write: {:?}",
        outcomes[3]
    );
    assert_fenced(&outcomes[4], &format!("{check}: stale close"));
    assert_fenced(&outcomes[5], &format!("{check}: future epoch"));
    let s = load(store, &id, check).await;
    assert_eq!(
        s.events,
        [message(1, "a"), message(2, "b"), message(3, "current")]
    );
    assert_eq!(
        (s.state, s.last_event_id),
        (SessionState::Alive, EventId(3)),
        "{check}"
    );
    assert_eq!(
        ids(&load(store, &bystander, check).await.events),
        [1],
        "{check}: bystander"
    );
}

pub(super) async fn claim_after_lease_lapsed<S: Store>(store: &S, run: &Run) {
    let check = "claim of a lapsed lease";
    let (id, old, new) = (run.session(), run.owner(), run.owner());
    create(store, &id, &old, T0 + 1_000).await;
    let events = vec![joined(1, "Ada"), message(2, "hello"), read_confirm(3, 2)];
    commit_ok(store, vec![append(&id, FIRST, events.clone(), 5)], check).await;
    // A lease ends at `lease_until`: a claim at that instant finds it lapsed.
    let s = claimed(claim(store, &id, &new, T0 + 1_000, false).await, check);
    assert_eq!(
        (s.id.clone(), s.epoch, s.owner.clone()),
        (id.clone(), Epoch(2), new.clone())
    );
    assert_eq!(
        s.lease_until,
        UnixMillis(T0 + 11_000),
        "{check}: the new lease"
    );
    assert_eq!(s.state, SessionState::Alive, "{check}: state");
    assert!(
        s.events == events,
        "{check}: the stored events come with the claim"
    );
    assert_eq!(
        s.last_event_id,
        EventId(5),
        "{check}: high water comes with the claim"
    );
    let stored = load(store, &id, check).await;
    assert_eq!(
        (stored.epoch, stored.owner),
        (Epoch(2), new.clone()),
        "{check}: persisted"
    );
    // The owner may claim again (its actor is gone); each claim fences the last.
    let again = claimed(claim(store, &id, &new, T0 + 2_000, false).await, check);
    assert_eq!(again.epoch, Epoch(3), "{check}: re-claim by the holder");
}

pub(super) async fn claim_of_held_lease<S: Store>(store: &S, run: &Run) {
    let check = "claim of a held lease";
    let (id, holder, other) = (run.session(), run.owner(), run.owner());
    create(store, &id, &holder, T0 + 10_000).await;
    let held = claim(store, &id, &other, T0 + 9_999, false).await;
    assert!(
        matches!(&held, Claim::Held { owner } if *owner == holder),
        "{check}: expected Held by the holder, got {held:?}"
    );
    let s = load(store, &id, check).await;
    assert_eq!(
        (s.epoch, s.owner),
        (FIRST, holder.clone()),
        "{check}: unchanged"
    );
    // Forced (single node: the holder is a previous life of this process).
    let s = claimed(claim(store, &id, &other, T0 + 9_999, true).await, check);
    assert_eq!((s.epoch, s.owner), (Epoch(2), other), "{check}: forced");
    let late = commit_one(store, append(&id, FIRST, vec![], 1), check).await;
    assert_fenced(&late, &format!("{check}: the old holder's write"));
}

pub(super) async fn claim_of_closed_and_unknown<S: Store>(store: &S, run: &Run) {
    let check = "claim of closed and unknown sessions";
    let (id, owner, other) = (run.session(), run.owner(), run.owner());
    create(store, &id, &owner, T0).await;
    commit_ok(store, vec![append(&id, FIRST, vec![], 7)], check).await;
    // A close never lowers the high water either.
    commit_ok(store, vec![close(&id, FIRST, vec![], 0)], check).await;
    assert_eq!(
        load(store, &id, check).await.last_event_id,
        EventId(7),
        "{check}: high water"
    );
    for force in [false, true] {
        let c = claim(store, &id, &other, T0 + 60_000, force).await;
        assert!(
            matches!(c, Claim::Closed),
            "{check}: closed (force {force}): {c:?}"
        );
        let c = claim(store, &run.session(), &other, T0, force).await;
        assert!(
            matches!(c, Claim::NotFound),
            "{check}: unknown (force {force}): {c:?}"
        );
    }
    let s = load(store, &id, check).await;
    assert_eq!(
        (s.epoch, s.owner, s.state),
        (FIRST, owner, SessionState::Closed),
        "{check}"
    );
}

pub(super) async fn renew_and_release_leases<S: Store>(store: &S, run: &Run) {
    let check = "lease renewal and release";
    let (owner, other) = (run.owner(), run.owner());
    let [a, b, c] = [run.session(), run.session(), run.session()];
    for id in [&a, &b, &c] {
        create(store, id, &owner, T0 + 1_000).await;
    }
    commit_ok(store, vec![close(&c, FIRST, vec![], 0)], check).await;

    let renewed = store.renew_leases(&owner, UnixMillis(T0 + 9_000)).await;
    assert_eq!(
        renewed.ok(),
        Some(2),
        "{check}: live sessions of the owner renewed"
    );
    for id in [&a, &b] {
        let s = load(store, id, check).await;
        assert_eq!(
            s.lease_until,
            UnixMillis(T0 + 9_000),
            "{check}: lease of {id}"
        );
    }
    let nobody = store.renew_leases(&run.owner(), UnixMillis(T0)).await;
    assert_eq!(nobody.ok(), Some(0), "{check}: an owner with no session");
    let held = claim(store, &a, &other, T0 + 5_000, false).await;
    assert!(
        matches!(held, Claim::Held { .. }),
        "{check}: renewed lease holds: {held:?}"
    );

    let released = store.release_leases(&owner).await;
    assert_eq!(released.ok(), Some(2), "{check}: released");
    // Released leases have lapsed for any claimer, at once.
    let s = claimed(claim(store, &a, &other, T0 + 5_000, false).await, check);
    assert_eq!(s.epoch, Epoch(2), "{check}: claimed after release");
    let renewed = store.renew_leases(&owner, UnixMillis(T0 + 20_000)).await;
    assert_eq!(
        renewed.ok(),
        Some(1),
        "{check}: a claimed session is no longer the owner's"
    );
    let s = load(store, &a, check).await;
    assert_eq!(
        (s.owner, s.lease_until),
        (other, UnixMillis(T0 + 15_000)),
        "{check}: untouched"
    );
}

pub(super) async fn concurrent_claims_have_one_winner<S: Store>(store: &S, run: &Run) {
    let check = "concurrent claims";
    let (id, old, first, second) = (run.session(), run.owner(), run.owner(), run.owner());
    create(store, &id, &old, T0).await;
    let (a, b) = tokio::join!(
        claim(store, &id, &first, T0 + 1, false),
        claim(store, &id, &second, T0 + 1, false)
    );
    let winner = match (&a, &b) {
        (Claim::Claimed(s), Claim::Held { owner }) | (Claim::Held { owner }, Claim::Claimed(s)) => {
            assert_eq!(&s.owner, owner, "{check}: the loser sees the winner");
            owner.clone()
        }
        _ => panic!("{check}: expected one Claimed and one Held, got {a:?} and {b:?}"),
    };
    let s = load(store, &id, check).await;
    assert_eq!(
        (s.epoch, s.owner),
        (Epoch(2), winner),
        "{check}: one claim, one epoch"
    );
}

/// Every orphan the store lists after `after`, paging as the server's sweep does.
async fn all_orphans<S: Store>(
    store: &S,
    me: &InstanceId,
    now: i64,
    any_other_owner: bool,
) -> Vec<SessionId> {
    let mut out: Vec<SessionId> = Vec::new();
    loop {
        let page = store
            .orphaned_sessions(me, UnixMillis(now), any_other_owner, out.last(), 500)
            .await
            .expect("orphaned sessions");
        let done = page.len() < 500;
        assert!(
            page.windows(2).all(|w| w[0] < w[1]),
            "orphans come in id order"
        );
        out.extend(page);
        if done {
            return out;
        }
    }
}

pub(super) async fn orphans_are_live_sessions_nobody_holds<S: Store>(store: &S, run: &Run) {
    let check = "orphaned sessions";
    let (me, dead, live) = (run.owner(), run.owner(), run.owner());
    let [lapsed, held, mine, closed, released] = [
        run.session(),
        run.session(),
        run.session(),
        run.session(),
        run.session(),
    ];
    create(store, &lapsed, &dead, T0 + 1_000).await;
    create(store, &held, &live, T0 + 60_000).await;
    create(store, &mine, &me, T0 + 1_000).await;
    create(store, &closed, &dead, T0 + 1_000).await;
    create(store, &released, &live, T0 + 60_000).await;
    commit_ok(store, vec![close(&closed, FIRST, vec![], 0)], check).await;
    let _ = store.release_leases(&live).await;
    // `held` is `live`'s too, and released with it: take it back.
    claimed(claim(store, &held, &live, T0, true).await, check);

    let found = all_orphans(store, &me, T0 + 5_000, false).await;
    let has = |id: &SessionId| found.contains(id);
    assert!(has(&lapsed), "{check}: a lapsed lease is an orphan");
    assert!(has(&released), "{check}: a released lease is an orphan");
    assert!(!has(&held), "{check}: a held lease is not");
    assert!(!has(&mine), "{check}: my own session is not");
    assert!(!has(&closed), "{check}: a closed session is not");

    let single = all_orphans(store, &me, T0 + 5_000, true).await;
    assert!(
        single.contains(&held) && !single.contains(&mine),
        "{check}: on one node every other owner's live session is an orphan"
    );
    // A claim takes the orphan out of the list.
    claimed(claim(store, &lapsed, &me, T0 + 5_000, false).await, check);
    let after = all_orphans(store, &me, T0 + 5_000, false).await;
    assert!(!after.contains(&lapsed), "{check}: claimed");
}
