//! Checks of stored files and user-data updates.

use parley_core::{UnixMillis, UserData};

use super::{create, Run};
use crate::{Epoch, NewDocument, Store, Write};

/// A stored file reads back byte for byte, belongs to its session, and is gone once
/// deleted (a second delete reports nothing removed).
pub(super) async fn documents_round_trip_and_delete<S: Store>(store: &S, run: &Run) {
    let session = run.session();
    let id = format!("{}-doc{}", run.prefix, run.next());
    let content: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let doc = NewDocument {
        id: id.clone(),
        session: session.clone(),
        name: "report ü.pdf".into(),
        mime: "application/pdf".into(),
        content: content.clone(),
        created_at: UnixMillis(1),
    };
    store.put_document(&doc).await.expect("put_document");
    let got = store
        .get_document(&id)
        .await
        .expect("get_document")
        .expect("documents: a stored document is found");
    assert_eq!(got.content, content, "documents: bytes round-trip exactly");
    assert_eq!(got.session, session, "documents: the session is kept");
    assert_eq!(got.name, "report ü.pdf");
    assert_eq!(got.mime, "application/pdf");
    assert!(
        store.put_document(&doc).await.is_err(),
        "documents: ids are unique"
    );
    assert!(
        store.delete_document(&id).await.expect("delete"),
        "documents: delete finds it"
    );
    assert!(
        store.get_document(&id).await.expect("get").is_none(),
        "documents: a deleted document is gone"
    );
    assert!(
        !store.delete_document(&id).await.expect("delete"),
        "documents: second delete"
    );
}

/// `UpdateUserData` merges keys into the session's and the interaction's user data, and
/// is fenced like every other write.
pub(super) async fn user_data_updates_merge<S: Store>(store: &S, run: &Run) {
    let id = run.session();
    let owner = run.owner();
    create(store, &id, &owner, i64::MAX).await;
    let before = store
        .load_session(&id)
        .await
        .expect("load")
        .expect("exists")
        .user_data;
    let changes = UserData::from([("Plan".to_owned(), "gold".to_owned())]);
    let write = Write::UpdateUserData {
        session: id.clone(),
        epoch: Epoch(1),
        user_data: changes.clone(),
    };
    let stale = Write::UpdateUserData {
        session: id.clone(),
        epoch: Epoch(7),
        user_data: UserData::from([("Plan".to_owned(), "stolen".to_owned())]),
    };
    let out = store.commit(&[write, stale]).await.expect("commit");
    assert!(out[0].is_ok(), "user data: the current epoch may update");
    assert!(out[1].is_err(), "user data: a stale epoch is fenced");
    let after = store
        .load_session(&id)
        .await
        .expect("load")
        .expect("exists")
        .user_data;
    let mut want = before;
    want.extend(changes);
    assert_eq!(after, want, "user data: keys are merged, others kept");
    let rec = store
        .interaction(&id)
        .await
        .expect("interaction")
        .expect("exists");
    assert_eq!(
        rec.user_data, want,
        "user data: the interaction record follows"
    );
}
