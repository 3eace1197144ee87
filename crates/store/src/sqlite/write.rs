//! The group commit on SQLite: a whole batch in a fixed number of statements (see
//! `batch.rs`), whatever its size. Each statement takes its rows as one JSON array bound
//! to one parameter and unpacked by `json_each`, so its text never changes and sqlx's
//! statement cache keeps it prepared.
//!
//! The statements mirror `postgres/write.rs` one for one; only dialect differs
//! (`json_each` for `UNNEST`, `MAX` for `GREATEST`, no `FOR UPDATE` since the single
//! writer connection, in a `BEGIN IMMEDIATE` transaction, already serializes every
//! write).

use std::collections::HashSet;

use sqlx::SqliteConnection;

use crate::batch::{check_updated, Batch, Found, Outcome, SessionRow};
use crate::codec::{self, to_json};
use crate::{StoreError, Write};

/// Inserts the new sessions, `[id, created_at, tenant, endpoint, queue, subject,
/// user_data, password, owner, lease_until]` each, unless the id is taken by a session or
/// by a leftover interaction record (whose history must not be overwritten); returns the
/// ids inserted. (The `WHERE` also settles SQLite's `INSERT ... SELECT ... ON CONFLICT`
/// parsing ambiguity.)
const CREATE_SESSIONS: &str = "INSERT INTO sessions (id, created_at, tenant, endpoint, queue, \
     subject, user_data, password, state, owner, epoch, lease_until, last_event_id) \
     SELECT n.value ->> 0, n.value ->> 1, n.value ->> 2, n.value ->> 3, n.value ->> 4, \
     n.value ->> 5, n.value ->> 6, n.value ->> 7, 'alive', n.value ->> 8, $2, \
     n.value ->> 9, 0 FROM json_each($1) AS n \
     WHERE NOT EXISTS (SELECT 1 FROM interactions WHERE id = n.value ->> 0) \
     ON CONFLICT (id) DO NOTHING RETURNING id";

/// The interaction records of the sessions just created, from their rows; no record
/// has their ids (`CREATE_SESSIONS` checked), so this cannot conflict.
const CREATE_INTERACTIONS: &str = "INSERT INTO interactions (id, created_at, tenant, endpoint, \
     queue, subject, user_data, state) \
     SELECT id, created_at, tenant, endpoint, queue, subject, user_data, 'alive' \
     FROM sessions WHERE id IN (SELECT value FROM json_each($1))";

/// The rows the writes need, with the user data of those in `$2`.
const READ_SESSIONS: &str = "SELECT id, epoch, state, \
     CASE WHEN id IN (SELECT value FROM json_each($2)) THEN user_data END \
     FROM sessions WHERE id IN (SELECT value FROM json_each($1))";

/// Which of the `[session, event id]` pairs are stored.
const READ_STORED: &str = "SELECT e.session_id, e.event_id FROM json_each($1) AS p \
     CROSS JOIN events AS e ON e.session_id = p.value ->> 0 AND e.event_id = p.value ->> 1";

/// `[id, epoch, high water, closed, user data or null]` each. The epoch is the one read
/// in this transaction, so every row must match.
const UPDATE_SESSIONS: &str = "UPDATE sessions \
     SET last_event_id = MAX(last_event_id, u.value ->> 2), \
     state = CASE WHEN u.value ->> 3 THEN 'closed' ELSE state END, \
     user_data = COALESCE(u.value ->> 4, user_data) \
     FROM json_each($1) AS u \
     WHERE sessions.id = u.value ->> 0 AND sessions.epoch = u.value ->> 1";

/// `[session, event id]` each. (By rowid: a row-value `IN` would search the primary key
/// by session only.)
const DELETE_EVENTS: &str = "DELETE FROM events WHERE rowid IN (SELECT e.rowid \
     FROM json_each($1) AS d CROSS JOIN events AS e \
     ON e.session_id = d.value ->> 0 AND e.event_id = d.value ->> 1)";

/// `[session, event id, at, kind, from, payload]` each.
const INSERT_EVENTS: &str = "INSERT INTO events (session_id, event_id, at, kind, from_party, \
     payload) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
     value ->> 5 FROM json_each($1)";

/// Writes the end and the final transcript, `[id, closed_at, end_info, transcript]`
/// each; recreates the record from the session row should it be missing, so that a
/// close always leaves a complete contact-history entry.
const CLOSE_INTERACTIONS: &str = "INSERT INTO interactions (id, created_at, tenant, \
     endpoint, queue, subject, user_data, state, closed_at, end_info, transcript) \
     SELECT s.id, s.created_at, s.tenant, s.endpoint, s.queue, s.subject, s.user_data, \
     'closed', c.value ->> 1, c.value ->> 2, c.value ->> 3 \
     FROM json_each($1) AS c CROSS JOIN sessions AS s ON s.id = c.value ->> 0 WHERE true \
     ON CONFLICT (id) DO UPDATE SET state = 'closed', closed_at = excluded.closed_at, \
     end_info = excluded.end_info, transcript = excluded.transcript";

/// `[id, user data]` each.
const UPDATE_INTERACTIONS: &str = "UPDATE interactions SET user_data = u.value ->> 1 \
     FROM json_each($1) AS u WHERE interactions.id = u.value ->> 0";

/// Applies a batch inside the caller's transaction: each write's outcome, or `Err` when
/// the database failed (the caller then rolls back).
pub(super) async fn commit(
    conn: &mut SqliteConnection,
    writes: &[Write],
) -> Result<Vec<Outcome>, StoreError> {
    let batch = Batch::prepare(writes);
    let mut found = Found::default();

    let creates = batch.creates();
    if !creates.is_empty() {
        let rows: Vec<_> = creates
            .iter()
            .map(|c| {
                (
                    c.id,
                    c.created_at,
                    c.tenant,
                    c.endpoint,
                    c.queue,
                    c.subject,
                    &c.user_data,
                    c.password,
                    c.owner,
                    c.lease_until,
                )
            })
            .collect();
        let created: Vec<String> = sqlx::query_scalar(CREATE_SESSIONS)
            .bind(to_json(&rows)?)
            .bind(codec::FIRST_EPOCH)
            .fetch_all(&mut *conn)
            .await?;
        if !created.is_empty() {
            sqlx::query(CREATE_INTERACTIONS)
                .bind(to_json(&created)?)
                .execute(&mut *conn)
                .await?;
        }
        found.created = created.into_iter().collect();
    }

    let sessions = batch.sessions(&found.created);
    if !sessions.is_empty() {
        let with_data = batch.user_data_sessions(&found.created);
        let rows: Vec<(String, i64, String, Option<String>)> = sqlx::query_as(READ_SESSIONS)
            .bind(to_json(&sessions)?)
            .bind(to_json(&with_data)?)
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
        let rows: Vec<(String, i64)> = sqlx::query_as(READ_STORED)
            .bind(to_json(&appended)?)
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

    if !plan.sessions.is_empty() {
        let rows: Vec<_> = plan
            .sessions
            .iter()
            .map(|s| (s.id, s.epoch, s.high_water, s.closed, &s.user_data))
            .collect();
        let updated = sqlx::query(UPDATE_SESSIONS)
            .bind(to_json(&rows)?)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        check_updated(updated, rows.len())?;
    }
    if !plan.deleted.is_empty() {
        sqlx::query(DELETE_EVENTS)
            .bind(to_json(&plan.deleted)?)
            .execute(&mut *conn)
            .await?;
    }
    if !plan.inserted.is_empty() {
        let rows: Vec<_> = plan
            .inserted
            .iter()
            .map(|e| (e.session, e.id, e.at, e.kind, &e.from, &e.payload))
            .collect();
        sqlx::query(INSERT_EVENTS)
            .bind(to_json(&rows)?)
            .execute(&mut *conn)
            .await?;
    }
    if !plan.closed.is_empty() {
        let rows: Vec<_> = plan
            .closed
            .iter()
            .map(|c| (c.id, c.closed_at, &c.end_info, &c.transcript))
            .collect();
        sqlx::query(CLOSE_INTERACTIONS)
            .bind(to_json(&rows)?)
            .execute(&mut *conn)
            .await?;
    }
    if !plan.user_data.is_empty() {
        sqlx::query(UPDATE_INTERACTIONS)
            .bind(to_json(&plan.user_data)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(plan.outcomes)
}
