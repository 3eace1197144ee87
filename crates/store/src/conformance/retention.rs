//! Checks of the retention purge: each kind removes what it says from the closed
//! interactions of one tenant closed before the cutoff, and nothing else; live chats are
//! never touched; batches take the oldest closes first and end when nothing is left.
//! Every check works in tenants of its own, so a shared database's other data is never
//! in the way (nor purged).

use parley_core::contacts::{Contact, ContactAttributes, ContactId};

use super::inspect::{assert_no_rows_of_session, Inspect};
use super::*;
use crate::{InteractionRecord, NewDocument, PurgeKind, Purged, SessionState};

/// Bytes of the file each fixture chat carries.
pub(super) const FILE_BYTES: usize = 100;

/// Kept events of each fixture chat.
pub(super) const LINES: u64 = 3;

/// A tenant no other check or run uses.
pub(super) fn tenant(run: &Run) -> String {
    format!("{}-t{}", run.prefix, run.next())
}

/// A contact of `tenant` with an email address (personal data the audit must not hold).
pub(super) async fn contact<S: Store>(store: &S, run: &Run, tenant: &str) -> ContactId {
    let mut attributes = ContactAttributes::new();
    attributes
        .set("EmailAddress", "ada@lovelace.test")
        .unwrap_or_else(|e| panic!("fixture attribute: {e}"));
    let id = format!("{}-c{}", run.prefix, run.next());
    let contact = Contact {
        id: id
            .parse()
            .unwrap_or_else(|e| panic!("fixture contact id {id:?}: {e}")),
        tenant: tenant.to_owned(),
        attributes,
        created_at: UnixMillis(T0),
        updated_at: UnixMillis(T0),
    };
    if let Err(e) = store.create_contact(&contact).await {
        panic!("fixture contact: {e}");
    }
    contact.id
}

/// A chat of `tenant` with [`LINES`] kept events and one file of [`FILE_BYTES`], closed at
/// `T0 + closed` (`None`: going on), linked to `contact` if given.
pub(super) async fn chat<S: Store>(
    store: &S,
    run: &Run,
    tenant: &str,
    closed: Option<i64>,
    contact: Option<&ContactId>,
) -> SessionId {
    let check = "retention fixture";
    let (id, owner) = (run.session(), run.owner());
    let mut session = new_session(&id, &owner, i64::MAX);
    session.tenant = tenant.to_owned();
    commit_ok(store, vec![Write::CreateSession(session)], check).await;
    let events = vec![
        joined(1, "Ada"),
        message(2, "my card number is 4111"),
        message(3, "thanks"),
    ];
    commit_ok(
        store,
        vec![append(&id, FIRST, events.clone(), LINES)],
        check,
    )
    .await;
    let doc = NewDocument {
        id: format!("{}-doc{}", run.prefix, run.next()),
        session: id.clone(),
        name: "card.png".into(),
        mime: "image/png".into(),
        content: vec![7; FILE_BYTES],
        created_at: UnixMillis(T0),
    };
    store.put_document(&doc).await.expect("put_document");
    if let Some(c) = contact {
        let linked = store.link_interaction(c, &id, UnixMillis(T0)).await;
        assert!(linked.expect("link_interaction"), "{check}: linked");
    }
    if let Some(at) = closed {
        let mut write = close(&id, FIRST, events, LINES + 1);
        if let Write::Close { end, .. } = &mut write {
            end.closed_at = UnixMillis(T0 + at);
        }
        commit_ok(store, vec![write], check).await;
    }
    id
}

pub(super) async fn record<S: Store>(store: &S, id: &SessionId, check: &str) -> InteractionRecord {
    match store.interaction(id).await {
        Ok(Some(r)) => r,
        other => panic!("{check}: interaction {id}: {other:?}"),
    }
}

async fn purge<S: Store>(
    store: &S,
    kind: PurgeKind,
    tenant: &str,
    before: i64,
    limit: u32,
) -> Purged {
    match store
        .purge(kind, tenant, UnixMillis(T0 + before), limit, NOW)
        .await
    {
        Ok(p) => p,
        Err(e) => panic!("purge {kind:?} of {tenant}: {e}"),
    }
}

/// When the checks purge.
const NOW: UnixMillis = UnixMillis(T0 + 9_000_000);

/// Panics unless the chat is as its fixture left it: transcript, events and file kept.
async fn assert_intact<S: Store + Inspect>(store: &S, id: &SessionId, check: &str) {
    let r = record(store, id, check).await;
    assert_eq!(
        r.transcript_purged_at, None,
        "{check}: {id} transcript kept"
    );
    assert_eq!(r.files_purged_at, None, "{check}: {id} files kept");
    if r.state == SessionState::Closed {
        assert_eq!(
            r.transcript.map(|t| t.len()),
            Some(3),
            "{check}: {id} final transcript kept"
        );
    }
    let rows = store.rows("events", "session_id", id.as_str()).await;
    assert_eq!(rows, 3, "{check}: {id} events kept");
    let docs = store.rows("documents", "session_id", id.as_str()).await;
    assert_eq!(docs, 1, "{check}: {id} file kept");
}

/// Each kind removes what it says, from the tenant's interactions closed strictly before
/// the cutoff, once; live chats, later closes and other tenants keep everything.
pub(super) async fn purges_remove_each_kind_before_the_cutoff<S: Store + Inspect>(
    store: &S,
    run: &Run,
) {
    let check = "purge kinds";
    let (a, b) = (tenant(run), tenant(run));
    let ada = contact(store, run, &a).await;
    let old = chat(store, run, &a, Some(1_000), Some(&ada)).await;
    let later = chat(store, run, &a, Some(5_000), None).await;
    let live = chat(store, run, &a, None, Some(&ada)).await;
    let elsewhere = chat(store, run, &b, Some(1_000), None).await;

    // Transcripts: the events and the final transcript go; the record and files stay.
    let p = purge(store, PurgeKind::Transcripts, &a, 5_000, 10).await;
    let want = Purged {
        interactions: 1,
        events: LINES,
        files: 0,
        file_bytes: 0,
    };
    assert_eq!(p, want, "{check}: transcripts of the one closed before");
    let r = record(store, &old, check).await;
    assert_eq!(r.transcript, None, "{check}: final transcript gone");
    assert_eq!(r.transcript_purged_at, Some(NOW), "{check}: marked");
    assert_eq!((r.state, r.end.is_some()), (SessionState::Closed, true));
    assert_eq!(
        r.user_data.get("FirstName").map(String::as_str),
        Some("Ada")
    );
    assert_eq!(store.rows("events", "session_id", old.as_str()).await, 0);
    assert_eq!(store.rows("documents", "session_id", old.as_str()).await, 1);
    for id in [&later, &live, &elsewhere] {
        assert_intact(store, id, check).await;
    }
    let again = purge(store, PurgeKind::Transcripts, &a, 5_000, 10).await;
    assert_eq!(again, Purged::default(), "{check}: done once");

    // Files: the documents go; the record is marked.
    let p = purge(store, PurgeKind::Files, &a, 5_000, 10).await;
    let want = Purged {
        interactions: 1,
        events: 0,
        files: 1,
        file_bytes: FILE_BYTES as u64,
    };
    assert_eq!(p, want, "{check}: files of the one closed before");
    assert_eq!(store.rows("documents", "session_id", old.as_str()).await, 0);
    let r = record(store, &old, check).await;
    assert_eq!(r.files_purged_at, Some(NOW), "{check}: files marked");
    for id in [&later, &live, &elsewhere] {
        assert_intact(store, id, check).await;
    }
    let again = purge(store, PurgeKind::Files, &a, 5_000, 10).await;
    assert_eq!(again, Purged::default(), "{check}: files done once");

    // Whole records, with a cutoff past both closes: everything of both goes, the live
    // chat stays whole, and the contact stays (without the link).
    let p = purge(store, PurgeKind::Interactions, &a, 1_000_000, 10).await;
    let want = Purged {
        interactions: 2,
        events: LINES,
        files: 1,
        file_bytes: FILE_BYTES as u64,
    };
    assert_eq!(p, want, "{check}: records of both closed chats");
    for id in [&old, &later] {
        assert_no_rows_of_session(store, id.as_str(), check).await;
        assert!(store.load_session(id).await.expect("load").is_none());
    }
    assert_intact(store, &live, check).await;
    assert!(store.load_session(&live).await.expect("load").is_some());
    assert_eq!(
        store.interaction_contact(&live).await.expect("contact"),
        Some(ada.clone()),
        "{check}: the live chat keeps its link"
    );
    assert!(
        store.contact(&ada).await.expect("contact").is_some(),
        "{check}: contacts are not purged"
    );
    assert_intact(store, &elsewhere, check).await;
    let again = purge(store, PurgeKind::Interactions, &a, 1_000_000, 10).await;
    assert_eq!(again, Purged::default(), "{check}: records done once");

    let tenants = store.interaction_tenants().await.expect("tenants");
    assert!(
        tenants.contains(&a) && tenants.contains(&b),
        "{check}: {tenants:?}"
    );
    let mut sorted = tenants.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(tenants, sorted, "{check}: tenants in order, once each");
}

/// A batch takes at most its limit, oldest closes first; the batch that takes fewer
/// than its limit is the last.
pub(super) async fn purges_go_in_batches_oldest_first<S: Store + Inspect>(store: &S, run: &Run) {
    let check = "purge batches";
    let t = tenant(run);
    let mut ids = Vec::new();
    // Created newest close first, so that id order and close order differ.
    for i in (1..=7).rev() {
        ids.push((i, chat(store, run, &t, Some(100 * i), None).await));
    }
    ids.sort();
    let ids: Vec<SessionId> = ids.into_iter().map(|(_, id)| id).collect();

    let mut taken = Vec::new();
    for want in [3, 3, 1, 0] {
        let p = purge(store, PurgeKind::Transcripts, &t, 10_000, 3).await;
        assert_eq!(p.interactions, want, "{check}: batch of {want}");
        assert_eq!(p.events, want * LINES, "{check}: its events");
        taken.push(p.interactions);
        let done = usize::try_from(taken.iter().sum::<u64>()).unwrap_or(0);
        for (n, id) in ids.iter().enumerate() {
            let purged = record(store, id, check).await.transcript_purged_at;
            assert_eq!(purged.is_some(), n < done, "{check}: oldest first ({n})");
        }
    }

    // Records closed before 450 (the first four), two at a time.
    for want in [2, 2, 0] {
        let p = purge(store, PurgeKind::Interactions, &t, 450, 2).await;
        assert_eq!(p.interactions, want, "{check}: record batch of {want}");
    }
    for (n, id) in ids.iter().enumerate() {
        let exists = store.interaction(id).await.expect("interaction").is_some();
        assert_eq!(exists, n >= 4, "{check}: record {n}");
    }
    // A limit of 0 still makes progress (it is taken as 1).
    let p = purge(store, PurgeKind::Files, &t, 10_000, 0).await;
    assert_eq!(p.interactions, 1, "{check}: limit 0 is 1");
}
