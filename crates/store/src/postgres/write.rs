//! The writes of a group commit, on PostgreSQL. Each runs inside the batch's transaction
//! and returns `Ok(outcome)`, its own result, or `Err` when the database failed, which
//! aborts the batch. A write is refused (by `codec` or by a guarded first statement)
//! before it changes anything: no statement is allowed to fail on a write's behalf, since
//! a failed statement would abort the whole PostgreSQL transaction, and no savepoint (two
//! more round trips per write) is needed.
//!
//! The statements mirror `sqlite/write.rs` one for one; only dialect differs. Fencing
//! relies on row locks: every write's first statement locks its session row
//! (`UPDATE ... WHERE epoch = $n`, or `SELECT ... FOR UPDATE`), so a concurrent claim by
//! another instance either waits for this batch to commit or, having committed first,
//! makes the guard see the new epoch.

use parley_core::session::EndInfo;
use parley_core::{Event, EventId, SessionId};
use sqlx::PgConnection;

use crate::codec;
use crate::{Epoch, NewSession, StoreError, Write};

/// One write's own result.
type Outcome = Result<(), StoreError>;

/// Applies one write of a batch.
pub(super) async fn apply(conn: &mut PgConnection, write: &Write) -> Result<Outcome, StoreError> {
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
const SESSION_USER_DATA: &str =
    "SELECT epoch, state, user_data::text FROM sessions WHERE id = $1 FOR UPDATE";
const SET_SESSION_USER_DATA: &str = "UPDATE sessions SET user_data = $1::json WHERE id = $2";
const SET_INTERACTION_USER_DATA: &str =
    "UPDATE interactions SET user_data = $1::json WHERE id = $2";

/// Merges keys into the user data of the session and of its interaction record.
async fn update_user_data(
    conn: &mut PgConnection,
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
/// therefore cannot conflict. (A concurrent insert of the same id waits on the primary
/// key and then does nothing.)
const CREATE_SESSION: &str = "INSERT INTO sessions (id, created_at, tenant, endpoint, queue, \
     subject, user_data, password, state, owner, epoch, lease_until, last_event_id) \
     SELECT $1, $2, $3, $4, $5, $6, $7::json, $8, 'alive', $9, $10, $11, 0 \
     WHERE NOT EXISTS (SELECT 1 FROM interactions WHERE id = $1) \
     ON CONFLICT (id) DO NOTHING";

const CREATE_INTERACTION: &str = "INSERT INTO interactions (id, created_at, tenant, endpoint, \
     queue, subject, user_data, state) VALUES ($1, $2, $3, $4, $5, $6, $7::json, 'alive')";

async fn create(conn: &mut PgConnection, s: &NewSession) -> Result<Outcome, StoreError> {
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

/// An append in one round trip. `fence` raises the high-water id only if the writer's
/// epoch is current, the session alive, and none of the new event ids is stored yet;
/// `kept` inserts the events (one array per column) only for a row `fence` matched. A
/// count of 0 means the write was refused before anything changed.
const APPEND: &str = "WITH fence AS (UPDATE sessions \
     SET last_event_id = GREATEST(last_event_id, $1) \
     WHERE id = $2 AND epoch = $3 AND state = 'alive' AND NOT EXISTS (SELECT 1 FROM events \
     WHERE session_id = $2 AND event_id = ANY($4)) RETURNING id), \
     kept AS (INSERT INTO events (session_id, event_id, at, kind, from_party, payload) \
     SELECT fence.id, e.id, e.at, e.kind, e.from_party, e.payload::json FROM fence, \
     UNNEST($4::int8[], $5::int8[], $6::text[], $7::text[], $8::text[]) \
     AS e (id, at, kind, from_party, payload)) \
     SELECT count(*) FROM fence";

/// What a refused write's session row holds now.
const SESSION_STATE: &str = "SELECT epoch, state FROM sessions WHERE id = $1";

async fn append(
    conn: &mut PgConnection,
    session: &SessionId,
    epoch: Epoch,
    events: &[Event],
    last_event_id: EventId,
) -> Result<Outcome, StoreError> {
    let cols = match codec::append(session, events, last_event_id) {
        Ok(cols) => cols,
        Err(refused) => return Ok(Err(refused)),
    };
    let applied: i64 = sqlx::query_scalar(APPEND)
        .bind(cols.high_water)
        .bind(session.as_str())
        .bind(epoch.0)
        .bind(&cols.ids)
        .bind(&cols.ats)
        .bind(&cols.kinds)
        .bind(&cols.froms)
        .bind(&cols.payloads)
        .fetch_one(&mut *conn)
        .await?;
    if applied == 0 {
        // The row is writable, so the fence's last condition failed.
        return refused(conn, session, epoch, "event id already stored").await;
    }
    Ok(Ok(()))
}

/// Locks the session row for the rest of the batch, so the epoch read stays current.
const LOCK_SESSION: &str = "SELECT epoch, state FROM sessions WHERE id = $1 FOR UPDATE";

const DELETE_EVENTS: &str = "DELETE FROM events WHERE session_id = $1 AND event_id = ANY($2)";

async fn annihilate(
    conn: &mut PgConnection,
    session: &SessionId,
    epoch: Epoch,
    ids: &[EventId],
) -> Result<Outcome, StoreError> {
    let (_, ids) = match codec::annihilate(session, ids) {
        Ok(ids) => ids,
        Err(refused) => return Ok(Err(refused)),
    };
    let row: Option<(i64, String)> = sqlx::query_as(LOCK_SESSION)
        .bind(session.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(refused) = codec::refusal(session, epoch, row) {
        return Ok(Err(refused));
    }
    // Ids that are not stored (already annihilated, or transient) are no error.
    sqlx::query(DELETE_EVENTS)
        .bind(session.as_str())
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    Ok(Ok(()))
}

/// The fence of a close, which also flips the state.
const CLOSE_SESSION: &str = "UPDATE sessions \
     SET state = 'closed', last_event_id = GREATEST(last_event_id, $1) \
     WHERE id = $2 AND epoch = $3 AND state = 'alive'";

/// Writes the end and the final transcript; recreates the record from the session row
/// should it be missing, so that a close always leaves a complete contact-history entry.
const CLOSE_INTERACTION: &str = "INSERT INTO interactions (id, created_at, tenant, endpoint, \
     queue, subject, user_data, state, closed_at, end_info, transcript) \
     SELECT id, created_at, tenant, endpoint, queue, subject, user_data, 'closed', $2, \
     $3::json, $4::json FROM sessions WHERE id = $1 \
     ON CONFLICT (id) DO UPDATE SET state = 'closed', closed_at = excluded.closed_at, \
     end_info = excluded.end_info, transcript = excluded.transcript";

async fn close(
    conn: &mut PgConnection,
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

/// The outcome of a write whose guarded statement matched nothing; `otherwise` is the
/// reason when the session row looks writable.
async fn refused(
    conn: &mut PgConnection,
    session: &SessionId,
    epoch: Epoch,
    otherwise: &'static str,
) -> Result<Outcome, StoreError> {
    let row: Option<(i64, String)> = sqlx::query_as(SESSION_STATE)
        .bind(session.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let refused = codec::refusal(session, epoch, row)
        .unwrap_or_else(|| StoreError::Conflict(session.clone(), otherwise));
    Ok(Err(refused))
}
