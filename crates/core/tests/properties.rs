//! Property tests of the session state machine over random input sequences.
//!
//! A small model, fed only by the effects the session returns (as the shell would be),
//! tracks the parties and the stored transcript. An oracle written here from the rules
//! (seed guide: visibility, direct messages, client versions) says who may see each
//! event; the session's live audience and resume replay must match it exactly.

use std::collections::{BTreeMap, HashMap};

use parley_core::event::{
    LAST_EVENT_ID_KEY, READ_CONFIRM, SESSION_PASSWORD_KEY, SET_PARTY_STYLE_KEY,
};
use parley_core::session::{EndedReason, JoinRequest, SaveNotices, SendBody, SendRequest, Stored};
use parley_core::{
    AfterAction, ClientMsgId, ClientVersion, CoreError, Effect, Event, EventBody, EventId, Input,
    LeftReason, NoticeType, Party, PartyId, PartyType, Protocol, Session, SessionId,
    SessionPassword, SessionSettings, UnixMillis, UserData, Visibility,
};
use proptest::prelude::*;

const USERS: usize = 5;
const PASSWORD: &str = "pw-secret-42";
/// Every password used starts with `pw-`, and no other user data value does.
const WRONG_PASSWORD: &str = "pw-wrong";
const RECONNECT_MS: u64 = 10_000;

fn pid(i: usize) -> PartyId {
    format!("p{i}").parse().expect("valid")
}

#[derive(Debug, Clone)]
enum Content {
    Message(&'static str),
    Notice(NoticeType, Option<&'static str>),
    /// A read confirmation naming `last_event_id + delta` (negative: malformed).
    ReadConfirm(i64),
}

/// An input to generate. A `who` below `USERS` names user `p<who>`; above, it picks among
/// the parties present (or, for `Attach`, absent) at that point, so that most inputs come
/// from parties that can make them.
#[derive(Debug, Clone)]
enum Op {
    Join {
        who: usize,
        party_type: PartyType,
        visibility: Visibility,
        version: u16,
        bot: bool,
        /// 0: none, 1: a wrong one, else the session's (for a creator: its own choice).
        password: u8,
    },
    Send {
        who: usize,
        visibility: Visibility,
        receiver: Option<usize>,
        content: Content,
        cid: Option<u8>,
    },
    Release {
        who: usize,
        after_action: AfterAction,
    },
    Remove {
        who: usize,
        asker: Option<usize>,
    },
    Detach(usize),
    Attach(usize),
    Tick,
    Restore,
    SystemClose,
}

fn party_type() -> impl Strategy<Value = PartyType> {
    prop_oneof![
        Just(PartyType::Client),
        Just(PartyType::Agent),
        Just(PartyType::Supervisor),
        Just(PartyType::External),
    ]
}

fn visibility() -> impl Strategy<Value = Visibility> {
    prop_oneof![
        3 => Just(Visibility::All),
        1 => Just(Visibility::Int),
        1 => Just(Visibility::Vip),
    ]
}

fn notice_type() -> impl Strategy<Value = NoticeType> {
    prop_oneof![
        Just(NoticeType::TypingStarted),
        Just(NoticeType::TypingStopped),
        Just(NoticeType::UserPushedUrl),
        Just(NoticeType::UserCustom),
        Just(NoticeType::UserUpdateNick),
        Just(NoticeType::SysCommand),
        Just(NoticeType::IdleControlAlert),
    ]
}

fn content() -> impl Strategy<Value = Content> {
    let text = prop_oneof![Just("hello"), Just(""), Just("https://example.com")];
    let notice_text = prop::option::of(prop_oneof![
        Just("Nick2"),
        Just("  "),
        Just("https://u"),
        Just(READ_CONFIRM),
    ]);
    prop_oneof![
        3 => text.prop_map(Content::Message),
        3 => (notice_type(), notice_text).prop_map(|(n, t)| Content::Notice(n, t)),
        1 => (-3i64..=1).prop_map(Content::ReadConfirm),
    ]
}

fn join_op() -> impl Strategy<Value = Op> {
    (
        0..USERS,
        party_type(),
        visibility(),
        101u16..=106,
        prop::bool::weighted(0.25),
        0u8..5,
    )
        .prop_map(
            |(who, party_type, visibility, version, bot, password)| Op::Join {
                who,
                party_type,
                visibility,
                version,
                bot,
                password,
            },
        )
}

fn send_op() -> impl Strategy<Value = Op> {
    (
        0..2 * USERS,
        visibility(),
        prop::option::weighted(0.3, 0..USERS),
        content(),
        prop::option::weighted(0.4, 0u8..4),
    )
        .prop_map(|(who, visibility, receiver, content, cid)| Op::Send {
            who,
            visibility,
            receiver,
            content,
            cid,
        })
}

fn op() -> impl Strategy<Value = Op> {
    let after_action = prop_oneof![
        3 => Just(AfterAction::KeepAlive),
        1 => Just(AfterAction::CloseIfNoAgents),
        1 => Just(AfterAction::ForceClose),
    ];
    prop_oneof![
        12 => join_op(),
        36 => send_op(),
        3 => (0..2 * USERS, after_action)
            .prop_map(|(who, after_action)| Op::Release { who, after_action }),
        2 => (0..USERS, prop::option::of(0..USERS))
            .prop_map(|(who, asker)| Op::Remove { who, asker }),
        4 => (0..2 * USERS).prop_map(Op::Detach),
        4 => (0..2 * USERS).prop_map(Op::Attach),
        6 => Just(Op::Tick),
        2 => Just(Op::Restore),
        1 => Just(Op::SystemClose),
    ]
}

/// Whether a password is enforced, whether all notices are saved, the creator, then the
/// steps with the milliseconds that pass before each.
type Scenario = (bool, bool, Op, Vec<(u64, Op)>);

fn scenario() -> impl Strategy<Value = Scenario> {
    // A few joins with the right password first, so that most later inputs come from
    // parties of the session.
    let setup = prop::collection::vec(join_op(), 0..5).prop_map(|joins| {
        joins
            .into_iter()
            .map(|mut op| {
                if let Op::Join { password, .. } = &mut op {
                    *password = 2;
                }
                (0, op)
            })
            .collect::<Vec<_>>()
    });
    (
        any::<bool>(),
        any::<bool>(),
        join_op(),
        setup,
        prop::collection::vec((0u64..8_000, op()), 1..100),
    )
        .prop_map(|(password, save_all, creator, mut steps, more)| {
            steps.extend(more);
            (password, save_all, creator, steps)
        })
}

// ---- the model and the oracle ----

#[derive(Debug, Clone)]
struct MParty {
    party_type: PartyType,
    joined: Visibility,
    version: u16,
    present: bool,
}

#[derive(Debug, Default)]
struct Model {
    parties: BTreeMap<PartyId, MParty>,
    kept: Vec<Event>,
    last_id: u64,
    closed: bool,
    /// (sender, client id) -> event id, for every event the session may still remember.
    cids: HashMap<(PartyId, ClientMsgId), EventId>,
}

/// The lowest client version that has this event at all (seed: ClientVersion table).
fn min_version(e: &Event, sender: PartyType) -> u16 {
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

impl Model {
    fn sender_type(&self, e: &Event) -> PartyType {
        self.parties
            .get(&e.from)
            .map_or(PartyType::System, |p| p.party_type)
    }

    /// Oracle: may `viewer` see `e`?
    fn may_see(&self, viewer: &PartyId, e: &Event) -> bool {
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

    fn present(&self, id: &PartyId) -> bool {
        self.parties.get(id).is_some_and(|p| p.present)
    }

    /// Applies effects as the shell would, checking ids, instants and annihilations.
    fn apply(&mut self, now: UnixMillis, effects: &[Effect]) -> Result<(), TestCaseError> {
        for (i, effect) in effects.iter().enumerate() {
            prop_assert!(!self.closed, "an effect after Closed: {:?}", effects);
            match effect {
                Effect::Emit { event, keep } => self.emitted(now, event, *keep)?,
                Effect::Annihilate { id } => {
                    let pos = self.kept.iter().position(|e| e.id == *id);
                    prop_assert!(pos.is_some(), "annihilated {} is not stored", id);
                    let gone = self.kept.remove(pos.unwrap_or_default());
                    prop_assert!(gone.is_read_confirm());
                }
                Effect::Duplicate { .. } => prop_assert_eq!(effects.len(), 1),
                Effect::Closed(info) => {
                    prop_assert_eq!(i, effects.len() - 1, "Closed must come last");
                    prop_assert_eq!(info.closed_at, now);
                    prop_assert!(self.parties.values().all(|p| !p.present));
                    self.closed = true;
                }
            }
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
        match &event.body {
            EventBody::NewParty {
                party_type,
                client_version,
                ..
            } => {
                let party = MParty {
                    party_type: *party_type,
                    joined: event.visibility,
                    version: client_version.get(),
                    present: true,
                };
                self.parties.insert(event.from.clone(), party);
            }
            EventBody::PartyLeft { .. } => {
                prop_assert!(self.present(&event.from), "{:?}", event);
                if let Some(p) = self.parties.get_mut(&event.from) {
                    p.present = false;
                }
            }
            EventBody::Message { .. } | EventBody::Notice { .. } => {}
        }
        if let Some(c) = event.client_msg_id() {
            self.cids.insert((event.from.clone(), c.clone()), event.id);
        }
        if keep {
            self.kept.push(event.clone());
        }
        Ok(())
    }
}

// ---- driving the session ----

fn join_request(op: &Op, right: Option<&str>) -> JoinRequest {
    let Op::Join {
        who,
        party_type,
        visibility,
        version,
        bot,
        password,
    } = op
    else {
        unreachable!("join_request takes a Join");
    };
    let mut user_data = UserData::new();
    if *bot {
        user_data.insert(SET_PARTY_STYLE_KEY.into(), "BOT".into());
    }
    match password {
        0 => {}
        1 => {
            user_data.insert(SESSION_PASSWORD_KEY.into(), WRONG_PASSWORD.into());
        }
        _ => {
            let pw = right.unwrap_or(PASSWORD);
            user_data.insert(SESSION_PASSWORD_KEY.into(), pw.into());
        }
    }
    JoinRequest {
        party: pid(*who),
        nickname: format!("Nick {who}"),
        party_type: *party_type,
        visibility: *visibility,
        protocol: Protocol::Basic,
        client_version: ClientVersion::try_from(*version).expect("101..=106"),
        key_hash: None,
        person_id: None,
        user_data,
    }
}

/// The user a `who` names: itself below `USERS`, else the `who`-th party whose presence
/// is `present` (the user `who - USERS` if there is none).
fn pick(m: &Model, who: usize, present: bool) -> PartyId {
    if who < USERS {
        return pid(who);
    }
    let candidates: Vec<&PartyId> = m
        .parties
        .iter()
        .filter(|(_, p)| p.present == present)
        .map(|(id, _)| id)
        .collect();
    match candidates.len() {
        0 => pid(who - USERS),
        n => candidates[who % n].clone(),
    }
}

fn send_request(session: &Session, m: &Model, op: &Op) -> SendRequest {
    let Op::Send {
        who,
        visibility,
        receiver,
        content,
        cid,
    } = op
    else {
        unreachable!("send_request takes a Send");
    };
    let body = match content {
        Content::Message(t) => SendBody::Message {
            text: (*t).into(),
            message_type: None,
        },
        Content::Notice(n, t) => SendBody::Notice {
            notice_type: *n,
            text: t.map(str::to_owned),
            user_data: UserData::new(),
        },
        Content::ReadConfirm(delta) => {
            let seen = i64::try_from(session.last_event_id().0).unwrap_or(0) + delta;
            let mut user_data = UserData::new();
            user_data.insert(LAST_EVENT_ID_KEY.into(), seen.to_string());
            SendBody::Notice {
                notice_type: NoticeType::SysCommand,
                text: Some(READ_CONFIRM.into()),
                user_data,
            }
        }
    };
    SendRequest {
        from: pick(m, *who, true),
        visibility: *visibility,
        receiver: receiver.map(pid),
        client_msg_id: cid.map(|c| format!("c{c}").parse().expect("valid")),
        body,
    }
}

fn input_for(session: &Session, m: &Model, op: &Op) -> Input {
    match op {
        Op::Join { .. } => Input::Join(join_request(
            op,
            session.password().map(SessionPassword::expose),
        )),
        Op::Send { .. } => Input::Send(send_request(session, m, op)),
        Op::Release { who, after_action } => Input::Release {
            party: pick(m, *who, true),
            after_action: *after_action,
            text: None,
        },
        Op::Remove { who, asker } => Input::Remove {
            party: pid(*who),
            reason: LeftReason::RemovedByParty,
            asker: asker.map(pid),
        },
        Op::Detach(who) => Input::Detach {
            party: pick(m, *who, true),
        },
        Op::Attach(who) => Input::Attach {
            party: pick(m, *who, false),
        },
        Op::Tick | Op::Restore => Input::Tick,
        Op::SystemClose => Input::SystemClose {
            reason: EndedReason::Inactive,
        },
    }
}

/// What a refusal must leave untouched.
type Snapshot = (Vec<Event>, Vec<Party>, EventId, Option<UnixMillis>, bool);

fn snapshot(s: &Session) -> Snapshot {
    (
        s.transcript().to_vec(),
        s.parties().to_vec(),
        s.last_event_id(),
        s.next_deadline(),
        s.end_info().is_some(),
    )
}

/// Checks every emitted event's live audience against the oracle, then the views that
/// must agree between steps: the transcript, the last id and every party's replay.
fn check_views(s: &Session, m: &Model, effects: &[Effect]) -> Result<(), TestCaseError> {
    for effect in effects {
        let Effect::Emit { event, .. } = effect else {
            continue;
        };
        let mut got: Vec<PartyId> = s.audience(event).map(|p| p.id.clone()).collect();
        got.sort();
        let want: Vec<PartyId> = m
            .parties
            .iter()
            .filter(|(id, p)| p.present && m.may_see(id, event))
            .map(|(id, _)| id.clone())
            .collect();
        prop_assert_eq!(&got, &want, "audience of {:?}", event);
        if event.visibility != Visibility::All {
            prop_assert!(got
                .iter()
                .all(|id| m.parties[id].party_type != PartyType::Client));
        }
        if let Some(r) = &event.receiver {
            prop_assert!(got.iter().all(|id| id == r || id == &event.from));
            let need = min_version(event, m.sender_type(event));
            let reaches = |id: &PartyId| m.present(id) && m.parties[id].version >= need;
            if reaches(r) && reaches(&event.from) {
                prop_assert_eq!(got.len(), 2, "direct {:?} reaches {:?}", event, got);
            }
        }
    }
    let stored: Vec<EventId> = s.transcript().iter().map(|e| e.id).collect();
    let kept: Vec<EventId> = m.kept.iter().map(|e| e.id).collect();
    prop_assert_eq!(&stored, &kept, "the transcript is what the shell stored");
    prop_assert_eq!(s.last_event_id().0, m.last_id);
    for id in m.parties.keys() {
        let replay: Vec<EventId> = s.replay_for(id, EventId(0)).map(|e| e.id).collect();
        let want: Vec<EventId> = m
            .kept
            .iter()
            .filter(|e| m.may_see(id, e))
            .map(|e| e.id)
            .collect();
        prop_assert_eq!(&replay, &want, "replay for {}", id);
    }
    Ok(())
}

/// The expected visibility of a message or notice: a monitor's or coach's `ALL` is `INT`.
fn effective(joined: Visibility, requested: Visibility) -> Visibility {
    match (joined, requested) {
        (Visibility::All, r) => r,
        (_, Visibility::All) => Visibility::Int,
        (_, r) => r,
    }
}

/// Checks a send's outcome against the model taken before it.
fn check_send(
    m: &Model,
    req: &SendRequest,
    out: &Result<Vec<Effect>, CoreError>,
) -> Result<(), TestCaseError> {
    if !m.present(&req.from) {
        prop_assert_eq!(out, &Err(CoreError::NotAParty));
        return Ok(());
    }
    let remembered = req
        .client_msg_id
        .as_ref()
        .and_then(|c| m.cids.get(&(req.from.clone(), c.clone())));
    if let Some(id) = remembered {
        prop_assert_eq!(out, &Ok(vec![Effect::Duplicate { id: *id }]));
        return Ok(());
    }
    let sender = &m.parties[&req.from];
    if sender.party_type == PartyType::Client && req.visibility != Visibility::All {
        prop_assert!(out.is_err());
    }
    if let Ok(effects) = out {
        let Some(Effect::Emit { event, .. }) = effects.last() else {
            return Err(TestCaseError::fail(format!("a send emits: {effects:?}")));
        };
        prop_assert_eq!(&event.from, &req.from);
        prop_assert_eq!(event.client_msg_id(), req.client_msg_id.as_ref());
        prop_assert_eq!(&event.receiver, &req.receiver);
        prop_assert_eq!(event.visibility, effective(sender.joined, req.visibility));
        if let EventBody::Notice { notice_type, .. } = &event.body {
            let SendBody::Notice {
                notice_type: asked, ..
            } = &req.body
            else {
                return Err(TestCaseError::fail("a message became a notice"));
            };
            prop_assert_eq!(notice_type, asked);
        }
    }
    Ok(())
}

fn settings(save_all: bool) -> SessionSettings {
    SessionSettings {
        save_notices: if save_all {
            SaveNotices::All
        } else {
            SaveNotices::Default
        },
        reconnect_timeout_ms: RECONNECT_MS,
        ..SessionSettings::default()
    }
}

fn run((password, save_all, creator, steps): Scenario) -> Result<(), TestCaseError> {
    let settings = settings(save_all);
    let mut now = UnixMillis(1_700_000_000_000);
    let id: SessionId = "prop".parse().expect("valid");
    let generated = password.then(|| SessionPassword::new(PASSWORD));
    let created = Session::create(id, now, settings, generated, join_request(&creator, None));
    let Ok((mut s, effects)) = created else {
        return Ok(()); // an invalid creator (a hidden customer, say) starts nothing
    };
    let mut m = Model::default();
    let mut after_close = 0;
    m.apply(now, &effects)?;
    check_views(&s, &m, &effects)?;

    for (wait, op) in steps {
        now = now.plus_ms(if matches!(op, Op::Tick) {
            wait * 4
        } else {
            wait
        });
        if m.closed {
            after_close += 1;
            if after_close > 12 {
                break;
            }
            let before = snapshot(&s);
            let out = s.handle(now, input_for(&s, &m, &op));
            if matches!(op, Op::Tick | Op::Restore | Op::Detach(_)) {
                prop_assert_eq!(out, Ok(vec![]));
            } else {
                prop_assert_eq!(out, Err(CoreError::SessionOver));
            }
            prop_assert_eq!(snapshot(&s), before);
            prop_assert_eq!(s.next_deadline(), None);
            continue;
        }
        if matches!(op, Op::Restore) {
            let stored = Stored {
                id: s.id().clone(),
                created_at: s.created_at(),
                password: s.password().cloned(),
                events: m.kept.clone(),
                last_event_id: EventId(m.last_id),
            };
            // The session remembers the client ids of what was stored, no more (transient
            // events are forgotten; annihilated read confirmations are still known).
            m.cids = stored
                .events
                .iter()
                .filter_map(|e| {
                    e.client_msg_id()
                        .map(|c| ((e.from.clone(), c.clone()), e.id))
                })
                .collect();
            let (restored, effects) = Session::restore(stored, settings, now);
            s = restored;
            m.apply(now, &effects)?;
            prop_assert!(m.parties.values().all(|p| !p.present));
            prop_assert!(!m.kept.iter().any(Event::is_read_confirm));
            check_views(&s, &m, &effects)?;
            continue;
        }

        let input = input_for(&s, &m, &op);
        let before = snapshot(&s);
        let password = s.password().map(|p| p.expose().to_owned());
        let due = s.next_deadline().is_some_and(|d| d <= now);
        let out = s.handle(now, input.clone());
        if let Input::Send(req) = &input {
            check_send(&m, req, &out)?;
        }
        if let Input::Join(req) = &input {
            let present = m.present(&req.party);
            let presented = req.user_data.get(SESSION_PASSWORD_KEY);
            if !present && password.is_some() && presented != password.as_ref() {
                prop_assert_eq!(&out, &Err(CoreError::WrongSessionPassword));
            }
        }
        match &out {
            Err(_) => prop_assert_eq!(snapshot(&s), before, "refused {:?} changed it", input),
            Ok(effects) => {
                m.apply(now, effects)?;
                check_views(&s, &m, effects)?;
            }
        }
        if matches!(op, Op::Tick) {
            prop_assert!(
                out.as_ref().is_ok_and(|e| e.is_empty() != due),
                "tick {:?}",
                out
            );
            prop_assert!(s.next_deadline().is_none_or(|d| d > now));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_keep_every_invariant(scenario in scenario()) {
        run(scenario)?;
    }
}
