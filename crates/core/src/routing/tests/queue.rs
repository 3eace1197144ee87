//! Greeting, position and estimated-wait notices, maximum wait, deadlines.

use super::*;

fn noticing(interval_ms: u64, estimated_wait: bool) -> QueueSettings {
    QueueSettings {
        position_notices: true,
        position_interval_ms: interval_ms,
        estimated_wait,
        ..plain()
    }
}

fn max_wait(after_ms: u64, action: MaxWaitAction) -> QueueSettings {
    QueueSettings {
        max_wait: Some(MaxWait {
            after_ms,
            message: Some("Sorry, all agents are busy.".into()),
            action,
        }),
        ..plain()
    }
}

#[test]
fn the_greeting_is_sent_on_submit() {
    let mut fx = Fx::with_sales(QueueSettings {
        greeting: Some("Welcome!".into()),
        ..plain()
    });
    let e = fx.submit("c1");
    assert_eq!(
        e,
        vec![RouteEffect::CustomerNotice {
            interaction: sid("c1"),
            kind: NoticeKind::Greeting,
            text: "Welcome!".into()
        }]
    );
    assert!(
        fx.submit_to("c2", "support").is_empty(),
        "no greeting configured"
    );
}

#[test]
fn position_notices_on_entry_and_every_interval() {
    let mut fx = Fx::with_sales(noticing(30_000, false));
    fx.submit("c1");
    let e = fx.after(1).submit("c2");
    assert_eq!(
        notices(&e),
        vec![("c2".into(), "You are number 2 in the queue.".into())]
    );
    assert_eq!(fx.r.next_deadline(), Some(T0.plus_ms(30_000)));
    let e = fx.after(29_999).tick();
    assert_eq!(
        notices(&e),
        vec![("c1".into(), "You are number 1 in the queue.".into())]
    );
    let e = fx.after(1).tick();
    assert_eq!(notices(&e).len(), 1, "c2's turn");
}

#[test]
fn an_interval_of_zero_sends_the_position_once() {
    let mut fx = Fx::with_sales(noticing(0, false));
    assert_eq!(notices(&fx.submit("c1")).len(), 1);
    assert_eq!(fx.r.next_deadline(), None);
}

#[test]
fn no_position_notice_while_the_chat_is_offered() {
    let mut fx = Fx::with_sales(noticing(30_000, false));
    fx.ready_agent("a1", 1);
    let e = fx.submit("c1");
    assert!(notices(&e).is_empty());
    assert_eq!(offers(&e).len(), 1);
    // The offer times out with nobody else: the chat waits again and is told its place.
    let e = fx.after(OFFER_MS).tick();
    assert_eq!(
        notices(&e),
        vec![("c1".into(), "You are number 1 in the queue.".into())]
    );
}

#[test]
fn estimated_wait_is_unknown_until_a_chat_was_assigned() {
    let mut fx = Fx::with_sales(noticing(0, true));
    let e = fx.submit("c1");
    assert_eq!(
        notices(&e),
        vec![(
            "c1".into(),
            "You are number 1 in the queue. Estimated wait: unknown.".into()
        )]
    );
    assert_eq!(fx.r.estimated_wait_ms(&qn("sales"), 1), None);
}

#[test]
fn estimated_wait_is_the_place_times_the_mean_wait_per_place() {
    let mut fx = Fx::with_sales(noticing(0, true));
    fx.submit("c1"); // place 1
    fx.submit("c2"); // place 2
    fx.login_to("a1", 2, &["sales"]);
    fx.after(60_000).ready("a1");
    fx.accept("a1", "c1"); // waited 60 s at place 1: 60 s per place
    fx.after(60_000).accept("a1", "c2"); // waited 120 s at place 2: 60 s per place
    assert_eq!(fx.r.estimated_wait_ms(&qn("sales"), 3), Some(180_000));
    let e = fx.submit("c3");
    assert_eq!(
        e[0],
        RouteEffect::CustomerNotice {
            interaction: sid("c3"),
            kind: NoticeKind::Position {
                place: 1,
                estimated_wait_ms: Some(60_000)
            },
            text: "You are number 1 in the queue. Estimated wait: about 1 minute.".into()
        }
    );
}

#[test]
fn max_wait_with_close_sends_the_message_and_closes_the_chat() {
    let mut fx = Fx::with_sales(max_wait(120_000, MaxWaitAction::Close));
    fx.login_to("a1", 1, &["sales"]);
    fx.ready("a1");
    fx.ok(RouteInput::AgentNotReady {
        agent: aid("a1"),
        reason: "busy".into(),
    });
    fx.submit("c1");
    assert_eq!(fx.r.next_deadline(), Some(T0.plus_ms(120_000)));
    assert!(fx.after(119_999).tick().is_empty());
    let e = fx.after(1).tick();
    assert_eq!(
        e,
        vec![
            RouteEffect::CustomerNotice {
                interaction: sid("c1"),
                kind: NoticeKind::MaxWait,
                text: "Sorry, all agents are busy.".into()
            },
            RouteEffect::CloseInteraction {
                interaction: sid("c1"),
                reason: CloseReason::MaxWait
            },
        ]
    );
    assert!(fx.r.interaction(&sid("c1")).is_none());
    assert!(fx.ended("c1").is_empty(), "the later end is ignored");
}

#[test]
fn max_wait_with_close_withdraws_a_pending_offer() {
    let mut fx = Fx::with_sales(QueueSettings {
        offer_timeout_ms: 600_000,
        ..max_wait(60_000, MaxWaitAction::Close)
    });
    fx.ready_agent("a1", 1);
    fx.submit("c1");
    let e = fx.after(60_000).tick();
    assert!(has(
        &e,
        &RouteEffect::OfferWithdrawn {
            agent: aid("a1"),
            interaction: sid("c1"),
            why: WithdrawReason::ChatChanged
        }
    ));
    assert!(fx.agent("a1").offers.is_empty());
}

#[test]
fn max_wait_with_keep_waiting_sends_the_message_once_and_keeps_routing() {
    let mut fx = Fx::with_sales(max_wait(60_000, MaxWaitAction::KeepWaiting));
    fx.submit("c1");
    let e = fx.after(60_000).tick();
    assert_eq!(notices(&e).len(), 1);
    assert_eq!(fx.r.next_deadline(), None);
    assert!(fx.after(600_000).tick().is_empty());
    assert_eq!(offers(&fx.ready_agent("a1", 1)).len(), 1);
}

#[test]
fn next_deadline_is_the_earliest_pending_one() {
    let mut fx = Fx::with_sales(QueueSettings {
        position_notices: true,
        position_interval_ms: 50_000,
        ..max_wait(40_000, MaxWaitAction::KeepWaiting)
    });
    fx.submit("c1");
    assert_eq!(fx.r.next_deadline(), Some(T0.plus_ms(40_000)));
    fx.ready_agent("a1", 1);
    assert_eq!(fx.r.next_deadline(), Some(T0.plus_ms(OFFER_MS)));
}

#[test]
fn submitting_to_an_unknown_queue_or_twice_is_refused() {
    let mut fx = Fx::new();
    let e = fx.refused(RouteInput::Submit {
        interaction: sid("c1"),
        queue: qn("nope"),
    });
    assert_eq!(e, RouteError::UnknownQueue);
    fx.submit("c1");
    let e = fx.refused(RouteInput::Submit {
        interaction: sid("c1"),
        queue: qn("sales"),
    });
    assert_eq!(e, RouteError::AlreadySubmitted);
}

#[test]
fn position_counts_only_the_chats_ahead_in_the_same_queue() {
    let mut fx = Fx::new();
    fx.submit("c1");
    fx.submit_to("x1", "support");
    fx.after(1).submit("c2");
    assert_eq!(fx.r.position(&sid("c2")), Some(2));
    assert_eq!(fx.r.position(&sid("x1")), Some(1));
}

#[test]
fn position_and_estimate_ignore_chats_whose_customers_left() {
    // Under `never` a chat abandoned before anyone answered stays in the queue, offline.
    let mut fx = Fx::with(noticing(0, false), StopAbandoned::Never);
    for c in ["gone1", "gone2", "live"] {
        fx.after(1).submit(c);
    }
    fx.ended("gone1");
    fx.ended("gone2");
    assert_eq!(fx.r.position(&sid("live")), Some(1));
    // An offline chat still has its own place, counting the live ones ahead of it.
    assert_eq!(fx.r.position(&sid("gone2")), Some(1));
    // A chat submitted now enters behind the one live customer only.
    let e = fx.after(1).submit("next");
    assert!(e.iter().any(|e| matches!(
        e,
        RouteEffect::CustomerNotice {
            kind: NoticeKind::Position { place: 2, .. },
            ..
        }
    )));
}

#[test]
fn a_resubmitted_chat_keeps_its_place_and_wait_and_is_not_greeted_again() {
    let mut fx = Fx::with_sales(QueueSettings {
        greeting: Some("Welcome!".into()),
        ..max_wait(60_000, MaxWaitAction::KeepWaiting)
    });
    fx.after(10_000).submit("newer");
    // "older" waited since T0, before a restart; it comes back 20 s later.
    let e = fx.after(10_000).ok(RouteInput::Resubmit {
        interaction: sid("older"),
        queue: qn("sales"),
        submitted_at: T0,
    });
    assert!(notices(&e).is_empty(), "no second greeting: {e:?}");
    assert_eq!(
        fx.r.position(&sid("older")),
        Some(1),
        "ahead of the newer chat"
    );
    assert_eq!(fx.r.position(&sid("newer")), Some(2));
    // Its maximum wait counts from T0: due at T0 + 60 s, not 60 s from now.
    assert_eq!(fx.r.next_deadline(), Some(T0.plus_ms(60_000)));
}
