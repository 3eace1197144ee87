//! The transcript a live session keeps in memory: every structural event, plus a window
//! of the most recent messages and notices. Older messages and notices live only in the
//! store, so a session's memory stays bounded however long it runs and whatever its
//! clients send (`transcript-memory-events`, `transcript-memory-size`).
//!
//! Structural events stay in memory for good: joins (a re-attaching party's user data,
//! the original nickname, the creator's initial user data), leaves (why a party left;
//! where a gone party's view ends) and read confirmations (a newer one annihilates the
//! older). Joins are bounded by the transcript limits, and a party has at most one read
//! confirmation.
//!
//! Only events the store already holds leave memory (`trim` takes the committed id), so
//! a reader that needs older ones asks [`Session::older_range`] and passes what the store
//! returns to the readers here; the rules of who sees what stay in the core.

use super::Session;
use crate::event::{Event, EventBody, ORIGINAL_NICKNAME_KEY};
use crate::ids::EventId;
use crate::PartyId;

/// Whether an event stays in memory for the session's whole life.
fn structural(e: &Event) -> bool {
    matches!(
        e.body,
        EventBody::NewParty { .. } | EventBody::PartyLeft { .. }
    ) || e.is_read_confirm()
}

/// What the window holds now: the messages and notices that may leave memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct WindowUse {
    events: usize,
    bytes: usize,
}

impl WindowUse {
    pub(super) fn add(&mut self, e: &Event) {
        if !structural(e) {
            self.events += 1;
            self.bytes += e.text_bytes();
        }
    }
    pub(super) fn remove(&mut self, e: &Event) {
        if !structural(e) {
            self.events = self.events.saturating_sub(1);
            self.bytes = self.bytes.saturating_sub(e.text_bytes());
        }
    }
}

impl Session {
    /// Lets the messages and notices stored up to `committed` leave memory once the
    /// window is over its bounds, down to three quarters of them (so the transcript is
    /// compacted now and then, not on every event). Only the shell knows what is stored,
    /// so only it calls this; with nothing stored (`transcript-auto-save = off`) it
    /// must not.
    pub fn trim(&mut self, committed: EventId) {
        let l = &self.settings.limits;
        if self.window_use.events <= l.window_events && self.window_use.bytes <= l.window_bytes {
            return;
        }
        let (keep_events, keep_bytes) = (l.window_events * 3 / 4, l.window_bytes * 3 / 4);
        let mut over = self.window_use;
        let mut cutoff = self.trimmed_upto;
        for e in &self.transcript {
            if over.events <= keep_events && over.bytes <= keep_bytes || e.id > committed {
                break;
            }
            if !structural(e) {
                over.remove(e);
                cutoff = e.id;
            }
        }
        if cutoff == self.trimmed_upto {
            return;
        }
        self.transcript.retain(|e| structural(e) || e.id > cutoff);
        self.window_use = over;
        self.trimmed_upto = cutoff;
    }

    /// The ids, `(after, upto]`, whose messages and notices a reader starting after
    /// `after` must fetch from the store; `None` when memory holds them all.
    pub fn older_range(&self, after: EventId) -> Option<(EventId, EventId)> {
        (after < self.trimmed_upto).then_some((after, self.trimmed_upto))
    }

    /// The kept events after `after` that `viewer` may see, in id order: what a resuming
    /// client missed. `older` is what the store returned for [`Session::older_range`]
    /// (empty when that is `None`); of it only the events memory no longer holds count,
    /// so the structural events are always memory's (annihilations included).
    pub fn replay_for<'a>(
        &'a self,
        viewer: &PartyId,
        after: EventId,
        older: &'a [Event],
    ) -> Vec<&'a Event> {
        let Some(party) = self.party(viewer) else {
            return Vec::new();
        };
        let from_store = older
            .iter()
            .filter(|e| e.id > after && e.id <= self.trimmed_upto && !structural(e));
        let start = self.transcript.partition_point(|e| e.id <= after);
        let mut events: Vec<&Event> = from_store.chain(&self.transcript[start..]).collect();
        if !older.is_empty() {
            events.sort_by_key(|e| e.id);
        }
        events.retain(|e| self.visible_to(party, e));
        events
    }

    /// The whole kept transcript, for the final record: `older` (the store's events up
    /// to [`Session::older_range`] from 0) merged with memory, messages masked when
    /// masking is on (the final transcript is always masked), and each join event of a
    /// party that changed its nickname records the original (`GCTI_Original_Nickname`).
    pub fn full_transcript(&self, older: Vec<Event>) -> Vec<Event> {
        let mask = self.masks_final();
        let mut all: Vec<Event> = older
            .into_iter()
            .filter(|e| e.id <= self.trimmed_upto && !structural(e))
            .chain(self.transcript.iter().cloned())
            .map(|e| match &e.pii {
                Some(_) if mask => e.masked().into_owned(),
                _ => e,
            })
            .collect();
        all.sort_by_key(|e| e.id);
        for party in &self.parties {
            let Some(original) = &party.original_nickname else {
                continue;
            };
            if let Some(EventBody::NewParty { user_data, .. }) = all
                .iter_mut()
                .find(|e| e.id == party.join_event)
                .map(|e| &mut e.body)
            {
                user_data
                    .entry(ORIGINAL_NICKNAME_KEY.to_owned())
                    .or_insert_with(|| original.clone());
            }
        }
        all
    }

    /// The highest id of a message or notice that has left memory (0 when none has).
    pub fn trimmed_upto(&self) -> EventId {
        self.trimmed_upto
    }
}
