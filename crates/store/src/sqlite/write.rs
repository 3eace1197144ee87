//! The group commit on SQLite: a whole batch in two statements (see `batch.rs`), whatever
//! its size: one read and one write, inside the caller's `BEGIN IMMEDIATE` transaction.
//!
//! Every statement is a hand-off to sqlx's worker thread and back, and every row a read
//! returns travels through a small bounded channel between the two, so under load it is
//! the number of hand-offs, not SQLite's own work, that bounds the commit rate. Hence:
//! - each statement takes its rows as one JSON array bound to one parameter and unpacked
//!   by `json_each`, so its text never changes and sqlx's statement cache keeps it
//!   prepared;
//! - the read returns one row, whatever it found, as JSON arrays;
//! - the writes are one multi-statement query (sqlx runs all of its statements in one
//!   hand-off, binding the numbered parameters of each), whose only row is the count the
//!   session update must match.
//!
//! The single writer connection, in a `BEGIN IMMEDIATE` transaction, serializes every
//! write, so what the read found stays true until the commit; that is also why a create
//! can be decided by the read (`postgres/write.rs`, where instances write concurrently,
//! lets the insert decide). Otherwise the statements are those of `postgres/write.rs`;
//! only dialect differs (`json_each` for `UNNEST`, `MAX` for `GREATEST`).

use std::collections::{HashMap, HashSet};

use sqlx::SqliteConnection;

use crate::batch::{check_updated, Batch, Found, Outcome, SessionRow};
use crate::codec::{self, to_json};
use crate::{StoreError, Write};

/// Reads, as one row of three JSON arrays:
/// - `[id, epoch, state, user_data]` of the sessions in `$1` that exist, with the user
///   data of those also in `$2` (null for the others);
/// - `[session, event id]` of the pairs in `$3` that are stored;
/// - the ids in `$4` that neither a session nor a leftover interaction record (whose
///   history must not be overwritten) has: the sessions the batch creates.
const READ: &str = "SELECT \
     (SELECT json_group_array(json_array(id, epoch, state, \
     CASE WHEN id IN (SELECT value FROM json_each($2)) THEN user_data END)) \
     FROM sessions WHERE id IN (SELECT value FROM json_each($1))), \
     (SELECT json_group_array(json_array(e.session_id, e.event_id)) \
     FROM json_each($3) AS p CROSS JOIN events AS e \
     ON e.session_id = p.value ->> 0 AND e.event_id = p.value ->> 1), \
     (SELECT json_group_array(c.value) FROM json_each($4) AS c \
     WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE id = c.value) \
     AND NOT EXISTS (SELECT 1 FROM interactions WHERE id = c.value))";

/// The writes, in this order:
/// 1. the new sessions, `[id, created_at, tenant, endpoint, queue, subject, user_data,
///    password, owner, lease_until]` each in `$1`, at epoch `$2`;
/// 2. their interaction records, from their rows;
/// 3. the session rows, `[id, epoch, high water, closed, user data or null]` each in `$3`;
///    the epoch is the one read in this transaction, so every row must match, which the
///    `SELECT changes()` after it reports (the only row of the query);
/// 4. the annihilated events, `[session, event id]` each in `$4` (by rowid: a row-value
///    `IN` would search the primary key by session only);
/// 5. the appended events, `[session, event id, at, kind, from, payload]` each in `$5`;
/// 6. the end and final transcript of the closed sessions, `[id, closed_at, end_info,
///    transcript]` each in `$6`; the record is recreated from the session row should it
///    be missing, so that a close always leaves a complete contact-history entry (the
///    `WHERE true` settles SQLite's `INSERT ... SELECT ... ON CONFLICT` ambiguity);
/// 7. the user data of interaction records, `[id, user data]` each in `$7`.
const WRITE: &str = "\
     INSERT INTO sessions (id, created_at, tenant, endpoint, queue, subject, user_data, \
     password, state, owner, epoch, lease_until, last_event_id) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, 'alive', value ->> 8, $2, value ->> 9, 0 FROM json_each($1); \
     INSERT INTO interactions (id, created_at, tenant, endpoint, queue, subject, user_data, \
     state) SELECT id, created_at, tenant, endpoint, queue, subject, user_data, 'alive' \
     FROM sessions WHERE id IN (SELECT value ->> 0 FROM json_each($1)); \
     UPDATE sessions SET last_event_id = MAX(last_event_id, u.value ->> 2), \
     state = CASE WHEN u.value ->> 3 THEN 'closed' ELSE state END, \
     user_data = COALESCE(u.value ->> 4, user_data) \
     FROM json_each($3) AS u \
     WHERE sessions.id = u.value ->> 0 AND sessions.epoch = u.value ->> 1; \
     SELECT changes(); \
     DELETE FROM events WHERE rowid IN (SELECT e.rowid FROM json_each($4) AS d \
     CROSS JOIN events AS e ON e.session_id = d.value ->> 0 AND e.event_id = d.value ->> 1); \
     INSERT INTO events (session_id, event_id, at, kind, from_party, payload) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
     FROM json_each($5); \
     INSERT INTO interactions (id, created_at, tenant, endpoint, queue, subject, user_data, \
     state, closed_at, end_info, transcript) \
     SELECT s.id, s.created_at, s.tenant, s.endpoint, s.queue, s.subject, s.user_data, \
     'closed', c.value ->> 1, c.value ->> 2, c.value ->> 3 \
     FROM json_each($6) AS c CROSS JOIN sessions AS s ON s.id = c.value ->> 0 WHERE true \
     ON CONFLICT (id) DO UPDATE SET state = 'closed', closed_at = excluded.closed_at, \
     end_info = excluded.end_info, transcript = excluded.transcript; \
     UPDATE interactions SET user_data = u.value ->> 1 \
     FROM json_each($7) AS u WHERE interactions.id = u.value ->> 0";

/// A JSON array column of the read.
fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("group commit: reading {text:.80}: {e}")))
}

/// Applies a batch inside the caller's transaction: each write's outcome, or `Err` when
/// the database failed (the caller then rolls back).
pub(super) async fn commit(
    conn: &mut SqliteConnection,
    writes: &[Write],
) -> Result<Vec<Outcome>, StoreError> {
    let batch = Batch::prepare(writes);
    let none = HashSet::new();
    let creates = batch.creates();
    let create_ids: Vec<&str> = creates.iter().map(|c| c.id).collect();

    let (sessions, stored, free): (String, String, String) = sqlx::query_as(READ)
        .bind(to_json(&batch.sessions(&none))?)
        .bind(to_json(&batch.user_data_sessions(&none))?)
        .bind(to_json(&batch.appended(&none))?)
        .bind(to_json(&create_ids)?)
        .fetch_one(&mut *conn)
        .await?;
    let sessions: Vec<(String, i64, String, Option<String>)> = parse(&sessions)?;
    let stored: Vec<(String, i64)> = parse(&stored)?;
    let mut found = Found {
        created: parse::<Vec<String>>(&free)?.into_iter().collect(),
        sessions: sessions
            .into_iter()
            .map(|(id, epoch, state, user_data)| {
                let row = SessionRow {
                    epoch,
                    state,
                    user_data,
                };
                (id, row)
            })
            .collect(),
        stored: HashMap::new(),
    };
    for (session, id) in stored {
        found.stored.entry(session).or_default().insert(id);
    }

    let created: Vec<_> = creates
        .iter()
        .filter(|c| found.created.contains(c.id))
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
    // (Encoded now: they borrow from the batch, which the plan consumes.)
    let creating = !created.is_empty();
    let created = to_json(&created)?;
    let plan = batch.plan(&found);
    let sessions: Vec<_> = plan
        .sessions
        .iter()
        .map(|s| (s.id, s.epoch, s.high_water, s.closed, &s.user_data))
        .collect();
    let inserted: Vec<_> = plan
        .inserted
        .iter()
        .map(|e| (e.session, e.id, e.at, e.kind, &e.from, &e.payload))
        .collect();
    let closed: Vec<_> = plan
        .closed
        .iter()
        .map(|c| (c.id, c.closed_at, &c.end_info, &c.transcript))
        .collect();
    let nothing = !creating
        && sessions.is_empty()
        && plan.deleted.is_empty()
        && inserted.is_empty()
        && closed.is_empty()
        && plan.user_data.is_empty();
    if !nothing {
        // `fetch_all`, not `fetch_one`, which would stop at the first row, before the
        // statements after it.
        let updated: Vec<i64> = sqlx::query_scalar(WRITE)
            .bind(created)
            .bind(codec::FIRST_EPOCH)
            .bind(to_json(&sessions)?)
            .bind(to_json(&plan.deleted)?)
            .bind(to_json(&inserted)?)
            .bind(to_json(&closed)?)
            .bind(to_json(&plan.user_data)?)
            .fetch_all(&mut *conn)
            .await?;
        let updated = match updated[..] {
            [n] => u64::try_from(n).unwrap_or(u64::MAX),
            _ => u64::MAX,
        };
        check_updated(updated, sessions.len())?;
    }
    Ok(plan.outcomes)
}
