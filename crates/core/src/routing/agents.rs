//! Agent states: login, ready / not ready, logout, disconnect and reconnect.

use std::collections::BTreeSet;

use super::ids::{AgentId, QueueName};
use super::settings::DISCONNECTED_REASON;
use super::{RequeueReason, RouteEffect, RouteError, Router};
use crate::ids::{SessionId, UnixMillis};

/// An agent's availability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentStatus {
    /// Not logged in (or logged out).
    LoggedOut,
    /// Logged in, takes no new chats. A fresh login has an empty reason.
    NotReady {
        /// Why (free text; [`super::NO_ANSWER_REASON`] after a timed-out offer).
        reason: String,
    },
    /// Takes chats up to its capacity.
    Ready,
}

/// An agent or supervisor as the router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Who.
    pub id: AgentId,
    /// Availability.
    pub status: AgentStatus,
    /// Most chats held at once, pending offers included.
    pub capacity: u32,
    /// The queues it takes chats from.
    pub queues: BTreeSet<QueueName>,
    /// May monitor, coach and barge in.
    pub supervisor: bool,
    /// Since when it has waited for a chat: when it became ready or was last offered
    /// one. The longest-waiting available agent gets the next offer.
    pub waiting_since: UnixMillis,
    /// Chats it holds (in the chat or in after-chat work).
    pub chats: BTreeSet<SessionId>,
    /// Chats offered to it, not yet accepted.
    pub offers: BTreeSet<SessionId>,
    /// Chats it supervises (do not count against capacity).
    pub supervising: BTreeSet<SessionId>,
    /// Since when its desktop is disconnected.
    pub disconnected_since: Option<UnixMillis>,
    /// The disconnect outlasted the grace period and was dealt with.
    pub(super) grace_over: bool,
}

impl Agent {
    /// Chats held plus pending offers.
    pub fn load(&self) -> u32 {
        u32::try_from(self.chats.len() + self.offers.len()).unwrap_or(u32::MAX)
    }
    /// How many more offers it may get.
    pub fn free_capacity(&self) -> u32 {
        self.capacity.saturating_sub(self.load())
    }
    /// Logged in (ready or not).
    pub fn logged_in(&self) -> bool {
        self.status != AgentStatus::LoggedOut
    }
    /// Ready, connected and with free capacity.
    pub fn available(&self) -> bool {
        self.status == AgentStatus::Ready
            && self.disconnected_since.is_none()
            && self.free_capacity() > 0
    }
    /// When its disconnect grace period runs out, if it is pending.
    pub(super) fn grace_deadline(&self, grace_ms: u64) -> Option<UnixMillis> {
        match self.disconnected_since {
            Some(since) if !self.grace_over && self.logged_in() => Some(since.plus_ms(grace_ms)),
            _ => None,
        }
    }
}

impl Router {
    pub(super) fn logged_in(&self, id: &AgentId) -> Result<&Agent, RouteError> {
        self.agents
            .get(id)
            .filter(|a| a.logged_in())
            .ok_or(RouteError::NotLoggedIn)
    }

    pub(super) fn logged_in_mut(&mut self, id: &AgentId) -> Result<&mut Agent, RouteError> {
        self.agents
            .get_mut(id)
            .filter(|a| a.logged_in())
            .ok_or(RouteError::NotLoggedIn)
    }

    pub(super) fn login(
        &mut self,
        now: UnixMillis,
        id: AgentId,
        capacity: u32,
        queues: BTreeSet<QueueName>,
        supervisor: bool,
    ) -> Result<(), RouteError> {
        if !queues.iter().all(|q| self.settings.queues.contains_key(q)) {
            return Err(RouteError::UnknownQueue);
        }
        match self.agents.get_mut(&id).filter(|a| a.logged_in()) {
            Some(a) => {
                // A login again (desktop reload): same state, new settings, connected.
                a.capacity = capacity;
                a.queues = queues;
                a.supervisor = supervisor;
                a.disconnected_since = None;
                a.grace_over = false;
            }
            None => {
                let agent = Agent {
                    id: id.clone(),
                    status: AgentStatus::NotReady {
                        reason: String::new(),
                    },
                    capacity,
                    queues,
                    supervisor,
                    waiting_since: now,
                    chats: BTreeSet::new(),
                    offers: BTreeSet::new(),
                    supervising: BTreeSet::new(),
                    disconnected_since: None,
                    grace_over: false,
                };
                self.agents.insert(id, agent);
            }
        }
        Ok(())
    }

    pub(super) fn ready(&mut self, now: UnixMillis, id: &AgentId) -> Result<(), RouteError> {
        let a = self.logged_in_mut(id)?;
        if a.status != AgentStatus::Ready {
            a.status = AgentStatus::Ready;
            a.waiting_since = now;
        }
        Ok(())
    }

    pub(super) fn not_ready(
        &mut self,
        id: &AgentId,
        reason: String,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        self.logged_in_mut(id)?.status = AgentStatus::NotReady { reason };
        self.withdraw_offers_of(id, false, out);
        Ok(())
    }

    pub(super) fn logout(
        &mut self,
        now: UnixMillis,
        id: &AgentId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        self.logged_in(id)?;
        self.withdraw_offers_of(id, false, out);
        self.stop_supervising(id);
        let chats = self
            .agents
            .get(id)
            .map(|a| a.chats.clone())
            .unwrap_or_default();
        for sid in chats {
            self.drop_handler(
                now,
                &sid,
                id,
                RequeueReason::AgentLoggedOut(id.clone()),
                out,
            );
        }
        if let Some(a) = self.agents.get_mut(id) {
            a.status = AgentStatus::LoggedOut;
            a.disconnected_since = None;
            a.grace_over = false;
        }
        Ok(())
    }

    pub(super) fn disconnected(
        &mut self,
        now: UnixMillis,
        id: &AgentId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        let a = self.logged_in_mut(id)?;
        if a.disconnected_since.is_none() {
            a.disconnected_since = Some(now);
            a.grace_over = false;
        }
        self.withdraw_offers_of(id, true, out);
        Ok(())
    }

    pub(super) fn reconnected(&mut self, id: &AgentId) -> Result<(), RouteError> {
        let a = self.logged_in_mut(id)?;
        a.disconnected_since = None;
        a.grace_over = false;
        Ok(())
    }

    /// Agents away longer than the grace period leave the chats they are in (which are
    /// re-queued unless another agent is in them) and are set not ready. Chats in
    /// after-chat work stay theirs.
    pub(super) fn expire_disconnects(&mut self, now: UnixMillis, out: &mut Vec<RouteEffect>) {
        let grace = self.settings.disconnect_requeue_ms;
        let due: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| a.grace_deadline(grace).is_some_and(|t| t <= now))
            .map(|a| a.id.clone())
            .collect();
        for id in due {
            self.stop_supervising(&id);
            let active: Vec<SessionId> = self
                .agents
                .get(&id)
                .map(|a| a.chats.iter())
                .into_iter()
                .flatten()
                .filter(|sid| self.is_active_in(sid, &id))
                .cloned()
                .collect();
            for sid in active {
                let why = RequeueReason::AgentDisconnected(id.clone());
                self.drop_handler(now, &sid, &id, why, out);
            }
            if let Some(a) = self.agents.get_mut(&id) {
                a.grace_over = true;
                a.status = AgentStatus::NotReady {
                    reason: DISCONNECTED_REASON.to_owned(),
                };
            }
            out.push(RouteEffect::SetNotReady {
                agent: id,
                reason: DISCONNECTED_REASON.to_owned(),
            });
        }
    }

    /// Ends every supervision of the agent.
    pub(super) fn stop_supervising(&mut self, id: &AgentId) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        for sid in std::mem::take(&mut a.supervising) {
            if let Some(ix) = self.interactions.get_mut(&sid) {
                ix.supervisors.remove(id);
            }
        }
    }
}
