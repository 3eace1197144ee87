//! Invariants of the statistics over random chats driven through the session: the
//! message counts are the messages the customer sees (decided by the audience rules, not
//! by the statistics' own reading), times are never negative and nest as they must, paired
//! wait/reply statistics pair up, `fired` ⊆ `all`, and the stored transcript gives the same
//! numbers as the live one.

use proptest::prelude::*;

use super::*;
use crate::audience::{can_see, Viewer};
use crate::session::EndedReason;
use crate::stats::AttachStatistics;

/// The parties besides the customer, each always joining the same way.
const POOL: [(&str, As); 6] = [
    ("a1", As::Agent),
    ("a2", As::Agent),
    ("sup", As::Supervisor),
    ("coach", As::Coach),
    ("mon", As::Monitor),
    ("bot", As::Bot),
];

#[derive(Debug, Clone)]
enum Op {
    Wait(u64),
    Join(usize),
    /// Sender (`POOL.len()` is the customer), visibility, direct to the customer.
    Say(usize, Visibility, bool),
    Release(usize, AfterAction),
    Disconnect(usize),
    Restore,
    Reattach(usize),
}

fn who(i: usize) -> &'static str {
    POOL.get(i).map_or("cust", |(id, _)| id)
}

fn op() -> impl Strategy<Value = Op> {
    let party = 0..=POOL.len();
    let visibility = prop_oneof![
        4 => Just(Visibility::All),
        1 => Just(Visibility::Int),
        1 => Just(Visibility::Vip)
    ];
    let action = prop_oneof![
        6 => Just(AfterAction::KeepAlive),
        1 => Just(AfterAction::CloseIfNoAgents),
        1 => Just(AfterAction::ForceClose)
    ];
    prop_oneof![
        4 => (0u64..90_000).prop_map(Op::Wait),
        3 => (0..POOL.len()).prop_map(Op::Join),
        6 => (party.clone(), visibility, any::<bool>()).prop_map(|(p, v, d)| Op::Say(p, v, d)),
        1 => (party.clone(), action).prop_map(|(p, a)| Op::Release(p, a)),
        1 => party.clone().prop_map(Op::Disconnect),
        1 => Just(Op::Restore),
        2 => party.prop_map(Op::Reattach),
    ]
}

impl Chat {
    /// Applies an input the session may refuse (a random chat asks for impossible things).
    fn attempt(&mut self, input: Input) {
        if let Ok(effects) = self.s.handle(self.now, input) {
            self.log.extend(effects);
        }
    }

    fn run(&mut self, op: &Op) {
        match op {
            Op::Wait(ms) => self.now = self.now.plus_ms(*ms),
            Op::Join(i) => self.attempt(Input::Join(join_request(POOL[*i].0, POOL[*i].1, None))),
            Op::Say(i, visibility, direct) => self.attempt(Input::Send(SendRequest {
                from: pid(who(*i)),
                visibility: *visibility,
                receiver: direct.then(|| pid("cust")),
                client_msg_id: None,
                body: SendBody::Message {
                    text: "x".repeat(*i + 1),
                    message_type: None,
                },
            })),
            Op::Release(i, after_action) => self.attempt(Input::Release {
                party: pid(who(*i)),
                after_action: *after_action,
                text: None,
            }),
            Op::Disconnect(i) => self.attempt(Input::Remove {
                party: pid(who(*i)),
                reason: LeftReason::Disconnect,
                asker: None,
            }),
            Op::Restore if self.s.end_info().is_none() => {
                self.restore();
            }
            Op::Restore => {}
            Op::Reattach(i) => self.attempt(Input::Attach {
                party: pid(who(*i)),
            }),
        }
    }
}

/// The messages the customer sees, by who sent them: (customer, agents, bots).
fn seen_by_customer(c: &Chat) -> (u64, u64, u64) {
    let cust = c.s.party(&pid("cust")).expect("the customer");
    let viewer = Viewer::from(cust);
    let mut counts = (0, 0, 0);
    for e in c.s.transcript() {
        if !matches!(e.body, crate::EventBody::Message { .. }) {
            continue;
        }
        let kind = POOL
            .iter()
            .find(|(id, _)| e.from.as_str() == *id)
            .map(|p| p.1);
        let seen = can_see(viewer, e, c.s.sender_type(&e.from));
        match kind {
            None => counts.0 += 1,
            Some(As::Agent | As::Supervisor) if seen => counts.1 += 1,
            Some(As::Bot) if seen => counts.2 += 1,
            Some(k @ (As::Coach | As::Monitor)) if seen => panic!("{k:?} reached the customer"),
            _ => {}
        }
    }
    counts
}

proptest! {
    #[test]
    fn statistics_hold_their_invariants(ops in proptest::collection::vec(op(), 0..40)) {
        let mut c = Chat::started();
        for op in &ops {
            c.run(op);
        }
        if c.s.end_info().is_none() {
            c.now = c.now.plus_ms(1_000);
            c.input(Input::SystemClose { reason: EndedReason::Inactive });
        }
        let st = c.stats();

        let (customers, agents, bots) = seen_by_customer(&c);
        prop_assert_eq!(st.from_customers.count, customers);
        prop_assert_eq!(st.from_agents.count, agents);
        prop_assert_eq!(st.from_bots.count, bots);
        prop_assert!(st.from_agents.chars >= st.from_agents.count);

        prop_assert_eq!(st.total_ms, super::super::span_ms(T0, c.end().closed_at));
        for t in [st.until_first_agent_ms, st.until_first_reply_ms, st.until_first_bot_ms,
                  st.with_customer_ms].into_iter().flatten() {
            prop_assert!(t <= st.total_ms);
        }
        if let (Some(agent), Some(reply)) = (st.until_first_agent_ms, st.until_first_reply_ms) {
            prop_assert!(agent <= reply, "an agent replies after it joins");
        }
        prop_assert_eq!(st.until_first_agent_ms.is_some(), st.agents > 0);
        prop_assert_eq!(st.until_first_bot_ms.is_some(), st.bots > 0);
        prop_assert_eq!(st.handle.count > 0, st.agents > 0);
        for t in [st.handle, st.active_idle, st.agent_reply, st.agent_wait,
                  st.customer_reply, st.customer_wait] {
            prop_assert!(t.max_ms <= t.total_ms);
            prop_assert!(t.total_ms <= t.count * t.max_ms);
            prop_assert!(t.max_ms <= st.total_ms);
        }
        prop_assert!(st.handle.total_ms <= st.total_ms);
        prop_assert_eq!(st.customer_wait.count, st.agent_reply.count);
        prop_assert_eq!(st.agent_wait.count, st.customer_reply.count);
        prop_assert!(st.customer_wait.total_ms <= st.agent_reply.total_ms);
        prop_assert!(st.agent_wait.total_ms <= st.customer_reply.total_ms);
        prop_assert!(st.customer_wait.count + st.agent_wait.count
            < (st.from_customers.count + st.from_agents.count).max(1));

        let none = st.attach(AttachStatistics::None);
        let fired = st.attach(AttachStatistics::Fired);
        let all = st.attach(AttachStatistics::All);
        for (k, v) in &fired {
            prop_assert_eq!(all.get(k), Some(v), "fired {} not in all", k);
        }
        for (k, v) in &none {
            prop_assert_eq!(fired.get(k), Some(v), "none {} not in fired", k);
        }

        // What the store holds and what the live session holds give the same numbers.
        let live = compute(&ReportInput {
            session: c.s.id(), created_at: T0, end: c.end(), tenant: "Environment",
            language: None, idle_threshold_ms: None,
        }, c.s.transcript());
        prop_assert_eq!(live, st);
    }
}
