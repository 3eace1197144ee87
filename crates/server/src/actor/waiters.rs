//! Long-polling refreshes of connectionless customers (flex, GMS v2): a refresh with
//! nothing to answer waits here until a batch with an event its party may see commits.

use parley_core::{EventId, PartyId, Session};
use tokio::sync::oneshot;

use super::batches::Batches;
use super::{CmdError, Refreshed};

/// A refresh held until there is something to answer.
pub(super) struct Waiter {
    party: PartyId,
    from: EventId,
    reply: oneshot::Sender<Result<Refreshed, CmdError>>,
}

impl Batches {
    /// Answers a refresh now, or holds it (long poll) until an event it may see commits.
    pub(super) async fn refresh(
        &mut self,
        session: &Session,
        party: PartyId,
        from: EventId,
        wait: bool,
        reply: oneshot::Sender<Result<Refreshed, CmdError>>,
    ) {
        let older = match self.older(session, EventId(from.0.saturating_sub(1))).await {
            Ok(older) => older,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let r = super::refresh::render(session, &self.recent, self.committed, &party, from, &older);
        if r.events.is_empty() && wait && !r.chat_ended {
            self.waiters.retain(|w| !w.reply.is_closed());
            self.waiters.push(Waiter { party, from, reply });
        } else {
            let _ = reply.send(Ok(r));
        }
    }

    /// Answers the waiting refreshes that now have something (all of them when `all`).
    /// A waiter saw nothing up to the commit before this one, and events leave memory only
    /// after the waiters of their batch were answered, so memory holds all it may get.
    pub(super) fn wake_waiters(&mut self, session: &Session, all: bool) {
        for w in std::mem::take(&mut self.waiters) {
            if w.reply.is_closed() {
                continue;
            }
            let r = self.render(session, &w.party, w.from);
            if all || !r.events.is_empty() || r.chat_ended {
                let _ = w.reply.send(Ok(r));
            } else {
                self.waiters.push(w);
            }
        }
    }

    fn render(&self, session: &Session, party: &PartyId, from: EventId) -> Refreshed {
        super::refresh::render(session, &self.recent, self.committed, party, from, &[])
    }
}
