//! Release with after-actions, the close rules and the end facts for reporting.

use super::*;
use crate::event::LeftReason;
use crate::session::{EndInfo, EndedAgent, EndedBy, EndedReason};

/// The `PartyLeft` facts of an event: (who, reason, after-action, asker).
pub(super) fn left(e: &Event) -> (String, LeftReason, AfterAction, Option<String>) {
    match &e.body {
        EventBody::PartyLeft {
            reason,
            after_action,
            asker,
            ..
        } => (
            e.from.to_string(),
            *reason,
            *after_action,
            asker.as_ref().map(ToString::to_string),
        ),
        other => panic!("not a leave: {other:?}"),
    }
}

pub(super) fn closed(effects: &[Effect]) -> EndInfo {
    match effects.last() {
        Some(Effect::Closed(info)) => *info,
        _ => panic!("expected the session to close: {effects:?}"),
    }
}

fn stays_open(fx: &Fx, effects: &[Effect]) {
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Closed(_))),
        "{effects:?}"
    );
    assert!(fx.s.end_info().is_none());
}

#[test]
fn keep_alive_leaves_the_session_open_while_a_visible_party_remains() {
    let mut fx = Fx::with_agent_and_customer();
    fx.advance(1_000);
    let effects = fx.ok(Input::Release {
        party: pid("agent"),
        after_action: AfterAction::KeepAlive,
        text: Some("bye".into()),
    });
    stays_open(&fx, &effects);
    let e = only_event(&effects);
    assert_eq!(e.at, fx.now);
    assert_eq!(e.visibility, Visibility::All);
    assert!(matches!(
        &e.body,
        EventBody::PartyLeft { reason: LeftReason::Quit, after_action: AfterAction::KeepAlive, text: Some(t), asker: None }
            if t == "bye"
    ));
    assert!(!fx.party("agent").present);
    // The leaver is told of its own leave; the others are too.
    assert_eq!(fx.audience(&e), ids(&["agent", "cust"]));
    // Gone means gone: it can no longer send or leave.
    fx.refused(Input::Send(msg("agent", "x")), CoreError::NotAParty);
    fx.refused(
        release("agent", AfterAction::KeepAlive),
        CoreError::NotAParty,
    );
}

#[test]
fn the_last_visible_party_leaving_closes_the_session() {
    let mut fx = Fx::with_customer();
    fx.advance(5_000);
    let effects = fx.ok(release("cust", AfterAction::KeepAlive));
    assert_eq!(effects.len(), 2);
    assert_eq!(left(&only_event(&effects[..1])).1, LeftReason::Quit);
    let info = closed(&effects);
    assert_eq!(
        info,
        EndInfo {
            closed_at: fx.now,
            ended_by: EndedBy::Client,
            reason: EndedReason::Quit,
            agent: EndedAgent::Absent,
        }
    );
    assert_eq!(fx.s.end_info(), Some(&info));
    assert_eq!(fx.s.next_deadline(), None);
}

#[test]
fn monitors_and_coaches_alone_do_not_keep_a_session_open() {
    let mut fx = Fx::with_agent_and_customer();
    fx.join(monitor("mon"));
    fx.join(coach("coach"));
    let effects = fx.ok(release("cust", AfterAction::KeepAlive));
    stays_open(&fx, &effects);
    let effects = fx.ok(release("agent", AfterAction::KeepAlive));
    let events = emitted(&effects);
    let facts: Vec<_> = events.iter().map(left).collect();
    let removed = |who: &str| {
        (
            who.to_owned(),
            LeftReason::RemovedByParty,
            AfterAction::KeepAlive,
            Some("agent".to_owned()),
        )
    };
    assert_eq!(
        facts,
        vec![
            (
                "agent".into(),
                LeftReason::Quit,
                AfterAction::KeepAlive,
                None
            ),
            removed("mon"),
            removed("coach"),
        ]
    );
    assert_eq!(events[1].visibility, Visibility::Int);
    assert_eq!(events[2].visibility, Visibility::Vip);
    let info = closed(&effects);
    assert_eq!(info.ended_by, EndedBy::Client);
    assert_eq!(info.reason, EndedReason::Quit);
    assert_eq!(info.agent, EndedAgent::Present);
}

#[test]
fn close_if_no_agents_closes_when_no_visible_human_agent_remains() {
    let mut fx = Fx::with_agent_and_customer();
    fx.join(agent("agent2"));
    let effects = fx.ok(release("agent", AfterAction::CloseIfNoAgents));
    stays_open(&fx, &effects);
    assert_eq!(left(&only_event(&effects)).1, LeftReason::CloseIfNoAgents);
    let effects = fx.ok(release("agent2", AfterAction::CloseIfNoAgents));
    let facts: Vec<_> = emitted(&effects).iter().map(left).collect();
    assert_eq!(
        facts,
        vec![
            (
                "agent2".into(),
                LeftReason::CloseIfNoAgents,
                AfterAction::CloseIfNoAgents,
                None
            ),
            (
                "cust".into(),
                LeftReason::RemovedByParty,
                AfterAction::KeepAlive,
                Some("agent2".into())
            ),
        ]
    );
    let info = closed(&effects);
    assert_eq!(
        (info.ended_by, info.reason, info.agent),
        (EndedBy::Agent, EndedReason::Force, EndedAgent::Present)
    );
}

#[test]
fn close_if_no_agents_ignores_monitors_and_coaches() {
    let mut fx = Fx::with_agent_and_customer();
    fx.join(monitor("mon"));
    fx.join(coach("coach"));
    let info = closed(&fx.ok(release("agent", AfterAction::CloseIfNoAgents)));
    assert_eq!(info.ended_by, EndedBy::Agent);
    assert!(fx.s.parties().iter().all(|p| !p.present));
}

#[test]
fn close_if_no_agents_from_a_customer_keeps_a_session_with_an_agent() {
    let mut fx = Fx::with_agent_and_customer();
    let effects = fx.ok(release("cust", AfterAction::CloseIfNoAgents));
    stays_open(&fx, &effects);
    let info = closed(&fx.ok(release("agent", AfterAction::KeepAlive)));
    assert_eq!(
        (info.ended_by, info.reason),
        (EndedBy::Client, EndedReason::Force)
    );
    assert_eq!(info.agent, EndedAgent::Present);
}

#[test]
fn force_close_removes_every_party_and_closes_at_once() {
    let mut fx = Fx::full_house();
    let first = fx.s.last_event_id().next();
    fx.advance(7_000);
    let effects = fx.ok(release("sup", AfterAction::ForceClose));
    let events = emitted(&effects);
    let facts: Vec<_> = events.iter().map(left).collect();
    let removed = |who: &str| {
        (
            who.to_owned(),
            LeftReason::RemovedByParty,
            AfterAction::KeepAlive,
            Some("sup".to_owned()),
        )
    };
    assert_eq!(
        facts,
        vec![
            (
                "sup".into(),
                LeftReason::ForceClose,
                AfterAction::ForceClose,
                None
            ),
            removed("cust"),
            removed("agent"),
            removed("mon"),
            removed("coach"),
        ]
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id, EventId(first.0 + i as u64));
        assert_eq!(e.at, fx.now);
    }
    assert!(fx.s.parties().iter().all(|p| !p.present));
    let info = closed(&effects);
    assert_eq!(
        info,
        EndInfo {
            closed_at: fx.now,
            ended_by: EndedBy::Supervisor,
            reason: EndedReason::Force,
            agent: EndedAgent::Present,
        }
    );
}

#[test]
fn ended_by_client_whenever_a_customer_left_first() {
    for (how, reason) in [
        (release("cust", AfterAction::KeepAlive), EndedReason::Quit),
        (
            Input::Remove {
                party: pid("cust"),
                reason: LeftReason::Disconnect,
                asker: None,
            },
            EndedReason::Disconnect,
        ),
    ] {
        let mut fx = Fx::with_agent_and_customer();
        fx.join(customer("cust2"));
        let effects = fx.ok(how);
        stays_open(&fx, &effects);
        fx.ok(release("cust2", AfterAction::KeepAlive));
        let info = closed(&fx.ok(release("agent", AfterAction::ForceClose)));
        assert_eq!((info.ended_by, info.reason), (EndedBy::Client, reason));
        assert_eq!(info.agent, EndedAgent::Present);
    }
}

#[test]
fn ended_by_the_actor_when_a_session_without_customer_is_released() {
    let mut fx = Fx::create(SessionSettings::default(), None, supervisor("sup"));
    fx.join(agent("agent"));
    fx.ok(release("sup", AfterAction::KeepAlive));
    let info = closed(&fx.ok(release("agent", AfterAction::KeepAlive)));
    assert_eq!(
        (info.ended_by, info.reason),
        (EndedBy::Agent, EndedReason::Quit)
    );
    let mut fx = Fx::create(SessionSettings::default(), None, bot("bot"));
    let info = closed(&fx.ok(release("bot", AfterAction::KeepAlive)));
    assert_eq!(
        (info.ended_by, info.reason),
        (EndedBy::Bot, EndedReason::Quit)
    );
    assert_eq!(info.agent, EndedAgent::Absent);
}

#[test]
fn ended_agent_is_visited_when_the_agents_left_before_the_close() {
    let mut fx = Fx::with_agent_and_customer();
    fx.ok(release("agent", AfterAction::KeepAlive));
    let info = closed(&fx.ok(release("cust", AfterAction::KeepAlive)));
    assert_eq!(
        (info.ended_by, info.reason, info.agent),
        (EndedBy::Client, EndedReason::Quit, EndedAgent::Visited)
    );
}

#[test]
fn ended_agent_is_absent_when_only_monitors_coaches_or_bots_took_part() {
    let mut fx = Fx::with_customer();
    fx.join(monitor("mon"));
    fx.join(coach("coach"));
    fx.join(bot("bot"));
    fx.ok(release("bot", AfterAction::KeepAlive));
    let info = closed(&fx.ok(release("cust", AfterAction::KeepAlive)));
    assert_eq!(info.agent, EndedAgent::Absent);
}

#[test]
fn system_close_removes_everyone_for_the_system_reason() {
    for (reason, removal) in [
        (EndedReason::Inactive, LeftReason::Inactivity),
        (EndedReason::DbError, LeftReason::System),
    ] {
        let mut fx = Fx::with_agent_and_customer();
        let effects = fx.ok(Input::SystemClose { reason });
        let facts: Vec<_> = emitted(&effects).iter().map(left).collect();
        assert_eq!(
            facts,
            vec![
                ("cust".into(), removal, AfterAction::KeepAlive, None),
                ("agent".into(), removal, AfterAction::KeepAlive, None),
            ]
        );
        let info = closed(&effects);
        assert_eq!(
            (info.ended_by, info.reason, info.agent),
            (EndedBy::System, reason, EndedAgent::Present)
        );
    }
}

#[test]
fn a_removal_by_another_party_records_the_asker() {
    let mut fx = Fx::full_house();
    fx.refused(
        Input::Remove {
            party: pid("agent"),
            reason: LeftReason::RemovedByParty,
            asker: Some(pid("nobody")),
        },
        CoreError::NotAParty,
    );
    let e = only_event(&fx.ok(Input::Remove {
        party: pid("agent"),
        reason: LeftReason::RemovedByParty,
        asker: Some(pid("sup")),
    }));
    assert_eq!(
        left(&e),
        (
            "agent".into(),
            LeftReason::RemovedByParty,
            AfterAction::KeepAlive,
            Some("sup".into())
        )
    );
}

#[test]
fn after_the_close_every_input_but_tick_and_detach_is_refused() {
    let mut fx = Fx::with_agent_and_customer();
    fx.ok(release("agent", AfterAction::ForceClose));
    for input in [
        Input::Join(agent("late")),
        Input::Send(msg("cust", "x")),
        release("cust", AfterAction::KeepAlive),
        Input::Remove {
            party: pid("cust"),
            reason: LeftReason::Quit,
            asker: None,
        },
        attach("cust"),
        Input::SystemClose {
            reason: EndedReason::Inactive,
        },
    ] {
        fx.refused(input, CoreError::SessionOver);
    }
    fx.advance(1_000_000);
    let before = fx.snapshot();
    assert_eq!(fx.input(Input::Tick), Ok(vec![]));
    assert_eq!(fx.input(detach("cust")), Ok(vec![]));
    assert_eq!(fx.snapshot(), before);
}
