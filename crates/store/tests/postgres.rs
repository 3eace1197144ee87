//! The store on PostgreSQL, when `PARLEY_TEST_POSTGRES_URL` names a database (CI sets
//! it); otherwise the tests say loudly that they were skipped. The database may be
//! shared: the schema comes from the (idempotent) migrations, nothing is dropped, and
//! the suite uses ids unique to each run.

use std::io::Write;

use parley_store::{conformance, open, AnyStore, HealthStore};

/// The test database, or `None` after printing why the test is skipped.
fn database_url() -> Option<String> {
    match std::env::var("PARLEY_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Written to the stream directly: the test harness captures `eprintln!`, and
            // a skip must be seen.
            let _ = writeln!(std::io::stderr(), "skipped: PARLEY_TEST_POSTGRES_URL unset");
            None
        }
    }
}

async fn open_pg(url: &str) -> AnyStore {
    match open(url).await {
        Ok(store) => store,
        Err(e) => panic!("opening PARLEY_TEST_POSTGRES_URL: {e}"),
    }
}

#[tokio::test]
async fn conformance_on_postgres() {
    let Some(url) = database_url() else {
        return;
    };
    let store = open_pg(&url).await;
    assert!(!store.single_node(), "PostgreSQL is shared by instances");
    conformance::run_all(&store).await;
    store.close().await;
}

#[tokio::test]
async fn migrating_twice_is_harmless() {
    let Some(url) = database_url() else {
        return;
    };
    // Two instances starting together: the migrator's advisory lock serializes them.
    let (first, second) = tokio::join!(open_pg(&url), open_pg(&url));
    first.ping().await.expect("ping");
    second.ping().await.expect("ping");
    first.close().await;
    second.close().await;
}
