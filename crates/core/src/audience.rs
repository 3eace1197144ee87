//! Who may see an event. One function decides it for live delivery, for replay on
//! resume and for every stored transcript view, so the three cannot disagree.
//!
//! The rules (seed guide, ESP `Visibility`; choices written down in `docs/decisions.md`):
//! - a direct event (`receiver` set) is seen by its sender and its receiver only, and by
//!   the receiver only if the event's visibility admits it (so never `INT` to a customer);
//! - `ALL` is seen by every party;
//! - `INT` by agents and supervisors (never by a customer), and by its sender;
//! - `VIP` by supervisors and by coaches (parties joined with `VIP`), and by its sender;
//! - a party never sees an event its client version cannot represent.
//!
//! The live audience (who an event is delivered to as it happens, `Effect::Emit`'s
//! `audience`) adds presence, decided once the whole input is applied: every party that
//! is present after the input, or was present when the input arrived, and that may see
//! the event. So a leaver sees its own leave event, and a party removed by a close sees
//! the rest of that close. Parties that left earlier get nothing live; they replay
//! what they may see.
//!
//! What a viewer sees of an event it may see (resolved sender, version caps, sender-only
//! ids) is the projection in [`crate::view`].

use crate::event::{Event, EventBody, NoticeType};
use crate::ids::PartyId;
use crate::party::{ClientVersion, Party, PartyType, Visibility};

/// The facts about a viewer that the audience rules need.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The viewer's id.
    pub id: &'a PartyId,
    /// Its kind.
    pub party_type: PartyType,
    /// How it joined.
    pub joined_as: Visibility,
    /// Its capability level.
    pub version: ClientVersion,
}

impl<'a> From<&'a Party> for Viewer<'a> {
    fn from(p: &'a Party) -> Self {
        Viewer {
            id: &p.id,
            party_type: p.party_type,
            joined_as: p.visibility,
            version: p.client_version,
        }
    }
}

/// Whether `viewer` may see `event` (visibility, direct receiver, client version).
/// `sender_type` is the kind of the party the event is from.
pub fn can_see(viewer: Viewer<'_>, event: &Event, sender_type: PartyType) -> bool {
    if !version_can_represent(viewer.version, event, sender_type) {
        return false;
    }
    if &event.from == viewer.id {
        return true;
    }
    if let Some(receiver) = &event.receiver {
        if receiver != viewer.id {
            return false;
        }
    }
    admits(viewer, event.visibility)
}

/// Whether `viewer` is in the audience of `visibility` (as a non-sender). A direct
/// event's receiver must be too: a direct `INT` event never reaches a customer.
pub fn admits(viewer: Viewer<'_>, visibility: Visibility) -> bool {
    match visibility {
        Visibility::All => true,
        Visibility::Int => viewer.party_type.is_staff(),
        Visibility::Vip => {
            viewer.party_type == PartyType::Supervisor || viewer.joined_as == Visibility::Vip
        }
    }
}

/// Whether `viewer` may know that `party` takes part: the rule of the party's own join
/// event (a silent monitor is invisible to the customer; a coach to all but supervisors
/// and other coaches).
pub fn can_see_party(viewer: Viewer<'_>, party: &Party) -> bool {
    if &party.id == viewer.id {
        return true;
    }
    match party.visibility {
        Visibility::All => true,
        Visibility::Int => viewer.party_type.is_staff(),
        Visibility::Vip => {
            viewer.party_type == PartyType::Supervisor || viewer.joined_as == Visibility::Vip
        }
    }
}

/// Whether a client of `version` has the event type at all: a client never receives an
/// event type newer than the version it registered with.
pub fn version_can_represent(version: ClientVersion, event: &Event, sender: PartyType) -> bool {
    if sender == PartyType::System && version < ClientVersion::V103 {
        // Before 103 there is no SYSTEM party nor idle notice: an inactivity alert or
        // close with a text reaches such a client as a plain message (see `view.rs`).
        return plain_idle_text(event).is_some();
    }
    match &event.body {
        EventBody::Notice { notice_type, .. } => version >= notice_type.min_version(),
        _ => true,
    }
}

/// The visibility a party's message or notice really gets: a party that monitors or
/// coaches (joined `INT` or `VIP`) never reaches the customer, so its `ALL` becomes `INT`.
pub fn effective_visibility(sender_joined_as: Visibility, requested: Visibility) -> Visibility {
    match sender_joined_as {
        Visibility::All => requested,
        Visibility::Int | Visibility::Vip => requested.narrower(Visibility::Int),
    }
}

/// The text of a server inactivity alert or close, which a client older than 103 is
/// shown as a plain message; `None` for any other event or when it has no text.
pub fn plain_idle_text(event: &Event) -> Option<&str> {
    match &event.body {
        EventBody::Notice {
            notice_type: NoticeType::IdleControlAlert | NoticeType::IdleControlClose,
            text: Some(t),
            ..
        } if !t.is_empty() => Some(t),
        _ => None,
    }
}
