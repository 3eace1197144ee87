//! What one viewer sees: the per-viewer projection of events and of the session.
//!
//! [`crate::audience`] decides *whether* a party sees an event; this module decides *what*
//! it sees of it: the sender resolved (nickname, type, participant number, bot), the
//! fields its client version cannot take left out, the sender's idempotency id shown to
//! the sender only, the `GCTI_SYSTEM` attributes as typed values. The front doors (basic,
//! flex, GMS) only render these values, so a rule changes here once for every protocol,
//! and this is where masking per viewer belongs.
//!
//! The rules, by client version (seed guide, ClientVersion table):
//! - 104: user data on notice events (an empty one is never shown);
//! - 105: the `monitored` session attribute, told to staff only;
//! - 106: `GCTI_SYSTEM` event attributes: a bot sender (`party-info`), a leave's reason
//!   code (`quit-reason-code`), what masking replaced in the text shown (`pii-cleanup`).
//!
//! Masking (see [`crate::mask::MaskPolicy`]): a message whose event carries
//! [`crate::Pii`] is shown in clear to the parties chosen when it was sent, masked to
//! everyone else, with the positions masked reported only with a masked text.

use crate::audience::{can_see_party, Viewer};
use crate::event::{Event, EventBody};
use crate::ids::{EventId, PartyId, SessionId, UnixMillis};
use crate::mask::Hit;
use crate::party::{ClientVersion, Party, PartyStyle, PartyType, Visibility};
use crate::secret::SessionPassword;
use crate::session::Session;

/// The nickname shown for an event whose sender is not a party (the server's own).
pub const SYSTEM_NICKNAME: &str = "system";

/// Which attributes a client of a given version may receive (attributes newer than the
/// version are left out of what it is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionCaps {
    /// User data on notice events (104).
    pub notice_user_data: bool,
    /// The `monitored` session attribute (105).
    pub monitored: bool,
    /// `eventAttributes` on events (106).
    pub event_attributes: bool,
}

impl VersionCaps {
    /// The capabilities of `version`.
    pub fn of(version: ClientVersion) -> VersionCaps {
        VersionCaps {
            notice_user_data: version >= ClientVersion::V104,
            monitored: version >= ClientVersion::V105,
            event_attributes: version >= ClientVersion::V106,
        }
    }
}

/// The party an event is from, as a viewer is shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Its nickname: the one in the event for a join (the nickname it joined with), its
    /// current one otherwise, [`SYSTEM_NICKNAME`] when it is not a party.
    pub nickname: String,
    /// Its kind (`System` when it is not a party).
    pub party_type: PartyType,
    /// Its 1-based number in the order of first joins (GMS `participantId`); `None` when
    /// it is not a party. A party that rejoins keeps its number.
    pub participant: Option<u32>,
    /// Whether it is a bot.
    pub bot: bool,
}

/// The `GCTI_SYSTEM` event attributes a viewer gets (ClientVersion 106).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemAttributes {
    /// The sender is a bot (`party-info` with style `BOT`).
    pub bot: bool,
    /// A leave's reason code (`quit-reason-code`, [`crate::LeftReason::code`]).
    pub quit_reason_code: Option<u8>,
    /// What masking replaced in the text this viewer is shown (`pii-cleanup`); empty
    /// when it is shown in clear or nothing was masked.
    pub pii: Vec<Hit>,
}

/// One event as one viewer sees it: everything a front door needs to render it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventView {
    /// Position in the session.
    pub id: EventId,
    /// When it happened.
    pub at: UnixMillis,
    /// Whole seconds since the session started (Genesys `timeShift`).
    pub time_shift: u64,
    /// The party it is from or about.
    pub from: PartyId,
    /// That party, resolved.
    pub sender: Sender,
    /// Who may see it.
    pub visibility: Visibility,
    /// The receiver of a direct event.
    pub receiver: Option<PartyId>,
    /// What it says, with the viewer's rules applied: the client message id only for
    /// the sender, notice user data only from 104, never a party's key digest.
    pub body: EventBody,
    /// `GCTI_SYSTEM` attributes: `None` when none apply or the viewer is below 106.
    pub system: Option<SystemAttributes>,
}

/// A present party as listed to a viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyView {
    /// Its id.
    pub id: PartyId,
    /// Its current nickname.
    pub nickname: String,
    /// Its kind.
    pub party_type: PartyType,
    /// How it takes part (visibly, monitoring, coaching).
    pub visibility: Visibility,
    /// Whether it is a bot.
    pub bot: bool,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        PartyView {
            id: p.id.clone(),
            nickname: p.nickname.clone(),
            party_type: p.party_type,
            visibility: p.visibility,
            bot: p.style == PartyStyle::Bot,
        }
    }
}

/// What a party gets when it joins, resumes or creates the session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSnapshot {
    /// The session.
    pub session_id: SessionId,
    /// When it started.
    pub created_at: UnixMillis,
    /// The newest durable event id (the snapshot's `upto`).
    pub last_event_id: EventId,
    /// The session password: for the creator only.
    pub password: Option<SessionPassword>,
    /// Whether someone monitors silently: for staff from 105 only.
    pub monitored: Option<bool>,
    /// The present parties the viewer may know of, in join order.
    pub parties: Vec<PartyView>,
    /// The kept events after `after` up to `upto` the viewer may see.
    pub events: Vec<EventView>,
}

impl Session {
    /// `event` as `viewer` sees it; `None` when the viewer may not see it.
    pub fn view_for(&self, event: &Event, viewer: &Party) -> Option<EventView> {
        self.visible_to(viewer, event)
            .then(|| self.project(event, viewer))
    }

    /// `event` as `viewer` would see it, without asking whether it may: for a caller
    /// that has already decided (an `Emit`'s audience, a replay). Prefer
    /// [`Session::view_for`].
    pub fn project(&self, event: &Event, viewer: &Party) -> EventView {
        let caps = VersionCaps::of(viewer.client_version);
        let party = self.party(&event.from);
        let bot = party.is_some_and(|p| p.style == PartyStyle::Bot);
        let nickname = match &event.body {
            EventBody::NewParty { nickname, .. } => nickname.clone(),
            _ => party.map_or_else(|| SYSTEM_NICKNAME.to_owned(), |p| p.nickname.clone()),
        };
        let participant = self
            .parties()
            .iter()
            .position(|p| p.id == event.from)
            .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX));
        let quit_reason_code = match &event.body {
            EventBody::PartyLeft { reason, .. } => Some(reason.code()),
            _ => None,
        };
        let mut body = body_for(&event.body, event.from == viewer.id, caps);
        let mut pii = Vec::new();
        if let Some(found) = &event.pii {
            if !found.clear_for(&viewer.id) {
                if let (Some(masked), EventBody::Message { text, .. }) = (&found.masked, &mut body)
                {
                    text.clone_from(masked);
                }
                pii.clone_from(&found.hits);
            }
        }
        let system = (caps.event_attributes
            && (bot || quit_reason_code.is_some() || !pii.is_empty()))
        .then_some(SystemAttributes {
            bot,
            quit_reason_code,
            pii,
        });
        EventView {
            id: event.id,
            at: event.at,
            time_shift: event.at.secs_since(self.created_at()),
            from: event.from.clone(),
            sender: Sender {
                nickname,
                party_type: self.sender_type(&event.from),
                participant,
                bot,
            },
            visibility: event.visibility,
            receiver: event.receiver.clone(),
            body,
            system,
        }
    }

    /// What `party` gets on join, resume or creation: the present parties it may know
    /// of and the events after `after`, up to the durable `upto`, that it may see. Only
    /// the `creator`'s snapshot holds the password. `older` is what the store returned
    /// for [`Session::older_range`] of `after` (see [`Session::replay_for`]).
    pub fn snapshot_for(
        &self,
        party: &PartyId,
        after: EventId,
        upto: EventId,
        creator: bool,
        older: &[Event],
    ) -> SessionSnapshot {
        let viewer = self.party(party);
        let (parties, events) = match viewer {
            Some(v) => (
                self.parties()
                    .iter()
                    .filter(|p| p.present && can_see_party(Viewer::from(v), p))
                    .map(PartyView::from)
                    .collect(),
                self.replay_for(party, after, older)
                    .into_iter()
                    .take_while(|e| e.id <= upto)
                    .map(|e| self.project(e, v))
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        SessionSnapshot {
            session_id: self.id().clone(),
            created_at: self.created_at(),
            last_event_id: upto,
            password: self.password().filter(|_| creator).cloned(),
            monitored: viewer.and_then(|v| self.monitored_for(v)),
            parties,
            events,
        }
    }

    /// The `monitored` attribute for `viewer`: from 105, and only staff are told (a
    /// customer must not learn that someone listens in).
    pub fn monitored_for(&self, viewer: &Party) -> Option<bool> {
        (VersionCaps::of(viewer.client_version).monitored && viewer.party_type.is_staff())
            .then(|| self.monitored())
    }
}

/// An event body with a viewer's rules applied: the idempotency id is the sender's own,
/// notice user data needs 104, and a key digest never leaves the server.
fn body_for(body: &EventBody, mine: bool, caps: VersionCaps) -> EventBody {
    let mut body = body.clone();
    match &mut body {
        EventBody::NewParty { key_hash, .. } => *key_hash = None,
        EventBody::PartyLeft { .. } => {}
        EventBody::Message { client_msg_id, .. } => {
            if !mine {
                *client_msg_id = None;
            }
        }
        EventBody::Notice {
            user_data,
            client_msg_id,
            ..
        } => {
            if !mine {
                *client_msg_id = None;
            }
            if !caps.notice_user_data {
                user_data.clear();
            }
        }
    }
    body
}
