//! Scenario tests of the router, one per rule, named after the rule.
//!
//! Layout: this file holds the named fixture (`Fx`) and helpers; the siblings group the
//! rules: `agents.rs` (states, capacity, longest idle, disconnect, logout), `offers.rs`
//! (one offer at a time, reject, no answer, FIFO, draining), `queue.rs` (greeting,
//! position and estimated wait, maximum wait, deadlines), `transfer.rs` (transfer,
//! conference, supervision, leaving), `end.rs` (end of chat, stop policy, mark done) and
//! `reattach.rs` (chats handled before a restart or a failover).

mod agents;
mod end;
mod offers;
mod queue;
mod reattach;
mod transfer;

use std::collections::BTreeSet;

use super::*;
use crate::ids::{SessionId, UnixMillis};
use crate::party::{AfterAction, Visibility};

/// The instant every fixture starts at.
const T0: UnixMillis = UnixMillis(1_700_000_000_000);
/// The fixture's offer timeout.
const OFFER_MS: u64 = 10_000;
/// The fixture's disconnect grace period.
const GRACE_MS: u64 = 60_000;

fn aid(s: &str) -> AgentId {
    s.parse().expect("valid agent id")
}
fn sid(s: &str) -> SessionId {
    s.parse().expect("valid session id")
}
fn qn(s: &str) -> QueueName {
    s.parse().expect("valid queue name")
}

/// The default strategy of the fixture's queues: a 10 s offer timeout, nothing else.
fn plain() -> QueueSettings {
    QueueSettings {
        offer_timeout_ms: OFFER_MS,
        ..QueueSettings::default()
    }
}

/// A router with queues `sales` (given strategy) and `support` (plain), a clock, and
/// checked input helpers.
struct Fx {
    r: Router,
    now: UnixMillis,
}

impl Fx {
    /// Queues `sales` and `support` with the plain strategy.
    fn new() -> Fx {
        Fx::with_sales(plain())
    }

    /// Queue `sales` with `sales`, `support` plain.
    fn with_sales(sales: QueueSettings) -> Fx {
        Fx::with(sales, StopAbandoned::Never)
    }

    fn with(sales: QueueSettings, stop: StopAbandoned) -> Fx {
        let settings = RouterSettings {
            queues: [(qn("sales"), sales), (qn("support"), plain())].into(),
            disconnect_requeue_ms: GRACE_MS,
            stop_abandoned: stop,
        };
        Fx {
            r: Router::new(settings),
            now: T0,
        }
    }

    /// Moves the clock forward.
    fn after(&mut self, ms: u64) -> &mut Fx {
        self.now = self.now.plus_ms(ms);
        self
    }

    /// Applies an input that must be accepted.
    fn ok(&mut self, input: RouteInput) -> Vec<RouteEffect> {
        let desc = format!("{input:?}");
        self.r
            .handle(self.now, input)
            .unwrap_or_else(|e| panic!("{desc} refused: {e}"))
    }

    /// Applies an input that must be refused, and checks the refusal changed nothing.
    fn refused(&mut self, input: RouteInput) -> RouteError {
        let before = self.r.clone();
        let err = self
            .r
            .handle(self.now, input)
            .expect_err("input should be refused");
        assert_eq!(self.r, before, "a refusal changed the router");
        err
    }

    fn tick(&mut self) -> Vec<RouteEffect> {
        self.ok(RouteInput::Tick)
    }

    /// Logs an agent into `queues` with `capacity`, not ready.
    fn login_to(&mut self, agent: &str, capacity: u32, queues: &[&str]) -> Vec<RouteEffect> {
        self.ok(RouteInput::AgentLogin {
            agent: aid(agent),
            capacity,
            queues: queues.iter().map(|q| qn(q)).collect::<BTreeSet<_>>(),
            supervisor: false,
        })
    }

    /// Logs an agent into `sales` with `capacity` and makes it ready.
    fn ready_agent(&mut self, agent: &str, capacity: u32) -> Vec<RouteEffect> {
        self.login_to(agent, capacity, &["sales"]);
        self.ready(agent)
    }

    fn ready(&mut self, agent: &str) -> Vec<RouteEffect> {
        self.ok(RouteInput::AgentReady { agent: aid(agent) })
    }

    fn submit(&mut self, chat: &str) -> Vec<RouteEffect> {
        self.submit_to(chat, "sales")
    }

    fn submit_to(&mut self, chat: &str, queue: &str) -> Vec<RouteEffect> {
        self.ok(RouteInput::Submit {
            interaction: sid(chat),
            queue: qn(queue),
        })
    }

    fn accept(&mut self, agent: &str, chat: &str) -> Vec<RouteEffect> {
        self.ok(RouteInput::Accept {
            agent: aid(agent),
            interaction: sid(chat),
        })
    }

    fn reject(&mut self, agent: &str, chat: &str) -> Vec<RouteEffect> {
        self.ok(RouteInput::Reject {
            agent: aid(agent),
            interaction: sid(chat),
        })
    }

    fn left(&mut self, agent: &str, chat: &str, after_action: AfterAction) -> Vec<RouteEffect> {
        self.ok(RouteInput::AgentLeft {
            agent: aid(agent),
            interaction: sid(chat),
            after_action,
        })
    }

    fn ended(&mut self, chat: &str) -> Vec<RouteEffect> {
        self.ok(RouteInput::InteractionEnded {
            interaction: sid(chat),
            answered: false,
        })
    }

    /// The chat ended after a human agent took part without routing.
    fn ended_answered(&mut self, chat: &str) -> Vec<RouteEffect> {
        self.ok(RouteInput::InteractionEnded {
            interaction: sid(chat),
            answered: true,
        })
    }

    fn done(&mut self, agent: &str, chat: &str) -> Vec<RouteEffect> {
        self.ok(RouteInput::MarkDone {
            agent: aid(agent),
            interaction: sid(chat),
        })
    }

    /// Submits `chat` and has `agent` (the only ready one) accept it.
    fn assigned(&mut self, chat: &str, agent: &str) {
        let fx = self.submit(chat);
        assert_eq!(offers(&fx), vec![(agent.to_owned(), chat.to_owned())]);
        self.accept(agent, chat);
    }

    fn agent(&self, agent: &str) -> &Agent {
        self.r.agent(&aid(agent)).expect("known agent")
    }

    fn chat(&self, chat: &str) -> &Interaction {
        self.r.interaction(&sid(chat)).expect("known interaction")
    }

    fn status(&self, agent: &str) -> AgentStatus {
        self.agent(agent).status.clone()
    }
}

/// The (agent, chat) pairs offered in `effects`.
fn offers(effects: &[RouteEffect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            RouteEffect::Offer {
                agent, interaction, ..
            } => Some((agent.to_string(), interaction.to_string())),
            _ => None,
        })
        .collect()
}

/// The customer notices in `effects`, as (chat, text).
fn notices(effects: &[RouteEffect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            RouteEffect::CustomerNotice {
                interaction, text, ..
            } => Some((interaction.to_string(), text.clone())),
            _ => None,
        })
        .collect()
}

fn has(effects: &[RouteEffect], wanted: &RouteEffect) -> bool {
    effects.contains(wanted)
}

fn not_ready(reason: &str) -> AgentStatus {
    AgentStatus::NotReady {
        reason: reason.to_owned(),
    }
}
