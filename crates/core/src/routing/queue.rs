//! Interactions and their stay in a queue: submit, FIFO order, greeting, position and
//! estimated-wait notices, maximum wait.
//!
//! **Estimated wait.** Each chat assigned from a queue gives one sample: how long it
//! waited divided by the place it entered the queue at ("how long one place in line
//! took"). The estimate for place `p` is `p` times the mean of the queue's last
//! [`WAIT_SAMPLES`] samples; it is unknown until a chat has been assigned from the queue.
//!
//! Position notices go only to chats that still have a customer (online) and that are
//! not being offered at that moment (a notice that falls due during an offer is sent
//! once the offer is over, if the chat is still waiting). Offline chats (their session
//! ended but the interaction was not stopped) wait without notices or maximum wait.

use std::collections::{BTreeMap, BTreeSet};

use super::ids::{AgentId, QueueName};
use super::settings::{MaxWaitAction, QueueSettings};
use super::{
    CloseReason, NoticeKind, OfferKind, RequeueReason, RouteEffect, RouteError, Router,
    WithdrawReason,
};
use crate::ids::{SessionId, UnixMillis};
use crate::party::Visibility;

/// How many recent samples the estimated wait averages.
pub const WAIT_SAMPLES: usize = 10;

/// How an agent holds a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// In the chat.
    Active,
    /// Left the chat (or the chat ended); after-chat work until it marks it done.
    WrapUp,
}

/// A chat's stay in its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// When it entered the queue (maximum wait and wait samples count from here).
    pub since: UnixMillis,
    /// Its FIFO key: the entry time that gives its place, and a tie-breaker.
    pub order: (UnixMillis, u64),
    /// The place it entered at (1 = first).
    pub entry_place: u32,
    /// The maximum-wait message was sent (keep-waiting queues).
    pub max_wait_fired: bool,
    /// When the next position notice is due.
    pub next_notice: Option<UnixMillis>,
}

/// An offer waiting for the agent's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOffer {
    /// To whom.
    pub agent: AgentId,
    /// When it times out.
    pub until: UnixMillis,
    /// Why (the transfer or conference target is the offer's agent).
    pub kind: OfferKind,
}

/// A chat interaction as the router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    /// Its id (the chat session id).
    pub id: SessionId,
    /// Its current queue (kept while agents handle it).
    pub queue: QueueName,
    /// When it was first submitted.
    pub submitted_at: UnixMillis,
    /// The chat session is still going on.
    pub online: bool,
    /// Its stay in the queue, while it waits for an agent.
    pub waiting: Option<Waiting>,
    /// The pending offer (at most one).
    pub offer: Option<PendingOffer>,
    /// The agents holding it.
    pub handlers: BTreeMap<AgentId, Hold>,
    /// The supervisors in it and how (`Int` monitor, `Vip` coach, `All` barge-in).
    pub supervisors: BTreeMap<AgentId, Visibility>,
    /// Agents that rejected or let an offer of it time out since everyone was tried.
    pub tried: BTreeSet<AgentId>,
    /// A visible agent (or a barging supervisor) has been in the chat.
    pub agent_ever_joined: bool,
}

/// Where an interaction is in its routing, as supervisors and counters show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In a queue, no offer out.
    Waiting,
    /// Offered to an agent, waiting for the answer.
    Offered,
    /// An agent is in the chat.
    Handled,
    /// Its agents only do after-chat work.
    WrapUp,
}

impl Interaction {
    /// Some agent is in the chat.
    pub fn has_active(&self) -> bool {
        self.handlers.values().any(|h| *h == Hold::Active)
    }

    /// Where it is in its routing.
    pub fn stage(&self) -> Stage {
        if self.offer.is_some() {
            Stage::Offered
        } else if self.waiting.is_some() {
            Stage::Waiting
        } else if self.has_active() {
            Stage::Handled
        } else {
            Stage::WrapUp
        }
    }
}

impl Router {
    pub(super) fn queue_settings(&self, q: &QueueName) -> Option<&QueueSettings> {
        self.settings.queues.get(q)
    }

    pub(super) fn is_active_in(&self, sid: &SessionId, agent: &AgentId) -> bool {
        self.interactions
            .get(sid)
            .is_some_and(|ix| ix.handlers.get(agent) == Some(&Hold::Active))
    }

    /// A chat enters its queue: new (greeted, submitted now), or again after a restart
    /// (`first_submitted`: placed and timed from its first submission, not greeted).
    pub(super) fn submit(
        &mut self,
        now: UnixMillis,
        sid: SessionId,
        queue: QueueName,
        first_submitted: Option<UnixMillis>,
        out: &mut Vec<RouteEffect>,
    ) -> Result<(), RouteError> {
        let greeting = self
            .queue_settings(&queue)
            .ok_or(RouteError::UnknownQueue)?
            .greeting
            .clone();
        if self.interactions.contains_key(&sid) {
            return Err(RouteError::AlreadySubmitted);
        }
        if let Some(text) = greeting.filter(|_| first_submitted.is_none()) {
            out.push(RouteEffect::CustomerNotice {
                interaction: sid.clone(),
                kind: NoticeKind::Greeting,
                text,
            });
        }
        let submitted_at = first_submitted.map_or(now, |t| t.min(now));
        let ix = Interaction {
            id: sid.clone(),
            queue,
            submitted_at,
            online: true,
            waiting: None,
            offer: None,
            handlers: BTreeMap::new(),
            supervisors: BTreeMap::new(),
            tried: BTreeSet::new(),
            agent_ever_joined: false,
        };
        self.interactions.insert(sid.clone(), ix);
        self.enqueue(now, &sid, submitted_at);
        if let Some(w) = self
            .interactions
            .get_mut(&sid)
            .and_then(|ix| ix.waiting.as_mut())
        {
            // The wait goes on from the first submission (estimates, maximum wait).
            w.since = submitted_at;
        }
        Ok(())
    }

    /// Puts the chat into its queue, placed by `order_at` (its FIFO time).
    pub(super) fn enqueue(&mut self, now: UnixMillis, sid: &SessionId, order_at: UnixMillis) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let order = (order_at, seq);
        let Some(queue) = self.interactions.get(sid).map(|ix| ix.queue.clone()) else {
            return;
        };
        let ahead = self
            .waiting_in(&queue)
            .filter(|(online, w)| *online && w.order < order)
            .count();
        let notices = self
            .queue_settings(&queue)
            .is_some_and(|q| q.position_notices);
        if let Some(ix) = self.interactions.get_mut(sid) {
            ix.waiting = Some(Waiting {
                since: now,
                order,
                entry_place: u32::try_from(ahead + 1).unwrap_or(u32::MAX),
                max_wait_fired: false,
                next_notice: notices.then_some(now),
            });
        }
    }

    /// Re-queues a chat nobody is in any more, keeping its place.
    pub(super) fn requeue(
        &mut self,
        now: UnixMillis,
        sid: &SessionId,
        why: RequeueReason,
        out: &mut Vec<RouteEffect>,
    ) {
        let Some(ix) = self.interactions.get(sid) else {
            return;
        };
        let (queue, submitted_at) = (ix.queue.clone(), ix.submitted_at);
        self.enqueue(now, sid, submitted_at);
        out.push(RouteEffect::Requeued {
            interaction: sid.clone(),
            queue,
            why,
        });
    }

    /// The chats waiting in `queue`, each with whether its customer is still there.
    fn waiting_in<'a>(
        &'a self,
        queue: &'a QueueName,
    ) -> impl Iterator<Item = (bool, &'a Waiting)> + 'a {
        self.interactions
            .values()
            .filter(move |ix| &ix.queue == queue)
            .filter_map(|ix| ix.waiting.as_ref().map(|w| (ix.online, w)))
    }

    /// The chat's place in its queue (1 = next), while it waits. Only chats whose
    /// customers are still there count: one abandoned before anyone answered (offline,
    /// kept under `stop-abandoned-interaction = never`) is nobody's turn in the line a
    /// live customer is told about.
    pub fn position(&self, sid: &SessionId) -> Option<u32> {
        let ix = self.interactions.get(sid)?;
        let order = ix.waiting.as_ref()?.order;
        let place = self
            .waiting_in(&ix.queue)
            .filter(|(online, w)| (*online || w.order == order) && w.order <= order)
            .count();
        u32::try_from(place).ok()
    }

    /// The estimated wait at `place` in `queue` (see the module doc), if known.
    pub fn estimated_wait_ms(&self, queue: &QueueName, place: u32) -> Option<u64> {
        let samples = self.samples.get(queue).filter(|s| !s.is_empty())?;
        let n = u64::try_from(samples.len()).ok()?;
        let mean = samples.iter().fold(0u64, |acc, s| acc.saturating_add(*s)) / n;
        Some(mean.saturating_mul(u64::from(place)))
    }

    /// Records how long one place in line took for a chat assigned from its queue.
    pub(super) fn record_wait(&mut self, now: UnixMillis, queue: &QueueName, w: &Waiting) {
        let waited = u64::try_from(now.0.saturating_sub(w.since.0)).unwrap_or(0);
        let per_place = waited / u64::from(w.entry_place.max(1));
        let samples = self.samples.entry(queue.clone()).or_default();
        samples.push_back(per_place);
        while samples.len() > WAIT_SAMPLES {
            samples.pop_front();
        }
    }

    /// Sends the position notices that are due (to online chats not being offered).
    pub(super) fn send_due_notices(&mut self, now: UnixMillis, out: &mut Vec<RouteEffect>) {
        let due: Vec<SessionId> = self
            .interactions
            .values()
            .filter(|ix| ix.online && ix.offer.is_none())
            .filter(|ix| {
                ix.waiting
                    .as_ref()
                    .and_then(|w| w.next_notice)
                    .is_some_and(|t| t <= now)
            })
            .map(|ix| ix.id.clone())
            .collect();
        for sid in due {
            let (Some(place), Some(ix)) = (self.position(&sid), self.interactions.get(&sid)) else {
                continue;
            };
            let Some(q) = self.queue_settings(&ix.queue) else {
                continue;
            };
            let estimate = if q.estimated_wait {
                self.estimated_wait_ms(&ix.queue, place)
            } else {
                None
            };
            let text = q.position_notice(place, estimate);
            let interval = q.position_interval_ms;
            if let Some(w) = self
                .interactions
                .get_mut(&sid)
                .and_then(|ix| ix.waiting.as_mut())
            {
                w.next_notice = (interval > 0).then(|| now.plus_ms(interval));
            }
            out.push(RouteEffect::CustomerNotice {
                interaction: sid,
                kind: NoticeKind::Position {
                    place,
                    estimated_wait_ms: estimate,
                },
                text,
            });
        }
    }

    /// When the chat's maximum wait is up, if it is pending.
    fn max_wait_deadline(&self, ix: &Interaction) -> Option<UnixMillis> {
        let w = ix
            .waiting
            .as_ref()
            .filter(|w| ix.online && !w.max_wait_fired)?;
        let max = self.queue_settings(&ix.queue)?.max_wait.as_ref()?;
        Some(w.since.plus_ms(max.after_ms))
    }

    /// The chat's earliest deadline: offer timeout, maximum wait, next notice.
    pub(super) fn deadline_of(&self, ix: &Interaction) -> Option<UnixMillis> {
        let offer = ix.offer.as_ref().map(|o| o.until);
        let notice = ix
            .waiting
            .as_ref()
            .filter(|_| ix.online && ix.offer.is_none())
            .and_then(|w| w.next_notice);
        [offer, notice, self.max_wait_deadline(ix)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Chats whose maximum wait is up get the message, then are closed or kept waiting.
    pub(super) fn expire_max_waits(&mut self, now: UnixMillis, out: &mut Vec<RouteEffect>) {
        let due: Vec<SessionId> = self
            .interactions
            .values()
            .filter(|ix| self.max_wait_deadline(ix).is_some_and(|t| t <= now))
            .map(|ix| ix.id.clone())
            .collect();
        for sid in due {
            let Some(max) = self
                .interactions
                .get(&sid)
                .and_then(|ix| self.queue_settings(&ix.queue))
                .and_then(|q| q.max_wait.clone())
            else {
                continue;
            };
            if let Some(text) = max.message {
                out.push(RouteEffect::CustomerNotice {
                    interaction: sid.clone(),
                    kind: NoticeKind::MaxWait,
                    text,
                });
            }
            match max.action {
                MaxWaitAction::Close => {
                    self.withdraw_offer(&sid, false, WithdrawReason::ChatChanged, out);
                    self.forget(&sid);
                    out.push(RouteEffect::CloseInteraction {
                        interaction: sid,
                        reason: CloseReason::MaxWait,
                    });
                }
                MaxWaitAction::KeepWaiting => {
                    if let Some(w) = self
                        .interactions
                        .get_mut(&sid)
                        .and_then(|ix| ix.waiting.as_mut())
                    {
                        w.max_wait_fired = true;
                    }
                }
            }
        }
    }

    /// Drops the interaction and every agent's reference to it.
    pub(super) fn forget(&mut self, sid: &SessionId) {
        let Some(ix) = self.interactions.remove(sid) else {
            return;
        };
        let agents = ix
            .handlers
            .keys()
            .chain(ix.supervisors.keys())
            .chain(ix.offer.as_ref().map(|o| &o.agent));
        for id in agents {
            if let Some(a) = self.agents.get_mut(id) {
                a.chats.remove(sid);
                a.offers.remove(sid);
                a.supervising.remove(sid);
            }
        }
    }
}
