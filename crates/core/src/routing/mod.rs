//! The interaction router (Interaction Server's routing role, with the built-in strategy):
//! `Router::handle(now, input) -> Result<Vec<RouteEffect>, RouteError>`.
//!
//! Inputs are agent requests (login, ready, accept, transfer...), facts from the chat
//! sessions (an agent left, the chat ended) and the passage of time (`Tick`). Effects tell
//! the shell what to carry out: offer a chat to an agent, send a notice to a customer,
//! close a chat, stop an interaction. Deadlines (offer timeouts, maximum wait, position
//! notices, disconnect grace) are data; `next_deadline()` says when to `Tick`. A refused
//! input changes nothing.
//!
//! Rules, as implemented:
//! - **Matching.** A waiting chat is offered to an *available* agent (ready, connected,
//!   free capacity, serving the chat's queue, not already holding the chat) who has
//!   waited longest: since it became ready or was last offered a chat. Ties go to the
//!   lower agent id. Chats are matched in FIFO order of their queue entry.
//! - **Capacity** counts pending offers and held chats, conference ones and chats in
//!   after-chat work (left but not marked done) included; supervision does not count.
//! - **One offer at a time** per chat. A rejected or timed-out offer goes to the next
//!   agent; an agent who had it is not offered it again until every available agent
//!   had it. A timed-out offer also sets its agent not ready ([`NO_ANSWER_REASON`]); a
//!   not-ready, disconnected or logged-out agent loses its pending offers at once.
//! - **Disconnect.** A disconnected agent gets no offers; if it is still away after
//!   `disconnect_requeue_ms`, it leaves its chats (re-queued unless another agent is in
//!   them) and is set not ready ([`DISCONNECTED_REASON`]). Logout does the same at once.
//! - **Queue.** See `queue.rs`: greeting, position and estimated-wait notices, maximum
//!   wait. Re-queued chats keep their place (their original entry time); a chat
//!   transferred to a queue enters it anew.
//! - **Release and done.** An agent who leaves a chat keeps it in after-chat work until
//!   it marks it done. If the last agent leaves with `KeepAlive`, the chat is re-queued.
//!   When the chat ends, [`should_stop`] decides whether the interaction is stopped;
//!   otherwise it is stopped when its last agent marks it done, or it waits in its
//!   queue, offline, for an agent to take it (Genesys `never`).
//!
//! Layout: `ids.rs` `AgentId`, `QueueName`; `effects.rs` `RouteEffect`; `settings.rs` queue and router settings;
//! `stop.rs` `stop-abandoned-interaction`; `agents.rs` agent states; `queue.rs` waiting,
//! notices, maximum wait; `offers.rs` matching, accept, reject, timeouts; `handling.rs`
//! transfer, conference, supervision, leave, end, mark done.

mod agents;
mod effects;
mod error;
mod handling;
mod ids;
mod offers;
mod queue;
mod settings;
mod stop;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use agents::{Agent, AgentStatus};
pub use effects::{
    CloseReason, NoticeKind, OfferKind, RequeueReason, RouteEffect, StopReason, WithdrawReason,
};
pub use error::RouteError;
pub use ids::{AgentId, QueueName};
pub use queue::{Hold, Interaction, PendingOffer, Stage, Waiting, WAIT_SAMPLES};
pub use settings::{
    describe_wait, MaxWait, MaxWaitAction, QueueSettings, RouterSettings, DISCONNECTED_REASON,
    NO_ANSWER_REASON,
};
pub use stop::{should_stop, StopAbandoned};

use crate::ids::{SessionId, UnixMillis};
use crate::party::{AfterAction, Visibility};

/// An input to the router.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteInput {
    /// An agent logs in (not ready), or updates its login if already logged in.
    AgentLogin {
        /// Who.
        agent: AgentId,
        /// Most chats held at once (offers included).
        capacity: u32,
        /// The queues it takes chats from.
        queues: BTreeSet<QueueName>,
        /// May monitor, coach and barge in.
        supervisor: bool,
    },
    /// The agent is ready for chats.
    AgentReady {
        /// Who.
        agent: AgentId,
    },
    /// The agent is not ready; its pending offers are withdrawn.
    AgentNotReady {
        /// Who.
        agent: AgentId,
        /// Why (free text, for reporting).
        reason: String,
    },
    /// The agent logs out: offers withdrawn, chats left (and re-queued).
    AgentLogout {
        /// Who.
        agent: AgentId,
    },
    /// The agent's desktop connection dropped.
    AgentDisconnected {
        /// Who.
        agent: AgentId,
    },
    /// The agent's desktop connection is back.
    AgentReconnected {
        /// Who.
        agent: AgentId,
    },
    /// A new chat enters a queue.
    Submit {
        /// The chat (its session id is the interaction id).
        interaction: SessionId,
        /// Which queue.
        queue: QueueName,
    },
    /// A chat that was waiting before a restart or the death of its instance enters its
    /// queue again: at the place its first submission gave it, with its waiting time
    /// kept, and without a second greeting.
    Resubmit {
        /// The chat.
        interaction: SessionId,
        /// Which queue.
        queue: QueueName,
        /// When it was first submitted.
        submitted_at: UnixMillis,
    },
    /// A chat an agent was handling when its instance stopped or died, restored on this
    /// instance: the agent (logged in here first by the shell, disconnected until its
    /// desktop comes) holds it again. Not a new assignment: no wait sample, no offer. If
    /// the desktop never comes, the disconnect grace puts the chat back in its queue, as
    /// for any desktop that dropped.
    Reattach {
        /// The chat.
        interaction: SessionId,
        /// Its queue.
        queue: QueueName,
        /// When it was first submitted.
        submitted_at: UnixMillis,
        /// The agent that was handling it.
        agent: AgentId,
    },
    /// The agent accepts its offer.
    Accept {
        /// Who.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
    },
    /// The agent rejects its offer.
    Reject {
        /// Who.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
    },
    /// An agent in the chat hands it to another agent (who gets an offer).
    TransferToAgent {
        /// The agent in the chat.
        from: AgentId,
        /// The agent to hand it to.
        to: AgentId,
        /// Which chat.
        interaction: SessionId,
    },
    /// The only agent in the chat leaves it and puts it into a queue.
    TransferToQueue {
        /// The agent in the chat.
        from: AgentId,
        /// The queue.
        queue: QueueName,
        /// Which chat.
        interaction: SessionId,
    },
    /// An agent in the chat invites a second agent (who gets an offer).
    Conference {
        /// The agent in the chat.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
        /// The agent to invite.
        invitee: AgentId,
    },
    /// A supervisor joins (or changes mode): `Int` monitor, `Vip` coach, `All` barge-in.
    Supervise {
        /// Who.
        supervisor: AgentId,
        /// Which chat.
        interaction: SessionId,
        /// How.
        visibility: Visibility,
    },
    /// An agent or supervisor left the chat (released with this after-action). The agent
    /// keeps the chat for after-chat work until `MarkDone`. If it was the last agent and
    /// the chat goes on (`KeepAlive`), the chat is re-queued; with a closing after-action
    /// the shell follows up with `InteractionEnded` once the session has closed.
    AgentLeft {
        /// Who.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
        /// The after-action it released with.
        after_action: AfterAction,
    },
    /// The chat session is over.
    InteractionEnded {
        /// Which chat.
        interaction: SessionId,
        /// A visible human agent took part in the chat, through routing or not (the
        /// session's `csg_SessionEndedAgent` is not `ABSENT`). A chat still waiting in
        /// its queue that someone answered outside routing (an API-key agent, another
        /// router) was handled: it leaves the queue rather than waiting offline.
        answered: bool,
    },
    /// The agent has finished its after-chat work.
    MarkDone {
        /// Who.
        agent: AgentId,
        /// Which chat.
        interaction: SessionId,
    },
    /// Time passed: fire due deadlines.
    Tick,
}

/// The router: agents, interactions and recent wait samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Router {
    settings: RouterSettings,
    agents: BTreeMap<AgentId, Agent>,
    interactions: BTreeMap<SessionId, Interaction>,
    /// Per queue, the last few "wait per place" samples, for the estimated wait.
    samples: BTreeMap<QueueName, VecDeque<u64>>,
    /// Breaks ties between chats entering a queue in the same millisecond.
    next_seq: u64,
}

impl Router {
    /// A router with no agents and no chats.
    pub fn new(settings: RouterSettings) -> Router {
        Router {
            settings,
            agents: BTreeMap::new(),
            interactions: BTreeMap::new(),
            samples: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// Applies one input at `now`. After any accepted input, waiting chats are matched
    /// with available agents and due position notices are sent.
    pub fn handle(
        &mut self,
        now: UnixMillis,
        input: RouteInput,
    ) -> Result<Vec<RouteEffect>, RouteError> {
        let mut out = Vec::new();
        match input {
            RouteInput::AgentLogin {
                agent,
                capacity,
                queues,
                supervisor,
            } => self.login(now, agent, capacity, queues, supervisor)?,
            RouteInput::AgentReady { agent } => self.ready(now, &agent)?,
            RouteInput::AgentNotReady { agent, reason } => {
                self.not_ready(&agent, reason, &mut out)?
            }
            RouteInput::AgentLogout { agent } => self.logout(now, &agent, &mut out)?,
            RouteInput::AgentDisconnected { agent } => self.disconnected(now, &agent, &mut out)?,
            RouteInput::AgentReconnected { agent } => self.reconnected(&agent)?,
            RouteInput::Submit { interaction, queue } => {
                self.submit(now, interaction, queue, None, &mut out)?
            }
            RouteInput::Resubmit {
                interaction,
                queue,
                submitted_at,
            } => self.submit(now, interaction, queue, Some(submitted_at), &mut out)?,
            RouteInput::Reattach {
                interaction,
                queue,
                submitted_at,
                agent,
            } => self.reattach(interaction, queue, submitted_at, agent, &mut out)?,
            RouteInput::Accept { agent, interaction } => {
                self.accept(now, &agent, &interaction, &mut out)?
            }
            RouteInput::Reject { agent, interaction } => {
                self.reject(&agent, &interaction, &mut out)?
            }
            RouteInput::TransferToAgent {
                from,
                to,
                interaction,
            } => self.transfer_to_agent(now, &from, &to, &interaction, &mut out)?,
            RouteInput::TransferToQueue {
                from,
                queue,
                interaction,
            } => self.transfer_to_queue(now, &from, queue, &interaction, &mut out)?,
            RouteInput::Conference {
                agent,
                interaction,
                invitee,
            } => self.conference(now, &agent, &interaction, &invitee, &mut out)?,
            RouteInput::Supervise {
                supervisor,
                interaction,
                visibility,
            } => self.supervise(&supervisor, &interaction, visibility, &mut out)?,
            RouteInput::AgentLeft {
                agent,
                interaction,
                after_action,
            } => self.agent_left(now, &agent, &interaction, after_action, &mut out)?,
            RouteInput::InteractionEnded {
                interaction,
                answered,
            } => self.interaction_ended(&interaction, answered, &mut out),
            RouteInput::MarkDone { agent, interaction } => {
                self.mark_done(&agent, &interaction, &mut out)?
            }
            RouteInput::Tick => self.tick(now, &mut out),
        }
        self.dispatch(now, &mut out);
        self.send_due_notices(now, &mut out);
        Ok(out)
    }

    /// The earliest instant at which a `Tick` has something to do.
    pub fn next_deadline(&self) -> Option<UnixMillis> {
        let agents = self
            .agents
            .values()
            .filter_map(|a| a.grace_deadline(self.settings.disconnect_requeue_ms));
        let chats = self
            .interactions
            .values()
            .filter_map(|ix| self.deadline_of(ix));
        agents.chain(chats).min()
    }

    fn tick(&mut self, now: UnixMillis, out: &mut Vec<RouteEffect>) {
        self.expire_offers(now, out);
        self.expire_disconnects(now, out);
        self.expire_max_waits(now, out);
    }

    // ---- queries ----

    /// The settings the router runs with.
    pub fn settings(&self) -> &RouterSettings {
        &self.settings
    }
    /// An agent by id (logged-out agents are kept, with status `LoggedOut`).
    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }
    /// Every agent that ever logged in, by id.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> + '_ {
        self.agents.values()
    }
    /// An interaction the router still routes or tracks.
    pub fn interaction(&self, id: &SessionId) -> Option<&Interaction> {
        self.interactions.get(id)
    }
    /// Every interaction the router still routes or tracks, by id.
    pub fn interactions(&self) -> impl Iterator<Item = &Interaction> + '_ {
        self.interactions.values()
    }
}

#[cfg(test)]
mod tests;
