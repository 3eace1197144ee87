//! The one pass over a finished transcript: who joined as what, who was present when
//! (the customer's time, the agents' handle periods), the messages the customer saw, the
//! idle gaps while an agent was present, and the turns of the conversation for
//! `turns.rs`.

use std::collections::{BTreeSet, HashMap};

use super::roles::{Role, Roster};
use super::{span_ms, MessageTally, Tally};
use crate::event::{Event, EventBody, NoticeType};
use crate::ids::{PartyId, UnixMillis};
use crate::party::Visibility;
use crate::session::{FILE_DELETED, FILE_UPLOADED};

/// Which side of the conversation a message is from (bots, coaches and monitors take no
/// turns: the seed's wait and reply times are the customer's and the agents').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// A customer.
    Customer,
    /// A visible agent.
    Agent,
}

/// What one pass over the transcript found.
#[derive(Debug, Default)]
pub(super) struct Walked {
    pub(super) roster: Roster,
    pub(super) from_agents: MessageTally,
    pub(super) from_customers: MessageTally,
    pub(super) from_bots: MessageTally,
    pub(super) first_agent: Option<UnixMillis>,
    pub(super) first_reply: Option<UnixMillis>,
    pub(super) first_bot: Option<UnixMillis>,
    /// Time with at least one customer present (`None`: no customer ever joined).
    pub(super) with_customer_ms: Option<u64>,
    pub(super) handle: Tally,
    pub(super) active_idle: Tally,
    /// The customer-visible messages of the customer and the agents, in order.
    pub(super) turns: Vec<(UnixMillis, Side)>,
}

/// Presence and idleness as the pass goes.
#[derive(Default)]
struct Clock {
    roles: HashMap<PartyId, Role>,
    present: BTreeSet<PartyId>,
    customer_since: Option<UnixMillis>,
    handle_since: Option<UnixMillis>,
    last_activity: Option<UnixMillis>,
}

/// Walks `transcript` (in id order) of a session created at `created_at` and closed at
/// `closed_at`; `idle_threshold_ms` is the inactivity threshold of `cse_ActiveIdle*`.
pub(super) fn walk(
    transcript: &[Event],
    created_at: UnixMillis,
    closed_at: UnixMillis,
    idle_threshold_ms: Option<u64>,
) -> Walked {
    let mut w = Walked::default();
    let mut c = Clock::default();
    // No event is earlier than the session: a clock that stepped back is clamped.
    let mut now = created_at;
    for event in transcript {
        now = now.max(event.at);
        let role = Role::of_join(event)
            .or_else(|| c.roles.get(&event.from).copied())
            .unwrap_or(Role::Other);
        if is_activity(event, role) && c.handle_since.is_some() {
            w.idle_gap(&c, now, idle_threshold_ms);
            c.last_activity = Some(now);
        }
        match &event.body {
            EventBody::NewParty { .. } => {
                w.roster.add(role, event);
                c.roles.insert(event.from.clone(), role);
                c.present.insert(event.from.clone());
                match role {
                    Role::Agent => w.first_agent = w.first_agent.or(Some(now)),
                    Role::Bot => w.first_bot = w.first_bot.or(Some(now)),
                    _ => {}
                }
            }
            EventBody::PartyLeft { .. } => {
                c.present.remove(&event.from);
            }
            EventBody::Message { text, .. } => w.message(&c, event, role, text, now),
            EventBody::Notice { .. } => {}
        }
        w.presence_changed(&mut c, now, idle_threshold_ms);
    }
    // Whatever is still open ends with the session.
    let end = now.max(closed_at);
    c.present.clear();
    w.presence_changed(&mut c, end, idle_threshold_ms);
    w
}

impl Walked {
    /// Counts a message by who sent it and whether the customer sees it.
    fn message(&mut self, c: &Clock, event: &Event, role: Role, text: &str, now: UnixMillis) {
        let chars = text.chars().count() as u64;
        let add = |t: &mut MessageTally| {
            t.count += 1;
            t.chars += chars;
        };
        let seen_by_customer = event.visibility == Visibility::All
            && event
                .receiver
                .as_ref()
                .is_none_or(|r| c.roles.get(r) == Some(&Role::Customer));
        match role {
            Role::Customer => {
                add(&mut self.from_customers);
                self.turns.push((now, Side::Customer));
            }
            Role::Agent if seen_by_customer => {
                add(&mut self.from_agents);
                self.first_reply = self.first_reply.or(Some(now));
                self.turns.push((now, Side::Agent));
            }
            Role::Bot if seen_by_customer => add(&mut self.from_bots),
            _ => {}
        }
    }

    /// Opens or closes the customer's and the agents' periods after a join or a leave.
    fn presence_changed(&mut self, c: &mut Clock, now: UnixMillis, threshold: Option<u64>) {
        let any = |role: Role| c.present.iter().any(|p| c.roles.get(p) == Some(&role));
        match (c.customer_since, any(Role::Customer)) {
            (None, true) => {
                c.customer_since = Some(now);
                self.with_customer_ms.get_or_insert(0);
            }
            (Some(since), false) => {
                *self.with_customer_ms.get_or_insert(0) += span_ms(since, now);
                c.customer_since = None;
            }
            _ => {}
        }
        match (c.handle_since, any(Role::Agent)) {
            (None, true) => {
                c.handle_since = Some(now);
                c.last_activity = Some(now);
            }
            (Some(since), false) => {
                // The quiet time before the period's end is idle too.
                self.idle_gap(c, now, threshold);
                self.handle.add(span_ms(since, now));
                c.handle_since = None;
                c.last_activity = None;
            }
            _ => {}
        }
    }

    /// Counts the time since the last activity as idle if it passed the threshold.
    fn idle_gap(&mut self, c: &Clock, now: UnixMillis, threshold: Option<u64>) {
        if let (Some(threshold), Some(last)) = (threshold, c.last_activity) {
            let gap = span_ms(last, now);
            if gap > threshold {
                self.active_idle.add(gap);
            }
        }
    }
}

/// Whether an event counts as activity for inactivity control (the seed's `[inactivity-
/// control]` with its default `include-notices = major`): an event every party sees, not
/// from a bot — a join, a leave, a message, a pushed URL, a file uploaded or deleted.
fn is_activity(event: &Event, role: Role) -> bool {
    if event.visibility != Visibility::All || role == Role::Bot {
        return false;
    }
    match &event.body {
        EventBody::NewParty { .. } | EventBody::PartyLeft { .. } | EventBody::Message { .. } => {
            true
        }
        EventBody::Notice {
            notice_type, text, ..
        } => match notice_type {
            NoticeType::UserPushedUrl => true,
            NoticeType::SysCommand => text
                .as_deref()
                .is_some_and(|t| t == FILE_UPLOADED || t == FILE_DELETED),
            NoticeType::TypingStarted
            | NoticeType::TypingStopped
            | NoticeType::UserCustom
            | NoticeType::UserUpdateNick
            | NoticeType::IdleControlAlert
            | NoticeType::IdleControlClose
            | NoticeType::IdleControlSet => false,
        },
    }
}
