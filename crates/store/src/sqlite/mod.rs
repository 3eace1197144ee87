//! `SqliteStore`: the embedded default, for a single Parley instance.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a commit returns only once the WAL
//! is synced, and a committed batch survives SIGKILL and power loss. One batch is one
//! transaction, so the sync is paid once per group commit.
//!
//! Concurrency: SQLite has one writer at a time, so every write (group commits, claims,
//! lease updates) goes through a pool of exactly one connection and queues in-process
//! rather than meeting `SQLITE_BUSY`. Reads use a separate small pool, which WAL lets run
//! beside the writer. Write transactions start with `BEGIN IMMEDIATE`, taking the write
//! lock up front; `busy_timeout` covers another process (e.g. a backup tool) holding it.

#[cfg(test)]
mod reference;
mod write;

use std::str::FromStr;
use std::time::Duration;

use parley_core::{Event, EventId, SessionId, UnixMillis};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::codec::{self, EventRow, SessionRow};
use crate::{Claim, HealthStore, InstanceId, StoreError, StoredSession, TranscriptStore, Write};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Read connections beside the writer.
const READERS: u32 = 4;

/// The `lease_until` a released lease gets: long past, so any `now` finds it lapsed.
const RELEASED: i64 = 0;

/// A SQLite-backed store. Cloning shares the pools.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: all writes, serialized.
    pub(crate) writer: SqlitePool,
    /// Reads (`load_session`, `interaction`, `ping`).
    pub(crate) reader: SqlitePool,
}

impl SqliteStore {
    /// Opens the database of a `sqlite://PATH` or `sqlite:PATH` URL, creating the file if
    /// it is missing, and migrates it to the latest schema.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("bad SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let path = options.get_filename().display().to_string();
        let opening = |e: sqlx::Error| StoreError::Backend(format!("opening {path}: {e}"));
        // The writer is never idled out: an in-memory database lives only as long as
        // some connection to it does. Nor is it pinged before each use: that would be one
        // more hand-off to the connection's worker thread per group commit, and a broken
        // connection fails the next statement anyway.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await
            .map_err(opening)?;
        MIGRATOR.run(&writer).await?;
        // A second pool to an in-memory database would be a different database.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options)
                .await
                .map_err(opening)?
        };
        tracing::info!(path = %path, "SQLite store open");
        Ok(SqliteStore { writer, reader })
    }

    /// Closes the pools, waiting for work in flight; the last connection to go
    /// checkpoints the WAL into the main file. For graceful shutdown.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// A write transaction on the writer, holding the write lock from the start.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

const SELECT_SESSION: &str = "SELECT id, created_at, tenant, endpoint, queue, subject, \
     user_data, password, state, owner, epoch, lease_until, last_event_id \
     FROM sessions WHERE id = $1";

const SELECT_EVENTS: &str =
    "SELECT event_id, payload FROM events WHERE session_id = $1 ORDER BY event_id";

const SELECT_EVENTS_BETWEEN: &str = "SELECT event_id, payload FROM events \
     WHERE session_id = $1 AND event_id > $2 AND event_id <= $3 ORDER BY event_id";

/// Reads a session and its events. The events are read first: the high-water id only
/// grows, so the session row read after them is never behind them, even outside a
/// transaction.
async fn fetch_session(
    conn: &mut SqliteConnection,
    id: &SessionId,
) -> Result<Option<StoredSession>, StoreError> {
    let events: Vec<EventRow> = sqlx::query_as(SELECT_EVENTS)
        .bind(id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let row: Option<SessionRow> = sqlx::query_as(SELECT_SESSION)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| row.into_stored(codec::events(events)?))
        .transpose()
}

/// Takes the session when it is alive and its lease has lapsed, is already ours, or the
/// caller forces it; `epoch + 1` fences every write of the previous owner.
const CLAIM: &str = "UPDATE sessions SET owner = $1, lease_until = $2, epoch = epoch + 1 \
     WHERE id = $3 AND state = 'alive' AND ($4 OR owner = $1 OR lease_until <= $5)";

const CLAIM_REFUSED: &str = "SELECT state, owner FROM sessions WHERE id = $1";

const ORPHANS: &str = "SELECT id FROM sessions WHERE state = 'alive' AND owner <> $1 \
     AND ($2 OR lease_until <= $3) AND id > $4 ORDER BY id LIMIT $5";

const RENEW: &str = "UPDATE sessions SET lease_until = $1 WHERE owner = $2 AND state = 'alive'";

/// Claims one orphan (the batch claim runs it per id, in one transaction: one sync).
const CLAIM_ORPHAN: &str = "UPDATE sessions SET owner = $1, lease_until = $2, epoch = epoch + 1 \
     WHERE id = $3 AND state = 'alive' AND owner <> $1 AND ($4 OR lease_until <= $5)";

impl TranscriptStore for SqliteStore {
    async fn commit(&self, batch: &[Write]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // On an early return the dropped transaction rolls back.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let outcomes = write::commit(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn load_session(&self, id: &SessionId) -> Result<Option<StoredSession>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        fetch_session(&mut conn, id).await
    }

    async fn events_between(
        &self,
        id: &SessionId,
        after: EventId,
        upto: EventId,
    ) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(SELECT_EVENTS_BETWEEN)
            .bind(id.as_str())
            .bind(codec::db_event_id(id, after)?)
            .bind(codec::db_event_id(id, upto)?)
            .fetch_all(&self.reader)
            .await?;
        codec::events(rows)
    }

    async fn claim_session(
        &self,
        id: &SessionId,
        owner: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
        force: bool,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let claimed = sqlx::query(CLAIM)
            .bind(&owner.0)
            .bind(lease_until.0)
            .bind(id.as_str())
            .bind(force)
            .bind(now.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let claim = if claimed {
            match fetch_session(&mut tx, id).await? {
                Some(stored) => Claim::Claimed(Box::new(stored)),
                None => {
                    return Err(StoreError::Backend(format!(
                        "claimed session {id} vanished"
                    )))
                }
            }
        } else {
            let row: Option<(String, String)> = sqlx::query_as(CLAIM_REFUSED)
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                None => Claim::NotFound,
                Some((state, _)) if state != codec::ALIVE => Claim::Closed,
                Some((_, holder)) => Claim::Held {
                    owner: InstanceId(holder),
                },
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    async fn claim_orphans(
        &self,
        ids: &[SessionId],
        me: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
        any_other_owner: bool,
    ) -> Result<Vec<StoredSession>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut out = Vec::new();
        for id in &ids {
            let claimed = sqlx::query(CLAIM_ORPHAN)
                .bind(&me.0)
                .bind(lease_until.0)
                .bind(id.as_str())
                .bind(any_other_owner)
                .bind(now.0)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if claimed {
                match fetch_session(&mut tx, id).await? {
                    Some(stored) => out.push(stored),
                    None => {
                        return Err(StoreError::Backend(format!(
                            "claimed session {id} vanished"
                        )))
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn renew_leases(
        &self,
        owner: &InstanceId,
        lease_until: UnixMillis,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(RENEW)
            .bind(lease_until.0)
            .bind(&owner.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn orphaned_sessions(
        &self,
        me: &InstanceId,
        now: UnixMillis,
        any_other_owner: bool,
        after: Option<&SessionId>,
        limit: u32,
    ) -> Result<Vec<SessionId>, StoreError> {
        let ids: Vec<(String,)> = sqlx::query_as(ORPHANS)
            .bind(&me.0)
            .bind(any_other_owner)
            .bind(now.0)
            .bind(after.map_or("", SessionId::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        codec::session_ids(ids)
    }

    async fn release_leases(&self, owner: &InstanceId) -> Result<u64, StoreError> {
        let done = sqlx::query(RENEW)
            .bind(RELEASED)
            .bind(&owner.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}

impl HealthStore for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    fn single_node(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The durability settings are what the module doc promises, on both pools.
    #[tokio::test]
    async fn connections_are_durable_wal_with_foreign_keys() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let store = SqliteStore::open(&url).await.expect("open");
        for pool in [&store.writer, &store.reader] {
            let mut conn = pool.acquire().await.expect("connection");
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .expect("journal_mode");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .expect("synchronous");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .expect("foreign_keys");
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .expect("busy_timeout");
            assert_eq!(journal, "wal");
            assert_eq!(sync, 2, "synchronous must be FULL");
            assert_eq!(fk, 1);
            assert_eq!(busy, 10_000);
        }
        assert_eq!(store.writer.options().get_max_connections(), 1);
        store.close().await;
    }
}
