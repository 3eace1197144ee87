//! A group commit in a constant number of statements, for both backends.
//!
//! The writes of a batch are applied, in effect, one after another: each sees what the
//! writes before it did, and each has its own outcome (a fenced or conflicting write fails
//! alone, having changed nothing). Applying them one statement at a time costs a round
//! trip per statement (on SQLite a hand-off to sqlx's worker thread), i.e. thousands per
//! commit under load. Instead a backend runs a fixed sequence of set statements, each
//! over the whole batch:
//!
//! 1. find which creates happen ([`Batch::creates`]: the first create of each id that
//!    passed the checks, when neither a session nor an interaction record has the id);
//! 2. read (on PostgreSQL: lock, in id order) the session rows the other writes name
//!    ([`Batch::sessions`]) and which of the event ids being appended are stored already
//!    ([`Batch::appended`]);
//! 3. [`Batch::plan`] replays the writes in order against what was read, in memory, with
//!    the same rules and the same refusals as the statements of one write would apply,
//!    and returns every write's outcome plus the net changes ([`Plan`]);
//! 4. apply the net changes: the new sessions and their interaction records; one
//!    `UPDATE sessions` (high water, state, user data) guarded by the epoch that was
//!    read, which must match every planned row ([`check_updated`]); one `DELETE` of
//!    annihilated events; one `INSERT` of the appended events that are still kept; one
//!    upsert of the interaction records of closed sessions; one `UPDATE interactions` of
//!    user data.
//!
//! All of it runs in the batch's one transaction, which the backend holds as the only
//! writer of these rows (SQLite: the one writer connection with `BEGIN IMMEDIATE`;
//! PostgreSQL: the row locks of step 2), so what step 2 read stays true until the
//! commit. How the statements are grouped is the backend's: SQLite decides the creates
//! with its read and sends all writes as one query (two hand-offs to its worker thread);
//! PostgreSQL, where instances create concurrently, inserts the creates first and takes
//! the ids the insert returned, and skips the statements with nothing to do.

use std::collections::{HashMap, HashSet};

use parley_core::{SessionId, UserData};

use crate::codec::{self, CloseCols, EventCols, NewSessionCols};
use crate::{Epoch, StoreError, Write};

/// One write's own result.
pub(crate) type Outcome = Result<(), StoreError>;

/// One write after the checks of `codec`.
enum Prepared<'a> {
    /// Refused by the checks; this is its outcome.
    Refused(StoreError),
    Create(&'a SessionId, NewSessionCols<'a>),
    Append {
        session: &'a SessionId,
        epoch: Epoch,
        cols: EventCols,
    },
    Annihilate {
        session: &'a SessionId,
        epoch: Epoch,
        ids: Vec<i64>,
    },
    Close {
        session: &'a SessionId,
        epoch: Epoch,
        cols: CloseCols,
    },
    UpdateUserData {
        session: &'a SessionId,
        epoch: Epoch,
        changes: &'a UserData,
    },
}

/// A batch, checked and encoded, before anything is read.
pub(crate) struct Batch<'a> {
    writes: Vec<Prepared<'a>>,
}

/// What the backend found in steps 1 and 2.
#[derive(Default)]
pub(crate) struct Found {
    /// The ids the batch creates (of [`Batch::creates`]).
    pub(crate) created: HashSet<String>,
    /// The rows of [`Batch::sessions`] that exist.
    pub(crate) sessions: HashMap<String, SessionRow>,
    /// Of [`Batch::appended`], the event ids stored already, by session.
    pub(crate) stored: HashMap<String, HashSet<i64>>,
}

/// A session row as step 2 read it.
pub(crate) struct SessionRow {
    pub(crate) epoch: i64,
    pub(crate) state: String,
    /// Read only for the sessions of [`Batch::user_data_sessions`].
    pub(crate) user_data: Option<String>,
}

/// The net changes of a batch, and the outcome of each write.
pub(crate) struct Plan<'a> {
    /// One per write, in order.
    pub(crate) outcomes: Vec<Outcome>,
    /// Sessions rows to update, by id.
    pub(crate) sessions: Vec<SessionChange<'a>>,
    /// Stored events to remove (those added by this batch are simply not inserted).
    pub(crate) deleted: Vec<(&'a str, i64)>,
    /// Events to insert.
    pub(crate) inserted: Vec<NewEvent<'a>>,
    /// Interaction records of the sessions closed.
    pub(crate) closed: Vec<Closed<'a>>,
    /// New user data of interaction records, by id.
    pub(crate) user_data: Vec<(&'a str, String)>,
}

/// The update of one session row.
pub(crate) struct SessionChange<'a> {
    pub(crate) id: &'a str,
    /// The epoch the row had when read; the update must match it.
    pub(crate) epoch: i64,
    /// Raise `last_event_id` to at least this.
    pub(crate) high_water: i64,
    /// Flip the state to closed.
    pub(crate) closed: bool,
    /// New user data (JSON), if it changed.
    pub(crate) user_data: Option<String>,
}

/// One event row to insert.
pub(crate) struct NewEvent<'a> {
    pub(crate) session: &'a str,
    pub(crate) id: i64,
    pub(crate) at: i64,
    pub(crate) kind: &'static str,
    pub(crate) from: String,
    pub(crate) payload: String,
}

/// The interaction record of a closed session.
pub(crate) struct Closed<'a> {
    pub(crate) id: &'a str,
    pub(crate) closed_at: i64,
    pub(crate) end_info: String,
    pub(crate) transcript: String,
}

impl<'a> Batch<'a> {
    /// Runs the checks of `codec` on every write.
    pub(crate) fn prepare(batch: &'a [Write]) -> Batch<'a> {
        let writes = batch
            .iter()
            .map(|write| {
                let prepared = match write {
                    Write::CreateSession(s) => {
                        codec::new_session(s).map(|cols| Prepared::Create(&s.id, cols))
                    }
                    Write::Append {
                        session,
                        epoch,
                        events,
                        last_event_id,
                    } => codec::append(session, events, *last_event_id).map(|cols| {
                        Prepared::Append {
                            session,
                            epoch: *epoch,
                            cols,
                        }
                    }),
                    Write::Annihilate {
                        session,
                        epoch,
                        ids,
                    } => codec::annihilate(session, ids).map(|ids| Prepared::Annihilate {
                        session,
                        epoch: *epoch,
                        ids,
                    }),
                    Write::Close {
                        session,
                        epoch,
                        end,
                        transcript,
                        last_event_id,
                    } => codec::close(session, end, transcript, *last_event_id).map(|cols| {
                        Prepared::Close {
                            session,
                            epoch: *epoch,
                            cols,
                        }
                    }),
                    Write::UpdateUserData {
                        session,
                        epoch,
                        user_data,
                    } => Ok(Prepared::UpdateUserData {
                        session,
                        epoch: *epoch,
                        changes: user_data,
                    }),
                };
                prepared.unwrap_or_else(Prepared::Refused)
            })
            .collect();
        Batch { writes }
    }

    /// The sessions the batch may create: of the creates that passed the checks, the
    /// first of each id (any later one conflicts with it, or with what it conflicted
    /// with). Each is created unless a session or an interaction record has the id.
    pub(crate) fn creates(&self) -> Vec<&NewSessionCols<'a>> {
        let mut seen = HashSet::new();
        self.writes
            .iter()
            .filter_map(|w| match w {
                Prepared::Create(_, cols) if seen.insert(cols.id) => Some(cols),
                _ => None,
            })
            .collect()
    }

    /// The sessions whose rows the writes other than creates need, sorted (the lock
    /// order on PostgreSQL), without those known to be created by the batch.
    pub(crate) fn sessions(&self, created: &HashSet<String>) -> Vec<&'a str> {
        let mut ids: Vec<&str> = self
            .writes
            .iter()
            .filter_map(|w| match w {
                Prepared::Append { session, .. }
                | Prepared::Annihilate { session, .. }
                | Prepared::Close { session, .. }
                | Prepared::UpdateUserData { session, .. } => Some(session.as_str()),
                Prepared::Refused(_) | Prepared::Create(..) => None,
            })
            .filter(|id| !created.contains(*id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Of [`Batch::sessions`], those whose user data is read (some write merges into it).
    pub(crate) fn user_data_sessions(&self, created: &HashSet<String>) -> Vec<&'a str> {
        let mut ids: Vec<&str> = self
            .writes
            .iter()
            .filter_map(|w| match w {
                Prepared::UpdateUserData { session, .. } => Some(session.as_str()),
                _ => None,
            })
            .filter(|id| !created.contains(*id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Every (session, event id) an append adds, but for sessions known to be created by
    /// the batch (whose events cannot be stored yet).
    pub(crate) fn appended(&self, created: &HashSet<String>) -> Vec<(&'a str, i64)> {
        let mut pairs = Vec::new();
        for w in &self.writes {
            if let Prepared::Append { session, cols, .. } = w {
                if !created.contains(session.as_str()) {
                    pairs.extend(cols.ids.iter().map(|&id| (session.as_str(), id)));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    /// Replays the writes in order against what was read: their outcomes, and the net
    /// changes to apply.
    pub(crate) fn plan(self, found: &Found) -> Plan<'a> {
        let mut replay = Replay {
            found,
            sessions: HashMap::new(),
            events: HashMap::new(),
            inserted: Vec::new(),
            deleted: Vec::new(),
            closed: Vec::new(),
            candidates: HashSet::new(),
        };
        let outcomes = self.writes.into_iter().map(|w| replay.apply(w)).collect();
        replay.finish(outcomes)
    }
}

/// A session as the writes replayed so far left it.
struct Live {
    /// `(epoch, state)`, or `None` when there is no row (yet).
    row: Option<(i64, String)>,
    /// The user data, where known.
    user_data: Option<String>,
    /// What to write back, once a write changed the row.
    change: Option<Change>,
}

#[derive(Default)]
struct Change {
    high_water: i64,
    closed: bool,
    user_data: Option<String>,
}

/// Whether an event is stored, as the writes replayed so far left it.
enum EventNow {
    /// Added by this batch: `Replay::inserted[i]`.
    Inserted(usize),
    /// Removed by this batch.
    Removed,
}

struct Replay<'f, 'a> {
    found: &'f Found,
    sessions: HashMap<&'a str, Live>,
    events: HashMap<(&'a str, i64), EventNow>,
    /// `None` once annihilated again by a later write.
    inserted: Vec<Option<NewEvent<'a>>>,
    deleted: Vec<(&'a str, i64)>,
    closed: Vec<Closed<'a>>,
    /// Ids whose first valid create has been replayed.
    candidates: HashSet<&'a str>,
}

impl<'a> Replay<'_, 'a> {
    fn live(&mut self, id: &'a str) -> &mut Live {
        let found = self.found;
        self.sessions.entry(id).or_insert_with(|| {
            // A session the batch creates has no row until its create is replayed.
            match found.sessions.get(id) {
                Some(row) if !found.created.contains(id) => Live {
                    row: Some((row.epoch, row.state.clone())),
                    user_data: row.user_data.clone(),
                    change: None,
                },
                _ => Live {
                    row: None,
                    user_data: None,
                    change: None,
                },
            }
        })
    }

    fn is_stored(&self, session: &'a str, id: i64) -> bool {
        match self.events.get(&(session, id)) {
            Some(EventNow::Inserted(_)) => true,
            Some(EventNow::Removed) => false,
            None => self
                .found
                .stored
                .get(session)
                .is_some_and(|ids| ids.contains(&id)),
        }
    }

    fn apply(&mut self, write: Prepared<'a>) -> Outcome {
        match write {
            Prepared::Refused(e) => Err(e),
            Prepared::Create(session, cols) => {
                let id = session.as_str();
                // Only the first valid create of an id was inserted; every later one
                // finds the id taken.
                let first = self.candidates.insert(id);
                if !(first && self.found.created.contains(id)) {
                    return Err(StoreError::Conflict(session.clone(), "session exists"));
                }
                let live = self.live(id);
                live.row = Some((codec::FIRST_EPOCH, codec::ALIVE.to_owned()));
                live.user_data = Some(cols.user_data);
                Ok(())
            }
            Prepared::Append {
                session,
                epoch,
                cols,
            } => {
                let id = session.as_str();
                let stored = cols.ids.iter().any(|&e| self.is_stored(id, e));
                let live = self.live(id);
                if let Some(refused) = codec::refusal(session, epoch, live.row.clone()) {
                    return Err(refused);
                }
                // The row is writable, so the fence's last condition failed.
                if stored {
                    return Err(StoreError::Conflict(
                        session.clone(),
                        "event id already stored",
                    ));
                }
                let change = live.change.get_or_insert_with(Change::default);
                change.high_water = change.high_water.max(cols.high_water);
                let EventCols {
                    ids,
                    ats,
                    kinds,
                    froms,
                    payloads,
                    ..
                } = cols;
                let rows = ids.into_iter().zip(ats).zip(kinds).zip(froms).zip(payloads);
                for ((((event, at), kind), from), payload) in rows {
                    self.events
                        .insert((id, event), EventNow::Inserted(self.inserted.len()));
                    self.inserted.push(Some(NewEvent {
                        session: id,
                        id: event,
                        at,
                        kind,
                        from,
                        payload,
                    }));
                }
                Ok(())
            }
            Prepared::Annihilate {
                session,
                epoch,
                ids,
            } => {
                let id = session.as_str();
                let live = self.live(id);
                if let Some(refused) = codec::refusal(session, epoch, live.row.clone()) {
                    return Err(refused);
                }
                // Ids that are not stored (already annihilated, or transient) are no
                // error.
                for event in ids {
                    match self.events.insert((id, event), EventNow::Removed) {
                        Some(EventNow::Inserted(i)) => self.inserted[i] = None,
                        // Removed before: already in `deleted`.
                        Some(EventNow::Removed) => {}
                        None => self.deleted.push((id, event)),
                    }
                }
                Ok(())
            }
            Prepared::Close {
                session,
                epoch,
                cols,
            } => {
                let id = session.as_str();
                let live = self.live(id);
                if let Some(refused) = codec::refusal(session, epoch, live.row.clone()) {
                    return Err(refused);
                }
                live.row = Some((epoch.0, codec::CLOSED.to_owned()));
                let change = live.change.get_or_insert_with(Change::default);
                change.high_water = change.high_water.max(cols.high_water);
                change.closed = true;
                self.closed.push(Closed {
                    id,
                    closed_at: cols.closed_at,
                    end_info: cols.end_info,
                    transcript: cols.transcript,
                });
                Ok(())
            }
            Prepared::UpdateUserData {
                session,
                epoch,
                changes,
            } => {
                let live = self.live(session.as_str());
                if let Some(refused) = codec::refusal(session, epoch, live.row.clone()) {
                    return Err(refused);
                }
                let stored = live.user_data.as_deref().unwrap_or_default();
                let merged = codec::merged_user_data(stored, changes)?;
                live.user_data = Some(merged.clone());
                live.change.get_or_insert_with(Change::default).user_data = Some(merged);
                Ok(())
            }
        }
    }

    fn finish(self, outcomes: Vec<Outcome>) -> Plan<'a> {
        let mut sessions: Vec<SessionChange<'a>> = self
            .sessions
            .into_iter()
            .filter_map(|(id, live)| {
                let change = live.change?;
                // A changed session has a row: every change follows a passed fence.
                let (epoch, _) = live.row?;
                Some(SessionChange {
                    id,
                    epoch,
                    high_water: change.high_water,
                    closed: change.closed,
                    user_data: change.user_data,
                })
            })
            .collect();
        sessions.sort_unstable_by_key(|s| s.id);
        let user_data = sessions
            .iter()
            .filter_map(|s| s.user_data.clone().map(|d| (s.id, d)))
            .collect();
        Plan {
            outcomes,
            sessions,
            deleted: self.deleted,
            inserted: self.inserted.into_iter().flatten().collect(),
            closed: self.closed,
            user_data,
        }
    }
}

/// Whether the session update touched every planned row: anything else means the rows
/// changed under the transaction, and the batch must not commit.
pub(crate) fn check_updated(updated: u64, planned: usize) -> Result<(), StoreError> {
    if usize::try_from(updated).ok() == Some(planned) {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "group commit: {updated} of {planned} session rows updated"
        )))
    }
}
