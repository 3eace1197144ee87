//! Transfer to an agent or a queue, conference, supervision, leaving.

use super::*;

fn transfer(fx: &mut Fx, from: &str, to: &str, chat: &str) -> Vec<RouteEffect> {
    fx.ok(RouteInput::TransferToAgent {
        from: aid(from),
        to: aid(to),
        interaction: sid(chat),
    })
}

fn invite(fx: &mut Fx, agent: &str, chat: &str, invitee: &str) -> Vec<RouteEffect> {
    fx.ok(RouteInput::Conference {
        agent: aid(agent),
        interaction: sid(chat),
        invitee: aid(invitee),
    })
}

/// `a1` handles `c1`; `a2` is ready; both have capacity 1.
fn a1_in_c1() -> Fx {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 1);
    fx.assigned("c1", "a1");
    fx.ready_agent("a2", 1);
    fx
}

#[test]
fn transfer_to_an_agent_offers_the_chat_and_moves_it_on_accept() {
    let mut fx = a1_in_c1();
    let e = transfer(&mut fx, "a1", "a2", "c1");
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
    let e = fx.accept("a2", "c1");
    assert_eq!(
        e,
        vec![
            RouteEffect::Assigned {
                agent: aid("a2"),
                interaction: sid("c1"),
                kind: OfferKind::Transfer { from: aid("a1") }
            },
            RouteEffect::LeaveChat {
                agent: aid("a1"),
                interaction: sid("c1")
            },
        ]
    );
    let c = fx.chat("c1");
    assert_eq!(c.handlers.get(&aid("a1")), Some(&Hold::WrapUp));
    assert_eq!(c.handlers.get(&aid("a2")), Some(&Hold::Active));
}

#[test]
fn a_rejected_transfer_leaves_the_chat_with_its_agent() {
    let mut fx = a1_in_c1();
    transfer(&mut fx, "a1", "a2", "c1");
    let e = fx.reject("a2", "c1");
    assert_eq!(
        e,
        vec![RouteEffect::InviteFailed {
            interaction: sid("c1"),
            invitee: aid("a2"),
            kind: OfferKind::Transfer { from: aid("a1") }
        }]
    );
    assert_eq!(fx.chat("c1").handlers.get(&aid("a1")), Some(&Hold::Active));
    assert!(fx.chat("c1").offer.is_none());
}

#[test]
fn an_unanswered_transfer_fails_and_sets_the_target_not_ready() {
    let mut fx = a1_in_c1();
    transfer(&mut fx, "a1", "a2", "c1");
    let e = fx.after(OFFER_MS).tick();
    assert!(e
        .iter()
        .any(|e| matches!(e, RouteEffect::InviteFailed { .. })));
    assert_eq!(fx.status("a2"), not_ready(NO_ANSWER_REASON));
}

#[test]
fn transfer_to_an_unavailable_agent_is_refused() {
    let mut fx = a1_in_c1();
    fx.assigned("c2", "a2"); // a2 is full
    let e = fx.refused(RouteInput::TransferToAgent {
        from: aid("a1"),
        to: aid("a2"),
        interaction: sid("c1"),
    });
    assert_eq!(e, RouteError::AgentUnavailable);
    let e = fx.refused(RouteInput::TransferToAgent {
        from: aid("a2"),
        to: aid("a1"),
        interaction: sid("c1"),
    });
    assert_eq!(e, RouteError::NotHandling);
}

#[test]
fn transfer_to_a_queue_requeues_the_chat_without_its_agent() {
    let mut fx = a1_in_c1();
    fx.login_to("s1", 1, &["support"]);
    fx.ready("s1");
    let e = fx.ok(RouteInput::TransferToQueue {
        from: aid("a1"),
        queue: qn("support"),
        interaction: sid("c1"),
    });
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
            queue: qn("support"),
            why: RequeueReason::Transferred(aid("a1"))
        }
    ));
    assert_eq!(offers(&e), vec![("s1".into(), "c1".into())]);
    assert_eq!(fx.chat("c1").queue, qn("support"));
}

#[test]
fn transfer_to_the_same_queue_skips_the_transferring_agent() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 3);
    fx.assigned("c1", "a1");
    let e = fx.ok(RouteInput::TransferToQueue {
        from: aid("a1"),
        queue: qn("sales"),
        interaction: sid("c1"),
    });
    assert!(offers(&e).is_empty(), "a1 holds c1 in after-chat work");
    let e = fx.ready_agent("a2", 1);
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
}

#[test]
fn conference_adds_a_second_agent_who_uses_capacity() {
    let mut fx = a1_in_c1();
    let e = invite(&mut fx, "a1", "c1", "a2");
    assert!(matches!(
        &e[..],
        [RouteEffect::Offer {
            kind: OfferKind::Conference { .. },
            ..
        }]
    ));
    fx.accept("a2", "c1");
    let c = fx.chat("c1");
    assert_eq!(c.handlers.len(), 2);
    assert!(c.handlers.values().all(|h| *h == Hold::Active));
    assert_eq!(fx.agent("a2").free_capacity(), 0);
    assert!(offers(&fx.submit("c2")).iter().all(|(a, _)| a != "a2"));
}

#[test]
fn one_invitation_at_a_time() {
    let mut fx = a1_in_c1();
    fx.ready_agent("a3", 1);
    invite(&mut fx, "a1", "c1", "a2");
    let e = fx.refused(RouteInput::Conference {
        agent: aid("a1"),
        interaction: sid("c1"),
        invitee: aid("a3"),
    });
    assert_eq!(e, RouteError::OfferPending);
}

#[test]
fn the_last_agent_leaving_with_keep_alive_requeues_the_chat() {
    let mut fx = a1_in_c1();
    let e = fx.left("a1", "c1", AfterAction::KeepAlive);
    assert!(has(
        &e,
        &RouteEffect::Requeued {
            interaction: sid("c1"),
            queue: qn("sales"),
            why: RequeueReason::AgentLeft(aid("a1"))
        }
    ));
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
    assert_eq!(fx.chat("c1").handlers.get(&aid("a1")), Some(&Hold::WrapUp));
}

#[test]
fn leaving_with_a_closing_after_action_does_not_requeue() {
    let mut fx = a1_in_c1();
    let e = fx.left("a1", "c1", AfterAction::CloseIfNoAgents);
    assert!(e.is_empty());
    assert!(fx.chat("c1").waiting.is_none());
}

#[test]
fn an_agent_leaving_a_conference_leaves_the_chat_to_the_other() {
    let mut fx = a1_in_c1();
    invite(&mut fx, "a1", "c1", "a2");
    fx.accept("a2", "c1");
    let e = fx.left("a1", "c1", AfterAction::KeepAlive);
    assert!(e.is_empty());
    assert_eq!(fx.chat("c1").handlers.get(&aid("a2")), Some(&Hold::Active));
    let e = fx.refused(RouteInput::TransferToQueue {
        from: aid("a1"),
        queue: qn("sales"),
        interaction: sid("c1"),
    });
    assert_eq!(e, RouteError::NotHandling);
}

#[test]
fn transfer_to_a_queue_from_a_conference_is_refused() {
    let mut fx = a1_in_c1();
    invite(&mut fx, "a1", "c1", "a2");
    fx.accept("a2", "c1");
    let e = fx.refused(RouteInput::TransferToQueue {
        from: aid("a1"),
        queue: qn("sales"),
        interaction: sid("c1"),
    });
    assert_eq!(e, RouteError::Conferenced);
}

#[test]
fn supervisors_monitor_coach_and_barge_with_their_visibility() {
    let mut fx = a1_in_c1();
    fx.ok(RouteInput::AgentLogin {
        agent: aid("boss"),
        capacity: 0,
        queues: BTreeSet::new(),
        supervisor: true,
    });
    for v in [Visibility::Int, Visibility::Vip, Visibility::All] {
        let e = fx.ok(RouteInput::Supervise {
            supervisor: aid("boss"),
            interaction: sid("c1"),
            visibility: v,
        });
        assert_eq!(
            e,
            vec![RouteEffect::SupervisorJoined {
                supervisor: aid("boss"),
                interaction: sid("c1"),
                visibility: v
            }]
        );
        assert_eq!(fx.chat("c1").supervisors.get(&aid("boss")), Some(&v));
    }
    assert_eq!(fx.agent("boss").load(), 0, "supervision uses no capacity");
    fx.left("boss", "c1", AfterAction::KeepAlive);
    assert!(fx.chat("c1").supervisors.is_empty());
    assert!(fx.agent("boss").supervising.is_empty());
}

#[test]
fn only_supervisors_may_supervise() {
    let mut fx = a1_in_c1();
    let e = fx.refused(RouteInput::Supervise {
        supervisor: aid("a2"),
        interaction: sid("c1"),
        visibility: Visibility::Int,
    });
    assert_eq!(e, RouteError::NotSupervisor);
}
