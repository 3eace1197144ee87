//! What the two SQL backends share: how records become column values and back, and the
//! checks a write passes before it touches the database. Keeping this in one place is
//! what makes SQLite and PostgreSQL store the same JSON and refuse the same writes; the
//! backend files hold only their SQL and its execution.
//!
//! Every check that can refuse a write runs here, before the first statement of that
//! write, so a refused write has changed nothing and needs no savepoint.

use std::str::FromStr;

use parley_core::session::EndInfo;
use parley_core::{Event, EventId, SessionId, SessionPassword, UnixMillis, UserData};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{
    Epoch, InstanceId, InteractionRecord, NewSession, SessionState, StoreError, StoredSession,
};

/// `sessions.state` / `interactions.state` of a session going on.
pub(crate) const ALIVE: &str = "alive";
/// ... and of one that is over.
pub(crate) const CLOSED: &str = "closed";

/// The epoch a new session starts at; every claim adds one. The server's creating actor
/// writes under it without having claimed anything.
pub(crate) const FIRST_EPOCH: i64 = 1;

/// Serializes a value for a JSON column.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("encoding JSON: {e}")))
}

/// Parses a JSON column; a row that does not parse is corrupt, which is our problem.
fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("corrupt {what}: {e}")))
}

fn parse_state(text: &str) -> Result<SessionState, StoreError> {
    match text {
        ALIVE => Ok(SessionState::Alive),
        CLOSED => Ok(SessionState::Closed),
        other => Err(StoreError::Backend(format!(
            "corrupt session state {other:?}"
        ))),
    }
}

fn parse_id(text: &str) -> Result<SessionId, StoreError> {
    SessionId::from_str(text).map_err(|e| StoreError::Backend(format!("corrupt session id: {e}")))
}

fn event_id(value: i64) -> Result<EventId, StoreError> {
    u64::try_from(value)
        .map(EventId)
        .map_err(|_| StoreError::Backend(format!("corrupt event id {value}")))
}

/// Event ids are `u64` in the domain and signed 64-bit in both databases; ids past
/// `i64::MAX` cannot be stored (and cannot occur: one per message).
pub(crate) fn db_event_id(session: &SessionId, id: EventId) -> Result<i64, StoreError> {
    i64::try_from(id.0).map_err(|_| StoreError::Conflict(session.clone(), "event id out of range"))
}

/// PostgreSQL text cannot hold NUL, and SQLite would store it where PostgreSQL fails the
/// whole batch; both refuse it in plain-text columns so that they behave alike. (JSON
/// columns escape it and are unaffected.)
fn check_text(session: &SessionId, text: &str) -> Result<(), StoreError> {
    if text.contains('\0') {
        Err(StoreError::Conflict(
            session.clone(),
            "text field contains NUL",
        ))
    } else {
        Ok(())
    }
}

/// The column values of a `CreateSession` write.
pub(crate) struct NewSessionCols<'a> {
    pub(crate) id: &'a str,
    pub(crate) created_at: i64,
    pub(crate) tenant: &'a str,
    pub(crate) endpoint: &'a str,
    pub(crate) queue: &'a str,
    pub(crate) subject: Option<&'a str>,
    pub(crate) user_data: String,
    pub(crate) password: Option<&'a str>,
    pub(crate) owner: &'a str,
    pub(crate) lease_until: i64,
}

/// Checks and encodes a new session. `Err` is the write's own outcome.
pub(crate) fn new_session(s: &NewSession) -> Result<NewSessionCols<'_>, StoreError> {
    let subject = s.subject.as_deref();
    let password = s.password.as_ref().map(SessionPassword::expose);
    for text in [&s.tenant, &s.endpoint, &s.queue, &s.owner.0] {
        check_text(&s.id, text)?;
    }
    for text in [subject, password].into_iter().flatten() {
        check_text(&s.id, text)?;
    }
    Ok(NewSessionCols {
        id: s.id.as_str(),
        created_at: s.created_at.0,
        tenant: &s.tenant,
        endpoint: &s.endpoint,
        queue: &s.queue,
        subject,
        user_data: to_json(&s.user_data)?,
        password,
        owner: &s.owner.0,
        lease_until: s.lease_until.0,
    })
}

/// The events of an `Append`, column by column.
#[derive(Default)]
pub(crate) struct EventCols {
    pub(crate) ids: Vec<i64>,
    pub(crate) ats: Vec<i64>,
    pub(crate) kinds: Vec<&'static str>,
    pub(crate) froms: Vec<String>,
    pub(crate) payloads: Vec<String>,
    /// The session's new high-water id: the larger of the one given and the last event,
    /// so an id is never handed out twice even if a caller under-reports it.
    pub(crate) high_water: i64,
}

/// Checks and encodes the events of an `Append`. They must be in strictly increasing id
/// order, which also rules out a duplicate inside the write. `Err` is the write's outcome.
pub(crate) fn append(
    session: &SessionId,
    events: &[Event],
    last_event_id: EventId,
) -> Result<EventCols, StoreError> {
    let mut cols = EventCols {
        high_water: db_event_id(session, last_event_id)?,
        ..EventCols::default()
    };
    for event in events {
        let id = db_event_id(session, event.id)?;
        if cols.ids.last().is_some_and(|&prev| prev >= id) {
            return Err(StoreError::Conflict(
                session.clone(),
                "events not in id order",
            ));
        }
        cols.high_water = cols.high_water.max(id);
        cols.ids.push(id);
        cols.ats.push(event.at.0);
        cols.kinds.push(event_kind(event));
        cols.froms.push(event.from.as_str().to_owned());
        cols.payloads.push(to_json(event)?);
    }
    Ok(cols)
}

/// Ids of an `Annihilate`.
pub(crate) fn annihilate(session: &SessionId, ids: &[EventId]) -> Result<Vec<i64>, StoreError> {
    ids.iter().map(|&id| db_event_id(session, id)).collect()
}

/// The column values of a `Close` write.
pub(crate) struct CloseCols {
    pub(crate) closed_at: i64,
    pub(crate) end_info: String,
    pub(crate) transcript: String,
    pub(crate) high_water: i64,
}

/// Encodes a close. `Err` is the write's own outcome.
pub(crate) fn close(
    session: &SessionId,
    end: &EndInfo,
    transcript: &[Event],
    last_event_id: EventId,
) -> Result<CloseCols, StoreError> {
    let last_kept = transcript.iter().map(|e| e.id).max().unwrap_or_default();
    Ok(CloseCols {
        closed_at: end.closed_at.0,
        end_info: to_json(end)?,
        transcript: to_json(&transcript)?,
        high_water: db_event_id(session, last_event_id.max(last_kept))?,
    })
}

/// The `kind` column: the event body's serde tag.
fn event_kind(event: &Event) -> &'static str {
    use parley_core::EventBody;
    match event.body {
        EventBody::NewParty { .. } => "newParty",
        EventBody::PartyLeft { .. } => "partyLeft",
        EventBody::Message { .. } => "message",
        EventBody::Notice { .. } => "notice",
    }
}

/// The stored user data with `changes` merged in, as JSON.
pub(crate) fn merged_user_data(
    stored: &str,
    changes: &parley_core::UserData,
) -> Result<String, StoreError> {
    let mut data: parley_core::UserData = from_json(stored, "session user data")?;
    data.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
    to_json(&data)
}

/// Why a write may not touch the session, from what its row holds now (`None`: no row);
/// `None` when the row is writable under `epoch`. A stale epoch is reported before a
/// closed state: a writer that has lost the session must stop acting for it either way,
/// and `Fenced` tells it why.
pub(crate) fn refusal(
    session: &SessionId,
    epoch: Epoch,
    row: Option<(i64, String)>,
) -> Option<StoreError> {
    match row {
        None => Some(StoreError::NotFound(session.clone())),
        Some((stored, _)) if stored != epoch.0 => Some(StoreError::Fenced(session.clone())),
        Some((_, state)) if state != ALIVE => {
            Some(StoreError::Conflict(session.clone(), "session is closed"))
        }
        Some(_) => None,
    }
}

/// A `sessions` row as read (see [`SESSION_COLUMNS`]).
#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    created_at: i64,
    tenant: String,
    endpoint: String,
    queue: String,
    subject: Option<String>,
    user_data: String,
    password: Option<String>,
    state: String,
    owner: String,
    epoch: i64,
    lease_until: i64,
    last_event_id: i64,
}

impl SessionRow {
    /// The session's id, as stored.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The stored session, with its events.
    pub(crate) fn into_stored(self, events: Vec<Event>) -> Result<StoredSession, StoreError> {
        Ok(StoredSession {
            id: parse_id(&self.id)?,
            created_at: UnixMillis(self.created_at),
            tenant: self.tenant,
            endpoint: self.endpoint,
            queue: self.queue,
            subject: self.subject,
            user_data: from_json::<UserData>(&self.user_data, "session user data")?,
            password: self.password.map(SessionPassword::new),
            state: parse_state(&self.state)?,
            owner: InstanceId(self.owner),
            epoch: Epoch(self.epoch),
            lease_until: UnixMillis(self.lease_until),
            last_event_id: event_id(self.last_event_id)?,
            events,
        })
    }
}

/// An `events` row as read: `SELECT event_id, payload`.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    event_id: i64,
    payload: String,
}

/// The events of a session, checking each payload against its key.
pub(crate) fn events(rows: Vec<EventRow>) -> Result<Vec<Event>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let event: Event = from_json(&row.payload, "event payload")?;
            if event_id(row.event_id)? == event.id {
                Ok(event)
            } else {
                Err(StoreError::Backend(format!(
                    "corrupt event {}: payload has id {}",
                    row.event_id, event.id
                )))
            }
        })
        .collect()
}

/// An `interactions` row as read.
#[derive(sqlx::FromRow)]
pub(crate) struct InteractionRow {
    id: String,
    created_at: i64,
    tenant: String,
    endpoint: String,
    queue: String,
    subject: Option<String>,
    user_data: String,
    state: String,
    end_info: Option<String>,
    transcript: Option<String>,
    properties: String,
    transcript_purged_at: Option<i64>,
    files_purged_at: Option<i64>,
}

impl InteractionRow {
    /// The interaction record.
    pub(crate) fn into_record(self) -> Result<InteractionRecord, StoreError> {
        Ok(InteractionRecord {
            id: parse_id(&self.id)?,
            created_at: UnixMillis(self.created_at),
            tenant: self.tenant,
            endpoint: self.endpoint,
            queue: self.queue,
            subject: self.subject,
            user_data: from_json(&self.user_data, "interaction user data")?,
            state: parse_state(&self.state)?,
            end: self
                .end_info
                .map(|t| from_json(&t, "interaction end info"))
                .transpose()?,
            transcript: self
                .transcript
                .map(|t| from_json(&t, "interaction transcript"))
                .transpose()?,
            properties: from_json(&self.properties, "interaction properties")?,
            transcript_purged_at: self.transcript_purged_at.map(UnixMillis),
            files_purged_at: self.files_purged_at.map(UnixMillis),
        })
    }
}

/// Session ids read back from the store (an orphan sweep's page).
pub(crate) fn session_ids(rows: Vec<(String,)>) -> Result<Vec<SessionId>, StoreError> {
    rows.into_iter()
        .map(|(id,)| {
            id.parse()
                .map_err(|_| StoreError::Backend(format!("stored session id {id:?} is malformed")))
        })
        .collect()
}
