//! The writes of a group commit, on SQLite. Each runs inside the batch's transaction and
//! returns `Ok(outcome)`, its own result, or `Err` when the database failed, which aborts
//! the batch. A write is refused (by `codec` or by a guarded first statement) before it
//! changes anything, so no write is ever half applied and no savepoint is needed.
//!
//! The statements mirror `postgres/write.rs` one for one; only dialect differs
//! (`MAX` for `GREATEST`, `json_each` for `= ANY`, no `FOR UPDATE` since the single
//! writer connection already serializes every write).

use parley_core::session::EndInfo;
use parley_core::{Event, EventId, SessionId};
use sqlx::SqliteConnection;

use crate::codec;
use crate::{Epoch, NewSession, StoreError, Write};

/// One write's own result.
type Outcome = Result<(), StoreError>;

/// Applies one write of a batch.
pub(super) async fn apply(
    conn: &mut SqliteConnection,
    write: &Write,
) -> Result<Outcome, StoreError> {
    match write {
        Write::CreateSession(s) => create(conn, s).await,
        Write::Append {
            session,
            epoch,
            events,
            last_event_id,
        } => append(conn, session, *epoch, events, *last_event_id).await,
        Write::Annihilate {
            session,
            epoch,
            ids,
        } => annihilate(conn, session, *epoch, ids).await,
        Write::Close {
            session,
            epoch,
            end,
            transcript,
            last_event_id,
        } => close(conn, session, *epoch, end, transcript, *last_event_id).await,
        Write::UpdateUserData {
            session,
            epoch,
            user_data,
        } => update_user_data(conn, session, *epoch, user_data).await,
    }
}

/// Reads the session's user data (locking the row where the dialect needs it).
const SESSION_USER_DATA: &str = "SELECT epoch, state, user_data FROM sessions WHERE id = $1";
const SET_SESSION_USER_DATA: &str = "UPDATE sessions SET user_data = $1 WHERE id = $2";
const SET_INTERACTION_USER_DATA: &str = "UPDATE interactions SET user_data = $1 WHERE id = $2";

/// Merges keys into the user data of the session and of its interaction record.
async fn update_user_data(
    conn: &mut SqliteConnection,
    session: &SessionId,
    epoch: Epoch,
    changes: &parley_core::UserData,
) -> Result<Outcome, StoreError> {
    let row: Option<(i64, String, String)> = sqlx::query_as(SESSION_USER_DATA)
        .bind(session.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let state = row.as_ref().map(|(e, s, _)| (*e, s.clone()));
    if let Some(refused) = codec::refusal(session, epoch, state) {
        return Ok(Err(refused));
    }
    let stored = row.map(|(_, _, d)| d).unwrap_or_default();
    let merged = match codec::merged_user_data(&stored, changes) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    for statement in [SET_SESSION_USER_DATA, SET_INTERACTION_USER_DATA] {
        sqlx::query(statement)
            .bind(&merged)
            .bind(session.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(Ok(()))
}

/// Inserts the session unless the id is taken, by a session or by a leftover interaction
/// record (whose history must not be overwritten); the interaction insert that follows
/// therefore cannot conflict.
const CREATE_SESSION: &str = "INSERT INTO sessions (id, created_at, tenant, endpoint, queue, \
     subject, user_data, password, state, owner, epoch, lease_until, last_event_id) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'alive', $9, $10, $11, 0 \
     WHERE NOT EXISTS (SELECT 1 FROM interactions WHERE id = $1) \
     ON CONFLICT (id) DO NOTHING";

const CREATE_INTERACTION: &str = "INSERT INTO interactions (id, created_at, tenant, endpoint, \
     queue, subject, user_data, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'alive')";

async fn create(conn: &mut SqliteConnection, s: &NewSession) -> Result<Outcome, StoreError> {
    let c = match codec::new_session(s) {
        Ok(c) => c,
        Err(refused) => return Ok(Err(refused)),
    };
    let inserted = sqlx::query(CREATE_SESSION)
        .bind(c.id)
        .bind(c.created_at)
        .bind(c.tenant)
        .bind(c.endpoint)
        .bind(c.queue)
        .bind(c.subject)
        .bind(&c.user_data)
        .bind(c.password)
        .bind(c.owner)
        .bind(codec::FIRST_EPOCH)
        .bind(c.lease_until)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if inserted == 0 {
        return Ok(Err(StoreError::Conflict(s.id.clone(), "session exists")));
    }
    sqlx::query(CREATE_INTERACTION)
        .bind(c.id)
        .bind(c.created_at)
        .bind(c.tenant)
        .bind(c.endpoint)
        .bind(c.queue)
        .bind(c.subject)
        .bind(&c.user_data)
        .execute(&mut *conn)
        .await?;
    Ok(Ok(()))
}

/// The fence of an append: raises the high-water id only if the writer's epoch is
/// current, the session alive, and none of the new event ids is stored yet. When it
/// matches no row the write is refused before anything changed.
const RAISE_HIGH_WATER: &str = "UPDATE sessions SET last_event_id = MAX(last_event_id, $1) \
     WHERE id = $2 AND epoch = $3 AND state = 'alive' AND NOT EXISTS (SELECT 1 FROM events \
     WHERE session_id = $2 AND event_id IN (SELECT value FROM json_each($4)))";

const INSERT_EVENT: &str = "INSERT INTO events (session_id, event_id, at, kind, from_party, \
     payload) VALUES ($1, $2, $3, $4, $5, $6)";

/// What a refused write's session row holds now.
const SESSION_STATE: &str = "SELECT epoch, state FROM sessions WHERE id = $1";

async fn append(
    conn: &mut SqliteConnection,
    session: &SessionId,
    epoch: Epoch,
    events: &[Event],
    last_event_id: EventId,
) -> Result<Outcome, StoreError> {
    let cols = match codec::append(session, events, last_event_id) {
        Ok(cols) => cols,
        Err(refused) => return Ok(Err(refused)),
    };
    let fenced = sqlx::query(RAISE_HIGH_WATER)
        .bind(cols.high_water)
        .bind(session.as_str())
        .bind(epoch.0)
        .bind(&cols.ids_json)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 0;
    if fenced {
        // The row is writable, so the guard's last condition failed.
        return refused(conn, session, epoch, "event id already stored").await;
    }
    // One prepared statement per row: SQLite runs in-process, so a row costs a step, not
    // a round trip.
    for i in 0..cols.ids.len() {
        sqlx::query(INSERT_EVENT)
            .bind(session.as_str())
            .bind(cols.ids[i])
            .bind(cols.ats[i])
            .bind(cols.kinds[i])
            .bind(&cols.froms[i])
            .bind(&cols.payloads[i])
            .execute(&mut *conn)
            .await?;
    }
    Ok(Ok(()))
}

const DELETE_EVENTS: &str = "DELETE FROM events \
     WHERE session_id = $1 AND event_id IN (SELECT value FROM json_each($2))";

async fn annihilate(
    conn: &mut SqliteConnection,
    session: &SessionId,
    epoch: Epoch,
    ids: &[EventId],
) -> Result<Outcome, StoreError> {
    let (ids_json, _) = match codec::annihilate(session, ids) {
        Ok(ids) => ids,
        Err(refused) => return Ok(Err(refused)),
    };
    let row = session_state(conn, session).await?;
    if let Some(refused) = codec::refusal(session, epoch, row) {
        return Ok(Err(refused));
    }
    // Ids that are not stored (already annihilated, or transient) are no error.
    sqlx::query(DELETE_EVENTS)
        .bind(session.as_str())
        .bind(&ids_json)
        .execute(&mut *conn)
        .await?;
    Ok(Ok(()))
}

/// The fence of a close, which also flips the state.
const CLOSE_SESSION: &str = "UPDATE sessions \
     SET state = 'closed', last_event_id = MAX(last_event_id, $1) \
     WHERE id = $2 AND epoch = $3 AND state = 'alive'";

/// Writes the end and the final transcript; recreates the record from the session row
/// should it be missing, so that a close always leaves a complete contact-history entry.
const CLOSE_INTERACTION: &str = "INSERT INTO interactions (id, created_at, tenant, endpoint, \
     queue, subject, user_data, state, closed_at, end_info, transcript) \
     SELECT id, created_at, tenant, endpoint, queue, subject, user_data, 'closed', $2, $3, $4 \
     FROM sessions WHERE id = $1 \
     ON CONFLICT (id) DO UPDATE SET state = 'closed', closed_at = excluded.closed_at, \
     end_info = excluded.end_info, transcript = excluded.transcript";

async fn close(
    conn: &mut SqliteConnection,
    session: &SessionId,
    epoch: Epoch,
    end: &EndInfo,
    transcript: &[Event],
    last_event_id: EventId,
) -> Result<Outcome, StoreError> {
    let cols = match codec::close(session, end, transcript, last_event_id) {
        Ok(cols) => cols,
        Err(refused) => return Ok(Err(refused)),
    };
    let fenced = sqlx::query(CLOSE_SESSION)
        .bind(cols.high_water)
        .bind(session.as_str())
        .bind(epoch.0)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 0;
    if fenced {
        return refused(conn, session, epoch, "session changed during the write").await;
    }
    sqlx::query(CLOSE_INTERACTION)
        .bind(session.as_str())
        .bind(cols.closed_at)
        .bind(&cols.end_info)
        .bind(&cols.transcript)
        .execute(&mut *conn)
        .await?;
    Ok(Ok(()))
}

async fn session_state(
    conn: &mut SqliteConnection,
    session: &SessionId,
) -> Result<Option<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(SESSION_STATE)
        .bind(session.as_str())
        .fetch_optional(&mut *conn)
        .await?)
}

/// The outcome of a write whose guarded statement matched nothing; `otherwise` is the
/// reason when the session row looks writable.
async fn refused(
    conn: &mut SqliteConnection,
    session: &SessionId,
    epoch: Epoch,
    otherwise: &'static str,
) -> Result<Outcome, StoreError> {
    let row = session_state(conn, session).await?;
    let refused = codec::refusal(session, epoch, row)
        .unwrap_or_else(|| StoreError::Conflict(session.clone(), otherwise));
    Ok(Err(refused))
}
