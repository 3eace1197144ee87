//! The inputs to generate, their strategies, and how an `Op` becomes an `Input` for the
//! session at hand.

use parley_core::event::{
    LAST_EVENT_ID_KEY, READ_CONFIRM, SESSION_PASSWORD_KEY, SET_PARTY_STYLE_KEY,
};
use parley_core::session::{EndedReason, JoinRequest, SendBody, SendRequest};
use parley_core::{
    AfterAction, ClientVersion, Input, LeftReason, NoticeType, PartyId, PartyType, Protocol,
    Session, SessionPassword, UserData, Visibility,
};
use proptest::prelude::*;

use crate::model::Model;

pub(crate) const USERS: usize = 5;
pub(crate) const PASSWORD: &str = "pw-secret-42";
/// Every password used starts with `pw-`, and no other user data value does.
pub(crate) const WRONG_PASSWORD: &str = "pw-wrong";
pub(crate) const RECONNECT_MS: u64 = 10_000;

pub(crate) fn pid(i: usize) -> PartyId {
    format!("p{i}").parse().expect("valid")
}

#[derive(Debug, Clone)]
pub(crate) enum Content {
    Message(&'static str),
    Notice(NoticeType, Option<&'static str>),
    /// A read confirmation naming `last_event_id + delta` (negative: malformed).
    ReadConfirm(i64),
}

/// An input to generate. A `who` below `USERS` names user `p<who>`; above, it picks among
/// the parties present (or, for `Attach`, absent) at that point, so that most inputs come
/// from parties that can make them.
#[derive(Debug, Clone)]
pub(crate) enum Op {
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
    /// Restore from the store; `true`: the store lost its id counter (it is recovered
    /// from the events when the newest one was kept).
    Restore(bool),
    SystemClose,
}

pub(crate) fn party_type() -> impl Strategy<Value = PartyType> {
    prop_oneof![
        Just(PartyType::Client),
        Just(PartyType::Agent),
        Just(PartyType::Supervisor),
        Just(PartyType::External),
    ]
}

pub(crate) fn visibility() -> impl Strategy<Value = Visibility> {
    prop_oneof![
        3 => Just(Visibility::All),
        1 => Just(Visibility::Int),
        1 => Just(Visibility::Vip),
    ]
}

pub(crate) fn notice_type() -> impl Strategy<Value = NoticeType> {
    prop_oneof![
        1 => Just(NoticeType::TypingStarted),
        1 => Just(NoticeType::TypingStopped),
        1 => Just(NoticeType::UserPushedUrl),
        1 => Just(NoticeType::UserCustom),
        3 => Just(NoticeType::UserUpdateNick),
        1 => Just(NoticeType::SysCommand),
        1 => Just(NoticeType::IdleControlAlert),
    ]
}

pub(crate) fn content() -> impl Strategy<Value = Content> {
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

pub(crate) fn join_op() -> impl Strategy<Value = Op> {
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

pub(crate) fn send_op() -> impl Strategy<Value = Op> {
    (
        0..3 * USERS,
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

pub(crate) fn op() -> impl Strategy<Value = Op> {
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
        2 => any::<bool>().prop_map(Op::Restore),
        1 => Just(Op::SystemClose),
    ]
}

/// Whether a password is enforced, whether all notices are saved, the creator, then the
/// steps with the milliseconds that pass before each.
pub(crate) type Scenario = (bool, bool, Op, Vec<(u64, Op)>);

pub(crate) fn scenario() -> impl Strategy<Value = Scenario> {
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

pub(crate) fn join_request(op: &Op, right: Option<&str>) -> JoinRequest {
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
pub(crate) fn pick(m: &Model, who: usize, present: bool) -> PartyId {
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

pub(crate) fn send_request(session: &Session, m: &Model, op: &Op) -> SendRequest {
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

pub(crate) fn input_for(session: &Session, m: &Model, op: &Op) -> Input {
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
        Op::Tick | Op::Restore(_) => Input::Tick,
        Op::SystemClose => Input::SystemClose {
            reason: EndedReason::Inactive,
        },
    }
}
