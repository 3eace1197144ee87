//! Session restoration (`session-restoration-mode = simple`): rebuild a session from its
//! stored transcript after a crash, a restart or the failure of another instance.
//!
//! The seed's normalisation: read confirmations are annihilated, and every party that was
//! present is marked removed (reason code 8). A party that comes back is shown joining
//! again. Event ids continue after the highest id ever allocated, so none is reused.

use super::{Effect, Session, SessionSettings};
use crate::event::{Event, EventBody, LeftReason, NoticeType, ORIGINAL_NICKNAME_KEY};
use crate::ids::{EventId, SessionId, UnixMillis};
use crate::party::{AfterAction, Party, Visibility};
use crate::secret::SessionPassword;

/// What the store holds about a session that was alive.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The session.
    pub id: SessionId,
    /// When it was created.
    pub created_at: UnixMillis,
    /// Its password, if any.
    pub password: Option<SessionPassword>,
    /// The kept events, in id order.
    pub events: Vec<Event>,
    /// The highest event id ever allocated (transient events included).
    pub last_event_id: EventId,
}

impl Session {
    /// Rebuilds a session and normalises it. The effects (annihilations, removals) must be
    /// carried out like any others.
    pub fn restore(
        stored: Stored,
        settings: SessionSettings,
        now: UnixMillis,
    ) -> (Session, Vec<Effect>) {
        let mut s = Session::empty(stored.id, stored.created_at, settings, stored.password);
        let mut max_id = stored.last_event_id;
        for event in stored.events {
            max_id = max_id.max(event.id);
            let replayed = event.clone();
            s.replay(event);
            s.idle_replay(&replayed);
        }
        s.next_id = max_id.next();

        let mut effects = s.annihilate(|e| e.is_read_confirm());
        let present: Vec<(crate::PartyId, Visibility)> = s
            .parties
            .iter()
            .filter(|p| p.present)
            .map(|p| (p.id.clone(), p.visibility))
            .collect();
        for (id, visibility) in present {
            let body = EventBody::PartyLeft {
                reason: LeftReason::Restoration,
                after_action: AfterAction::KeepAlive,
                text: None,
                asker: None,
            };
            effects.push(s.emit(now, id.clone(), visibility, None, body, true));
            if let Some(p) = s.parties.iter_mut().find(|p| p.id == id) {
                p.present = false;
            }
        }
        // Whether an agent took part is read again from the transcript now that the
        // restoration's removals are in it (the seed's corner case: an agent removed by a
        // restoration before anyone wrote a line was never really in the chat).
        s.end.agent_joined = crate::stats::agent_visited(&s.transcript);
        s.orphan_since = Some(now);
        s.idle_after(now, &effects);
        // A restored session starts with nobody attached to this instance: no party was
        // present before the restoration, and none is after it.
        s.address(&mut effects, &[]);
        (s, effects)
    }

    /// A read-only view of a closed session from its final transcript, to answer late
    /// reads (a customer's last refresh after an agent closed the chat).
    pub fn closed_view(
        id: SessionId,
        created_at: UnixMillis,
        settings: SessionSettings,
        events: Vec<Event>,
        end: super::EndInfo,
    ) -> Session {
        let mut s = Session::empty(id, created_at, settings, None);
        let mut max_id = EventId(0);
        for event in events {
            max_id = max_id.max(event.id);
            s.replay(event);
        }
        s.next_id = max_id.next();
        for p in &mut s.parties {
            p.present = false;
        }
        s.over = Some(end);
        s
    }

    /// Applies one stored event to the party list and the transcript, without checks:
    /// it was checked when it first happened.
    fn replay(&mut self, event: Event) {
        match &event.body {
            EventBody::NewParty {
                nickname,
                party_type,
                style,
                protocol,
                client_version,
                person_id,
                key_hash,
                user_data,
                ..
            } => {
                // A party that came back after an earlier restoration was shown joining
                // with the user data of its first join, which records its original
                // nickname if it had changed it (see `attach`).
                let original_nickname = user_data.get(ORIGINAL_NICKNAME_KEY).cloned();
                let party = Party {
                    id: event.from.clone(),
                    nickname: nickname.clone(),
                    original_nickname,
                    party_type: *party_type,
                    visibility: event.visibility,
                    style: *style,
                    protocol: *protocol,
                    client_version: *client_version,
                    key_hash: *key_hash,
                    person_id: person_id.clone(),
                    joined_at: event.at,
                    present: true,
                    detached_since: None,
                    join_event: event.id,
                };
                if party.is_visible_agent() && party.visibility == Visibility::All {
                    self.end.agent_joined = true;
                }
                match self.parties.iter_mut().find(|p| p.id == party.id) {
                    Some(old) => *old = party,
                    None => self.parties.push(party),
                }
                self.record(&event, true);
            }
            EventBody::PartyLeft { reason, .. } => {
                if let Some(p) = self.parties.iter_mut().find(|p| p.id == event.from) {
                    p.present = false;
                    if p.party_type == crate::PartyType::Client
                        && *reason != LeftReason::Restoration
                        && self.end.client_left.is_none()
                    {
                        self.end.client_left = Some(super::EndedReason::of_leave(*reason));
                    }
                }
                self.record(&event, true);
            }
            EventBody::Notice {
                notice_type: NoticeType::UserUpdateNick,
                text: Some(nick),
                ..
            } => {
                let (from, nick) = (event.from.clone(), nick.clone());
                self.record(&event, true);
                self.rename(&from, &nick);
            }
            EventBody::Notice {
                notice_type: NoticeType::SysCommand,
                text: Some(cmd),
                user_data,
                ..
            } if cmd == super::FILE_UPLOADED || cmd == super::FILE_DELETED => {
                let file_id = user_data.get("file-id").and_then(|s| s.parse::<u64>().ok());
                let (from, data, uploaded) = (
                    event.from.clone(),
                    user_data.clone(),
                    cmd == super::FILE_UPLOADED,
                );
                self.record(&event, true);
                match (file_id, uploaded) {
                    (Some(id), true) => self.apply_upload(&from, id, &data),
                    (Some(id), false) => self.apply_delete(id),
                    (None, _) => {}
                }
            }
            _ => self.record(&event, true),
        }
    }
}
