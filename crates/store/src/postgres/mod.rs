//! `PgStore`: the shared store of N+1 Parley instances.
//!
//! Several instances write at once, each for the sessions it owns. Ownership is the
//! `(owner, epoch, lease_until)` of a session row: an instance claims a session whose
//! lease has lapsed by bumping the epoch, and every write names the epoch it was made
//! under, so the previous owner's late writes are refused (`Fenced`) rather than
//! interleaved. Transactions run at READ COMMITTED; the guards lock the session row
//! they test, which is what makes the test-then-write atomic.

mod write;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use parley_core::{Event, EventId, SessionId, UnixMillis};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::codec::{self, EventRow, SessionRow};
use crate::{Claim, HealthStore, InstanceId, StoreError, StoredSession, TranscriptStore, Write};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Connections per instance: the group-commit writer, claims and lease renewal, and
/// reads from request handlers.
const MAX_CONNECTIONS: u32 = 8;

/// How long a caller waits for a free connection before the store reports a failure.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `lease_until` a released lease gets: long past, so any `now` finds it lapsed.
const RELEASED: i64 = 0;

/// A PostgreSQL-backed store. Cloning shares the pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects to the database of a `postgres://` or `postgresql://` URL and migrates it
    /// to the latest schema (sqlx holds an advisory lock, so instances starting together
    /// migrate once).
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        // The URL may hold a password: errors and logs name the host and database only.
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("bad PostgreSQL URL: {e}")))?
            .application_name("parley");
        let target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("connecting to {target}: {e}")))?;
        MIGRATOR.run(&pool).await?;
        tracing::info!(database = %target, "PostgreSQL store open");
        Ok(PgStore { pool })
    }

    /// Closes the pool, waiting for work in flight. For graceful shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction (READ COMMITTED) on the pool.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

const SELECT_SESSION: &str = "SELECT id, created_at, tenant, endpoint, queue, subject, \
     user_data::text AS user_data, password, state, owner, epoch, lease_until, last_event_id \
     FROM sessions WHERE id = $1";

const SELECT_EVENTS: &str = "SELECT event_id, payload::text AS payload FROM events \
     WHERE session_id = $1 ORDER BY event_id";

const SELECT_EVENTS_BETWEEN: &str = "SELECT event_id, payload::text AS payload FROM events \
     WHERE session_id = $1 AND event_id > $2 AND event_id <= $3 ORDER BY event_id";

/// Reads a session and its events. The events are read first: the high-water id only
/// grows, so the session row read after them is never behind them, even outside a
/// transaction.
async fn fetch_session(
    conn: &mut PgConnection,
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
/// caller forces it; `epoch + 1` fences every write of the previous owner. The update
/// locks the row, so of two instances claiming at once one wins and the other then sees
/// a lease that is held.
const CLAIM: &str = "UPDATE sessions SET owner = $1, lease_until = $2, epoch = epoch + 1 \
     WHERE id = $3 AND state = 'alive' AND ($4 OR owner = $1 OR lease_until <= $5)";

const CLAIM_REFUSED: &str = "SELECT state, owner FROM sessions WHERE id = $1";

const ORPHANS: &str = "SELECT id FROM sessions WHERE state = 'alive' AND owner <> $1 \
     AND ($2 OR lease_until <= $3) AND id > $4 ORDER BY id LIMIT $5";

const RENEW: &str = "UPDATE sessions SET lease_until = $1 WHERE owner = $2 AND state = 'alive'";

/// Claims the orphans among `ids` in one statement: the inner select locks the rows it
/// takes (re-checking the lease on their latest version) and skips those a concurrent
/// claim holds, so a client's request racing the sweep, or another instance sweeping at
/// once, is neither waited for nor claimed over.
const CLAIM_ORPHANS: &str = "UPDATE sessions SET owner = $1, lease_until = $2, epoch = epoch + 1 \
     WHERE id IN (SELECT id FROM sessions WHERE id = ANY($3) AND state = 'alive' \
     AND owner <> $1 AND ($4 OR lease_until <= $5) FOR UPDATE SKIP LOCKED) \
     RETURNING id, created_at, tenant, endpoint, queue, subject, user_data::text AS user_data, \
     password, state, owner, epoch, lease_until, last_event_id";

/// The events of the claimed sessions, in one read.
const SELECT_EVENTS_OF: &str = "SELECT session_id, event_id, payload::text AS payload \
     FROM events WHERE session_id = ANY($1) ORDER BY event_id";

/// An `events` row of one of several sessions.
#[derive(sqlx::FromRow)]
struct SessionEventRow {
    session_id: String,
    #[sqlx(flatten)]
    event: EventRow,
}

impl TranscriptStore for PgStore {
    async fn commit(&self, batch: &[Write]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // On an early return the dropped transaction rolls back.
        let mut tx = self.pool.begin().await?;
        let outcomes = write::commit(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn load_session(&self, id: &SessionId) -> Result<Option<StoredSession>, StoreError> {
        let mut conn = self.pool.acquire().await?;
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
            .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await?;
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
        let ids: Vec<&str> = ids.iter().map(SessionId::as_str).collect();
        let mut tx = self.pool.begin().await?;
        let mut rows: Vec<SessionRow> = sqlx::query_as(CLAIM_ORPHANS)
            .bind(&me.0)
            .bind(lease_until.0)
            .bind(&ids)
            .bind(any_other_owner)
            .bind(now.0)
            .fetch_all(&mut *tx)
            .await?;
        // In id order, as the contract says (and the sweep restores them).
        rows.sort_by(|a, b| a.id().cmp(b.id()));
        let claimed: Vec<&str> = rows.iter().map(SessionRow::id).collect();
        // Claimed rows stay locked until the commit, so no write of the previous owner
        // lands between the claim and this read (and after it, none ever will: fenced).
        let events: Vec<SessionEventRow> = sqlx::query_as(SELECT_EVENTS_OF)
            .bind(&claimed)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut by_session: HashMap<String, Vec<EventRow>> = HashMap::new();
        for e in events {
            by_session.entry(e.session_id).or_default().push(e.event);
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let events = by_session.remove(row.id()).unwrap_or_default();
            out.push(row.into_stored(codec::events(events)?)?);
        }
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
            .execute(&self.pool)
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
            .fetch_all(&self.pool)
            .await?;
        codec::session_ids(ids)
    }

    async fn release_leases(&self, owner: &InstanceId) -> Result<u64, StoreError> {
        let done = sqlx::query(RENEW)
            .bind(RELEASED)
            .bind(&owner.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

impl HealthStore for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn single_node(&self) -> bool {
        false
    }
}
