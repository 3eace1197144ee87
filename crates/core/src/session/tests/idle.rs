//! Inactivity control, driven with a fake clock: alert, second alert, close, what counts
//! as activity (and what does not), the texts, the server notices' expiry.

use super::*;
use crate::event::LeftReason;
use crate::session::{
    EndedAgent, EndedBy, EndedReason, IdleSettings, IdleStage, IncludeNotices, IDLE_TIME_EXPIRE_KEY,
};

/// Alert after 10 s, close 5 s later, no second alert.
pub(super) fn idle_on() -> IdleSettings {
    IdleSettings {
        enabled: true,
        timeout_alert_s: 10,
        timeout_alert2_s: 0,
        timeout_close_s: 5,
        message_alert: "alert!".into(),
        message_alert2: "alert 2!".into(),
        message_close: "closed!".into(),
        ..IdleSettings::default()
    }
}

/// A session with inactivity control `idle` started by customer `cust`.
pub(super) fn fx_with(idle: IdleSettings) -> Fx {
    let settings = SessionSettings {
        idle,
        customer_join_by_id: true,
        ..SessionSettings::default()
    };
    Fx::create(settings, None, customer("cust"))
}

/// Advances the clock by `ms` and ticks; returns the tick's effects.
pub(super) fn wait(fx: &mut Fx, ms: u64) -> Vec<Effect> {
    fx.advance(ms);
    fx.ok(Input::Tick)
}

/// The (type, text, expiry) of the server's idle notices among `effects`.
pub(super) fn idle_notices(effects: &[Effect]) -> Vec<(NoticeType, Option<String>, Option<i64>)> {
    emitted(effects)
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Notice {
                notice_type,
                text,
                user_data,
                ..
            } if e.from.as_str() == crate::session::SYSTEM_SENDER => Some((
                notice_type,
                text,
                user_data
                    .get(IDLE_TIME_EXPIRE_KEY)
                    .map(|v| v.parse().expect("millis")),
            )),
            _ => None,
        })
        .collect()
}

fn closed(effects: &[Effect]) -> Option<crate::session::EndInfo> {
    effects.iter().find_map(|e| match e {
        Effect::Closed(info) => Some(*info),
        _ => None,
    })
}

#[test]
fn an_idle_chat_is_alerted_then_closed_as_inactive() {
    let mut fx = fx_with(idle_on());
    assert_eq!(fx.s.idle_expiry(), None, "no agent yet: no control");
    fx.join(agent("agent"));
    assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(10_000)));
    assert_eq!(fx.s.next_deadline(), fx.s.idle_expiry());

    assert!(wait(&mut fx, 9_999).is_empty(), "not yet due");
    let alert = wait(&mut fx, 1);
    let close_at = fx.now.plus_ms(5_000);
    assert_eq!(
        idle_notices(&alert),
        vec![(
            NoticeType::IdleControlAlert,
            Some("alert!".into()),
            Some(close_at.0)
        )]
    );
    assert_eq!(fx.s.idle_stage(), Some(IdleStage::Close));
    assert_eq!(fx.audience(&emitted(&alert)[0]), vec!["agent", "cust"]);

    assert!(wait(&mut fx, 4_999).is_empty());
    let close = wait(&mut fx, 1);
    assert_eq!(
        idle_notices(&close),
        vec![(NoticeType::IdleControlClose, Some("closed!".into()), None)]
    );
    let leaves: Vec<(String, LeftReason)> = emitted(&close)
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::PartyLeft { reason, .. } => Some((e.from.to_string(), reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        leaves,
        vec![
            ("cust".to_owned(), LeftReason::Inactivity),
            ("agent".to_owned(), LeftReason::Inactivity)
        ]
    );
    assert_eq!(LeftReason::Inactivity.code(), 7);
    let info = closed(&close).expect("closed");
    assert_eq!(
        (info.ended_by, info.reason, info.agent),
        (EndedBy::System, EndedReason::Inactive, EndedAgent::Present)
    );
    assert_eq!(fx.s.next_deadline(), None);
}

#[test]
fn a_second_alert_comes_between_the_first_and_the_close() {
    let mut fx = fx_with(IdleSettings {
        timeout_alert2_s: 7,
        ..idle_on()
    });
    fx.join(agent("agent"));
    let first = wait(&mut fx, 10_000);
    let second_at = fx.now.plus_ms(7_000);
    assert_eq!(
        idle_notices(&first),
        vec![(
            NoticeType::IdleControlAlert,
            Some("alert!".into()),
            Some(second_at.0)
        )]
    );
    assert!(wait(&mut fx, 6_999).is_empty());
    let second = wait(&mut fx, 1);
    assert_eq!(
        idle_notices(&second),
        vec![(
            NoticeType::IdleControlAlert,
            Some("alert 2!".into()),
            Some(fx.now.plus_ms(5_000).0)
        )]
    );
    let close = wait(&mut fx, 5_000);
    assert!(closed(&close).is_some());
}

#[test]
fn an_empty_message_sends_no_text_but_the_timer_runs() {
    let mut fx = fx_with(IdleSettings {
        message_alert: String::new(),
        message_close: String::new(),
        ..idle_on()
    });
    fx.join(agent("agent"));
    let alert = wait(&mut fx, 10_000);
    assert_eq!(idle_notices(&alert)[0].1, None);
    let close = wait(&mut fx, 5_000);
    assert_eq!(idle_notices(&close)[0].1, None);
    assert!(closed(&close).is_some());
}

#[test]
fn control_is_off_by_default_and_needs_a_customer_and_a_human_agent() {
    let mut off = Fx::with_agent_and_customer();
    assert_eq!(off.s.idle_expiry(), None, "enabled defaults to false");
    assert!(wait(&mut off, 86_400_000).is_empty());

    let mut fx = fx_with(idle_on());
    fx.join(bot("bot"));
    fx.join(monitor("mon"));
    fx.join(coach("coach"));
    assert_eq!(
        fx.s.idle_expiry(),
        None,
        "bots, monitors, coaches are no agent"
    );
    fx.join(supervisor("sup"));
    assert!(
        fx.s.idle_expiry().is_some(),
        "a visible supervisor is staff"
    );
    fx.advance(1_000);
    fx.ok(release("sup", AfterAction::KeepAlive));
    assert_eq!(fx.s.idle_expiry(), None, "the agent side left: stopped");
}

#[test]
fn the_timer_restarts_when_the_agent_comes_after_the_customer_left() {
    let mut fx = fx_with(idle_on());
    fx.join(customer("cust2"));
    fx.join(agent("agent"));
    fx.advance(3_000);
    fx.ok(release("cust", AfterAction::KeepAlive));
    assert_eq!(
        fx.s.idle_expiry(),
        Some(fx.now.plus_ms(10_000)),
        "a leave is activity"
    );
}

/// Each kind of activity, sent 9 s into the alert timer, re-arms it.
#[test]
fn every_kind_of_activity_rearms_the_alert() {
    type Act = fn(&mut Fx);
    let kinds: Vec<(&str, IncludeNotices, Act)> = vec![
        ("customer message", IncludeNotices::None, |fx| {
            fx.sent(msg("cust", "hi"));
        }),
        ("agent message", IncludeNotices::None, |fx| {
            fx.sent(msg("agent", "hello"));
        }),
        ("a join", IncludeNotices::None, |fx| {
            fx.join(supervisor("sup"));
        }),
        ("a leave", IncludeNotices::None, |fx| {
            fx.join(customer("cust2"));
            fx.advance(1);
            fx.ok(release("cust2", AfterAction::KeepAlive));
        }),
        ("pushed URL (major)", IncludeNotices::Major, |fx| {
            fx.sent(notice("cust", NoticeType::UserPushedUrl, Some("https://x")));
        }),
        ("custom (major2)", IncludeNotices::Major2, |fx| {
            fx.sent(notice("agent", NoticeType::UserCustom, Some("c")));
        }),
        ("typing started (typing)", IncludeNotices::Typing, |fx| {
            fx.sent(notice("cust", NoticeType::TypingStarted, None));
        }),
        ("typing stopped (all)", IncludeNotices::All, |fx| {
            fx.sent(notice("cust", NoticeType::TypingStopped, None));
        }),
        ("nickname (all)", IncludeNotices::All, |fx| {
            fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Bob")));
        }),
        ("custom (all)", IncludeNotices::All, |fx| {
            fx.sent(notice("cust", NoticeType::UserCustom, Some("c")));
        }),
    ];
    for (name, include, act) in kinds {
        let mut fx = fx_with(IdleSettings {
            include_notices: include,
            ..idle_on()
        });
        fx.join(agent("agent"));
        fx.advance(9_000);
        act(&mut fx);
        assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(10_000)), "{name}");
        assert_eq!(fx.s.idle_stage(), Some(IdleStage::Alert), "{name}");
    }
}

/// What does not count: lines customers do not see, bots, notices not included.
#[test]
fn coaching_monitoring_bots_and_excluded_notices_are_not_activity() {
    type Act = fn(&mut Fx);
    let kinds: Vec<(&str, IncludeNotices, Act)> = vec![
        ("coach's line", IncludeNotices::All, |fx| {
            fx.sent(msg("coach", "say sorry"));
        }),
        ("monitor's line", IncludeNotices::All, |fx| {
            fx.sent(msg("mon", "fine"));
        }),
        ("agent's internal line", IncludeNotices::All, |fx| {
            fx.sent(vis(msg("agent", "note"), Visibility::Int));
        }),
        ("direct line", IncludeNotices::All, |fx| {
            fx.sent(to(msg("agent", "psst"), "cust"));
        }),
        ("bot's line", IncludeNotices::All, |fx| {
            fx.sent(msg("bot", "beep"));
        }),
        ("bot leaves", IncludeNotices::All, |fx| {
            fx.ok(release("bot", AfterAction::KeepAlive));
        }),
        ("coach leaves", IncludeNotices::All, |fx| {
            fx.ok(release("coach", AfterAction::KeepAlive));
        }),
        ("typing under major", IncludeNotices::Major, |fx| {
            fx.sent(notice("cust", NoticeType::TypingStarted, None));
        }),
        ("custom under major", IncludeNotices::Major, |fx| {
            fx.sent(notice("cust", NoticeType::UserCustom, Some("c")));
        }),
        ("pushed URL under none", IncludeNotices::None, |fx| {
            fx.sent(notice(
                "agent",
                NoticeType::UserPushedUrl,
                Some("https://x"),
            ));
        }),
        (
            "typing stopped under typing",
            IncludeNotices::Typing,
            |fx| {
                fx.sent(notice("cust", NoticeType::TypingStopped, None));
            },
        ),
        ("read confirmation under all", IncludeNotices::All, |fx| {
            fx.sent(read_confirm("cust", "1"));
        }),
    ];
    for (name, include, act) in kinds {
        let mut fx = fx_with(IdleSettings {
            include_notices: include,
            ..idle_on()
        });
        fx.join(agent("agent"));
        fx.join(bot("bot"));
        fx.join(monitor("mon"));
        fx.join(coach("coach"));
        let due = fx.s.idle_expiry();
        fx.advance(9_000);
        act(&mut fx);
        assert_eq!(fx.s.idle_expiry(), due, "{name} must not re-arm");
    }
}

#[test]
fn activity_during_the_close_timer_goes_back_to_the_first_alert() {
    let mut fx = fx_with(IdleSettings {
        timeout_alert2_s: 7,
        ..idle_on()
    });
    fx.join(agent("agent"));
    wait(&mut fx, 10_000);
    wait(&mut fx, 7_000);
    assert_eq!(fx.s.idle_stage(), Some(IdleStage::Close));
    fx.advance(4_000);
    fx.sent(msg("cust", "still here"));
    assert_eq!(fx.s.idle_stage(), Some(IdleStage::Alert));
    assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(10_000)));
    assert!(wait(&mut fx, 5_000).is_empty(), "the old close is gone");
}

#[test]
fn an_old_client_gets_the_texts_as_plain_messages_and_a_new_one_the_notices() {
    let mut fx = fx_with(idle_on());
    fx.join(with_version(customer("old"), 102));
    fx.join(with_version(agent("agent"), 103));
    let alert = emitted(&wait(&mut fx, 10_000)).remove(0);
    assert_eq!(fx.audience(&alert), vec!["agent", "cust", "old"]);
    let old = fx.s.view_for(&alert, fx.party("old")).expect("seen");
    assert_eq!(
        old.body,
        EventBody::Message {
            text: "alert!".into(),
            message_type: None,
            client_msg_id: None
        }
    );
    assert_eq!(old.sender.party_type, PartyType::External);
    assert_eq!(old.idle_time_expire, None);
    let new = fx.s.view_for(&alert, fx.party("agent")).expect("seen");
    assert!(matches!(
        &new.body,
        EventBody::Notice { notice_type: NoticeType::IdleControlAlert, text: Some(t), user_data, .. }
            if t == "alert!" && user_data.is_empty()
    ));
    assert_eq!(new.sender.party_type, PartyType::System);
    assert_eq!(new.idle_time_expire, Some(fx.now.plus_ms(5_000)));
}

#[test]
fn an_old_client_gets_nothing_of_a_textless_alert() {
    let mut fx = fx_with(IdleSettings {
        message_alert: String::new(),
        ..idle_on()
    });
    fx.join(with_version(agent("agent"), 102));
    let alert = emitted(&wait(&mut fx, 10_000)).remove(0);
    assert_eq!(fx.audience(&alert), vec!["cust"]);
}
