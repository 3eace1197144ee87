//! Notices: typing (transient), pushed URL, custom, nickname change, system commands and
//! read confirmations with their annihilation rules.

use super::*;
use crate::event::{LAST_EVENT_ID_KEY, ORIGINAL_NICKNAME_KEY, READ_CONFIRM};
use crate::session::SaveNotices;

fn save_all() -> SessionSettings {
    SessionSettings {
        save_notices: SaveNotices::All,
        ..SessionSettings::default()
    }
}

fn kept(effects: &[Effect]) -> bool {
    match effects {
        [Effect::Emit { keep, .. }] => *keep,
        other => panic!("expected exactly one Emit, got {other:?}"),
    }
}

#[test]
fn typing_notices_are_transient_but_consume_their_ids() {
    let mut fx = Fx::with_agent_and_customer();
    let before = fx.s.transcript().to_vec();
    for (n, nt) in [NoticeType::TypingStarted, NoticeType::TypingStopped]
        .into_iter()
        .enumerate()
    {
        let effects = fx.send(notice("cust", nt, Some("prev"))).expect("accepted");
        assert!(!kept(&effects), "{nt:?} must not be kept");
        let e = only_event(&effects);
        assert_eq!(e.id, EventId(3 + n as u64));
        assert_eq!(fx.s.last_event_id(), e.id);
        // Delivered live all the same.
        assert_eq!(fx.audience(&e), ids(&["agent", "cust"]));
        assert_eq!(fx.replayed_to(e.id), Vec::<String>::new());
    }
    assert_eq!(fx.s.transcript(), before.as_slice());
    assert_eq!(
        fx.sent(msg("cust", "next")).id,
        EventId(5),
        "ids are never reused"
    );
}

#[test]
fn typing_notices_are_kept_when_saving_all_notices() {
    let mut fx = Fx::create(save_all(), None, customer("cust"));
    let effects = fx
        .send(notice("cust", NoticeType::TypingStarted, None))
        .expect("ok");
    assert!(kept(&effects));
    let e = only_event(&effects);
    assert_eq!(fx.s.transcript().last(), Some(&e));
}

#[test]
fn pushed_url_needs_the_url_as_text() {
    let mut fx = Fx::with_agent_and_customer();
    let err = CoreError::InvalidField {
        field: "text",
        reason: "a pushed URL needs the URL as text",
    };
    for text in [None, Some(""), Some("  ")] {
        fx.refused(
            Input::Send(notice("agent", NoticeType::UserPushedUrl, text)),
            err.clone(),
        );
    }
    let effects = fx
        .send(notice(
            "agent",
            NoticeType::UserPushedUrl,
            Some("https://example.com"),
        ))
        .expect("ok");
    assert!(kept(&effects));
    let e = only_event(&effects);
    assert!(matches!(
        &e.body,
        EventBody::Notice { notice_type: NoticeType::UserPushedUrl, text: Some(t), .. }
            if t == "https://example.com"
    ));
    assert_eq!(fx.audience(&e), ids(&["agent", "cust"]));
}

#[test]
fn custom_notices_are_kept_with_their_user_data() {
    let mut fx = Fx::with_agent_and_customer();
    let mut req = notice("cust", NoticeType::UserCustom, None);
    if let SendBody::Notice { user_data, .. } = &mut req.body {
        user_data.insert("k".into(), "v".into());
    }
    let effects = fx.send(req).expect("ok");
    assert!(kept(&effects));
    let e = only_event(&effects);
    assert!(matches!(
        &e.body,
        EventBody::Notice { notice_type: NoticeType::UserCustom, text: None, user_data, .. }
            if user_data.get("k").map(String::as_str) == Some("v")
    ));
    assert_eq!(fx.s.transcript().last(), Some(&e));
}

#[test]
fn idle_control_notices_come_only_from_the_server() {
    let mut fx = Fx::with_agent_and_customer();
    for nt in [
        NoticeType::IdleControlAlert,
        NoticeType::IdleControlClose,
        NoticeType::IdleControlSet,
    ] {
        fx.refused(
            Input::Send(notice("agent", nt, Some("x"))),
            CoreError::NotAllowed("idle control notices come from the server"),
        );
    }
}

#[test]
fn nickname_changes_many_times_and_each_change_is_kept() {
    let mut fx = Fx::with_agent_and_customer();
    for nick in ["Bob", "Carl", "Dora"] {
        let padded = format!(" {nick} ");
        let effects = fx
            .send(notice("cust", NoticeType::UserUpdateNick, Some(&padded)))
            .expect("ok");
        assert!(kept(&effects));
        let e = only_event(&effects);
        assert!(matches!(
            &e.body,
            EventBody::Notice { notice_type: NoticeType::UserUpdateNick, text: Some(t), .. }
                if t == nick
        ));
        assert_eq!(fx.s.transcript().last(), Some(&e));
        assert_eq!(fx.party("cust").nickname, nick);
        assert_eq!(fx.audience(&e), ids(&["agent", "cust"]));
    }
}

#[test]
fn original_nickname_is_recorded_on_the_first_change_only() {
    let mut fx = Fx::with_agent_and_customer();
    let agent_join = fx.party("agent").join_event;
    let agent_data = join_data(fx.event(agent_join)).clone();
    let join = fx.party("cust").join_event;
    assert!(!join_data(fx.event(join)).contains_key(ORIGINAL_NICKNAME_KEY));
    assert_eq!(fx.party("cust").original_nickname, None);
    for nick in ["Bob", "Carl"] {
        fx.sent(notice("cust", NoticeType::UserUpdateNick, Some(nick)));
        assert_eq!(
            join_data(fx.event(join))
                .get(ORIGINAL_NICKNAME_KEY)
                .map(String::as_str),
            Some("Nick-cust"),
            "after renaming to {nick}"
        );
        assert_eq!(
            fx.party("cust").original_nickname.as_deref(),
            Some("Nick-cust")
        );
    }
    // The join event keeps its own nickname; other parties' joins are untouched.
    assert!(matches!(
        &fx.event(join).body,
        EventBody::NewParty { nickname, .. } if nickname == "Nick-cust"
    ));
    assert_eq!(join_data(fx.event(agent_join)), &agent_data);
}

#[test]
fn an_invalid_new_nickname_changes_nothing() {
    let mut fx = Fx::with_agent_and_customer();
    for text in [None, Some("   ")] {
        fx.refused(
            Input::Send(notice("cust", NoticeType::UserUpdateNick, text)),
            CoreError::InvalidField {
                field: "nickname",
                reason: "must not be empty",
            },
        );
    }
    let long = "n".repeat(65);
    fx.refused(
        Input::Send(notice("cust", NoticeType::UserUpdateNick, Some(&long))),
        CoreError::LimitExceeded("nickname too long"),
    );
}

#[test]
fn system_commands_need_a_command_and_are_kept() {
    let mut fx = Fx::with_agent_and_customer();
    for text in [None, Some("")] {
        fx.refused(
            Input::Send(notice("agent", NoticeType::SysCommand, text)),
            CoreError::InvalidField {
                field: "text",
                reason: "a system command needs its name as text",
            },
        );
    }
    let effects = fx
        .send(notice("agent", NoticeType::SysCommand, Some("app-command")))
        .expect("ok");
    assert!(kept(&effects));
}

#[test]
fn read_confirm_needs_an_existing_last_event_id() {
    let mut fx = Fx::with_agent_and_customer();
    let last = fx.s.last_event_id();
    fx.refused(
        Input::Send(notice("cust", NoticeType::SysCommand, Some(READ_CONFIRM))),
        CoreError::InvalidField {
            field: LAST_EVENT_ID_KEY,
            reason: "a read confirmation needs last-event-id",
        },
    );
    for bad in ["", "abc", "-1", "1.5", "99999999999999999999"] {
        fx.refused(
            Input::Send(read_confirm("cust", bad)),
            CoreError::InvalidField {
                field: "eventId",
                reason: "not a non-negative integer",
            },
        );
    }
    let future = EventId(last.0 + 1).to_string();
    fx.refused(
        Input::Send(read_confirm("cust", &future)),
        CoreError::InvalidField {
            field: LAST_EVENT_ID_KEY,
            reason: "names an event that does not exist yet",
        },
    );
    // The newest event is fine.
    let effects = fx
        .send(read_confirm("cust", &last.to_string()))
        .expect("ok");
    let e = only_event(&effects);
    assert!(e.is_read_confirm());
    assert!(matches!(
        &e.body,
        EventBody::Notice { user_data, .. }
            if user_data.get(LAST_EVENT_ID_KEY) == Some(&last.to_string())
    ));
    // Other parties are told.
    assert_eq!(fx.audience(&e), ids(&["agent", "cust"]));
}

#[test]
fn read_confirm_is_transient_unless_saving_all_notices() {
    let mut fx = Fx::with_agent_and_customer();
    let effects = fx.send(read_confirm("cust", "2")).expect("ok");
    assert!(!kept(&effects));
    assert!(!fx.s.transcript().iter().any(Event::is_read_confirm));
    let mut fx = Fx::create(save_all(), None, customer("cust"));
    let effects = fx.send(read_confirm("cust", "1")).expect("ok");
    assert!(kept(&effects));
    assert!(fx.s.transcript().last().is_some_and(Event::is_read_confirm));
}

#[test]
fn a_newer_read_confirm_annihilates_the_same_partys_previous_one() {
    let mut fx = Fx::create(save_all(), None, customer("cust"));
    fx.join(agent("agent"));
    let first = fx.sent(read_confirm("cust", "1"));
    let agents = fx.sent(read_confirm("agent", "2"));
    let effects = fx.send(read_confirm("cust", "3")).expect("ok");
    let [Effect::Annihilate { id }, Effect::Emit {
        event, keep: true, ..
    }] = effects.as_slice()
    else {
        panic!("expected annihilate then emit: {effects:?}");
    };
    assert_eq!(*id, first.id);
    let confirms: Vec<EventId> =
        fx.s.transcript()
            .iter()
            .filter(|e| e.is_read_confirm())
            .map(|e| e.id)
            .collect();
    assert_eq!(confirms, vec![agents.id, event.id]);
}

#[test]
fn leaving_annihilates_the_partys_read_confirms() {
    let mut fx = Fx::create(save_all(), None, customer("cust"));
    fx.join(agent("agent"));
    let custs = fx.sent(read_confirm("cust", "1"));
    let agents = fx.sent(read_confirm("agent", "2"));
    let effects = fx.ok(release("agent", AfterAction::KeepAlive));
    assert!(matches!(
        effects.as_slice(),
        [Effect::Annihilate { id }, Effect::Emit { .. }] if *id == agents.id
    ));
    let confirms: Vec<EventId> =
        fx.s.transcript()
            .iter()
            .filter(|e| e.is_read_confirm())
            .map(|e| e.id)
            .collect();
    assert_eq!(confirms, vec![custs.id]);
}

#[test]
fn other_system_commands_are_not_read_confirms_and_are_never_annihilated() {
    let mut fx = Fx::create(save_all(), None, customer("cust"));
    fx.join(agent("agent"));
    let cmd = fx.sent(notice("agent", NoticeType::SysCommand, Some("app-command")));
    assert!(!cmd.is_read_confirm());
    fx.sent(read_confirm("agent", "1"));
    let effects = fx.send(read_confirm("agent", "2")).expect("ok");
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::Annihilate { id } if *id == cmd.id)));
    fx.ok(release("agent", AfterAction::KeepAlive));
    assert!(fx.s.transcript().iter().any(|e| e.id == cmd.id));
}

#[test]
fn a_nickname_change_is_told_to_everyone_and_never_direct() {
    let mut fx = Fx::with_agent_and_customer();
    let ev = fx.sent(vis(
        notice("agent", NoticeType::UserUpdateNick, Some("Alexandra")),
        Visibility::Int,
    ));
    assert_eq!(
        ev.visibility,
        Visibility::All,
        "the new name is for everyone"
    );
    fx.refused(
        Input::Send(to(
            notice("agent", NoticeType::UserUpdateNick, Some("Al")),
            "cust",
        )),
        CoreError::NotAllowed("a nickname change is not a direct notice"),
    );
}
