//! The group commit as it was before `write.rs` replayed batches in memory: every write
//! applied by its own statements, one after another. Kept (tests only) as the reference
//! the batched commit is compared with, write by write and row by row.

use parley_core::session::EndInfo;
use parley_core::{Event, EventId, SessionId};
use sqlx::SqliteConnection;

use crate::codec;
use crate::{Epoch, NewSession, StoreError, Write};

/// One write's own result.
type Outcome = Result<(), StoreError>;

/// Applies one write of a batch.
pub(crate) async fn apply(
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
        .bind(codec::to_json(&cols.ids)?)
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
    let ids_json = match codec::annihilate(session, ids) {
        Ok(ids) => codec::to_json(&ids)?,
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

/// The batched commit against this reference: random batches mixing every kind of write
/// over a few sessions (creates of taken ids, stale and future epochs, duplicate and
/// out-of-order events, annihilations before and after the appends they undo, closes,
/// user data), applied to two databases, must give the same outcome for every write and
/// leave the same rows, value for value and type for type.
#[cfg(test)]
mod tests {
    use parley_core::session::{EndInfo, EndedAgent, EndedBy, EndedReason};
    use parley_core::{Event, EventBody, EventId, SessionId, UnixMillis, UserData, Visibility};

    use std::collections::HashMap;

    use super::super::SqliteStore;
    use crate::{
        AnyStore, Claim, Epoch, InstanceId, InteractionStore, NewSession, PgStore, StoreError,
        TranscriptStore, Write,
    };

    /// xorshift64*: deterministic, so a failure names its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    const TEXTS: [&str; 6] = [
        "hello",
        "",
        "quote \" backslash \\ slash / tab \t",
        "ctrl \u{1} nul \u{0} del \u{7f}",
        "😀 héllo 世界 \u{10FFFF}",
        "{\"not\": [\"json\"]}",
    ];

    fn event(rng: &mut Rng, id: u64) -> Event {
        let text = TEXTS[rng.below(TEXTS.len() as u64) as usize];
        Event {
            id: EventId(id),
            at: UnixMillis(1_700_000_000_000 + i64::try_from(id).unwrap_or(0)),
            from: "customer-1".parse().expect("party id"),
            visibility: Visibility::All,
            receiver: None,
            body: EventBody::Message {
                text: format!("{text} #{id}"),
                message_type: None,
                client_msg_id: None,
            },
            pii: None,
        }
    }

    /// Ids mostly increasing, sometimes not (refused by the checks).
    fn event_ids(rng: &mut Rng) -> Vec<u64> {
        let n = rng.below(4);
        let mut next = 1 + rng.below(12);
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.push(next);
            next += 1 + rng.below(3);
        }
        if ids.len() > 1 && rng.chance(5) {
            ids.swap(0, 1);
        }
        ids
    }

    fn user_data(rng: &mut Rng) -> UserData {
        let key = ["Plan", "Lang", "k\"ey", "😀"][rng.below(4) as usize];
        let value = TEXTS[rng.below(TEXTS.len() as u64) as usize];
        UserData::from([(key.to_owned(), value.to_owned())])
    }

    fn write(rng: &mut Rng, ids: &[SessionId], epochs: &[i64]) -> Write {
        let i = rng.below(ids.len() as u64) as usize;
        let session = ids[i].clone();
        let epoch = Epoch(if rng.chance(80) {
            epochs[i]
        } else {
            1 + rng.below(4) as i64
        });
        match rng.below(100) {
            0..=14 => {
                let subject = if rng.chance(5) {
                    Some("bad\u{0}subject".to_owned())
                } else if rng.chance(50) {
                    Some(TEXTS[rng.below(TEXTS.len() as u64) as usize].replace('\0', ""))
                } else {
                    None
                };
                Write::CreateSession(NewSession {
                    id: session,
                    created_at: UnixMillis(1_700_000_000_000 + rng.below(1000) as i64),
                    tenant: "acme".into(),
                    endpoint: "default".into(),
                    queue: "q".into(),
                    subject,
                    user_data: user_data(rng),
                    password: rng
                        .chance(50)
                        .then(|| parley_core::SessionPassword::new("pw")),
                    owner: InstanceId("i1".into()),
                    lease_until: UnixMillis(if rng.chance(10) {
                        i64::MAX
                    } else {
                        rng.below(1000) as i64
                    }),
                })
            }
            15..=59 => {
                let events = event_ids(rng).into_iter().map(|n| event(rng, n)).collect();
                Write::Append {
                    session,
                    epoch,
                    events,
                    last_event_id: EventId(rng.below(20)),
                }
            }
            60..=74 => Write::Annihilate {
                session,
                epoch,
                ids: (0..rng.below(4))
                    .map(|_| EventId(1 + rng.below(20)))
                    .collect(),
            },
            75..=79 => {
                let transcript = event_ids(rng).into_iter().map(|n| event(rng, n)).collect();
                Write::Close {
                    session,
                    epoch,
                    end: EndInfo {
                        closed_at: UnixMillis(1_700_000_100_000),
                        ended_by: EndedBy::Client,
                        reason: EndedReason::Force,
                        agent: EndedAgent::Visited,
                    },
                    transcript,
                    last_event_id: EventId(rng.below(20)),
                }
            }
            _ => Write::UpdateUserData {
                session,
                epoch,
                user_data: user_data(rng),
            },
        }
    }

    /// Applies a batch the old way: one write after another.
    async fn reference_commit(
        store: &SqliteStore,
        batch: &[Write],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let mut tx = store.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut outcomes = Vec::new();
        for w in batch {
            outcomes.push(super::apply(&mut tx, w).await?);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Every row of the tables a commit writes, with SQLite's type of each value.
    async fn dump(store: &SqliteStore) -> Vec<String> {
        let mut rows = Vec::new();
        for query in [
            "SELECT quote(id) || ',' || quote(created_at) || ',' || quote(tenant) || ',' || \
             quote(endpoint) || ',' || quote(queue) || ',' || quote(subject) || ',' || \
             quote(user_data) || ',' || quote(password) || ',' || quote(state) || ',' || \
             quote(owner) || ',' || quote(epoch) || ',' || quote(lease_until) || ',' || \
             quote(last_event_id) FROM sessions ORDER BY id",
            "SELECT quote(session_id) || ',' || quote(event_id) || ',' || quote(at) || ',' || \
             quote(kind) || ',' || quote(from_party) || ',' || quote(payload) FROM events \
             ORDER BY session_id, event_id",
            "SELECT quote(id) || ',' || quote(created_at) || ',' || quote(closed_at) || ',' || \
             quote(tenant) || ',' || quote(endpoint) || ',' || quote(queue) || ',' || \
             quote(subject) || ',' || quote(user_data) || ',' || quote(state) || ',' || \
             quote(end_info) || ',' || quote(transcript) FROM interactions ORDER BY id",
        ] {
            let table: Vec<String> = sqlx::query_scalar(query)
                .fetch_all(&store.writer)
                .await
                .expect("dump");
            rows.extend(table);
            rows.push("--".to_owned());
        }
        rows
    }

    /// Runs a statement with one bound id on the raw database of a store.
    async fn raw(store: &AnyStore, sql: &str, id: &str) {
        let done = match store {
            AnyStore::Sqlite(s) => sqlx::query(sql).bind(id).execute(&s.writer).await.map(drop),
            AnyStore::Postgres(s) => sqlx::query(sql).bind(id).execute(&s.pool).await.map(drop),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Plays random batches on the reference and on `batched` (fresh, or whose ids start
    /// with `prefix`), comparing outcomes, claims and what is loaded back after each.
    async fn compare(seed: u64, batched: &AnyStore, prefix: &str) {
        let reference = SqliteStore::open("sqlite::memory:").await.expect("open");
        let both = [AnyStore::Sqlite(reference.clone()), batched.clone()];
        let mut rng = Rng(seed);
        let id = |i: u64| -> SessionId {
            format!("{prefix}s{i}")
                .parse()
                .unwrap_or_else(|e| panic!("session id: {e}"))
        };
        // Leftover interaction records without their session: creating those ids
        // conflicts.
        for store in &both {
            for (i, state) in [(3, "closed"), (40, "alive")] {
                let sql = format!(
                    "INSERT INTO interactions (id, created_at, tenant, endpoint, queue, \
                     user_data, state) VALUES ($1, 1, 't', 'e', 'q', '{{}}', '{state}')"
                );
                raw(store, &sql, id(i).as_str()).await;
            }
        }
        // The writes go to a window of session ids that moves on as sessions close.
        let mut first = 0;
        let mut epochs: HashMap<SessionId, i64> = HashMap::new();
        for round in 0..150 {
            if rng.chance(30) {
                first += 1;
            }
            let ids: Vec<SessionId> = (first..first + 8).map(id).collect();
            let current: Vec<i64> = ids
                .iter()
                .map(|id| epochs.get(id).copied().unwrap_or(1))
                .collect();
            let max = if rng.chance(10) { 300 } else { 25 };
            let size = 1 + rng.below(max);
            let batch: Vec<Write> = (0..size).map(|_| write(&mut rng, &ids, &current)).collect();
            let want = reference_commit(&reference, &batch)
                .await
                .expect("reference");
            let got = batched.commit(&batch).await.expect("batched");
            let context = format!("seed {seed} round {round}");
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{context}: outcomes of {batch:#?}"
            );
            if let AnyStore::Sqlite(batched) = batched {
                assert_eq!(
                    dump(batched).await,
                    dump(&reference).await,
                    "{context}: rows"
                );
            }
            for id in &ids {
                let [a, b] = &both;
                let (a_session, b_session) = (a.load_session(id).await, b.load_session(id).await);
                assert_eq!(
                    format!("{b_session:?}"),
                    format!("{a_session:?}"),
                    "{context}: session {id}"
                );
                let (a_record, b_record) = (a.interaction(id).await, b.interaction(id).await);
                assert_eq!(
                    format!("{b_record:?}"),
                    format!("{a_record:?}"),
                    "{context}: interaction {id}"
                );
            }
            // A record purged under a live session: a close writes it again, from the row.
            if rng.chance(10) {
                let id = &ids[rng.below(ids.len() as u64) as usize];
                for store in &both {
                    raw(store, "DELETE FROM interactions WHERE id = $1", id.as_str()).await;
                }
            }
            // Another owner takes a session over now and then, fencing the writes made
            // under the epoch the generator knew (which it mostly learns).
            if rng.chance(20) {
                let id = &ids[rng.below(ids.len() as u64) as usize];
                let mut claims = Vec::new();
                for store in &both {
                    let claim = store
                        .claim_session(
                            id,
                            &InstanceId("i2".into()),
                            UnixMillis(0),
                            UnixMillis(5),
                            true,
                        )
                        .await
                        .expect("claim");
                    claims.push(claim);
                }
                assert_eq!(
                    format!("{:?}", claims[0]),
                    format!("{:?}", claims[1]),
                    "{context}: claim"
                );
                if let (Claim::Claimed(s), true) = (&claims[0], rng.chance(80)) {
                    epochs.insert(id.clone(), s.epoch.0);
                }
            }
        }
        reference.close().await;
    }

    fn seeds() -> impl Iterator<Item = u64> {
        (1..=6_u64).map(|n| n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    #[tokio::test]
    async fn batched_commit_matches_one_write_at_a_time() {
        for seed in seeds() {
            let batched = SqliteStore::open("sqlite::memory:").await.expect("open");
            compare(seed, &AnyStore::Sqlite(batched.clone()), "").await;
            batched.close().await;
        }
    }

    /// The same on PostgreSQL, when `PARLEY_TEST_POSTGRES_URL` names a database (which
    /// may be shared: the ids are unique to the run).
    #[tokio::test]
    async fn batched_commit_on_postgres_matches_one_write_at_a_time() {
        let Some(url) = std::env::var("PARLEY_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            return;
        };
        let batched = AnyStore::Postgres(PgStore::open(&url).await.expect("open PostgreSQL"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (n, seed) in seeds().take(3).enumerate() {
            let prefix = format!("bx{nanos:x}p{:x}r{n}-", std::process::id());
            compare(seed, &batched, &prefix).await;
        }
        batched.close().await;
    }
}
