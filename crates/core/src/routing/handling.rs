//! What happens to a chat once agents handle it: transfer, conference, supervision,
//! leaving, the end of the chat, mark done.

use super::ids::{AgentId, QueueName};
use super::queue::{Hold, Interaction};
use super::stop::should_stop;
use super::{
    OfferKind, RequeueReason, RouteEffect, RouteError, Router, StopReason, WithdrawReason,
};
use crate::ids::{SessionId, UnixMillis};
use crate::party::{AfterAction, Visibility};

impl Router {
    /// See [`super::RouteInput::Reattach`].
    pub(super) fn reattach(
        &mut self,
        sid: SessionId,
        queue: QueueName,
        submitted_at: UnixMillis,
        agent: AgentId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        if self.queue_settings(&queue).is_none() {
            return Err(RouteError::UnknownQueue);
        }
        if self.interactions.contains_key(&sid) {
            return Err(RouteError::AlreadySubmitted);
        }
        self.logged_in_mut(&agent)?.chats.insert(sid.clone());
        let ix = Interaction {
            id: sid.clone(),
            queue,
            submitted_at,
            online: true,
            waiting: None,
            offer: None,
            handlers: [(agent.clone(), Hold::Active)].into(),
            supervisors: Default::default(),
            tried: Default::default(),
            agent_ever_joined: true,
        };
        self.interactions.insert(sid.clone(), ix);
        out.push(RouteEffect::Reattached {
            agent,
            interaction: sid,
        });
        Ok(())
    }

    /// The chat, if it is still going on.
    fn online(&self, sid: &SessionId) -> Result<&Interaction, RouteError> {
        let ix = self
            .interactions
            .get(sid)
            .ok_or(RouteError::UnknownInteraction)?;
        if ix.online {
            Ok(ix)
        } else {
            Err(RouteError::InteractionOver)
        }
    }

    /// Checks that `agent` is in the chat and no offer is pending.
    fn check_handler(&self, agent: &AgentId, sid: &SessionId) -> Result<&Interaction, RouteError> {
        self.logged_in(agent)?;
        let ix = self.online(sid)?;
        if ix.handlers.get(agent) != Some(&Hold::Active) {
            return Err(RouteError::NotHandling);
        }
        if ix.offer.is_some() {
            return Err(RouteError::OfferPending);
        }
        Ok(ix)
    }

    /// Checks that `invitee` can be invited into the chat.
    fn check_invitee(&self, invitee: &AgentId, ix: &Interaction) -> Result<(), RouteError> {
        let a = self.logged_in(invitee)?;
        if ix.handlers.contains_key(invitee) || ix.supervisors.contains_key(invitee) {
            return Err(RouteError::AlreadyHandling);
        }
        if !a.available() {
            return Err(RouteError::AgentUnavailable);
        }
        Ok(())
    }

    pub(super) fn transfer_to_agent(
        &mut self,
        now: UnixMillis,
        from: &AgentId,
        to: &AgentId,
        sid: &SessionId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        let ix = self.check_handler(from, sid)?;
        self.check_invitee(to, ix)?;
        let kind = OfferKind::Transfer { from: from.clone() };
        self.make_offer(now, sid, to.clone(), kind, out);
        Ok(())
    }

    pub(super) fn transfer_to_queue(
        &mut self,
        now: UnixMillis,
        from: &AgentId,
        queue: QueueName,
        sid: &SessionId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        let ix = self.check_handler(from, sid)?;
        if ix.handlers.values().filter(|h| **h == Hold::Active).count() > 1 {
            return Err(RouteError::Conferenced);
        }
        if !self.settings.queues.contains_key(&queue) {
            return Err(RouteError::UnknownQueue);
        }
        let Some(ix) = self.interactions.get_mut(sid) else {
            return Err(RouteError::UnknownInteraction);
        };
        ix.handlers.insert(from.clone(), Hold::WrapUp);
        if ix.queue != queue {
            ix.tried.clear();
        }
        ix.tried.insert(from.clone());
        ix.queue = queue.clone();
        out.push(RouteEffect::LeaveChat {
            agent: from.clone(),
            interaction: sid.clone(),
        });
        self.enqueue(now, sid, now);
        out.push(RouteEffect::Requeued {
            interaction: sid.clone(),
            queue,
            why: RequeueReason::Transferred(from.clone()),
        });
        Ok(())
    }

    pub(super) fn conference(
        &mut self,
        now: UnixMillis,
        agent: &AgentId,
        sid: &SessionId,
        invitee: &AgentId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        let ix = self.check_handler(agent, sid)?;
        self.check_invitee(invitee, ix)?;
        let kind = OfferKind::Conference {
            inviter: agent.clone(),
        };
        self.make_offer(now, sid, invitee.clone(), kind, out);
        Ok(())
    }

    pub(super) fn supervise(
        &mut self,
        supervisor: &AgentId,
        sid: &SessionId,
        visibility: Visibility,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        if !self.logged_in(supervisor)?.supervisor {
            return Err(RouteError::NotSupervisor);
        }
        let ix = self.online(sid)?;
        let offered = ix.offer.as_ref().is_some_and(|o| &o.agent == supervisor);
        if ix.handlers.contains_key(supervisor) || offered {
            return Err(RouteError::AlreadyHandling);
        }
        if let Some(ix) = self.interactions.get_mut(sid) {
            ix.supervisors.insert(supervisor.clone(), visibility);
            ix.agent_ever_joined |= visibility == Visibility::All;
        }
        if let Some(a) = self.agents.get_mut(supervisor) {
            a.supervising.insert(sid.clone());
        }
        out.push(RouteEffect::SupervisorJoined {
            supervisor: supervisor.clone(),
            interaction: sid.clone(),
            visibility,
        });
        Ok(())
    }

    pub(super) fn agent_left(
        &mut self,
        now: UnixMillis,
        agent: &AgentId,
        sid: &SessionId,
        after_action: AfterAction,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        let ix = self
            .interactions
            .get_mut(sid)
            .ok_or(RouteError::UnknownInteraction)?;
        if ix.supervisors.remove(agent).is_some() {
            if let Some(a) = self.agents.get_mut(agent) {
                a.supervising.remove(sid);
            }
            return Ok(());
        }
        match ix.handlers.get_mut(agent) {
            Some(h @ Hold::Active) => *h = Hold::WrapUp,
            Some(Hold::WrapUp) => return Ok(()),
            None => return Err(RouteError::NotHandling),
        }
        // The last agent left a chat that goes on: back to the queue. With a closing
        // after-action the chat is ending; the end will follow.
        if ix.online && !ix.has_active() && after_action == AfterAction::KeepAlive {
            self.withdraw_offer(sid, false, WithdrawReason::ChatChanged, out);
            self.requeue(now, sid, RequeueReason::AgentLeft(agent.clone()), out);
        }
        Ok(())
    }

    /// Removes the agent from the chat entirely (logout, disconnect), re-queueing a chat
    /// that goes on with nobody in it, and stopping an ended chat nobody holds.
    pub(super) fn drop_handler(
        &mut self,
        now: UnixMillis,
        sid: &SessionId,
        agent: &AgentId,
        why: RequeueReason,
        out: &mut Vec<RouteEffect>,
    ) {
        let Some(ix) = self.interactions.get_mut(sid) else {
            return;
        };
        let Some(hold) = ix.handlers.remove(agent) else {
            return;
        };
        if let Some(a) = self.agents.get_mut(agent) {
            a.chats.remove(sid);
        }
        if hold == Hold::Active {
            out.push(RouteEffect::LeaveChat {
                agent: agent.clone(),
                interaction: sid.clone(),
            });
        }
        let Some(ix) = self.interactions.get(sid) else {
            return;
        };
        if ix.online && !ix.has_active() && ix.waiting.is_none() {
            self.withdraw_offer(sid, false, WithdrawReason::ChatChanged, out);
            self.requeue(now, sid, why, out);
        } else {
            self.stop_if_finished(sid, out);
        }
    }

    pub(super) fn interaction_ended(
        &mut self,
        sid: &SessionId,
        answered: bool,
        out: &mut Vec<RouteEffect>,
    ) {
        if !self.interactions.get(sid).is_some_and(|ix| ix.online) {
            return; // unknown (already closed or stopped) or ended before: nothing to do
        }
        self.withdraw_offer(sid, false, WithdrawReason::ChatChanged, out);
        let Some(ix) = self.interactions.get_mut(sid) else {
            return;
        };
        let present = ix.has_active() || !ix.supervisors.is_empty();
        if should_stop(self.settings.stop_abandoned, present, ix.agent_ever_joined) {
            self.forget(sid);
            out.push(RouteEffect::StopInteraction {
                interaction: sid.clone(),
                why: StopReason::Policy,
            });
            return;
        }
        ix.online = false;
        if answered {
            // Handled outside routing: nothing is left for an agent to take offline.
            ix.waiting = None;
        }
        ix.handlers.values_mut().for_each(|h| *h = Hold::WrapUp);
        for sup in std::mem::take(&mut ix.supervisors).into_keys() {
            if let Some(a) = self.agents.get_mut(&sup) {
                a.supervising.remove(sid);
            }
        }
        self.stop_if_finished(sid, out);
    }

    pub(super) fn mark_done(
        &mut self,
        agent: &AgentId,
        sid: &SessionId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        self.logged_in(agent)?;
        let ix = self
            .interactions
            .get_mut(sid)
            .ok_or(RouteError::UnknownInteraction)?;
        match ix.handlers.get(agent) {
            None => return Err(RouteError::NotHandling),
            Some(Hold::Active) => return Err(RouteError::StillInChat),
            Some(Hold::WrapUp) => {}
        }
        ix.handlers.remove(agent);
        if let Some(a) = self.agents.get_mut(agent) {
            a.chats.remove(sid);
        }
        self.stop_if_finished(sid, out);
        Ok(())
    }

    /// An ended chat that nobody holds and that does not wait in a queue is stopped.
    fn stop_if_finished(&mut self, sid: &SessionId, out: &mut Vec<RouteEffect>) {
        let finished = self.interactions.get(sid).is_some_and(|ix| {
            !ix.online && ix.handlers.is_empty() && ix.waiting.is_none() && ix.offer.is_none()
        });
        if finished {
            self.forget(sid);
            out.push(RouteEffect::StopInteraction {
                interaction: sid.clone(),
                why: StopReason::Done,
            });
        }
    }
}
