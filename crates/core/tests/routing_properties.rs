//! Property tests of the router over random input sequences.
//!
//! A model fed only with the effects the router returns (as the shell would be) tracks
//! the outstanding offers and the chats closed or stopped. Checked on every step:
//! `handle` never panics; a refusal changes nothing; no agent ever holds more chats
//! (offers included) than its capacity; a chat is never offered to two agents at once,
//! and offers go only to ready, connected agents; agents' and chats' views of each other
//! agree; no submitted chat is lost (it is tracked, waiting or held, or was closed or
//! stopped); a `Tick` leaves no deadline in the past. At the end, with enough ready
//! agents and ticks, every chat is assigned or closed. A hostile run feeds the same
//! inputs at arbitrary, even backwards, instants.

use std::collections::{BTreeMap, BTreeSet};

use parley_core::routing::{
    AgentId, AgentStatus, Hold, MaxWait, MaxWaitAction, QueueName, QueueSettings, RouteEffect,
    RouteInput, Router, RouterSettings, StopAbandoned,
};
use parley_core::{AfterAction, SessionId, UnixMillis, Visibility};
use proptest::prelude::*;

const AGENTS: usize = 5;
const CHATS: usize = 6;
const T0: UnixMillis = UnixMillis(1_700_000_000_000);

fn agent(i: usize) -> AgentId {
    format!("a{i}").parse().expect("agent id")
}
fn chat(i: usize) -> SessionId {
    format!("c{i}").parse().expect("session id")
}
fn queue(i: usize) -> QueueName {
    format!("q{}", i % 2).parse().expect("queue name")
}
/// Each agent always logs in with the same capacity (0 for the pure supervisor a4).
fn capacity(i: usize) -> u32 {
    [1, 2, 3, 1, 0][i % AGENTS]
}

/// The capacity the agent always logs in with (the drain agents `d*` have 100).
fn capacity_of(id: &AgentId) -> u32 {
    match id.as_str().strip_prefix('a').and_then(|n| n.parse().ok()) {
        Some(i) => capacity(i),
        None => 100,
    }
}

fn settings(stop: StopAbandoned) -> RouterSettings {
    let q0 = QueueSettings {
        position_notices: true,
        position_interval_ms: 10_000,
        estimated_wait: true,
        offer_timeout_ms: 5_000,
        max_wait: Some(MaxWait {
            after_ms: 60_000,
            message: Some("still busy".into()),
            action: MaxWaitAction::KeepWaiting,
        }),
        ..QueueSettings::default()
    };
    let q1 = QueueSettings {
        greeting: Some("hello".into()),
        offer_timeout_ms: 8_000,
        max_wait: Some(MaxWait {
            after_ms: 30_000,
            message: None,
            action: MaxWaitAction::Close,
        }),
        ..QueueSettings::default()
    };
    RouterSettings {
        queues: [(queue(0), q0), (queue(1), q1)].into(),
        disconnect_requeue_ms: 20_000,
        stop_abandoned: stop,
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// One input as is.
    In(RouteInput),
    /// Answer the n-th pending offer (accept if true), so that offers get answered.
    Answer(usize, bool),
    /// A release; a closing one with no agent left is followed by the chat's end.
    Leave(usize, usize, AfterAction),
    /// Move the clock, then `Tick`.
    Wait(u64),
}

fn login(i: usize) -> RouteInput {
    RouteInput::AgentLogin {
        agent: agent(i),
        capacity: capacity(i),
        queues: [queue(i), queue(i / 2)].into(),
        supervisor: i >= 3,
    }
}

fn op() -> impl Strategy<Value = Op> {
    use RouteInput as I;
    let (a, c) = (0..AGENTS, 0..CHATS);
    let vis = prop_oneof![
        Just(Visibility::Int),
        Just(Visibility::Vip),
        Just(Visibility::All)
    ];
    let after = prop_oneof![
        3 => Just(AfterAction::KeepAlive),
        1 => Just(AfterAction::CloseIfNoAgents),
        1 => Just(AfterAction::ForceClose)
    ];
    let by_agent = |f: fn(AgentId) -> RouteInput| a.clone().prop_map(move |i| Op::In(f(agent(i))));
    let pair = |f: fn(AgentId, SessionId) -> RouteInput| {
        (a.clone(), c.clone()).prop_map(move |(x, y)| Op::In(f(agent(x), chat(y))))
    };
    prop_oneof![
        2 => a.clone().prop_map(|i| Op::In(login(i))),
        3 => by_agent(|agent| I::AgentReady { agent }),
        1 => by_agent(|agent| I::AgentNotReady { agent, reason: "break".into() }),
        1 => by_agent(|agent| I::AgentLogout { agent }),
        1 => by_agent(|agent| I::AgentDisconnected { agent }),
        1 => by_agent(|agent| I::AgentReconnected { agent }),
        3 => (c.clone(), 0..2usize)
            .prop_map(|(c, q)| Op::In(I::Submit { interaction: chat(c), queue: queue(q) })),
        1 => pair(|agent, interaction| I::Accept { agent, interaction }),
        1 => pair(|agent, interaction| I::Reject { agent, interaction }),
        4 => (0..4usize, prop::bool::weighted(0.7)).prop_map(|(n, y)| Op::Answer(n, y)),
        1 => (a.clone(), a.clone(), c.clone()).prop_map(|(x, y, c)| Op::In(I::TransferToAgent {
            from: agent(x), to: agent(y), interaction: chat(c)
        })),
        1 => (a.clone(), 0..2usize, c.clone()).prop_map(|(x, q, c)| Op::In(I::TransferToQueue {
            from: agent(x), queue: queue(q), interaction: chat(c)
        })),
        1 => (a.clone(), c.clone(), a.clone()).prop_map(|(x, c, y)| Op::In(I::Conference {
            agent: agent(x), interaction: chat(c), invitee: agent(y)
        })),
        1 => (a.clone(), c.clone(), vis).prop_map(|(x, c, v)| Op::In(I::Supervise {
            supervisor: agent(x), interaction: chat(c), visibility: v
        })),
        2 => (a.clone(), c.clone(), after).prop_map(|(x, c, w)| Op::Leave(x, c, w)),
        1 => (c.clone(), any::<bool>()).prop_map(|(c, answered)| {
            Op::In(I::InteractionEnded { interaction: chat(c), answered })
        }),
        2 => pair(|agent, interaction| I::MarkDone { agent, interaction }),
        3 => (0..25_000u64).prop_map(Op::Wait),
    ]
}

fn stop_policy() -> impl Strategy<Value = StopAbandoned> {
    prop_oneof![
        Just(StopAbandoned::Always),
        Just(StopAbandoned::Never),
        Just(StopAbandoned::NoAgents),
        Just(StopAbandoned::NoAnswer)
    ]
}

/// The inputs for one op.
fn inputs(r: &Router, op: &Op) -> Vec<RouteInput> {
    match op {
        Op::In(input) => vec![input.clone()],
        Op::Answer(n, yes) => {
            let offers: Vec<_> = r
                .interactions()
                .filter_map(|ix| ix.offer.as_ref().map(|o| (o.agent.clone(), ix.id.clone())))
                .collect();
            let Some((agent, interaction)) = offers.get(n % offers.len().max(1)).cloned() else {
                return Vec::new();
            };
            vec![if *yes {
                RouteInput::Accept { agent, interaction }
            } else {
                RouteInput::Reject { agent, interaction }
            }]
        }
        Op::Leave(x, c, w) => {
            let (agent, interaction) = (agent(*x), chat(*c));
            // As the shell does: a closing release with no agent left ends the chat.
            let ends = r.interaction(&interaction).is_some_and(|ix| {
                ix.handlers.get(&agent) == Some(&Hold::Active)
                    && ix.handlers.values().filter(|h| **h == Hold::Active).count() == 1
            });
            let mut v = vec![RouteInput::AgentLeft {
                agent,
                interaction: interaction.clone(),
                after_action: *w,
            }];
            if *w != AfterAction::KeepAlive && ends {
                v.push(RouteInput::InteractionEnded {
                    interaction,
                    answered: true,
                });
            }
            v
        }
        Op::Wait(_) => vec![RouteInput::Tick],
    }
}

/// What the shell learns from effects: outstanding offers, chats that are over.
#[derive(Default)]
struct Model {
    offers: BTreeMap<SessionId, AgentId>,
    submitted: BTreeSet<SessionId>,
    over: BTreeSet<SessionId>,
}

impl Model {
    fn apply(&mut self, input: &RouteInput, effects: &[RouteEffect]) -> Result<(), TestCaseError> {
        match input {
            RouteInput::Submit { interaction, .. } => {
                self.submitted.insert(interaction.clone());
                self.over.remove(interaction);
            }
            RouteInput::Reject { agent, interaction } => {
                let had = self.offers.remove(interaction);
                prop_assert_eq!(had.as_ref(), Some(agent));
            }
            _ => {}
        }
        for e in effects {
            match e {
                RouteEffect::Offer {
                    agent, interaction, ..
                } => {
                    let before = self.offers.insert(interaction.clone(), agent.clone());
                    prop_assert!(before.is_none(), "{} offered twice at once", interaction);
                }
                RouteEffect::OfferWithdrawn {
                    agent, interaction, ..
                }
                | RouteEffect::Assigned {
                    agent, interaction, ..
                } => {
                    let had = self.offers.remove(interaction);
                    prop_assert_eq!(had.as_ref(), Some(agent));
                }
                RouteEffect::CloseInteraction { interaction, .. }
                | RouteEffect::StopInteraction { interaction, .. } => {
                    prop_assert!(!self.offers.contains_key(interaction));
                    prop_assert!(self.over.insert(interaction.clone()), "over twice");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The invariants between the router's state and what its effects said.
    /// `settled`: no follow-up input is pending (a closing release is followed by the
    /// chat's end, and the chat may be stranded in between).
    fn check(&self, r: &Router, settled: bool) -> Result<(), TestCaseError> {
        let mut offers = BTreeMap::new();
        for ix in r.interactions() {
            prop_assert!(!self.over.contains(&ix.id) && self.submitted.contains(&ix.id));
            if let Some(o) = &ix.offer {
                offers.insert(ix.id.clone(), o.agent.clone());
                let a = r.agent(&o.agent).expect("offered agent");
                prop_assert!(a.status == AgentStatus::Ready && a.disconnected_since.is_none());
                prop_assert!(a.offers.contains(&ix.id));
            }
            for (id, _) in ix.handlers.iter() {
                prop_assert!(r.agent(id).is_some_and(|a| a.chats.contains(&ix.id)));
            }
            for id in ix.supervisors.keys() {
                prop_assert!(r.agent(id).is_some_and(|a| a.supervising.contains(&ix.id)));
            }
            // Never lost: a chat going on has an agent in it or waits; an ended one is
            // held for after-chat work or waits (offline) for an agent.
            if !settled {
                continue;
            }
            if ix.online {
                prop_assert!(ix.has_active() || ix.waiting.is_some(), "{:?} stranded", ix);
            } else {
                prop_assert!(!ix.handlers.is_empty() || ix.waiting.is_some(), "{:?}", ix);
            }
        }
        prop_assert_eq!(&offers, &self.offers);
        for c in &self.submitted {
            prop_assert!(
                r.interaction(c).is_some() != self.over.contains(c),
                "{} lost",
                c
            );
        }
        for a in r.agents() {
            prop_assert!(a.load() <= capacity_of(&a.id), "{} over capacity", a.id);
            for c in &a.chats {
                prop_assert!(r
                    .interaction(c)
                    .is_some_and(|ix| ix.handlers.contains_key(&a.id)));
            }
            for c in &a.offers {
                prop_assert!(r
                    .interaction(c)
                    .is_some_and(|ix| ix.offer.as_ref().is_some_and(|o| o.agent == a.id)));
            }
        }
        Ok(())
    }
}

/// Applies one input, checking refusals change nothing and ticks leave no past deadline.
fn step(
    r: &mut Router,
    m: &mut Model,
    now: UnixMillis,
    input: RouteInput,
    settled: bool,
) -> Result<(), TestCaseError> {
    let before = r.clone();
    let tick = input == RouteInput::Tick;
    match r.handle(now, input.clone()) {
        Ok(effects) => m.apply(&input, &effects)?,
        Err(_) => prop_assert_eq!(&*r, &before, "a refusal changed the router"),
    }
    if tick {
        prop_assert!(r.next_deadline().is_none_or(|t| t > now), "past deadline");
    }
    m.check(r, settled)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn routing_invariants_hold_and_every_chat_is_eventually_assigned_or_closed(
        stop in stop_policy(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let mut r = Router::new(settings(stop));
        let mut m = Model::default();
        let mut now = T0;
        for op in &ops {
            if let Op::Wait(ms) = op {
                now = now.plus_ms(*ms);
            }
            let inputs = inputs(&r, op);
            let n = inputs.len();
            for (k, input) in inputs.into_iter().enumerate() {
                step(&mut r, &mut m, now, input, k + 1 == n)?;
            }
        }
        // Enough ready agents, connected, with room, serving every queue; then answer
        // every offer and let time pass.
        for i in 0..AGENTS {
            step(&mut r, &mut m, now, RouteInput::AgentReconnected { agent: agent(i) }, true)?;
        }
        for d in ["d0", "d1"] {
            let login = RouteInput::AgentLogin {
                agent: d.parse().expect("agent id"),
                capacity: 100,
                queues: [queue(0), queue(1)].into(),
                supervisor: false,
            };
            step(&mut r, &mut m, now, login, true)?;
            step(&mut r, &mut m, now, RouteInput::AgentReady { agent: d.parse().expect("id") }, true)?;
        }
        for _ in 0..10 {
            let pending: Vec<_> = r
                .interactions()
                .filter_map(|ix| ix.offer.as_ref().map(|o| (o.agent.clone(), ix.id.clone())))
                .collect();
            for (agent, interaction) in pending {
                step(&mut r, &mut m, now, RouteInput::Accept { agent, interaction }, true)?;
            }
            now = now.plus_ms(1_000);
            step(&mut r, &mut m, now, RouteInput::Tick, true)?;
        }
        for c in &m.submitted {
            let held = r.interaction(c).is_some_and(|ix| !ix.handlers.is_empty());
            prop_assert!(held || m.over.contains(c), "{} neither assigned nor closed", c);
        }
    }

    #[test]
    fn handle_never_panics_at_arbitrary_instants(
        stop in stop_policy(),
        steps in prop::collection::vec(
            (op(), prop_oneof![
                Just(i64::MIN), Just(i64::MAX), Just(0i64),
                (T0.0 - 1_000_000)..(T0.0 + 1_000_000)
            ]),
            1..80,
        ),
    ) {
        let mut r = Router::new(settings(stop));
        for (op, at) in &steps {
            for input in inputs(&r, op) {
                let before = r.clone();
                if r.handle(UnixMillis(*at), input).is_err() {
                    prop_assert_eq!(&r, &before);
                }
                let _ = r.next_deadline();
            }
        }
    }
}
