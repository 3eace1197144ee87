//! One offer at a time, accept, reject, no answer, FIFO, draining the queue.

use super::*;

#[test]
fn accepting_assigns_the_chat_and_ends_its_wait() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.submit("c1");
    let e = fx.accept("a1", "c1");
    assert_eq!(
        e,
        vec![RouteEffect::Assigned {
            agent: aid("a1"),
            interaction: sid("c1"),
            kind: OfferKind::Queue(qn("sales"))
        }]
    );
    let c = fx.chat("c1");
    assert!(c.waiting.is_none() && c.offer.is_none() && c.agent_ever_joined);
    assert_eq!(c.handlers.get(&aid("a1")), Some(&Hold::Active));
    assert_eq!(fx.r.next_deadline(), None);
}

#[test]
fn one_offer_at_a_time_per_interaction() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.ready_agent("a2", 1);
    let e = fx.submit("c1");
    assert_eq!(offers(&e).len(), 1);
    assert!(fx.agent("a1").offers.len() + fx.agent("a2").offers.len() == 1);
}

#[test]
fn accepting_without_an_offer_is_refused() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.ready_agent("a2", 1);
    fx.submit("c1"); // offered to a1
    let e = fx.refused(RouteInput::Accept {
        agent: aid("a2"),
        interaction: sid("c1"),
    });
    assert_eq!(e, RouteError::NoSuchOffer);
    let e = fx.refused(RouteInput::Accept {
        agent: aid("a1"),
        interaction: sid("nope"),
    });
    assert_eq!(e, RouteError::UnknownInteraction);
}

#[test]
fn a_rejected_offer_goes_to_the_next_agent() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.after(1).ready_agent("a2", 1);
    fx.submit("c1");
    let e = fx.reject("a1", "c1");
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
    assert_eq!(
        fx.status("a1"),
        AgentStatus::Ready,
        "reject keeps the agent ready"
    );
    assert!(fx.agent("a1").offers.is_empty());
}

#[test]
fn a_rejected_chat_returns_to_an_agent_only_after_all_others_had_it() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.after(1).ready_agent("a2", 1);
    fx.after(1).ready_agent("a3", 1);
    fx.submit("c1");
    // a1 rejects; a1 is now the longest-waiting again after a2 and a3 got offers.
    assert_eq!(
        offers(&fx.reject("a1", "c1")),
        vec![("a2".into(), "c1".into())]
    );
    assert_eq!(
        offers(&fx.reject("a2", "c1")),
        vec![("a3".into(), "c1".into())]
    );
    // Everyone had it: start over with the longest waiting (a1, offered first).
    assert_eq!(
        offers(&fx.reject("a3", "c1")),
        vec![("a1".into(), "c1".into())]
    );
    assert_eq!(fx.chat("c1").tried, BTreeSet::new());
}

#[test]
fn an_unanswered_offer_goes_to_the_next_agent_and_sets_not_ready() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 2);
    fx.after(1).ready_agent("a2", 1);
    let e = fx.submit("c1");
    let until = fx.now.plus_ms(OFFER_MS);
    assert!(matches!(&e[..], [RouteEffect::Offer { until: u, .. }] if *u == until));
    assert_eq!(fx.r.next_deadline(), Some(until));
    assert!(fx.after(OFFER_MS - 1).tick().is_empty());
    let e = fx.after(1).tick();
    assert_eq!(
        e,
        vec![
            RouteEffect::OfferWithdrawn {
                agent: aid("a1"),
                interaction: sid("c1"),
                why: WithdrawReason::Lapsed
            },
            RouteEffect::SetNotReady {
                agent: aid("a1"),
                reason: NO_ANSWER_REASON.into()
            },
            RouteEffect::Offer {
                agent: aid("a2"),
                interaction: sid("c1"),
                until: fx.now.plus_ms(OFFER_MS),
                kind: OfferKind::Queue(qn("sales"))
            },
        ]
    );
    assert_eq!(fx.status("a1"), not_ready(NO_ANSWER_REASON));
}

#[test]
fn a_no_answer_withdraws_the_agents_other_offers_too() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 2);
    fx.submit("c1");
    fx.after(1_000).submit("c2"); // a1 has capacity 2: both offered
    assert_eq!(fx.agent("a1").offers.len(), 2);
    let e = fx.after(OFFER_MS - 1_000).tick();
    assert!(has(
        &e,
        &RouteEffect::OfferWithdrawn {
            agent: aid("a1"),
            interaction: sid("c2"),
            why: WithdrawReason::AgentUnavailable
        }
    ));
    assert!(fx.agent("a1").offers.is_empty());
    assert!(fx.chat("c2").offer.is_none() && fx.chat("c2").waiting.is_some());
}

#[test]
fn chats_are_offered_fifo_by_submit_time() {
    let mut fx = Fx::new();
    fx.submit("c2");
    fx.after(1).submit("c1");
    fx.after(1).submit("c0");
    fx.login_to("a1", 3, &["sales"]);
    let e = fx.ready("a1");
    let order: Vec<String> = offers(&e).into_iter().map(|(_, c)| c).collect();
    assert_eq!(order, vec!["c2", "c1", "c0"]);
}

#[test]
fn freed_capacity_drains_the_oldest_waiting_chat() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.after(1).submit("c2");
    fx.after(1).submit("c3");
    fx.left("a1", "c1", AfterAction::CloseIfNoAgents);
    fx.ended("c1");
    let e = fx.done("a1", "c1");
    assert_eq!(offers(&e), vec![("a1".into(), "c2".into())]);
}

#[test]
fn rejecting_someone_elses_offer_is_refused() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.ready_agent("a2", 1);
    fx.submit("c1");
    let e = fx.refused(RouteInput::Reject {
        agent: aid("a2"),
        interaction: sid("c1"),
    });
    assert_eq!(e, RouteError::NoSuchOffer);
}
