//! The model of what the shell holds (parties, stored transcript, ids, remembered client
//! ids) and the oracle that says who may see an event, written from the seed's rules
//! independently of `parley_core::audience`. It is fed only with the effects the
//! session returns, and checks each one as it goes.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use parley_core::event::{LAST_EVENT_ID_KEY, PARTY_STYLE_KEY, SESSION_PASSWORD_KEY};
use parley_core::{
    ClientMsgId, Effect, Event, EventBody, EventId, LeftReason, NoticeType, PartyId, PartyStyle,
    PartyType, UnixMillis, Visibility,
};
use proptest::prelude::*;

/// What the shell knows of a party.
#[derive(Debug, Clone)]
pub(crate) struct MParty {
    pub(crate) party_type: PartyType,
    pub(crate) joined: Visibility,
    pub(crate) version: u16,
    pub(crate) style: PartyStyle,
    pub(crate) present: bool,
    pub(crate) nickname: String,
    /// The nickname before the first change, once there was one.
    pub(crate) original: Option<String>,
    pub(crate) join_event: EventId,
    pub(crate) left_for: Option<LeftReason>,
    pub(crate) detached_since: Option<UnixMillis>,
}

impl MParty {
    /// A human agent or supervisor taking part visibly (seed: reporting's "agent").
    pub(crate) fn is_visible_agent(&self) -> bool {
        matches!(self.party_type, PartyType::Agent | PartyType::Supervisor)
            && self.style == PartyStyle::Normal
            && self.joined == Visibility::All
    }
}

#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) save_all: bool,
    pub(crate) parties: BTreeMap<PartyId, MParty>,
    pub(crate) kept: Vec<Event>,
    pub(crate) last_id: u64,
    pub(crate) closed: bool,
    /// Set while the effects of an `Attach` are applied.
    pub(crate) attaching: bool,
    /// The idempotency window: (sender, client id) -> event id, oldest first.
    window: usize,
    recent: VecDeque<(PartyId, ClientMsgId)>,
    pub(crate) cids: HashMap<(PartyId, ClientMsgId), EventId>,
    /// Since when a restored session has waited for anyone to come back.
    pub(crate) orphan_since: Option<UnixMillis>,
    /// The parties present when the current step's input arrived.
    before: BTreeSet<PartyId>,
}

/// The lowest client version that has this event at all (seed: ClientVersion table).
pub(crate) fn min_version(e: &Event, sender: PartyType) -> u16 {
    let by_type = match &e.body {
        EventBody::Notice { notice_type, .. } => match notice_type {
            NoticeType::UserUpdateNick => 102,
            NoticeType::IdleControlAlert
            | NoticeType::IdleControlClose
            | NoticeType::IdleControlSet => 103,
            NoticeType::SysCommand => 104,
            _ => 101,
        },
        _ => 101,
    };
    if sender == PartyType::System {
        by_type.max(103)
    } else {
        by_type
    }
}

/// The expected visibility of a message or notice: a monitor's or coach's `ALL` is `INT`.
pub(crate) fn effective(joined: Visibility, requested: Visibility) -> Visibility {
    match (joined, requested) {
        (Visibility::All, r) => r,
        (_, Visibility::All) => Visibility::Int,
        (_, r) => r,
    }
}

impl Model {
    pub(crate) fn new(save_all: bool, window: usize) -> Model {
        Model {
            save_all,
            parties: BTreeMap::new(),
            kept: Vec::new(),
            last_id: 0,
            closed: false,
            attaching: false,
            window,
            recent: VecDeque::new(),
            cids: HashMap::new(),
            orphan_since: None,
            before: BTreeSet::new(),
        }
    }

    /// Starts a step: remembers who is present as its input arrives.
    pub(crate) fn start_step(&mut self) {
        self.before = self
            .parties
            .iter()
            .filter(|(_, p)| p.present)
            .map(|(id, _)| id.clone())
            .collect();
    }

    /// Starts a restoration: a restored session has nobody attached to it, so nobody was
    /// present as it began.
    pub(crate) fn start_restore(&mut self) {
        self.before.clear();
    }

    /// Whether `id` was present at some point of the current step: when its input
    /// arrived or after it. Such a party receives the step's events live (if it may see
    /// them): a leaver sees its own leave, a party a close removes the rest of the close.
    pub(crate) fn live(&self, id: &PartyId) -> bool {
        self.present(id) || self.before.contains(id)
    }

    pub(crate) fn sender_type(&self, e: &Event) -> PartyType {
        self.parties
            .get(&e.from)
            .map_or(PartyType::System, |p| p.party_type)
    }

    /// Oracle: may `viewer` see `e`?
    pub(crate) fn may_see(&self, viewer: &PartyId, e: &Event) -> bool {
        let v = &self.parties[viewer];
        if v.version < min_version(e, self.sender_type(e)) {
            return false;
        }
        if &e.from == viewer {
            return true;
        }
        // A customer never sees INT or VIP; VIP is for supervisors and coaches.
        let admitted = match e.visibility {
            Visibility::All => true,
            Visibility::Int => matches!(v.party_type, PartyType::Agent | PartyType::Supervisor),
            Visibility::Vip => v.party_type == PartyType::Supervisor || v.joined == Visibility::Vip,
        };
        match &e.receiver {
            Some(r) => r == viewer && admitted,
            None => admitted,
        }
    }

    pub(crate) fn present(&self, id: &PartyId) -> bool {
        self.parties.get(id).is_some_and(|p| p.present)
    }

    /// The earliest reconnect deadline of a detached present party, or of a restored
    /// session that nobody has come back to.
    pub(crate) fn next_deadline(&self, reconnect_ms: u64) -> Option<UnixMillis> {
        self.parties
            .values()
            .filter(|p| p.present)
            .filter_map(|p| p.detached_since)
            .chain(self.orphan_since)
            .map(|t| t.plus_ms(reconnect_ms))
            .min()
    }

    fn remember(&mut self, key: (PartyId, ClientMsgId), id: EventId) {
        self.cids.insert(key.clone(), id);
        self.recent.push_back(key);
        while self.recent.len() > self.window {
            if let Some(old) = self.recent.pop_front() {
                self.cids.remove(&old);
            }
        }
    }

    /// After a restoration the session remembers the client ids of the stored events
    /// only (transient ones are forgotten), in their order, within the window.
    pub(crate) fn remember_stored(&mut self) {
        self.recent.clear();
        self.cids.clear();
        for e in self.kept.clone() {
            if let Some(c) = e.client_msg_id() {
                self.remember((e.from.clone(), c.clone()), e.id);
            }
        }
    }

    /// Applies effects as the shell would, checking ids, instants and annihilations.
    pub(crate) fn apply(
        &mut self,
        now: UnixMillis,
        effects: &[Effect],
    ) -> Result<(), TestCaseError> {
        // A read confirmation is only ever annihilated for a party that acts in the same
        // input: it sent a newer one, or it leaves.
        let actors: BTreeSet<&PartyId> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Emit { event, .. } => Some(&event.from),
                _ => None,
            })
            .collect();
        for (i, effect) in effects.iter().enumerate() {
            prop_assert!(!self.closed, "an effect after Closed: {:?}", effects);
            match effect {
                Effect::Emit { event, keep, .. } => self.emitted(now, event, *keep)?,
                Effect::Annihilate { id } => {
                    let pos = self.kept.iter().position(|e| e.id == *id);
                    prop_assert!(pos.is_some(), "annihilated {} is not stored", id);
                    let gone = self.kept.remove(pos.unwrap_or_default());
                    prop_assert!(gone.is_read_confirm());
                    prop_assert!(actors.contains(&gone.from), "{:?}", effects);
                }
                Effect::Duplicate { .. } => prop_assert_eq!(effects.len(), 1),
                Effect::DropDocument { .. } | Effect::ServeDocument(_) => {
                    return Err(TestCaseError::fail("no file input was made"));
                }
                Effect::Closed(info) => {
                    prop_assert_eq!(i, effects.len() - 1, "Closed must come last");
                    prop_assert_eq!(info.closed_at, now);
                    prop_assert!(self.parties.values().all(|p| !p.present));
                    self.closed = true;
                }
            }
        }
        // At most one read confirmation per party is stored, and none of a party gone.
        let mut confirmers = BTreeSet::new();
        for e in self.kept.iter().filter(|e| e.is_read_confirm()) {
            prop_assert!(
                confirmers.insert(&e.from),
                "two read-confirms of {}",
                e.from
            );
            prop_assert!(self.present(&e.from), "read-confirm of {} who left", e.from);
        }
        Ok(())
    }

    fn emitted(&mut self, now: UnixMillis, event: &Event, keep: bool) -> Result<(), TestCaseError> {
        prop_assert!(
            event.id.0 > self.last_id,
            "id {} after {}",
            event.id,
            self.last_id
        );
        prop_assert_eq!(event.at, now);
        self.last_id = event.id.0;
        if let Some(r) = &event.receiver {
            prop_assert_ne!(r, &event.from);
        }
        if let EventBody::NewParty { user_data, .. } | EventBody::Notice { user_data, .. } =
            &event.body
        {
            prop_assert!(!user_data.contains_key(SESSION_PASSWORD_KEY));
            prop_assert!(
                !user_data.values().any(|v| v.contains("pw-")),
                "{:?}",
                event
            );
        }
        let transient = match &event.body {
            EventBody::Notice { notice_type, .. } => {
                notice_type.is_typing() || event.is_read_confirm()
            }
            _ => false,
        };
        prop_assert_eq!(keep, !transient || self.save_all, "keep of {:?}", event);
        match &event.body {
            EventBody::NewParty { .. } => {
                self.orphan_since = None;
                self.joined(event)?
            }
            EventBody::PartyLeft { reason, .. } => {
                let p = self.parties.get_mut(&event.from);
                prop_assert!(p.as_ref().is_some_and(|p| p.present), "{:?}", event);
                if let Some(p) = p {
                    prop_assert_eq!(event.visibility, p.joined, "a leave is seen like its join");
                    p.present = false;
                    p.detached_since = None;
                    p.left_for = Some(*reason);
                }
            }
            EventBody::Notice {
                notice_type: NoticeType::UserUpdateNick,
                text,
                ..
            } => {
                let p = self.parties.get_mut(&event.from);
                prop_assert!(p.is_some() && text.is_some());
                if let (Some(p), Some(nick)) = (p, text) {
                    if p.original.is_none() {
                        p.original = Some(p.nickname.clone());
                    }
                    p.nickname.clone_from(nick);
                }
            }
            EventBody::Notice { user_data, .. } if event.is_read_confirm() => {
                let seen = user_data.get(LAST_EVENT_ID_KEY).map(|v| v.parse::<u64>());
                prop_assert!(
                    matches!(seen, Some(Ok(n)) if n < event.id.0),
                    "read-confirm names an event before it: {:?}",
                    event
                );
            }
            EventBody::Message { .. } | EventBody::Notice { .. } => {}
        }
        if let Some(c) = event.client_msg_id() {
            self.remember((event.from.clone(), c.clone()), event.id);
        }
        if keep {
            self.kept.push(event.clone());
        }
        Ok(())
    }

    fn joined(&mut self, event: &Event) -> Result<(), TestCaseError> {
        let EventBody::NewParty {
            nickname,
            party_type,
            style,
            client_version,
            user_data,
            ..
        } = &event.body
        else {
            return Ok(());
        };
        let staff = matches!(party_type, PartyType::Agent | PartyType::Supervisor);
        prop_assert!(*style == PartyStyle::Normal || staff, "only staff are bots");
        let marked = user_data.get(PARTY_STYLE_KEY).map(String::as_str);
        prop_assert_eq!(marked == Some("BOT"), *style == PartyStyle::Bot);
        let previous = self.parties.get(&event.from);
        prop_assert!(
            !previous.is_some_and(|p| p.present),
            "joined twice: {:?}",
            event
        );
        // Coming back (attaching) after a restoration: the same party, renamed or not. A
        // new join request starts afresh.
        let back = previous.filter(|_| self.attaching);
        if self.attaching {
            prop_assert!(back.is_some_and(|p| p.left_for == Some(LeftReason::Restoration)));
        }
        if let Some(p) = back {
            prop_assert_eq!(nickname, &p.nickname);
            prop_assert_eq!((*party_type, event.visibility), (p.party_type, p.joined));
            prop_assert_eq!((client_version.get(), *style), (p.version, p.style));
        }
        let party = MParty {
            party_type: *party_type,
            joined: event.visibility,
            version: client_version.get(),
            style: *style,
            present: true,
            nickname: nickname.clone(),
            original: back.and_then(|p| p.original.clone()),
            join_event: event.id,
            left_for: None,
            detached_since: None,
        };
        self.parties.insert(event.from.clone(), party);
        Ok(())
    }
}
