//! The extended (wait-reply) statistics, from the customer's and the agents' messages in
//! order. The seed's definitions, with "a few messages in a row" from one side read as one
//! turn:
//! - wait time: from a side's message (the last of its turn) to the first message of the
//!   other side in reply;
//! - reply time: from the other side's message (the first of its turn) to the reporting
//!   side's message in reply.
//!
//! So each change of side counts once for the side that waited and once for the side that
//! replied: `cse_CustomerWait*` and `cse_AgentReply*` pair up, and so do `cse_AgentWait*`
//! and `cse_CustomerReply*`; a reply is never shorter than the matching wait.

use super::walk::Side;
use super::{span_ms, Tally};
use crate::ids::UnixMillis;

/// The four extended statistics.
#[derive(Debug, Default)]
pub(super) struct Turns {
    pub(super) agent_reply: Tally,
    pub(super) agent_wait: Tally,
    pub(super) customer_reply: Tally,
    pub(super) customer_wait: Tally,
}

/// The wait and reply times of `messages` (customer and agent messages in order).
pub(super) fn turns(messages: &[(UnixMillis, Side)]) -> Turns {
    let mut t = Turns::default();
    // The current turn: its side, its first and its last message.
    let mut turn: Option<(Side, UnixMillis, UnixMillis)> = None;
    for &(at, side) in messages {
        turn = Some(match turn {
            Some((s, first, _)) if s == side => (s, first, at),
            Some((s, first, last)) => {
                let (waited, replied) = match s {
                    Side::Customer => (&mut t.customer_wait, &mut t.agent_reply),
                    Side::Agent => (&mut t.agent_wait, &mut t.customer_reply),
                };
                waited.add(span_ms(last, at));
                replied.add(span_ms(first, at));
                (side, at, at)
            }
            None => (side, at, at),
        });
    }
    t
}
