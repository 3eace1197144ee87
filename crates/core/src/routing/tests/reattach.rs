//! Chats an agent was handling before a restart or a failover, restored on another
//! instance (`RouteInput::Reattach`).

use super::*;

fn reattach(fx: &mut Fx, chat: &str, agent: &str) -> Result<Vec<RouteEffect>, RouteError> {
    let now = fx.now;
    fx.r.handle(
        now,
        RouteInput::Reattach {
            interaction: sid(chat),
            queue: qn("sales"),
            submitted_at: T0,
            agent: aid(agent),
        },
    )
}

#[test]
fn a_reattached_chat_is_held_by_its_agent_and_counts_against_capacity() {
    let mut fx = Fx::new();
    fx.login_to("a1", 1, &["sales"]);
    fx.after(5_000);
    let e = reattach(&mut fx, "c1", "a1").expect("reattach");
    assert_eq!(
        e,
        vec![RouteEffect::Reattached {
            agent: aid("a1"),
            interaction: sid("c1")
        }],
        "no offer, no greeting, no notice"
    );
    assert_eq!(fx.chat("c1").stage(), Stage::Handled);
    assert_eq!(
        fx.chat("c1").submitted_at,
        T0,
        "its first submission is kept"
    );
    assert!(fx.chat("c1").agent_ever_joined);
    assert!(fx.agent("a1").chats.contains(&sid("c1")));
    fx.ready("a1");
    assert!(offers(&fx.submit("c2")).is_empty(), "capacity 1 is taken");
}

#[test]
fn a_reattached_chat_goes_back_in_line_if_the_desktop_never_comes() {
    let mut fx = Fx::new();
    fx.login_to("a1", 1, &["sales"]);
    fx.ok(RouteInput::AgentDisconnected { agent: aid("a1") });
    reattach(&mut fx, "c1", "a1").expect("reattach");
    fx.ready_agent("a2", 1);
    let e = fx.after(GRACE_MS).tick();
    assert!(has(
        &e,
        &RouteEffect::Requeued {
            interaction: sid("c1"),
            queue: qn("sales"),
            why: RequeueReason::AgentDisconnected(aid("a1"))
        }
    ));
    assert_eq!(offers(&e), vec![("a2".into(), "c1".into())]);
}

#[test]
fn a_reattached_chat_stays_when_the_desktop_comes_back() {
    let mut fx = Fx::new();
    fx.login_to("a1", 2, &["sales"]);
    fx.ok(RouteInput::AgentDisconnected { agent: aid("a1") });
    reattach(&mut fx, "c1", "a1").expect("reattach");
    fx.after(1_000)
        .ok(RouteInput::AgentReconnected { agent: aid("a1") });
    assert!(fx.after(GRACE_MS).tick().is_empty());
    assert!(fx.agent("a1").chats.contains(&sid("c1")));
    assert_eq!(fx.chat("c1").stage(), Stage::Handled);
}

#[test]
fn reattach_is_refused_for_known_chats_unknown_queues_and_absent_agents() {
    let mut fx = Fx::new();
    fx.ready_agent("a1", 2);
    fx.submit("c1");
    assert_eq!(
        fx.refused(RouteInput::Reattach {
            interaction: sid("c1"),
            queue: qn("sales"),
            submitted_at: T0,
            agent: aid("a1"),
        }),
        RouteError::AlreadySubmitted
    );
    assert_eq!(
        fx.refused(RouteInput::Reattach {
            interaction: sid("c2"),
            queue: qn("nowhere"),
            submitted_at: T0,
            agent: aid("a1"),
        }),
        RouteError::UnknownQueue
    );
    assert_eq!(
        fx.refused(RouteInput::Reattach {
            interaction: sid("c2"),
            queue: qn("sales"),
            submitted_at: T0,
            agent: aid("nobody"),
        }),
        RouteError::NotLoggedIn
    );
}
