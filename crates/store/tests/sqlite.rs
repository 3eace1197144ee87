//! The store on SQLite, the embedded default: the conformance suite on a temp-file
//! database, migration of an empty database, and durability across reopening and SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use parley_core::{EventId, SessionId, UnixMillis, UserData};
use parley_store::{
    conformance, open, AnyStore, Epoch, HealthStore, InstanceId, NewSession, TranscriptStore, Write,
};
use sqlx::Connection;

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn open_file(path: &Path) -> AnyStore {
    match open(&url(path)).await {
        Ok(store) => store,
        Err(e) => panic!("opening {}: {e}", path.display()),
    }
}

fn session(id: &str) -> NewSession {
    NewSession {
        id: id.parse().expect("session id"),
        created_at: UnixMillis(1),
        tenant: "acme".into(),
        endpoint: "default".into(),
        queue: "q".into(),
        subject: None,
        user_data: UserData::new(),
        password: None,
        owner: InstanceId("i1".into()),
        lease_until: UnixMillis(2),
    }
}

/// Commits a session with a high water of 7 and asserts it was applied.
async fn commit_session(store: &AnyStore, id: &str) {
    let sid: SessionId = id.parse().expect("session id");
    let batch = vec![
        Write::CreateSession(session(id)),
        Write::Append {
            session: sid,
            epoch: Epoch(1),
            events: vec![],
            last_event_id: EventId(7),
        },
    ];
    let outcomes = store.commit(&batch).await.expect("commit");
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
}

async fn high_water(store: &AnyStore, id: &str) -> Option<EventId> {
    let sid: SessionId = id.parse().expect("session id");
    let loaded = store.load_session(&sid).await.expect("load");
    loaded.map(|s| s.last_event_id)
}

#[tokio::test]
async fn conformance_on_a_temp_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_file(&dir.path().join("parley.db")).await;
    assert!(store.single_node(), "SQLite serves one instance");
    conformance::run_all(&store).await;
    store.close().await;
}

/// `sqlite::memory:` (handy for quick tests) shares one connection between reads and
/// writes, since a second pool would open a second, empty database.
#[tokio::test]
async fn conformance_in_memory() {
    let store = open("sqlite::memory:").await.expect("open in-memory store");
    conformance::run_all(&store).await;
    store.close().await;
}

#[tokio::test]
async fn migrates_an_empty_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = open_file(&path).await;
    assert!(path.exists(), "the file is created");
    store.ping().await.expect("ping");
    store.close().await;

    let mut conn = sqlx::SqliteConnection::connect(&url(&path))
        .await
        .expect("connect");
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .expect("migrations table");
    assert_eq!(
        versions,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        "migrated to the latest version"
    );
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("schema");
    for expected in [
        "agents",
        "cluster_secret",
        "contact_interactions",
        "contacts",
        "contacts_email",
        "contacts_name",
        "contacts_phone",
        "documents",
        "erasures",
        "erasures_erased_at",
        "events",
        "instances",
        "interactions",
        "interactions_alive_created",
        "interactions_purge_files",
        "interactions_purge_records",
        "interactions_purge_transcripts",
        "interactions_queue_created",
        "masking_rules",
        "masking_rules_name",
        "masking_rules_order",
        "sessions",
        "sessions_alive",
        "sessions_owner_state",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "{expected} missing from {tables:?}"
        );
    }
    conn.close().await.expect("close");

    // Opening again finds it migrated and changes nothing.
    let store = open_file(&path).await;
    conformance::run_all(&store).await;
    store.close().await;
}

#[tokio::test]
async fn reopening_sees_committed_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("reopen.db");
    let store = open_file(&path).await;
    commit_session(&store, "kept-1").await;
    store.close().await;

    let store = open_file(&path).await;
    assert_eq!(high_water(&store, "kept-1").await, Some(EventId(7)));
    store.close().await;
}

/// Env var that turns `sigkill_child` into the child half of `survives_sigkill`.
const CHILD_DB: &str = "PARLEY_STORE_SIGKILL_CHILD_DB";

/// The child half of `survives_sigkill`: commits, says so, and waits to be killed. A
/// no-op in a normal test run.
#[tokio::test]
async fn sigkill_child() {
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let store = open_file(Path::new(&path)).await;
    commit_session(&store, "survivor").await;
    println!("COMMITTED");
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

/// A batch whose commit returned is on disk: a process killed right after still has it.
#[tokio::test]
async fn survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("killed.db");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "sigkill_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let committed = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("COMMITTED"));
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    assert!(committed, "the child did not commit");

    let store = open_file(&path).await;
    assert_eq!(high_water(&store, "survivor").await, Some(EventId(7)));
    store.close().await;
}
