//! Inactivity control: a workflow's overrides (ESP `IdleControlConfigure`), restoration
//! keeping the deadlines, and the property that activity inside the window never lets a
//! session close for inactivity.

use proptest::prelude::*;

use super::idle::{fx_with, idle_notices, idle_on, wait};
use super::*;
use crate::session::{EndedReason, IdleOverride, IdleSettings, IdleStage};

fn configure(fx: &mut Fx, change: IdleOverride) -> Vec<Effect> {
    fx.ok(Input::IdleControl(change))
}

#[test]
fn a_workflow_override_applies_at_once_and_announces_the_new_expiry() {
    let mut fx = fx_with(idle_on());
    fx.join(agent("agent"));
    fx.advance(8_000);
    let set = configure(
        &mut fx,
        IdleOverride {
            timeout_alert_s: Some(3),
            message_alert: Some("hurry".into()),
            ..IdleOverride::default()
        },
    );
    assert_eq!(
        idle_notices(&set),
        vec![(
            NoticeType::IdleControlSet,
            None,
            Some(fx.now.plus_ms(3_000).0)
        )]
    );
    assert_eq!(fx.audience(&emitted(&set)[0]), vec!["agent", "cust"]);
    assert_eq!(fx.s.idle_settings().timeout_alert_s, 3);
    let alert = wait(&mut fx, 3_000);
    assert_eq!(idle_notices(&alert)[0].1.as_deref(), Some("hurry"));
    // The settings stay for the next round.
    fx.sent(msg("cust", "back"));
    assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(3_000)));
}

#[test]
fn a_workflow_override_resets_a_running_close_timer() {
    let mut fx = fx_with(idle_on());
    fx.join(agent("agent"));
    wait(&mut fx, 10_000);
    assert_eq!(fx.s.idle_stage(), Some(IdleStage::Close));
    fx.advance(4_000);
    configure(
        &mut fx,
        IdleOverride {
            timeout_close_s: Some(60),
            ..IdleOverride::default()
        },
    );
    assert_eq!(fx.s.idle_stage(), Some(IdleStage::Alert));
    assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(10_000)));
}

#[test]
fn a_workflow_can_enable_disable_and_reset_to_the_configuration() {
    let mut fx = fx_with(IdleSettings::default());
    fx.join(agent("agent"));
    assert_eq!(fx.s.idle_expiry(), None);
    let on = IdleOverride {
        enabled: Some(true),
        timeout_alert_s: Some(30),
        ..IdleOverride::default()
    };
    configure(&mut fx, on);
    assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(30_000)));
    // Overrides accumulate: a later one keeps `enabled`.
    configure(
        &mut fx,
        IdleOverride {
            timeout_close_s: Some(9),
            ..IdleOverride::default()
        },
    );
    assert!(fx.s.idle_settings().enabled);
    assert_eq!(fx.s.idle_settings().timeout_alert_s, 30);
    let reset = configure(
        &mut fx,
        IdleOverride {
            reset: true,
            ..IdleOverride::default()
        },
    );
    assert_eq!(fx.s.idle_settings(), IdleSettings::default());
    assert_eq!(fx.s.idle_expiry(), None, "the configuration has it off");
    assert_eq!(idle_notices(&reset)[0].2, None, "no expiry announced");
    // Reset and set in one request: the set applies over the configuration.
    configure(
        &mut fx,
        IdleOverride {
            reset: true,
            enabled: Some(true),
            ..IdleOverride::default()
        },
    );
    assert_eq!(fx.s.idle_settings().timeout_alert_s, 255);
    assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(255_000)));
    configure(
        &mut fx,
        IdleOverride {
            enabled: Some(false),
            ..IdleOverride::default()
        },
    );
    assert_eq!(fx.s.idle_expiry(), None);
}

#[test]
fn restoration_keeps_the_alert_deadline_through_the_parties_coming_back() {
    let mut fx = fx_with(idle_on());
    fx.join(agent("agent"));
    fx.advance(2_000);
    fx.sent(msg("cust", "hi"));
    let due = fx.s.idle_expiry();
    fx.advance(4_000);
    fx.restore();
    assert_eq!(fx.s.idle_expiry(), due);
    fx.advance(1_000);
    fx.ok(attach("cust"));
    fx.ok(attach("agent"));
    assert_eq!(fx.s.idle_expiry(), due, "coming back is not activity");
    assert!(wait(&mut fx, 4_999).is_empty());
    let alert = wait(&mut fx, 1);
    assert_eq!(idle_notices(&alert)[0].0, NoticeType::IdleControlAlert);
}

#[test]
fn restoration_keeps_the_close_deadline_and_the_workflow_overrides() {
    let mut fx = fx_with(IdleSettings {
        timeout_alert2_s: 7,
        ..idle_on()
    });
    fx.join(agent("agent"));
    configure(
        &mut fx,
        IdleOverride {
            timeout_close_s: Some(20),
            message_close: Some("bye".into()),
            ..IdleOverride::default()
        },
    );
    wait(&mut fx, 10_000);
    wait(&mut fx, 7_000);
    let (stage, due) = (fx.s.idle_stage(), fx.s.idle_expiry());
    assert_eq!(stage, Some(IdleStage::Close));
    fx.advance(5_000);
    fx.restore();
    assert_eq!((fx.s.idle_stage(), fx.s.idle_expiry()), (stage, due));
    assert_eq!(fx.s.idle_settings().timeout_close_s, 20);
    fx.ok(attach("cust"));
    let close = wait(&mut fx, 15_000);
    assert_eq!(idle_notices(&close)[0].1.as_deref(), Some("bye"));
    assert_eq!(
        fx.s.end_info().map(|e| e.reason),
        Some(EndedReason::Inactive)
    );
}

#[test]
fn activity_after_restoration_rearms_as_usual() {
    let mut fx = fx_with(idle_on());
    fx.join(agent("agent"));
    fx.advance(5_000);
    fx.restore();
    fx.ok(attach("cust"));
    fx.advance(3_000);
    fx.sent(msg("cust", "again"));
    assert_eq!(fx.s.idle_expiry(), Some(fx.now.plus_ms(10_000)));
}

#[derive(Debug, Clone)]
enum Act {
    CustomerLine,
    AgentLine,
    PushUrl,
    CoachLine,
    Typing,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        Just(Act::CustomerLine),
        Just(Act::AgentLine),
        Just(Act::PushUrl),
        Just(Act::CoachLine),
        Just(Act::Typing),
    ]
}

proptest! {
    /// Whatever the settings, a session where some counting activity arrives within
    /// every `timeout-alert` window never closes for inactivity; lines that do not
    /// count (coaching, typing under `major`) may come in between.
    #[test]
    fn activity_inside_the_window_never_closes_a_session(
        alert_s in 1u64..40,
        alert2_s in 0u64..10,
        close_s in 1u64..10,
        steps in proptest::collection::vec((act(), 0u64..1000, 0u64..1000), 1..60),
    ) {
        let mut fx = fx_with(IdleSettings {
            timeout_alert_s: alert_s,
            timeout_alert2_s: alert2_s,
            timeout_close_s: close_s,
            ..idle_on()
        });
        fx.join(agent("agent"));
        fx.join(coach("coach"));
        let window = alert_s * 1000;
        let mut since_activity = 0u64;
        for (a, gap_permille, tick_permille) in steps {
            // The next line comes strictly inside the window since the last activity;
            // ticks come at arbitrary instants before it.
            let left = window - 1 - since_activity.min(window - 1);
            let gap = left * gap_permille / 1000;
            let tick_at = gap * tick_permille / 1000;
            wait(&mut fx, tick_at);
            wait(&mut fx, gap - tick_at);
            since_activity += gap;
            match a {
                Act::CustomerLine => { fx.sent(msg("cust", "x")); since_activity = 0; }
                Act::AgentLine => { fx.sent(msg("agent", "y")); since_activity = 0; }
                Act::PushUrl => {
                    fx.sent(notice("agent", NoticeType::UserPushedUrl, Some("u")));
                    since_activity = 0;
                }
                Act::CoachLine => { fx.sent(msg("coach", "z")); }
                Act::Typing => { fx.sent(notice("cust", NoticeType::TypingStarted, None)); }
            }
            prop_assert!(fx.s.end_info().is_none());
            prop_assert!(idle_notices(&fx.log).is_empty(), "no alert either");
        }
    }
}
