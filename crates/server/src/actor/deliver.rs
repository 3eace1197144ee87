//! Delivery to subscribers. Each subscriber has a high-water mark: the last event it has
//! received (in a join or resume reply, or live). Live delivery skips events at or below
//! it, so every event reaches every subscriber exactly once, whether it arrives in a
//! reply or live. What is pushed are domain values, projected for the subscriber's party
//! by the core; the connection's front door renders them.

use parley_core::{Event, EventId, PartyId, Session, SessionId};
use tracing::warn;

use super::batches::Batches;
use super::{ConnId, Push, PushError, Subscriber};

pub(super) struct Sub {
    pub(super) s: Subscriber,
    /// Last event this subscriber has; `None` until its `sessionInfo` reply is sent.
    pub(super) high_water: Option<EventId>,
}

impl Batches {
    pub(super) fn subscribe(&mut self, s: Subscriber) {
        self.subs
            .retain(|x| !(x.s.conn == s.conn && x.s.party == s.party));
        self.subs.push(Sub {
            s,
            high_water: None,
        });
    }

    /// Drops a connection's subscription; true when the party has no connection left.
    pub(super) fn unsubscribe(&mut self, party: &PartyId, conn: ConnId) -> bool {
        self.subs
            .retain(|x| !(x.s.conn == conn && &x.s.party == party));
        !self.subs.iter().any(|x| &x.s.party == party)
    }

    /// Delivers durable events to the subscribers in their audiences that do not have
    /// them yet.
    pub(super) fn deliver(&mut self, session: &Session, deliveries: &[(Event, Vec<PartyId>)]) {
        for (event, audience) in deliveries {
            for i in 0..self.subs.len() {
                let sub = &self.subs[i];
                if !audience.contains(&sub.s.party)
                    || sub.high_water.is_none_or(|hw| hw >= event.id)
                {
                    continue;
                }
                let Some(viewer) = session.party(&sub.s.party) else {
                    continue;
                };
                let push = Push::Event {
                    session: session.id().clone(),
                    event: session.project(event, viewer),
                };
                self.subs[i].high_water = Some(event.id);
                self.push(i, push);
                self.ctx.counters.deliveries.inc();
            }
        }
    }

    /// A join or resume reply carried everything up to `upto` to this subscriber.
    pub(super) fn caught_up(&mut self, sub: &Subscriber, upto: EventId) {
        if let Some(s) = self
            .subs
            .iter_mut()
            .find(|x| x.s.conn == sub.conn && x.s.party == sub.party)
        {
            s.high_water = Some(upto);
        }
    }

    /// The party has left: its connections get nothing more from here.
    pub(super) fn drop_party(&mut self, party: &PartyId) {
        self.subs.retain(|x| &x.s.party != party);
    }

    /// Pushes to every subscriber that has had its reply.
    pub(super) fn broadcast(&mut self, push: impl Fn(&SessionId) -> Push, session: &Session) {
        for i in 0..self.subs.len() {
            if self.subs[i].high_water.is_some() {
                self.push(i, push(session.id()));
            }
        }
    }

    /// Queues a push for a subscriber; one that cannot keep up is disconnected (it will
    /// resume from its last event id) instead of buffering without bound.
    fn push(&mut self, i: usize, push: Push) {
        let sub = &self.subs[i].s;
        if let Err(e) = sub.inbox.push(Box::new(push)) {
            if e == PushError::Full {
                warn!(conn = sub.conn, "subscriber too slow; disconnecting it");
            }
            sub.kick.cancel();
        }
    }
}
