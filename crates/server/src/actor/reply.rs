//! Replies that wait for their batch to be durable.

use parley_core::view::SessionSnapshot;
use parley_core::{EventId, PartyId};
use tokio::sync::oneshot;

use super::{Acked, CmdError, Subscriber};

/// A reply that waits for its batch to be durable.
pub(super) enum Deferred {
    /// `sessionInfo` for a join, resume or creation.
    Info {
        party: PartyId,
        sub: Option<Subscriber>,
        after: EventId,
        creator: bool,
        reply: oneshot::Sender<Result<SessionSnapshot, CmdError>>,
    },
    /// Acknowledgement of a send.
    Ack {
        reply: oneshot::Sender<Result<Acked, CmdError>>,
        ack: Option<Acked>,
    },
    /// Reply to a write with nothing to show (user data).
    Done {
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
    /// Reply to a release.
    Released {
        reply: oneshot::Sender<Result<(), CmdError>>,
        party: PartyId,
    },
}

impl Deferred {
    pub(super) fn info(
        party: PartyId,
        sub: Option<Subscriber>,
        after: EventId,
        reply: oneshot::Sender<Result<SessionSnapshot, CmdError>>,
    ) -> Deferred {
        Deferred::Info {
            party,
            sub,
            after,
            creator: false,
            reply,
        }
    }

    pub(super) fn creator(
        party: PartyId,
        sub: Option<Subscriber>,
        reply: oneshot::Sender<Result<SessionSnapshot, CmdError>>,
    ) -> Deferred {
        Deferred::Info {
            party,
            sub,
            after: EventId(0),
            creator: true,
            reply,
        }
    }

    pub(super) fn fail(self, e: CmdError) {
        match self {
            Deferred::Info { reply, .. } => drop(reply.send(Err(e))),
            Deferred::Ack { reply, .. } => drop(reply.send(Err(e))),
            Deferred::Released { reply, .. } | Deferred::Done { reply } => drop(reply.send(Err(e))),
        }
    }
}
