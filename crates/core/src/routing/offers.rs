//! Matching waiting chats with agents, and the life of an offer: accept, reject, timeout,
//! withdrawal.

use super::agents::AgentStatus;
use super::ids::AgentId;
use super::queue::Hold;
use super::settings::NO_ANSWER_REASON;
use super::{OfferKind, PendingOffer, RouteEffect, RouteError, Router, WithdrawReason};
use crate::ids::{SessionId, UnixMillis};

impl Router {
    /// Offers waiting chats, oldest entry first, to the longest-waiting available agent
    /// serving their queue (see the module doc of `routing`).
    pub(super) fn dispatch(&mut self, now: UnixMillis, out: &mut Vec<RouteEffect>) {
        if !self.agents.values().any(|a| a.available()) {
            return;
        }
        let mut waiting: Vec<_> = self
            .interactions
            .values()
            .filter(|ix| ix.offer.is_none())
            .filter_map(|ix| ix.waiting.as_ref().map(|w| (w.order, ix.id.clone())))
            .collect();
        waiting.sort();
        for (_, sid) in waiting {
            if let Some(agent) = self.pick_agent(&sid) {
                let Some(queue) = self.interactions.get(&sid).map(|ix| ix.queue.clone()) else {
                    continue;
                };
                self.make_offer(now, &sid, agent, OfferKind::Queue(queue), out);
            }
        }
    }

    /// The agent that should get the chat next, if any is available. Agents that already
    /// had it are skipped until every available agent had it; then they start over.
    fn pick_agent(&mut self, sid: &SessionId) -> Option<AgentId> {
        let ix = self.interactions.get(sid)?;
        let mut eligible: Vec<_> = self
            .agents
            .values()
            .filter(|a| a.available() && a.queues.contains(&ix.queue))
            .filter(|a| !ix.handlers.contains_key(&a.id))
            .map(|a| (a.waiting_since, a.id.clone()))
            .collect();
        eligible.sort();
        let fresh = eligible.iter().find(|(_, id)| !ix.tried.contains(id));
        if let Some((_, id)) = fresh {
            return Some(id.clone());
        }
        let (_, first) = eligible.into_iter().next()?;
        if let Some(ix) = self.interactions.get_mut(sid) {
            ix.tried.clear();
        }
        Some(first)
    }

    /// Records and announces an offer. The caller has checked the agent is available.
    pub(super) fn make_offer(
        &mut self,
        now: UnixMillis,
        sid: &SessionId,
        agent: AgentId,
        kind: OfferKind,
        out: &mut Vec<RouteEffect>,
    ) {
        let Some(ix) = self.interactions.get_mut(sid) else {
            return;
        };
        let timeout = self
            .settings
            .queues
            .get(&ix.queue)
            .map_or(0, |q| q.offer_timeout_ms);
        let until = now.plus_ms(timeout);
        ix.offer = Some(PendingOffer {
            agent: agent.clone(),
            until,
            kind: kind.clone(),
        });
        if let Some(a) = self.agents.get_mut(&agent) {
            a.offers.insert(sid.clone());
            a.waiting_since = now;
        }
        out.push(RouteEffect::Offer {
            agent,
            interaction: sid.clone(),
            until,
            kind,
        });
    }

    fn offer_of(&self, agent: &AgentId, sid: &SessionId) -> Result<(), RouteError> {
        self.logged_in(agent)?;
        let ix = self
            .interactions
            .get(sid)
            .ok_or(RouteError::UnknownInteraction)?;
        match &ix.offer {
            Some(o) if &o.agent == agent => Ok(()),
            _ => Err(RouteError::NoSuchOffer),
        }
    }

    pub(super) fn accept(
        &mut self,
        now: UnixMillis,
        agent: &AgentId,
        sid: &SessionId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        self.offer_of(agent, sid)?;
        let Some(ix) = self.interactions.get_mut(sid) else {
            return Err(RouteError::UnknownInteraction);
        };
        let Some(offer) = ix.offer.take() else {
            return Err(RouteError::NoSuchOffer);
        };
        let hold = if ix.online {
            Hold::Active
        } else {
            Hold::WrapUp
        };
        ix.handlers.insert(agent.clone(), hold);
        ix.agent_ever_joined |= ix.online;
        ix.tried.clear();
        let waited = if matches!(offer.kind, OfferKind::Queue(_)) {
            ix.waiting.take().map(|w| (ix.queue.clone(), w))
        } else {
            None
        };
        if let Some(a) = self.agents.get_mut(agent) {
            a.offers.remove(sid);
            a.chats.insert(sid.clone());
        }
        if let Some((queue, w)) = waited {
            self.record_wait(now, &queue, &w);
        }
        out.push(RouteEffect::Assigned {
            agent: agent.clone(),
            interaction: sid.clone(),
            kind: offer.kind.clone(),
        });
        // A transfer completes: the agent who handed the chat over leaves it.
        if let OfferKind::Transfer { from } = offer.kind {
            if let Some(h) = self
                .interactions
                .get_mut(sid)
                .and_then(|ix| ix.handlers.get_mut(&from))
                .filter(|h| **h == Hold::Active)
            {
                *h = Hold::WrapUp;
                out.push(RouteEffect::LeaveChat {
                    agent: from,
                    interaction: sid.clone(),
                });
            }
        }
        Ok(())
    }

    pub(super) fn reject(
        &mut self,
        agent: &AgentId,
        sid: &SessionId,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        self.offer_of(agent, sid)?;
        self.end_offer(sid, true, out);
        Ok(())
    }

    /// Offers past their time go to the next agent; their agents are set not ready.
    pub(super) fn expire_offers(&mut self, now: UnixMillis, out: &mut Vec<RouteEffect>) {
        let mut due: Vec<(UnixMillis, SessionId)> = self
            .interactions
            .values()
            .filter_map(|ix| ix.offer.as_ref().map(|o| (o.until, ix.id.clone())))
            .filter(|(until, _)| *until <= now)
            .collect();
        due.sort();
        for (_, sid) in due {
            let Some(offer) = self.withdraw_offer(&sid, true, WithdrawReason::Lapsed, out) else {
                continue;
            };
            let reason = NO_ANSWER_REASON.to_owned();
            if let Some(a) = self.agents.get_mut(&offer.agent) {
                a.status = AgentStatus::NotReady {
                    reason: reason.clone(),
                };
            }
            out.push(RouteEffect::SetNotReady {
                agent: offer.agent.clone(),
                reason,
            });
            self.withdraw_offers_of(&offer.agent, false, out);
        }
    }

    /// Withdraws every pending offer of the agent (`tried`: it counts as having had them).
    pub(super) fn withdraw_offers_of(
        &mut self,
        agent: &AgentId,
        tried: bool,
        out: &mut Vec<RouteEffect>,
    ) {
        let offers = self
            .agents
            .get(agent)
            .map(|a| a.offers.clone())
            .unwrap_or_default();
        for sid in offers {
            self.withdraw_offer(&sid, tried, WithdrawReason::AgentUnavailable, out);
        }
    }

    /// Withdraws the chat's pending offer, if any, telling its agent why.
    pub(super) fn withdraw_offer(
        &mut self,
        sid: &SessionId,
        tried: bool,
        why: WithdrawReason,
        out: &mut Vec<RouteEffect>,
    ) -> Option<PendingOffer> {
        let agent = self.interactions.get(sid)?.offer.as_ref()?.agent.clone();
        out.push(RouteEffect::OfferWithdrawn {
            agent,
            interaction: sid.clone(),
            why,
        });
        self.end_offer(sid, tried, out)
    }

    /// Clears the chat's pending offer; a failed invitation is reported. The chat, if it
    /// waits in a queue, is offered again by the next `dispatch`.
    fn end_offer(
        &mut self,
        sid: &SessionId,
        tried: bool,
        out: &mut Vec<RouteEffect>,
    ) -> Option<PendingOffer> {
        let ix = self.interactions.get_mut(sid)?;
        let offer = ix.offer.take()?;
        if tried {
            ix.tried.insert(offer.agent.clone());
        }
        if let Some(a) = self.agents.get_mut(&offer.agent) {
            a.offers.remove(sid);
        }
        if !matches!(offer.kind, OfferKind::Queue(_)) {
            out.push(RouteEffect::InviteFailed {
                interaction: sid.clone(),
                invitee: offer.agent.clone(),
                kind: offer.kind.clone(),
            });
        }
        Some(offer)
    }
}
