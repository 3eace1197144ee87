//! Holding a new subscription's pushes until the reply that starts it is out.
//!
//! A join, resume or creation answers with a `sessionInfo` carrying the events up to some
//! id; from the next id on the subscriber gets events live (`deliver.rs`). The reply
//! travels on its own channel (a oneshot, awaited by the front door, which then queues
//! the frame), the live events on the connection's inbox: without a gate a live event
//! could be queued first, and a client that takes "the highest id seen" as its position
//! would skip what the reply carries. A front door gives the session a [`ReplyGate`]
//! as the subscriber's inbox and opens it as it queues the reply: what was pushed
//! meanwhile follows the reply, in order, and later pushes pass straight through.

use std::sync::{Arc, Mutex};

use super::{Inbox, Push, PushError};

/// Most pushes held before the reply is out: a subscriber whose reply stays out longer
/// than this many events counts as too slow (it is disconnected and resumes).
const HELD_MAX: usize = 1024;

/// An inbox that holds pushes until [`ReplyGate::open`].
pub struct ReplyGate {
    inbox: Arc<dyn Inbox>,
    /// `Some` while closed: what was pushed meanwhile, boxed as it came and as it goes on.
    #[allow(clippy::vec_box)]
    held: Mutex<Option<Vec<Box<Push>>>>,
}

impl ReplyGate {
    /// A closed gate in front of `inbox`.
    pub fn new(inbox: Arc<dyn Inbox>) -> Arc<ReplyGate> {
        Arc::new(ReplyGate {
            inbox,
            held: Mutex::new(Some(Vec::new())),
        })
    }

    /// Queues the reply with `reply`, then what was held, in order; from here pushes pass
    /// straight through. Nothing can be pushed between the reply and the held pushes.
    pub fn open(&self, reply: impl FnOnce()) -> Result<(), PushError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        reply();
        for push in held.take().unwrap_or_default() {
            self.inbox.push(push)?;
        }
        Ok(())
    }
}

impl Inbox for ReplyGate {
    fn push(&self, push: Box<Push>) -> Result<(), PushError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        match held.as_mut() {
            Some(list) if list.len() >= HELD_MAX => Err(PushError::Full),
            Some(list) => {
                list.push(push);
                Ok(())
            }
            None => self.inbox.push(push),
        }
    }
}
