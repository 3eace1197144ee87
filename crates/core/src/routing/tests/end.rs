//! The end of a chat: `stop-abandoned-interaction`, after-chat work, mark done.

use super::*;

#[test]
fn should_stop_follows_every_value_of_stop_abandoned_interaction() {
    use StopAbandoned::*;
    // (policy, agents present now, agent ever joined) -> stop
    let table = [
        (Always, true, true, true),
        (Always, false, false, true),
        (Never, false, false, false),
        (Never, true, true, false),
        (NoAgents, true, true, false),
        (NoAgents, false, true, true),
        (NoAgents, false, false, true),
        (NoAnswer, false, true, false),
        (NoAnswer, true, false, true),
        (NoAnswer, false, false, true),
    ];
    for (policy, present, joined, want) in table {
        assert_eq!(
            should_stop(policy, present, joined),
            want,
            "{policy} present={present} joined={joined}"
        );
    }
}

#[test]
fn stop_abandoned_parses_names_and_legacy_booleans() {
    let parse = |s: &str| s.parse::<StopAbandoned>();
    assert_eq!(parse("always"), Ok(StopAbandoned::Always));
    assert_eq!(parse(" NoAgents "), Ok(StopAbandoned::NoAgents));
    assert_eq!(parse("true"), Ok(StopAbandoned::NoAnswer));
    assert_eq!(parse("false"), Ok(StopAbandoned::Never));
    assert!(parse("sometimes").is_err());
    let json = |s: &str| serde_json::from_str::<StopAbandoned>(s).ok();
    assert_eq!(json("true"), Some(StopAbandoned::NoAnswer));
    assert_eq!(json("false"), Some(StopAbandoned::Never));
    assert_eq!(json("\"noanswer\""), Some(StopAbandoned::NoAnswer));
    assert_eq!(StopAbandoned::default(), StopAbandoned::Never);
    assert_eq!(
        serde_json::to_string(&StopAbandoned::NoAgents)
            .ok()
            .as_deref(),
        Some("\"noagents\"")
    );
}

fn stopped(chat: &str, why: StopReason) -> RouteEffect {
    RouteEffect::StopInteraction {
        interaction: sid(chat),
        why,
    }
}

#[test]
fn a_chat_abandoned_in_queue_is_stopped_under_noanswer() {
    let mut fx = Fx::with(plain(), StopAbandoned::NoAnswer);
    fx.submit("c1");
    assert_eq!(fx.ended("c1"), vec![stopped("c1", StopReason::Policy)]);
    assert!(fx.r.interaction(&sid("c1")).is_none());
}

#[test]
fn a_chat_abandoned_in_queue_stays_routable_offline_under_never() {
    let mut fx = Fx::new();
    fx.submit("c1");
    assert!(fx.ended("c1").is_empty());
    assert!(!fx.chat("c1").online);
    let e = fx.ready_agent("a1", 1);
    assert_eq!(offers(&e), vec![("a1".into(), "c1".into())]);
    fx.accept("a1", "c1");
    assert_eq!(fx.chat("c1").handlers.get(&aid("a1")), Some(&Hold::WrapUp));
    assert!(!fx.chat("c1").agent_ever_joined);
    assert_eq!(fx.done("a1", "c1"), vec![stopped("c1", StopReason::Done)]);
}

#[test]
fn a_chat_answered_outside_routing_leaves_its_queue_at_the_end_under_never() {
    let mut fx = Fx::new();
    fx.submit("c1");
    assert_eq!(
        fx.ended_answered("c1"),
        vec![stopped("c1", StopReason::Done)]
    );
    assert!(fx.r.interaction(&sid("c1")).is_none());
    // Nothing is offered to an agent who becomes ready later.
    let e = fx.ready_agent("a1", 1);
    assert!(offers(&e).is_empty());
}

#[test]
fn a_routed_chat_answered_also_outside_keeps_its_agent_until_mark_done() {
    let mut fx = Fx::new();
    fx.submit("c1");
    fx.ready_agent("a1", 1);
    fx.accept("a1", "c1");
    assert!(fx.ended_answered("c1").is_empty());
    assert_eq!(fx.chat("c1").handlers.get(&aid("a1")), Some(&Hold::WrapUp));
    assert_eq!(fx.done("a1", "c1"), vec![stopped("c1", StopReason::Done)]);
}

#[test]
fn the_end_with_an_agent_present_is_not_stopped_under_noagents() {
    let mut fx = Fx::with(plain(), StopAbandoned::NoAgents);
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    assert!(fx.ended("c1").is_empty());
    assert_eq!(fx.chat("c1").handlers.get(&aid("a1")), Some(&Hold::WrapUp));
    assert_eq!(fx.done("a1", "c1"), vec![stopped("c1", StopReason::Done)]);
}

#[test]
fn the_end_after_the_agent_left_is_stopped_under_noagents() {
    let mut fx = Fx::with(plain(), StopAbandoned::NoAgents);
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.left("a1", "c1", AfterAction::ForceClose);
    assert_eq!(fx.ended("c1"), vec![stopped("c1", StopReason::Policy)]);
    assert_eq!(
        fx.agent("a1").free_capacity(),
        1,
        "the stop frees the agent"
    );
}

#[test]
fn always_stops_even_a_handled_chat() {
    let mut fx = Fx::with(plain(), StopAbandoned::Always);
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    assert_eq!(fx.ended("c1"), vec![stopped("c1", StopReason::Policy)]);
    assert!(fx.agent("a1").chats.is_empty());
}

#[test]
fn the_end_withdraws_a_pending_offer() {
    let mut fx = Fx::with(plain(), StopAbandoned::NoAnswer);
    fx.ready_agent("a1", 1);
    fx.submit("c1");
    let e = fx.ended("c1");
    assert_eq!(
        e,
        vec![
            RouteEffect::OfferWithdrawn {
                agent: aid("a1"),
                interaction: sid("c1"),
                why: WithdrawReason::ChatChanged
            },
            stopped("c1", StopReason::Policy),
        ]
    );
    assert!(fx.agent("a1").offers.is_empty());
}

#[test]
fn after_chat_work_holds_capacity_until_mark_done() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.left("a1", "c1", AfterAction::CloseIfNoAgents);
    fx.ended("c1");
    assert!(
        offers(&fx.submit("c2")).is_empty(),
        "a1 is still in after-chat work"
    );
    let e = fx.done("a1", "c1");
    assert_eq!(e[0], stopped("c1", StopReason::Done));
    assert_eq!(offers(&e), vec![("a1".into(), "c2".into())]);
}

#[test]
fn mark_done_while_still_in_the_chat_is_refused() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    let e = fx.refused(RouteInput::MarkDone {
        agent: aid("a1"),
        interaction: sid("c1"),
    });
    assert_eq!(e, RouteError::StillInChat);
}

#[test]
fn a_conference_agent_marks_done_while_the_chat_goes_on() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.ready_agent("a2", 1);
    fx.ok(RouteInput::Conference {
        agent: aid("a1"),
        interaction: sid("c1"),
        invitee: aid("a2"),
    });
    fx.accept("a2", "c1");
    fx.left("a2", "c1", AfterAction::KeepAlive);
    assert!(fx.done("a2", "c1").is_empty());
    assert!(fx.agent("a2").chats.is_empty());
    assert_eq!(fx.chat("c1").handlers.len(), 1);
}

#[test]
fn joining_an_ended_chat_is_refused() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.ready_agent("a2", 1);
    fx.ended("c1");
    let e = fx.refused(RouteInput::Conference {
        agent: aid("a1"),
        interaction: sid("c1"),
        invitee: aid("a2"),
    });
    assert_eq!(e, RouteError::InteractionOver);
}
