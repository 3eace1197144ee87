//! Checks of the erasure of a contact: everything linked to it goes from every table, the
//! audit record counts it without holding any of it, a contact with a chat going on is
//! refused untouched, and erasing again answers the first audit record.

use parley_core::contacts::ContactId;

use super::inspect::{assert_no_rows_of_contact, assert_no_rows_of_session, Inspect};
use super::retention::{chat, contact, record, tenant, FILE_BYTES, LINES};
use super::*;
use crate::{EraseRequest, Erased, ErasureRecord};

fn request(contact: &ContactId, at: i64) -> EraseRequest {
    EraseRequest {
        contact: contact.clone(),
        by: "key:0123abcd".into(),
        reference: Some("ticket 42".into()),
        at: UnixMillis(T0 + at),
    }
}

async fn erase<S: Store>(store: &S, req: &EraseRequest) -> Erased {
    match store.erase_contact(req).await {
        Ok(e) => e,
        Err(e) => panic!("erase_contact {}: {e}", req.contact),
    }
}

/// Erasure removes the contact and each of its interactions from every table that holds
/// them, leaves other contacts' alone, and its audit record holds counts, not data.
pub(super) async fn erasure_leaves_nothing_of_the_contact<S: Store + Inspect>(
    store: &S,
    run: &Run,
) {
    let check = "erasure";
    let t = tenant(run);
    let ada = contact(store, run, &t).await;
    let bob = contact(store, run, &t).await;
    let first = chat(store, run, &t, Some(1_000), Some(&ada)).await;
    let second = chat(store, run, &t, Some(2_000), Some(&ada)).await;
    let bobs = chat(store, run, &t, Some(1_000), Some(&bob)).await;
    // A purged transcript is counted as what is left of it (nothing).
    let p = store
        .purge(
            crate::PurgeKind::Transcripts,
            &t,
            UnixMillis(T0 + 1_500),
            10,
            UnixMillis(T0),
        )
        .await
        .expect("purge");
    assert_eq!(
        p.interactions, 2,
        "{check}: first's and bob's transcripts purged"
    );

    let req = request(&ada, 5_000);
    let want = ErasureRecord {
        contact: ada.clone(),
        tenant: t.clone(),
        erased_at: UnixMillis(T0 + 5_000),
        erased_by: "key:0123abcd".into(),
        reference: Some("ticket 42".into()),
        interactions: 2,
        events: LINES,
        files: 2,
        file_bytes: 2 * FILE_BYTES as u64,
    };
    assert_eq!(
        erase(store, &req).await,
        Erased::Erased(want.clone()),
        "{check}"
    );
    assert_no_rows_of_contact(store, ada.as_str(), check).await;
    for id in [&first, &second] {
        assert_no_rows_of_session(store, id.as_str(), check).await;
    }
    assert!(store.contact(&ada).await.expect("contact").is_none());
    assert_eq!(
        store.erasure(&ada).await.expect("erasure"),
        Some(want.clone()),
        "{check}: the audit record reads back"
    );
    let audit = format!("{want:?}");
    assert!(
        !audit.contains("ada@") && !audit.contains("4111") && !audit.contains("card"),
        "{check}: no personal data in the audit: {audit}"
    );

    // Bob and his chat are untouched.
    assert!(store.contact(&bob).await.expect("contact").is_some());
    assert_eq!(
        store.rows("documents", "session_id", bobs.as_str()).await,
        1
    );
    assert_eq!(
        store.interaction_contact(&bobs).await.expect("link"),
        Some(bob.clone())
    );
    let r = record(store, &bobs, check).await;
    assert!(
        r.transcript_purged_at.is_some(),
        "{check}: bob's record kept"
    );

    // Again: the same audit record, nothing else changes; unknown: not found.
    let again = erase(store, &request(&ada, 9_000)).await;
    assert_eq!(again, Erased::AlreadyErased(want.clone()), "{check}: twice");
    let unknown: ContactId = format!("{}-nobody", run.prefix).parse().expect("id");
    assert_eq!(erase(store, &request(&unknown, 1)).await, Erased::NotFound);

    // A contact without interactions is erased with zero counts; the listing shows the
    // tenant's erasures newest first.
    let bare = erase(store, &request(&contact(store, run, &t).await, 6_000)).await;
    let Erased::Erased(bare) = bare else {
        panic!("{check}: a contact without chats: {bare:?}");
    };
    assert_eq!(
        (bare.interactions, bare.events, bare.files, bare.file_bytes),
        (0, 0, 0, 0)
    );
    let listed = store.list_erasures(Some(&t), 10).await.expect("list");
    assert_eq!(listed, vec![bare.clone(), want], "{check}: newest first");
    let one = store.list_erasures(Some(&t), 1).await.expect("list");
    assert_eq!(one, vec![bare], "{check}: bounded by the limit");
    let everywhere = store.list_erasures(None, 500).await.expect("list");
    assert!(everywhere.len() >= 2, "{check}: every tenant's");
}

/// A contact with a chat going on is not erased, and nothing of it changes.
pub(super) async fn erasure_waits_for_live_chats<S: Store + Inspect>(store: &S, run: &Run) {
    let check = "erasure of a contact in a chat";
    let t = tenant(run);
    let ada = contact(store, run, &t).await;
    let done = chat(store, run, &t, Some(1_000), Some(&ada)).await;
    let live = chat(store, run, &t, None, Some(&ada)).await;
    assert_eq!(
        erase(store, &request(&ada, 5_000)).await,
        Erased::Live(vec![live.clone()]),
        "{check}: refused, naming the live chat"
    );
    assert!(store.contact(&ada).await.expect("contact").is_some());
    assert!(store.erasure(&ada).await.expect("erasure").is_none());
    for id in [&done, &live] {
        assert_eq!(store.rows("events", "session_id", id.as_str()).await, 3);
        assert_eq!(store.rows("documents", "session_id", id.as_str()).await, 1);
        assert_eq!(
            store.interaction_contact(id).await.expect("link"),
            Some(ada.clone()),
            "{check}: {id} still linked"
        );
    }
    assert!(record(store, &done, check).await.transcript.is_some());

    // Once the chat is over, the erasure goes through.
    let end = close(&live, FIRST, Vec::new(), LINES + 1);
    commit_ok(store, vec![end], check).await;
    let Erased::Erased(r) = erase(store, &request(&ada, 6_000)).await else {
        panic!("{check}: erased after the close");
    };
    assert_eq!(r.interactions, 2, "{check}: both chats");
    for id in [&done, &live] {
        assert_no_rows_of_session(store, id.as_str(), check).await;
    }
    assert_no_rows_of_contact(store, ada.as_str(), check).await;
}
