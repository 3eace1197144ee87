//! Agent states, capacity, longest idle, disconnect and logout.

use super::*;

#[test]
fn a_fresh_login_is_not_ready_and_gets_no_offers() {
    let mut fx = Fx::new();
    fx.login_to("a1", 1, &["sales"]);
    assert_eq!(fx.status("a1"), not_ready(""));
    assert!(offers(&fx.submit("c1")).is_empty());
    assert_eq!(offers(&fx.ready("a1")), vec![("a1".into(), "c1".into())]);
}

#[test]
fn longest_idle_ready_agent_gets_the_offer() {
    let mut fx = Fx::new();
    fx.login_to("a1", 1, &["sales"]);
    fx.login_to("a2", 1, &["sales"]);
    fx.ready("a2");
    fx.after(1_000).ready("a1");
    assert_eq!(offers(&fx.submit("c1")), vec![("a2".into(), "c1".into())]);
}

#[test]
fn ties_in_idle_time_go_to_the_lower_agent_id() {
    let mut fx = Fx::new();
    fx.login_to("b", 1, &["sales"]);
    fx.login_to("a", 1, &["sales"]);
    fx.ready("b");
    fx.ready("a");
    assert_eq!(offers(&fx.submit("c1")), vec![("a".into(), "c1".into())]);
}

#[test]
fn an_offer_sends_the_agent_to_the_back_of_the_line() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 2);
    fx.after(1).ready_agent("a2", 2);
    let fx1 = fx.after(1).submit("c1");
    let fx2 = fx.submit("c2");
    assert_eq!(offers(&fx1), vec![("a1".into(), "c1".into())]);
    assert_eq!(offers(&fx2), vec![("a2".into(), "c2".into())]);
}

#[test]
fn agents_only_get_chats_from_queues_they_serve() {
    let mut fx = Fx::new();
    fx.login_to("s1", 1, &["support"]);
    fx.ready("s1");
    assert!(offers(&fx.submit("c1")).is_empty());
    assert_eq!(
        offers(&fx.submit_to("c2", "support")),
        vec![("s1".into(), "c2".into())]
    );
}

#[test]
fn capacity_limits_held_chats() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 2);
    fx.assigned("c1", "a1");
    fx.assigned("c2", "a1");
    assert!(offers(&fx.submit("c3")).is_empty());
    assert_eq!(fx.agent("a1").chats.len(), 2);
    assert!(fx.chat("c3").waiting.is_some());
}

#[test]
fn capacity_counts_pending_offers() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    assert_eq!(offers(&fx.submit("c1")).len(), 1);
    assert!(offers(&fx.submit("c2")).is_empty(), "c1's offer fills a1");
}

#[test]
fn not_ready_withdraws_pending_offers() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.submit("c1");
    let e = fx.ok(RouteInput::AgentNotReady {
        agent: aid("a1"),
        reason: "lunch".into(),
    });
    assert!(has(
        &e,
        &RouteEffect::OfferWithdrawn {
            agent: aid("a1"),
            interaction: sid("c1"),
            why: WithdrawReason::AgentUnavailable
        }
    ));
    assert_eq!(fx.status("a1"), not_ready("lunch"));
    assert!(fx.chat("c1").offer.is_none());
    assert!(fx.agent("a1").offers.is_empty());
}

#[test]
fn ready_again_keeps_the_agents_place_in_line() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.after(1_000).ready_agent("a2", 1);
    fx.after(1_000).ready("a1"); // already ready: no change
    assert_eq!(offers(&fx.submit("c1")), vec![("a1".into(), "c1".into())]);
}

#[test]
fn logout_requeues_the_chats_the_agent_is_in() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.ready_agent("a2", 1);
    let e = fx.ok(RouteInput::AgentLogout { agent: aid("a1") });
    assert!(has(
        &e,
        &RouteEffect::LeaveChat {
            agent: aid("a1"),
            interaction: sid("c1")
        }
    ));
    assert!(has(
        &e,
        &RouteEffect::Requeued {
            interaction: sid("c1"),
            queue: qn("sales"),
            why: RequeueReason::AgentLoggedOut(aid("a1"))
        }
    ));
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
    assert_eq!(fx.status("a1"), AgentStatus::LoggedOut);
    assert!(fx.agent("a1").chats.is_empty());
}

#[test]
fn logged_out_and_unknown_agents_are_refused() {
    let mut fx = Fx::new();
    let e = fx.refused(RouteInput::AgentReady {
        agent: aid("ghost"),
    });
    assert_eq!(e, RouteError::NotLoggedIn);
    fx.ready_agent("a1", 1);
    fx.ok(RouteInput::AgentLogout { agent: aid("a1") });
    let e = fx.refused(RouteInput::AgentReady { agent: aid("a1") });
    assert_eq!(e, RouteError::NotLoggedIn);
}

#[test]
fn login_to_an_unknown_queue_is_refused() {
    let mut fx = Fx::new();
    let e = fx.refused(RouteInput::AgentLogin {
        agent: aid("a1"),
        capacity: 1,
        queues: [qn("nope")].into(),
        supervisor: false,
    });
    assert_eq!(e, RouteError::UnknownQueue);
}

#[test]
fn a_second_login_updates_settings_and_keeps_chats() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.login_to("a1", 3, &["sales", "support"]);
    assert_eq!(fx.status("a1"), AgentStatus::Ready);
    assert_eq!(fx.agent("a1").capacity, 3);
    assert!(fx.agent("a1").chats.contains(&sid("c1")));
}

#[test]
fn a_disconnected_agent_gets_no_offers_and_loses_pending_ones() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.after(1).ready_agent("a2", 1);
    fx.submit("c1");
    let e = fx.ok(RouteInput::AgentDisconnected { agent: aid("a1") });
    assert!(has(
        &e,
        &RouteEffect::OfferWithdrawn {
            agent: aid("a1"),
            interaction: sid("c1"),
            why: WithdrawReason::AgentUnavailable
        }
    ));
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
    fx.reject("a2", "c1");
    assert!(fx
        .chat("c1")
        .offer
        .as_ref()
        .is_some_and(|o| o.agent == aid("a2")));
}

#[test]
fn a_disconnected_agents_chats_are_requeued_after_the_wait() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.ok(RouteInput::AgentDisconnected { agent: aid("a1") });
    assert_eq!(fx.r.next_deadline(), Some(fx.now.plus_ms(GRACE_MS)));
    assert!(fx.after(GRACE_MS - 1).tick().is_empty());
    fx.ready_agent("a2", 1);
    let e = fx.after(1).tick();
    assert!(has(
        &e,
        &RouteEffect::Requeued {
            interaction: sid("c1"),
            queue: qn("sales"),
            why: RequeueReason::AgentDisconnected(aid("a1"))
        }
    ));
    assert!(has(
        &e,
        &RouteEffect::SetNotReady {
            agent: aid("a1"),
            reason: DISCONNECTED_REASON.into()
        }
    ));
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
    assert!(fx.agent("a1").chats.is_empty());
    assert_eq!(fx.r.next_deadline(), Some(fx.now.plus_ms(OFFER_MS)));
}

#[test]
fn reconnecting_within_the_wait_keeps_the_chats() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 2);
    fx.assigned("c1", "a1");
    fx.ok(RouteInput::AgentDisconnected { agent: aid("a1") });
    fx.after(GRACE_MS / 2)
        .ok(RouteInput::AgentReconnected { agent: aid("a1") });
    assert_eq!(fx.r.next_deadline(), None);
    assert!(fx.after(GRACE_MS).tick().is_empty());
    assert!(fx.agent("a1").chats.contains(&sid("c1")));
    assert_eq!(fx.status("a1"), AgentStatus::Ready);
    assert_eq!(offers(&fx.submit("c2")), vec![("a1".into(), "c2".into())]);
}

#[test]
fn a_disconnected_agent_in_a_conference_just_leaves_it() {
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
    fx.ok(RouteInput::AgentDisconnected { agent: aid("a2") });
    let e = fx.after(GRACE_MS).tick();
    assert!(!e.iter().any(|e| matches!(e, RouteEffect::Requeued { .. })));
    assert!(fx.chat("c1").handlers.contains_key(&aid("a1")));
    assert!(!fx.chat("c1").handlers.contains_key(&aid("a2")));
}
