//! The group commit on PostgreSQL: a whole batch in a fixed number of statements (see
//! `batch.rs`), whatever its size. Each statement takes its rows as one array per column,
//! unpacked by `UNNEST`, so its text never changes and stays prepared.
//!
//! No statement is allowed to fail on a write's behalf, since a failed statement would
//! abort the whole PostgreSQL transaction: a write is refused by `codec`'s checks or by
//! the replay of `batch.rs`, before anything is written for it.
//!
//! Fencing relies on row locks: `READ_SESSIONS` locks every session row the batch writes
//! to (in id order, so two batches do not deadlock on them), so a concurrent claim
//! by another instance either waits for this batch to commit or, having committed first,
//! shows its new epoch to the replay. A concurrent create of the same id waits on the
//! primary key and then does nothing.
//!
//! The statements mirror `sqlite/write.rs`; only dialect differs, and how they are
//! grouped: SQLite sends them as one read and one multi-statement write, and decides the
//! creates with its read, where here, with instances creating concurrently, the insert
//! decides.

use std::collections::HashSet;

use sqlx::PgConnection;

use crate::batch::{check_updated, Batch, Found, Outcome, SessionRow};
use crate::codec;
use crate::{StoreError, Write};

/// Inserts the new sessions unless the id is taken by a session or by a leftover
/// interaction record (whose history must not be overwritten); returns the ids inserted.
const CREATE_SESSIONS: &str = "INSERT INTO sessions (id, created_at, tenant, endpoint, queue, \
     subject, user_data, password, state, owner, epoch, lease_until, last_event_id) \
     SELECT n.id, n.created_at, n.tenant, n.endpoint, n.queue, n.subject, n.user_data::json, \
     n.password, 'alive', n.owner, $11, n.lease_until, 0 \
     FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::int8[]) \
     AS n (id, created_at, tenant, endpoint, queue, subject, user_data, password, owner, \
     lease_until) \
     WHERE NOT EXISTS (SELECT 1 FROM interactions AS i WHERE i.id = n.id) \
     ON CONFLICT (id) DO NOTHING RETURNING id";

/// The interaction records of the sessions just created, from their rows; no record
/// has their ids (`CREATE_SESSIONS` checked), so this cannot conflict.
const CREATE_INTERACTIONS: &str = "INSERT INTO interactions (id, created_at, tenant, endpoint, \
     queue, subject, user_data, state) \
     SELECT id, created_at, tenant, endpoint, queue, subject, user_data, 'alive' \
     FROM sessions WHERE id = ANY($1)";

/// Locks the rows the writes need, in id order, for the rest of the batch; with the user
/// data of those in `$2`.
const READ_SESSIONS: &str = "SELECT id, epoch, state, \
     CASE WHEN id = ANY($2) THEN user_data::text END \
     FROM sessions WHERE id = ANY($1) ORDER BY id FOR UPDATE";

/// Which of the (session, event id) pairs are stored.
const READ_STORED: &str = "SELECT e.session_id, e.event_id \
     FROM UNNEST($1::text[], $2::int8[]) AS p (session_id, event_id) \
     JOIN events AS e ON e.session_id = p.session_id AND e.event_id = p.event_id";

/// The epoch is the one read (and locked) in this transaction, so every row must match.
const UPDATE_SESSIONS: &str = "UPDATE sessions AS s \
     SET last_event_id = GREATEST(s.last_event_id, u.high_water), \
     state = CASE WHEN u.closed THEN 'closed' ELSE s.state END, \
     user_data = COALESCE(u.user_data::json, s.user_data) \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::bool[], $5::text[]) \
     AS u (id, epoch, high_water, closed, user_data) \
     WHERE s.id = u.id AND s.epoch = u.epoch";

const DELETE_EVENTS: &str = "DELETE FROM events AS e \
     USING UNNEST($1::text[], $2::int8[]) AS d (session_id, event_id) \
     WHERE e.session_id = d.session_id AND e.event_id = d.event_id";

const INSERT_EVENTS: &str = "INSERT INTO events (session_id, event_id, at, kind, from_party, \
     payload) SELECT e.session_id, e.event_id, e.at, e.kind, e.from_party, e.payload::json \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[]) \
     AS e (session_id, event_id, at, kind, from_party, payload)";

/// Writes the end and the final transcript; recreates the record from the session row
/// should it be missing, so that a close always leaves a complete contact-history entry.
const CLOSE_INTERACTIONS: &str = "INSERT INTO interactions (id, created_at, tenant, \
     endpoint, queue, subject, user_data, state, closed_at, end_info, transcript) \
     SELECT s.id, s.created_at, s.tenant, s.endpoint, s.queue, s.subject, s.user_data, \
     'closed', c.closed_at, c.end_info::json, c.transcript::json \
     FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[]) \
     AS c (id, closed_at, end_info, transcript) JOIN sessions AS s ON s.id = c.id \
     ON CONFLICT (id) DO UPDATE SET state = 'closed', closed_at = excluded.closed_at, \
     end_info = excluded.end_info, transcript = excluded.transcript";

const UPDATE_INTERACTIONS: &str = "UPDATE interactions AS i SET user_data = u.user_data::json \
     FROM UNNEST($1::text[], $2::text[]) AS u (id, user_data) WHERE i.id = u.id";

/// Applies a batch inside the caller's transaction: each write's outcome, or `Err` when
/// the database failed (the caller then rolls back).
pub(super) async fn commit(
    conn: &mut PgConnection,
    writes: &[Write],
) -> Result<Vec<Outcome>, StoreError> {
    let batch = Batch::prepare(writes);
    let mut found = Found::default();

    let creates = batch.creates();
    if !creates.is_empty() {
        let created: Vec<String> = sqlx::query_scalar(CREATE_SESSIONS)
            .bind(creates.iter().map(|c| c.id).collect::<Vec<_>>())
            .bind(creates.iter().map(|c| c.created_at).collect::<Vec<_>>())
            .bind(creates.iter().map(|c| c.tenant).collect::<Vec<_>>())
            .bind(creates.iter().map(|c| c.endpoint).collect::<Vec<_>>())
            .bind(creates.iter().map(|c| c.queue).collect::<Vec<_>>())
            .bind(creates.iter().map(|c| c.subject).collect::<Vec<_>>())
            .bind(
                creates
                    .iter()
                    .map(|c| c.user_data.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(creates.iter().map(|c| c.password).collect::<Vec<_>>())
            .bind(creates.iter().map(|c| c.owner).collect::<Vec<_>>())
            .bind(creates.iter().map(|c| c.lease_until).collect::<Vec<_>>())
            .bind(codec::FIRST_EPOCH)
            .fetch_all(&mut *conn)
            .await?;
        if !created.is_empty() {
            sqlx::query(CREATE_INTERACTIONS)
                .bind(&created)
                .execute(&mut *conn)
                .await?;
        }
        found.created = created.into_iter().collect();
    }

    let sessions = batch.sessions(&found.created);
    if !sessions.is_empty() {
        let with_data = batch.user_data_sessions(&found.created);
        let rows: Vec<(String, i64, String, Option<String>)> = sqlx::query_as(READ_SESSIONS)
            .bind(&sessions)
            .bind(&with_data)
            .fetch_all(&mut *conn)
            .await?;
        found.sessions = rows
            .into_iter()
            .map(|(id, epoch, state, user_data)| {
                let row = SessionRow {
                    epoch,
                    state,
                    user_data,
                };
                (id, row)
            })
            .collect();
    }
    let appended = batch.appended(&found.created);
    if !appended.is_empty() {
        let (ids, events): (Vec<&str>, Vec<i64>) = appended.into_iter().unzip();
        let rows: Vec<(String, i64)> = sqlx::query_as(READ_STORED)
            .bind(ids)
            .bind(events)
            .fetch_all(&mut *conn)
            .await?;
        for (session, id) in rows {
            found
                .stored
                .entry(session)
                .or_insert_with(HashSet::new)
                .insert(id);
        }
    }

    let plan = batch.plan(&found);

    let sessions = &plan.sessions;
    if !sessions.is_empty() {
        let updated = sqlx::query(UPDATE_SESSIONS)
            .bind(sessions.iter().map(|s| s.id).collect::<Vec<_>>())
            .bind(sessions.iter().map(|s| s.epoch).collect::<Vec<_>>())
            .bind(sessions.iter().map(|s| s.high_water).collect::<Vec<_>>())
            .bind(sessions.iter().map(|s| s.closed).collect::<Vec<_>>())
            .bind(
                sessions
                    .iter()
                    .map(|s| s.user_data.as_deref())
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
        check_updated(updated, sessions.len())?;
    }
    if !plan.deleted.is_empty() {
        let (ids, events): (Vec<&str>, Vec<i64>) = plan.deleted.iter().copied().unzip();
        sqlx::query(DELETE_EVENTS)
            .bind(ids)
            .bind(events)
            .execute(&mut *conn)
            .await?;
    }
    let inserted = &plan.inserted;
    if !inserted.is_empty() {
        sqlx::query(INSERT_EVENTS)
            .bind(inserted.iter().map(|e| e.session).collect::<Vec<_>>())
            .bind(inserted.iter().map(|e| e.id).collect::<Vec<_>>())
            .bind(inserted.iter().map(|e| e.at).collect::<Vec<_>>())
            .bind(inserted.iter().map(|e| e.kind).collect::<Vec<_>>())
            .bind(inserted.iter().map(|e| e.from.as_str()).collect::<Vec<_>>())
            .bind(
                inserted
                    .iter()
                    .map(|e| e.payload.as_str())
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *conn)
            .await?;
    }
    let closed = &plan.closed;
    if !closed.is_empty() {
        sqlx::query(CLOSE_INTERACTIONS)
            .bind(closed.iter().map(|c| c.id).collect::<Vec<_>>())
            .bind(closed.iter().map(|c| c.closed_at).collect::<Vec<_>>())
            .bind(
                closed
                    .iter()
                    .map(|c| c.end_info.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                closed
                    .iter()
                    .map(|c| c.transcript.as_str())
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *conn)
            .await?;
    }
    if !plan.user_data.is_empty() {
        let (ids, data): (Vec<&str>, Vec<&str>) = plan
            .user_data
            .iter()
            .map(|(id, data)| (*id, data.as_str()))
            .unzip();
        sqlx::query(UPDATE_INTERACTIONS)
            .bind(ids)
            .bind(data)
            .execute(&mut *conn)
            .await?;
    }
    Ok(plan.outcomes)
}
