//! Checks of the instance registry and the cluster secret. Instance ids are unique to
//! the run; times are the wall clock's, since registrations of other runs sharing the
//! database forget rows an hour past their lease.

use super::*;

fn wall_now() -> UnixMillis {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// An instance is found while its lease holds, renewed by registering again (with a new
/// URL if it moved), not found once its lease lapsed or it was removed.
pub(super) async fn instances_register_renew_and_leave<S: Store>(store: &S, run: &Run) {
    let check = "instances_register_renew_and_leave";
    let (a, b) = (run.owner(), run.owner());
    let now = wall_now();
    let until = now.plus_ms(5_000);
    store
        .register_instance(&a, "http://127.0.0.1:1", now, until)
        .await
        .unwrap_or_else(|e| panic!("{check}: register a: {e}"));
    store
        .register_instance(&b, "http://127.0.0.1:2", now, until)
        .await
        .unwrap_or_else(|e| panic!("{check}: register b: {e}"));
    let url = |id: InstanceId, at: UnixMillis| async move {
        store.instance_url(&id, at).await.expect("instance_url")
    };
    assert_eq!(
        url(a.clone(), now).await.as_deref(),
        Some("http://127.0.0.1:1"),
        "{check}: a"
    );
    assert_eq!(
        url(b.clone(), now).await.as_deref(),
        Some("http://127.0.0.1:2"),
        "{check}: b"
    );
    assert_eq!(
        url(a.clone(), until).await,
        None,
        "{check}: lapsed at lease_until"
    );
    assert_eq!(
        url(run.owner(), now).await,
        None,
        "{check}: unknown instance"
    );
    store
        .register_instance(&a, "http://127.0.0.1:3", now, until.plus_ms(5_000))
        .await
        .unwrap_or_else(|e| panic!("{check}: renew a: {e}"));
    assert_eq!(
        url(a.clone(), until).await.as_deref(),
        Some("http://127.0.0.1:3"),
        "{check}: renewed, with its new URL"
    );
    assert!(
        store.remove_instance(&a).await.expect("remove"),
        "{check}: removed"
    );
    assert!(
        !store.remove_instance(&a).await.expect("remove"),
        "{check}: removed once"
    );
    assert_eq!(url(a, now).await, None, "{check}: gone once removed");
    assert!(store.remove_instance(&b).await.expect("remove b"));
}

/// A live session's holder is known while its lease holds; nobody holds a lapsed, closed
/// or unknown session.
pub(super) async fn session_holder_is_the_live_lease<S: Store>(store: &S, run: &Run) {
    let check = "session_holder_is_the_live_lease";
    let (id, owner) = (run.session(), run.owner());
    create(store, &id, &owner, T0 + 10_000).await;
    let holder = |at: i64| {
        let id = id.clone();
        async move {
            store
                .session_holder(&id, UnixMillis(at))
                .await
                .expect("session_holder")
        }
    };
    assert_eq!(holder(T0).await, Some(owner.clone()), "{check}: held");
    assert_eq!(
        holder(T0 + 10_000).await,
        None,
        "{check}: lapsed at lease_until"
    );
    assert_eq!(
        store
            .session_holder(&run.session(), UnixMillis(T0))
            .await
            .expect("session_holder"),
        None,
        "{check}: unknown"
    );
    commit_ok(store, vec![close(&id, FIRST, vec![], 0)], check).await;
    assert_eq!(holder(T0).await, None, "{check}: closed");
}

/// The first candidate stored wins; every later call reads it back.
pub(super) async fn cluster_secret_is_created_once<S: Store>(store: &S, run: &Run) {
    let check = "cluster_secret_is_created_once";
    let first = store
        .cluster_secret(&format!("{}-first", run.prefix))
        .await
        .unwrap_or_else(|e| panic!("{check}: first: {e}"));
    assert!(!first.is_empty(), "{check}: a secret");
    let again = store
        .cluster_secret(&format!("{}-second", run.prefix))
        .await
        .unwrap_or_else(|e| panic!("{check}: again: {e}"));
    assert_eq!(first, again, "{check}: the stored secret stays");
}
