//! Leader leases, the routing bus and session owners (cluster-wide routing).

use parley_core::UnixMillis;

use super::{create, Run, T0};
use crate::{Epoch, Store};

pub(super) async fn leader_lease_changes_hands_when_lapsed<S: Store>(store: &S, run: &Run) {
    let check = "leader lease";
    let name = format!("{}-lease", run.prefix);
    let (a, b) = (run.owner(), run.owner());
    let first = store
        .lead(&name, &a, UnixMillis(T0), UnixMillis(T0 + 5_000))
        .await;
    let first = first.unwrap_or_else(|e| panic!("{check}: take: {e}"));
    assert_eq!(first.instance, a, "{check}: a free lease is taken");
    let held = store
        .lead(&name, &b, UnixMillis(T0 + 1_000), UnixMillis(T0 + 6_000))
        .await;
    let held = held.unwrap_or_else(|e| panic!("{check}: held: {e}"));
    assert_eq!(
        (held.instance, held.epoch),
        (a.clone(), first.epoch),
        "{check}: held"
    );
    let renewed = store
        .lead(&name, &a, UnixMillis(T0 + 2_000), UnixMillis(T0 + 7_000))
        .await;
    let renewed = renewed.unwrap_or_else(|e| panic!("{check}: renew: {e}"));
    assert_eq!(
        (renewed.epoch, renewed.lease_until),
        (first.epoch, UnixMillis(T0 + 7_000)),
        "{check}: a renewal keeps the epoch"
    );
    let taken = store
        .lead(&name, &b, UnixMillis(T0 + 7_000), UnixMillis(T0 + 12_000))
        .await;
    let taken = taken.unwrap_or_else(|e| panic!("{check}: take over: {e}"));
    assert_eq!(
        (taken.instance.clone(), taken.epoch),
        (b.clone(), Epoch(first.epoch.0 + 1)),
        "{check}: a lapsed lease changes hands with epoch + 1"
    );
    let deposed = store
        .lead(&name, &a, UnixMillis(T0 + 8_000), UnixMillis(T0 + 13_000))
        .await;
    assert_eq!(
        deposed.map(|l| l.instance).ok(),
        Some(b.clone()),
        "{check}: the deposed holder does not get it back"
    );
    assert!(store.resign(&name, &b).await.is_ok(), "{check}: resign");
    let after = store
        .lead(&name, &a, UnixMillis(T0 + 9_000), UnixMillis(T0 + 14_000))
        .await;
    assert_eq!(
        after.map(|l| (l.instance, l.epoch)).ok(),
        Some((a, Epoch(first.epoch.0 + 2))),
        "{check}: a resigned lease is free at once"
    );
}

pub(super) async fn bus_messages_are_taken_in_order_and_fenced<S: Store>(store: &S, run: &Run) {
    let check = "routing bus";
    let name = format!("{}-bus", run.prefix);
    let target = format!("{}-target", run.prefix);
    let other = format!("{}-other", run.prefix);
    let me = run.owner();
    let leader = store
        .lead(&name, &me, UnixMillis(T0), UnixMillis(T0 + 5_000))
        .await;
    let epoch = leader
        .unwrap_or_else(|e| panic!("{check}: lead: {e}"))
        .epoch;
    let posts: Vec<(String, Epoch, String)> = (0..5)
        .map(|i| (target.clone(), epoch, format!("{{\"n\":{i}}}")))
        .chain([(other.clone(), epoch, "x".to_owned())])
        .collect();
    assert!(
        store.bus_post(&posts, UnixMillis(T0)).await.is_ok(),
        "{check}: post"
    );
    let stale = store
        .bus_take(&target, Some((&name, &me, Epoch(epoch.0 + 1))), 10)
        .await;
    assert_eq!(
        stale.map(|m| m.len()).ok(),
        Some(0),
        "{check}: a stale epoch takes nothing"
    );
    let first = store.bus_take(&target, Some((&name, &me, epoch)), 3).await;
    let first = first.unwrap_or_else(|e| panic!("{check}: take: {e}"));
    let rest = store.bus_take(&target, None, 10).await;
    let rest = rest.unwrap_or_else(|e| panic!("{check}: take: {e}"));
    let payloads: Vec<&str> = first
        .iter()
        .chain(&rest)
        .map(|m| m.payload.as_str())
        .collect();
    assert_eq!(
        payloads,
        [
            "{\"n\":0}",
            "{\"n\":1}",
            "{\"n\":2}",
            "{\"n\":3}",
            "{\"n\":4}"
        ],
        "{check}: in order, each once"
    );
    assert!(
        first.windows(2).all(|w| w[0].id < w[1].id),
        "{check}: ids ascend"
    );
    let again = store.bus_take(&target, None, 10).await;
    assert_eq!(
        again.map(|m| m.len()).ok(),
        Some(0),
        "{check}: taken means deleted"
    );
    let purged = store.bus_purge(UnixMillis(T0 + 1)).await;
    assert!(purged.is_ok_and(|n| n >= 1), "{check}: old messages purged");
    let gone = store.bus_take(&other, None, 10).await;
    assert_eq!(gone.map(|m| m.len()).ok(), Some(0), "{check}: purged");
}

pub(super) async fn session_owners_are_known<S: Store>(store: &S, run: &Run) {
    let check = "session owner";
    let (id, owner) = (run.session(), run.owner());
    create(store, &id, &owner, T0 + 1_000).await;
    let found = store.session_owner(&id).await;
    assert_eq!(
        found.ok().flatten(),
        Some((owner, UnixMillis(T0 + 1_000))),
        "{check}: owner and lease"
    );
    let unknown = store.session_owner(&run.session()).await;
    assert_eq!(unknown.ok().flatten(), None, "{check}: unknown session");
}
