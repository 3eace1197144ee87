//! Hostile requests: arbitrary text in every field, arbitrary (even backwards) instants,
//! small limits. `handle` never panics, a refusal changes nothing, and ids still only
//! increase.

use parley_core::event::{LAST_EVENT_ID_KEY, READ_CONFIRM};
use parley_core::session::{JoinRequest, Limits, SendBody, SendRequest};
use parley_core::{
    AfterAction, ClientVersion, Effect, Input, NoticeType, PartyId, PartyType, Protocol, Session,
    SessionSettings, UnixMillis, UserData, Visibility,
};
use proptest::prelude::*;

use crate::ops::{notice_type, pid};
use crate::snapshot;

/// Free text: any characters (control ones included), sometimes longer than the limits.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,24}", "[0-9 -]{0,24}", Just(String::new())]
}

fn user_data() -> impl Strategy<Value = UserData> {
    prop::collection::btree_map(text(), text(), 0..4)
}

#[derive(Debug, Clone)]
enum Hostile {
    Join(usize, String, UserData),
    Message(usize, String, Option<String>),
    Notice(usize, NoticeType, Option<String>, UserData),
    ReadConfirm(usize, String),
    Release(usize, Option<String>),
    Detach(usize),
    Attach(usize),
    Tick,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    let who = 0..3usize;
    prop_oneof![
        (who.clone(), text(), user_data()).prop_map(|(w, n, d)| Hostile::Join(w, n, d)),
        (who.clone(), text(), prop::option::of(text()))
            .prop_map(|(w, t, k)| Hostile::Message(w, t, k)),
        (
            who.clone(),
            notice_type(),
            prop::option::of(text()),
            user_data()
        )
            .prop_map(|(w, n, t, d)| Hostile::Notice(w, n, t, d)),
        (who.clone(), text()).prop_map(|(w, l)| Hostile::ReadConfirm(w, l)),
        (who.clone(), prop::option::of(text())).prop_map(|(w, t)| Hostile::Release(w, t)),
        who.clone().prop_map(Hostile::Detach),
        who.prop_map(Hostile::Attach),
        Just(Hostile::Tick),
    ]
}

fn join(party: PartyId, nickname: String, user_data: UserData) -> JoinRequest {
    JoinRequest {
        party,
        nickname,
        party_type: PartyType::Agent,
        visibility: Visibility::All,
        protocol: Protocol::Basic,
        client_version: ClientVersion::LATEST,
        key_hash: None,
        person_id: None,
        user_data,
    }
}

fn send(who: usize, body: SendBody) -> Input {
    Input::Send(SendRequest {
        from: pid(who),
        visibility: Visibility::All,
        receiver: None,
        client_msg_id: None,
        body,
    })
}

fn input(h: Hostile) -> Input {
    match h {
        Hostile::Join(w, nickname, data) => Input::Join(join(pid(w), nickname, data)),
        Hostile::Message(w, text, message_type) => {
            send(w, SendBody::Message { text, message_type })
        }
        Hostile::Notice(w, notice_type, text, user_data) => send(
            w,
            SendBody::Notice {
                notice_type,
                text,
                user_data,
            },
        ),
        Hostile::ReadConfirm(w, last) => {
            let mut user_data = UserData::new();
            user_data.insert(LAST_EVENT_ID_KEY.into(), last);
            let text = Some(READ_CONFIRM.into());
            send(
                w,
                SendBody::Notice {
                    notice_type: NoticeType::SysCommand,
                    text,
                    user_data,
                },
            )
        }
        Hostile::Release(w, text) => Input::Release {
            party: pid(w),
            after_action: AfterAction::KeepAlive,
            text,
        },
        Hostile::Detach(w) => Input::Detach { party: pid(w) },
        Hostile::Attach(w) => Input::Attach { party: pid(w) },
        Hostile::Tick => Input::Tick,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn hostile_requests_never_panic_and_refusals_change_nothing(
        start in any::<i64>(),
        steps in prop::collection::vec((any::<i64>(), hostile()), 1..40),
    ) {
        let settings = SessionSettings {
            limits: Limits {
                max_text_bytes: 16,
                max_nickname_chars: 8,
                max_user_data_entries: 2,
                max_user_data_item_bytes: 12,
                // Small enough that hostile sequences fill the transcript.
                max_transcript_events: 20,
                max_transcript_bytes: 64,
                window_events: 4,
                window_bytes: 32,
            },
            ..SessionSettings::default()
        };
        let creator = join(pid(0), "Ann".into(), UserData::new());
        let id = "hostile".parse().expect("valid");
        let (mut s, _) = Session::create(id, UnixMillis(start), settings, None, creator)
            .expect("a valid creator");
        for (now, step) in steps {
            let before = snapshot(&s);
            let input = input(step);
            match s.handle(UnixMillis(now), input.clone()) {
                Err(_) => prop_assert_eq!(snapshot(&s), before, "{:?}", input),
                Ok(effects) => {
                    let mut last = before.2;
                    for effect in &effects {
                        if let Effect::Emit { event, .. } = effect {
                            prop_assert!(event.id > last, "{:?}", effects);
                            last = event.id;
                        }
                    }
                    prop_assert_eq!(s.last_event_id(), last);
                    // The shell lets stored events leave memory after each batch.
                    s.trim(last);
                }
            }
        }
    }
}
