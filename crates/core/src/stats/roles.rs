//! Who each party is for reporting, decided from its join event: the customer, an agent
//! (human, visible), a coach, a monitor, a bot, or none of these (workflow and system
//! parties). A party that joins again in another mode (a monitor who barges in) counts
//! in both; a party that joins again in the same mode counts once.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{Event, EventBody, LeftReason};
use crate::ids::PartyId;
use crate::party::{PartyStyle, PartyType, Visibility};

/// A party's part in a chat, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A customer.
    Customer,
    /// A human agent or supervisor the customer sees (joined `ALL`).
    Agent,
    /// A human agent or supervisor coaching (joined `VIP`).
    Coach,
    /// A human agent or supervisor monitoring silently (joined `INT`).
    Monitor,
    /// A bot (`GCTI_Chat_SetPartyStyle=BOT`), whatever its visibility.
    Bot,
    /// A workflow (ESP) or system party: in no statistic of parties.
    Other,
}

impl Role {
    /// The role of a party that joined as `party_type` in `style` with `visibility`.
    pub fn of(party_type: PartyType, style: PartyStyle, visibility: Visibility) -> Role {
        match (party_type, style, visibility) {
            (PartyType::Client, _, _) => Role::Customer,
            (PartyType::External | PartyType::System, _, _) => Role::Other,
            (PartyType::Agent | PartyType::Supervisor, PartyStyle::Bot, _) => Role::Bot,
            (PartyType::Agent | PartyType::Supervisor, PartyStyle::Normal, Visibility::All) => {
                Role::Agent
            }
            (PartyType::Agent | PartyType::Supervisor, PartyStyle::Normal, Visibility::Vip) => {
                Role::Coach
            }
            (PartyType::Agent | PartyType::Supervisor, PartyStyle::Normal, Visibility::Int) => {
                Role::Monitor
            }
        }
    }

    /// The role a join event gives its party (`None` for any other event).
    pub fn of_join(event: &Event) -> Option<Role> {
        match &event.body {
            EventBody::NewParty {
                party_type, style, ..
            } => Some(Role::of(*party_type, *style, event.visibility)),
            _ => None,
        }
    }
}

/// The unique parties seen in each role. A party is known by its agent login when it has
/// one (an agent who comes back under a new user id is the same agent), else by its id.
#[derive(Debug, Default)]
pub(super) struct Roster {
    seen: BTreeMap<Role, BTreeSet<String>>,
}

impl Roster {
    /// Records that the party of this join event took part in `role`.
    pub(super) fn add(&mut self, role: Role, event: &Event) {
        let key = match &event.body {
            EventBody::NewParty {
                person_id: Some(login),
                ..
            } if !login.is_empty() => format!("login:{login}"),
            _ => format!("id:{}", event.from),
        };
        self.seen.entry(role).or_default().insert(key);
    }

    /// How many unique parties took part in `role`.
    pub(super) fn count(&self, role: Role) -> u64 {
        self.seen.get(&role).map_or(0, |s| s.len() as u64)
    }
}

/// Whether a visible human agent took part, for `csg_SessionEndedAgent` (`VISITED` rather
/// than `ABSENT`): some agent joined, except that — the seed's restoration corner case —
/// an agent whose stay ended only because the session was restored, before any party had
/// sent a single message, does not count.
pub fn agent_visited(transcript: &[Event]) -> bool {
    let mut any_message = false;
    // Agents whose current stay would count if it ended now.
    let mut staying: BTreeMap<&PartyId, bool> = BTreeMap::new();
    let mut visited = false;
    for event in transcript {
        match &event.body {
            EventBody::Message { .. } => any_message = true,
            EventBody::NewParty { .. } => {
                if Role::of_join(event) == Some(Role::Agent) {
                    staying.insert(&event.from, true);
                }
            }
            EventBody::PartyLeft { reason, .. } => {
                if staying.remove(&event.from).is_some()
                    && (*reason != LeftReason::Restoration || any_message)
                {
                    visited = true;
                }
            }
            EventBody::Notice { .. } => {}
        }
    }
    // An agent still in the chat took part.
    visited || !staying.is_empty()
}
