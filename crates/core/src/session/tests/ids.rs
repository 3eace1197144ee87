//! Event ids and instants, idempotent sends, and "a refusal changes nothing".

use super::*;
use crate::event::LeftReason;

#[test]
fn event_ids_strictly_increase_and_instants_come_from_now() {
    let mut fx = Fx::with_customer();
    fx.advance(1_500).join(agent("agent"));
    fx.advance(2_000);
    fx.sent(msg("cust", "hi"));
    fx.advance(1);
    fx.sent(notice("agent", NoticeType::TypingStarted, None));
    fx.advance(999);
    fx.sent(msg("agent", "hello"));
    fx.advance(10_000);
    fx.ok(release("agent", AfterAction::ForceClose));
    let events = emitted(&fx.log);
    let got: Vec<(u64, i64)> = events.iter().map(|e| (e.id.0, e.at.0 - T0.0)).collect();
    assert_eq!(
        got,
        vec![
            (1, 0),
            (2, 1_500),
            (3, 3_500),
            (4, 3_501),
            (5, 4_500),
            (6, 14_500),
            (7, 14_500),
        ]
    );
    assert_eq!(fx.s.last_event_id(), EventId(7));
}

#[test]
fn time_shift_is_whole_seconds_since_the_session_started() {
    let mut fx = Fx::with_customer();
    assert_eq!(fx.s.created_at(), T0);
    fx.advance(61_999);
    let e = fx.sent(msg("cust", "late"));
    assert_eq!(e.at.secs_since(fx.s.created_at()), 61);
    assert_eq!(fx.s.transcript()[0].at.secs_since(fx.s.created_at()), 0);
}

#[test]
fn a_retried_client_message_id_is_a_duplicate_of_the_original() {
    let mut fx = Fx::with_agent_and_customer();
    let original = fx.sent(with_cid(msg("cust", "hello"), "m-1"));
    assert_eq!(original.client_msg_id(), Some(&cid("m-1")));
    let before = (fx.s.transcript().to_vec(), fx.s.last_event_id());
    fx.advance(3_000);
    // Whatever the retry carries, it is the same request.
    for retry in [
        with_cid(msg("cust", "hello"), "m-1"),
        with_cid(msg("cust", "different"), "m-1"),
        with_cid(notice("cust", NoticeType::UserCustom, None), "m-1"),
    ] {
        assert_eq!(
            fx.send(retry),
            Ok(vec![Effect::Duplicate { id: original.id }])
        );
        assert_eq!((fx.s.transcript().to_vec(), fx.s.last_event_id()), before);
    }
    // Another party's id, or another id, is a new request.
    let other = fx.sent(with_cid(msg("agent", "hello"), "m-1"));
    assert_eq!(other.id, original.id.next());
    let next = fx.sent(with_cid(msg("cust", "hello"), "m-2"));
    assert_eq!(next.id, other.id.next());
}

#[test]
fn retried_notices_are_duplicates_too() {
    let mut fx = Fx::with_agent_and_customer();
    let url = fx.sent(with_cid(
        notice("agent", NoticeType::UserPushedUrl, Some("https://a")),
        "n-1",
    ));
    let typing = fx.sent(with_cid(
        notice("agent", NoticeType::TypingStarted, None),
        "n-2",
    ));
    let last = fx.s.last_event_id();
    for (id, original) in [("n-1", url.id), ("n-2", typing.id)] {
        let retry = with_cid(notice("agent", NoticeType::UserCustom, None), id);
        assert_eq!(fx.send(retry), Ok(vec![Effect::Duplicate { id: original }]));
    }
    assert_eq!(fx.s.last_event_id(), last);
}

#[test]
fn the_idempotency_window_remembers_only_the_latest_ids() {
    let settings = SessionSettings {
        idempotency_window: 2,
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, None, customer("cust"));
    let first = fx.sent(with_cid(msg("cust", "1"), "m-1"));
    let second = fx.sent(with_cid(msg("cust", "2"), "m-2"));
    assert_eq!(
        fx.send(with_cid(msg("cust", "1"), "m-1")),
        Ok(vec![Effect::Duplicate { id: first.id }])
    );
    let third = fx.sent(with_cid(msg("cust", "3"), "m-3"));
    // m-1 fell out of the window: a retry is stored again.
    let again = fx.sent(with_cid(msg("cust", "1"), "m-1"));
    assert_eq!(again.id, third.id.next());
    assert_eq!(fx.s.recent.len(), 2);
    assert_eq!(fx.s.recent_ids.len(), 2);
    assert_eq!(
        fx.send(with_cid(msg("cust", "3"), "m-3")),
        Ok(vec![Effect::Duplicate { id: third.id }])
    );
    assert_ne!(second.id, third.id);
    assert!(matches!(
        fx.send(with_cid(msg("cust", "2"), "m-2")).as_deref(),
        Ok([Effect::Emit { .. }])
    ));
}

#[test]
fn a_refused_send_does_not_enter_the_idempotency_window() {
    let mut fx = Fx::with_agent_and_customer();
    fx.refused(
        Input::Send(with_cid(msg("cust", ""), "m-1")),
        CoreError::InvalidField {
            field: "text",
            reason: "a message needs text",
        },
    );
    let e = fx.sent(with_cid(msg("cust", "now with text"), "m-1"));
    assert_eq!(e.client_msg_id(), Some(&cid("m-1")));
}

#[test]
fn refusals_change_nothing() {
    let settings = SessionSettings {
        limits: crate::session::Limits {
            max_text_bytes: 12,
            max_user_data_entries: 1,
            ..Default::default()
        },
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, Some("pw"), customer("cust"));
    fx.join(with_password(agent("agent"), "pw"));
    fx.join(with_password(agent("gone"), "pw"));
    fx.ok(release("gone", AfterAction::KeepAlive));
    fx.sent(msg("cust", "hi"));
    fx.ok(detach("agent"));
    let two_entries = with_data(with_data(agent("x"), "a", "1"), "b", "2");
    let mut big_data = notice("agent", NoticeType::UserCustom, None);
    if let SendBody::Notice { user_data, .. } = &mut big_data.body {
        user_data.insert("a".into(), "1".into());
        user_data.insert("b".into(), "2".into());
    }
    let refused = [
        (Input::Join(agent("x")), CoreError::WrongSessionPassword),
        (
            Input::Join(with_password(two_entries, "pw")),
            CoreError::LimitExceeded("too many user data entries"),
        ),
        (
            Input::Join(with_password(customer("cust"), "pw")),
            CoreError::AlreadyJoined,
        ),
        (Input::Send(msg("gone", "x")), CoreError::NotAParty),
        (
            Input::Send(msg("cust", "1234567890123")),
            CoreError::LimitExceeded("message text too large"),
        ),
        (
            Input::Send(notice(
                "cust",
                NoticeType::UserCustom,
                Some("1234567890123"),
            )),
            CoreError::LimitExceeded("notice text too large"),
        ),
        (
            Input::Send(big_data),
            CoreError::LimitExceeded("too many user data entries"),
        ),
        (
            Input::Send(to(msg("cust", "x"), "cust")),
            CoreError::NoSuchReceiver,
        ),
        (
            Input::Send(to(msg("cust", "x"), "gone")),
            CoreError::NoSuchReceiver,
        ),
        (
            Input::Send(read_confirm("cust", "999")),
            CoreError::InvalidField {
                field: crate::event::LAST_EVENT_ID_KEY,
                reason: "names an event that does not exist yet",
            },
        ),
        (
            Input::Release {
                party: pid("cust"),
                after_action: AfterAction::ForceClose,
                text: Some("1234567890123".into()),
            },
            CoreError::LimitExceeded("release text too large"),
        ),
        (
            release("gone", AfterAction::ForceClose),
            CoreError::NotAParty,
        ),
        (
            Input::Remove {
                party: pid("agent"),
                reason: LeftReason::RemovedByParty,
                asker: Some(pid("gone")),
            },
            CoreError::NotAParty,
        ),
        (detach("gone"), CoreError::NotAParty),
        (attach("gone"), CoreError::NotAParty),
    ];
    for (input, err) in refused {
        fx.refused(input, err);
    }
    // The detach deadline survived all of it.
    assert_eq!(fx.s.next_deadline(), Some(T0.plus_ms(60_000)));
}
