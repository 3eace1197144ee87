//! The routing bus's input and output on each instance: the writer that posts this
//! instance's messages in order, the listener that turns `NOTIFY` into wake-ups, the
//! reader that takes this instance's messages (and the leader's, while it leads), and
//! the routing actions on sessions, carried out here or on the session's owner.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parley_core::{SessionId, UnixMillis};
use parley_store::{Epoch, InstanceId, RoutingStore, ROUTING_LEASE};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::cluster::{epoch, BusOut, ASK_TIMEOUT, KEEP_MS, LEADER, POLL, TAKE};
use super::task::DeskFrame;
use super::wire::{ChatOp, ToInstance, ToLeader};
use super::Center;
use crate::clock::now;

/// Posts what this instance sends, in order, a batch per transaction.
pub(super) async fn write_bus(center: Arc<Center>, mut out: BusOut) {
    let mut buf = Vec::new();
    while out.0.recv_many(&mut buf, TAKE as usize).await > 0 {
        let epoch = Epoch(
            center
                .bus
                .as_ref()
                .map_or(0, |b| b.known.load(Ordering::Relaxed)),
        );
        let batch: Vec<(String, Epoch, String)> =
            buf.drain(..).map(|(t, p)| (t, epoch, p)).collect();
        for attempt in 0..3 {
            match center.store.bus_post(&batch, now()).await {
                Ok(()) => break,
                Err(e) => {
                    warn!(error = %e, attempt, messages = batch.len(), "routing bus: post failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

/// Turns `NOTIFY parley_bus` into wake-ups of the reader and the leadership loop.
pub(super) async fn listen(center: Arc<Center>) {
    let Some(bus) = center.bus.as_ref() else {
        return;
    };
    loop {
        let mut wakeups = match center.store.bus_wakeups().await {
            Some(Ok(w)) => w,
            Some(Err(e)) => {
                warn!(error = %e, "routing bus: cannot listen; polling");
                tokio::time::sleep(POLL).await;
                continue;
            }
            None => return,
        };
        loop {
            match wakeups.recv().await {
                Ok(target) if target == parley_store::NEW_LEADER => bus.wake_leader.notify_one(),
                Ok(target) if target == bus.me || target == LEADER => bus.wake_reader.notify_one(),
                Ok(_) => {}
                Err(e) => {
                    debug!(error = %e, "routing bus: listener dropped; reconnecting");
                    tokio::time::sleep(POLL).await;
                    break;
                }
            }
        }
    }
}

/// Reads this instance's messages (and the leader's, while it leads), in order.
pub(super) async fn read_bus(center: Arc<Center>) {
    let Some(bus) = center.bus.as_ref() else {
        return;
    };
    let me = InstanceId(bus.me.clone());
    let shutdown = center.sessions.shutdown.clone();
    let mut purged = now();
    let chats = chat_executor(center.clone());
    loop {
        loop {
            let mine = match center.store.bus_take(&bus.me, None, TAKE).await {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, "routing bus: read failed");
                    break;
                }
            };
            let mut more = mine.len() == TAKE as usize;
            for m in mine {
                if m.epoch.0 < bus.known.load(Ordering::Relaxed) {
                    continue; // from a deposed leader
                }
                match serde_json::from_str::<ToInstance>(&m.payload) {
                    Ok(msg) => on_instance(&center, msg, &chats),
                    Err(e) => warn!(error = %e, "routing bus: bad message"),
                }
            }
            if let Some(epoch) = epoch(&center) {
                let fence = Some((ROUTING_LEASE, &me, Epoch(epoch)));
                match center.store.bus_take(LEADER, fence, TAKE).await {
                    Ok(msgs) => {
                        more |= msgs.len() == TAKE as usize;
                        for m in msgs {
                            match serde_json::from_str::<ToLeader>(&m.payload) {
                                Ok(msg) => super::inbox::on_leader(&center, msg),
                                Err(e) => warn!(error = %e, "routing bus: bad message"),
                            }
                        }
                    }
                    Err(e) => warn!(error = %e, "routing bus: read failed"),
                }
                if now().0 - purged.0 > KEEP_MS / 10 {
                    purged = now();
                    let _ = center.store.bus_purge(UnixMillis(now().0 - KEEP_MS)).await;
                }
            }
            if !more {
                break;
            }
        }
        tokio::select! {
            () = bus.wake_reader.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// A message from the leader to this instance.
fn on_instance(
    center: &Arc<Center>,
    msg: ToInstance,
    chats: &mpsc::UnboundedSender<(SessionId, ChatOp)>,
) {
    match msg {
        ToInstance::Desk { conn, frame } => center.desks.deliver(conn, DeskFrame::Json(frame)),
        ToInstance::Kick { conn } => center.desks.kick(conn),
        ToInstance::Reply { rid, reply } => {
            if let Some(bus) = &center.bus {
                if let Some(tx) = bus.pending_map().remove(&rid) {
                    let _ = tx.send(reply);
                }
            }
        }
        ToInstance::Chat { interaction, op } => {
            let _ = chats.send((interaction, op));
        }
    }
}

/// Carries out the leader's actions on this instance's sessions, one after another (a
/// chat's notices keep their order).
fn chat_executor(center: Arc<Center>) -> mpsc::UnboundedSender<(SessionId, ChatOp)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(SessionId, ChatOp)>();
    tokio::spawn(async move {
        while let Some((id, op)) = rx.recv().await {
            let done = tokio::time::timeout(ASK_TIMEOUT, center.chat_op_here(&id, op)).await;
            if done.is_err() {
                debug!(session_id = %id, "routing could not act on the chat in time");
            }
        }
    });
    tx
}

impl Center {
    /// Carries out a routing action on a chat's session: here when this instance holds
    /// it (always on SQLite) or nobody live does (its owner's lease lapsed: it is
    /// restored here), else on its owner, over the bus.
    pub(super) async fn chat_op(&self, id: &SessionId, op: ChatOp) {
        let Some(bus) = &self.bus else {
            return self.chat_op_here(id, op).await;
        };
        if self.sessions.holds(id) {
            return self.chat_op_here(id, op).await;
        }
        match self.store.session_owner(id).await {
            Ok(Some((owner, until))) if owner.0 != bus.me && until > now() => {
                bus.post(
                    &owner.0,
                    &ToInstance::Chat {
                        interaction: id.clone(),
                        op,
                    },
                );
            }
            Ok(None) => debug!(session_id = %id, "routing: the chat is over"),
            _ => self.chat_op_here(id, op).await,
        }
    }

    /// Carries out a routing action on a session through this instance's `Sessions`.
    pub(super) async fn chat_op_here(&self, id: &SessionId, op: ChatOp) {
        use crate::actor::Command;
        use parley_core::session::{EndedReason, ExternalRequest, SendBody};
        let done = match op {
            ChatOp::Notice { nickname, text } => {
                let post = ExternalRequest {
                    nickname,
                    visibility: parley_core::Visibility::All,
                    body: SendBody::Message {
                        text,
                        message_type: Some("routing".into()),
                    },
                    client_msg_id: None,
                };
                self.sessions.post_external(id, post).await.map(drop)
            }
            ChatOp::Close => {
                let close = |reply| Command::SystemClose {
                    reason: EndedReason::Force,
                    reply,
                };
                self.sessions.call(id, close).await
            }
            ChatOp::Remove { party } => {
                let remove = |reply| Command::Remove {
                    party,
                    reason: parley_core::LeftReason::RemovedByParty,
                    reply,
                };
                self.sessions.call(id, remove).await
            }
        };
        if let Err(e) = done {
            // The agent may have left on its own meanwhile, the chat may be over.
            debug!(session_id = %id, error = %e.message, "routing could not act on the chat");
        }
    }
}
