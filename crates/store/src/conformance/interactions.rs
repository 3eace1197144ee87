//! Checks of interaction records outside the group commit: properties and the admin
//! listing. Listings are checked in a tenant of the check's own, so other runs sharing
//! the database do not show.

use super::*;
use crate::{InteractionFilter, InteractionRecord, SessionState};

fn props(pairs: &[(&str, &str)]) -> UserData {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn record<S: Store>(store: &S, id: &SessionId, check: &str) -> InteractionRecord {
    match store.interaction(id).await {
        Ok(Some(r)) => r,
        other => panic!("{check}: interaction {id}: {other:?}"),
    }
}

/// Properties start empty, merge key by key, survive user-data updates and the close,
/// and an unknown interaction is reported as such.
pub(super) async fn interaction_properties_merge<S: Store>(store: &S, run: &Run) {
    let check = "interaction properties";
    let (id, owner) = (run.session(), run.owner());
    create(store, &id, &owner, i64::MAX).await;
    assert_eq!(
        record(store, &id, check).await.properties,
        UserData::new(),
        "{check}: none at first"
    );
    let first = props(&[("RoutingState", "waiting"), ("Queue", "default")]);
    let merged = store.update_interaction_properties(&id, &first).await;
    assert!(
        merged.expect("update_interaction_properties"),
        "{check}: found"
    );
    let second = props(&[("RoutingState", "handled"), ("Agent", "anna \"A\" \u{e9}")]);
    let merged = store.update_interaction_properties(&id, &second).await;
    assert!(
        merged.expect("update_interaction_properties"),
        "{check}: found"
    );
    let want = props(&[
        ("RoutingState", "handled"),
        ("Queue", "default"),
        ("Agent", "anna \"A\" \u{e9}"),
    ]);
    assert_eq!(
        record(store, &id, check).await.properties,
        want,
        "{check}: keys replaced or added, others kept"
    );
    let other = run.session();
    create(store, &other, &owner, i64::MAX).await;
    let unknown = run.session();
    let batch = [
        (id.clone(), props(&[("IsOnline", "true")])),
        (other.clone(), props(&[("Queue", "sales")])),
        (unknown.clone(), props(&[("Queue", "nowhere")])),
        (
            other.clone(),
            props(&[("Queue", "support"), ("Agent", "bob")]),
        ),
    ];
    let found = store.update_interactions_properties(&batch).await;
    assert_eq!(
        found.expect("update_interactions_properties"),
        3,
        "{check}: a batch counts the updates that found their interaction"
    );
    assert_eq!(
        record(store, &other, check).await.properties,
        props(&[("Queue", "support"), ("Agent", "bob")]),
        "{check}: a batch applies in order"
    );
    assert!(
        store.interaction(&unknown).await.expect("read").is_none(),
        "{check}: a batch creates nothing"
    );
    let mut want = want;
    want.insert("IsOnline".into(), "true".into());
    let nothing = store
        .update_interaction_properties(&id, &UserData::new())
        .await;
    assert!(
        nothing.expect("empty update"),
        "{check}: an empty set is a no-op"
    );

    let update = Write::UpdateUserData {
        session: id.clone(),
        epoch: FIRST,
        user_data: props(&[("Plan", "gold")]),
    };
    commit_ok(store, vec![update], check).await;
    commit_ok(
        store,
        vec![close(&id, FIRST, vec![message(1, "hi")], 1)],
        check,
    )
    .await;
    let closed = record(store, &id, check).await;
    assert_eq!(closed.state, SessionState::Closed, "{check}: closed");
    assert_eq!(
        closed.properties, want,
        "{check}: user-data updates and the close keep properties"
    );
    let unknown = store
        .update_interaction_properties(&run.session(), &first)
        .await;
    assert!(
        !unknown.expect("update of an unknown interaction"),
        "{check}: unknown interaction"
    );
}

/// `list_interactions` filters by tenant, queue, state and creation time, newest first
/// (ties by id, descending), and honours its limit.
pub(super) async fn interactions_are_listed_newest_first<S: Store>(store: &S, run: &Run) {
    let check = "interactions listed";
    let tenant = format!("{}-t{}", run.prefix, run.next());
    let owner = run.owner();
    // (queue, created at T0 + ...): b and c share a creation time.
    let plan = [("q1", 10), ("q2", 20), ("q1", 20), ("q1", 30)];
    let mut ids = Vec::new();
    for (queue, at) in plan {
        let id = run.session();
        let mut new = new_session(&id, &owner, i64::MAX);
        new.tenant = tenant.clone();
        new.queue = queue.into();
        new.created_at = UnixMillis(T0 + at);
        commit_ok(store, vec![Write::CreateSession(new)], check).await;
        ids.push(id);
    }
    // The last one is over.
    commit_ok(store, vec![close(&ids[3], FIRST, Vec::new(), 0)], check).await;
    let (a, b, c, d) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let (mut b, mut c) = (b, c);
    if b < c {
        std::mem::swap(&mut b, &mut c);
    }
    let list = |filter: InteractionFilter| async move {
        let found = store
            .list_interactions(&filter)
            .await
            .unwrap_or_else(|e| panic!("{check}: list_interactions({filter:?}): {e}"));
        found.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let all = InteractionFilter {
        tenant: Some(tenant.clone()),
        ..InteractionFilter::default()
    };
    assert_eq!(
        list(all.clone()).await,
        vec![d.clone(), b.clone(), c.clone(), a.clone()],
        "{check}: newest first, ties by id descending"
    );
    let q1 = InteractionFilter {
        queue: Some("q1".into()),
        ..all.clone()
    };
    let q1_ids = list(q1.clone()).await;
    assert!(
        q1_ids.len() == 3 && !q1_ids.contains(&ids[1]),
        "{check}: by queue: {q1_ids:?}"
    );
    let alive_q1 = InteractionFilter {
        state: Some(SessionState::Alive),
        ..q1.clone()
    };
    assert_eq!(
        list(alive_q1).await,
        vec![ids[2].clone(), a.clone()],
        "{check}: by queue and state"
    );
    let closed = InteractionFilter {
        state: Some(SessionState::Closed),
        ..all.clone()
    };
    assert_eq!(list(closed).await, vec![d.clone()], "{check}: closed only");
    let since = InteractionFilter {
        since: Some(UnixMillis(T0 + 20)),
        ..all.clone()
    };
    assert_eq!(
        list(since).await,
        vec![d.clone(), b.clone(), c.clone()],
        "{check}: since is inclusive"
    );
    let two = InteractionFilter {
        limit: 2,
        ..all.clone()
    };
    assert_eq!(
        list(two.clone()).await,
        vec![d.clone(), b.clone()],
        "{check}: limited"
    );
    // The next page starts after the last one listed, ties (b and c) included.
    let next = InteractionFilter {
        before: Some((UnixMillis(T0 + 20), b.clone())),
        ..two
    };
    assert_eq!(
        list(next).await,
        vec![c.clone(), a.clone()],
        "{check}: next page"
    );
    let nobody = InteractionFilter {
        tenant: Some(format!("{tenant}-none")),
        ..InteractionFilter::default()
    };
    assert!(list(nobody).await.is_empty(), "{check}: another tenant");
}

/// `interaction_contact` names the contact an interaction was last linked to.
pub(super) async fn interactions_know_their_contact<S: Store>(store: &S, run: &Run) {
    let check = "interaction contact";
    let id = run.session();
    assert_eq!(
        store
            .interaction_contact(&id)
            .await
            .expect("interaction_contact"),
        None,
        "{check}: not linked"
    );
    let mut contacts = Vec::new();
    for n in 0..2 {
        let contact = parley_core::contacts::Contact {
            id: format!("{}-ic{n}-{}", run.prefix, run.next())
                .parse()
                .unwrap_or_else(|e| panic!("{check}: fixture contact id: {e}")),
            tenant: format!("{}-t{}", run.prefix, run.next()),
            attributes: parley_core::contacts::ContactAttributes::new(),
            created_at: UnixMillis(T0),
            updated_at: UnixMillis(T0),
        };
        store
            .create_contact(&contact)
            .await
            .expect("create_contact");
        contacts.push(contact.id);
    }
    for contact in &contacts {
        let linked = store.link_interaction(contact, &id, UnixMillis(T0)).await;
        assert!(linked.expect("link_interaction"), "{check}: linked");
        assert_eq!(
            store
                .interaction_contact(&id)
                .await
                .expect("interaction_contact"),
            Some(contact.clone()),
            "{check}: the latest link"
        );
    }
}
