//! One router for a whole cluster (docs/ha.md, "Cluster-wide routing"). On PostgreSQL
//! the instances elect a routing leader through the lease `routing` in the store (taken
//! when lapsed, renewed every third of `session-lease-timeout`, epoch + 1 when it
//! changes hands); the leader runs the router task for everyone. The others reach it
//! through the routing bus (a table, read in id order, with `NOTIFY` to wake the
//! reader): chats they create, facts of the sessions they hold, their desktops'
//! connections and requests. The leader answers on the bus: desktop frames to the
//! instance of the desktop, actions on a session to its owner, replies to who asked. On
//! SQLite the instance leads from the start and nothing crosses a bus.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_core::routing::RouteInput;
use parley_core::SessionId;
use parley_store::{Epoch, InstanceId, RoutingStore, ROUTING_LEASE};
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::{debug, info, warn};

use super::task::{self, Desk, DeskFrame, Msg};
use super::wire::{ChatOp, Reply, ToInstance, ToLeader};
use super::{Center, Mailbox};
use crate::clock::now;

/// The bus target of the routing leader.
pub(super) const LEADER: &str = "leader";
/// How long an instance waits for the leader's answer (a leader change takes up to the
/// lease and a third); the request is then refused as unavailable, and the leader drops
/// it if it comes later.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a bus reader looks without being woken (a lost notification).
const POLL: Duration = Duration::from_secs(1);
/// Messages taken from the bus at once.
const TAKE: u32 = 256;
/// Messages to instances that died are purged after this long.
const KEEP_MS: i64 = 10 * 60 * 1000;

/// The router task of this instance while it leads.
pub(super) struct Leading {
    pub(super) epoch: i64,
    pub(super) tx: mpsc::UnboundedSender<Msg>,
}

/// This instance's end of the routing bus.
pub(super) struct Bus {
    me: String,
    out: mpsc::UnboundedSender<(String, String)>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    next_rid: AtomicU64,
    /// The newest leader epoch seen (frames of an older leader are dropped).
    known: AtomicI64,
    /// Wakes the bus reader.
    wake_reader: Notify,
    /// Wakes the leadership loop (a lease changed hands).
    wake_leader: Notify,
}

/// The bus's outgoing messages, for the writer task.
pub(super) struct BusOut(mpsc::UnboundedReceiver<(String, String)>);

impl Bus {
    pub(super) fn new(me: String) -> (Bus, BusOut) {
        let (out, rx) = mpsc::unbounded_channel();
        let bus = Bus {
            me,
            out,
            pending: Mutex::default(),
            next_rid: AtomicU64::new(1),
            known: AtomicI64::new(0),
            wake_reader: Notify::new(),
            wake_leader: Notify::new(),
        };
        (bus, BusOut(rx))
    }

    /// Posts a message (in order with this instance's other posts).
    pub(super) fn post(&self, target: &str, msg: &impl serde::Serialize) {
        match serde_json::to_string(msg) {
            Ok(json) => {
                let _ = self.out.send((target.to_owned(), json));
            }
            Err(e) => warn!(error = %e, "routing bus: message not serializable"),
        }
    }

    /// Asks the leader; `None` after [`ASK_TIMEOUT`].
    pub(super) async fn ask(&self, make: impl FnOnce(u64) -> ToLeader) -> Option<Reply> {
        let rid = self.next_rid.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending_map().insert(rid, tx);
        self.post(LEADER, &make(rid));
        let reply = tokio::time::timeout(ASK_TIMEOUT, rx).await;
        self.pending_map().remove(&rid);
        match reply {
            Ok(Ok(r)) => Some(r),
            _ => {
                info!("routing bus: no answer from the routing leader in time");
                None
            }
        }
    }

    fn pending_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Reply>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the contact center's background tasks: the properties writer, the facts
/// forwarder, and either the router task (SQLite) or the leadership loop and the bus
/// (PostgreSQL).
pub fn spawn(center: Arc<Center>, mailbox: Mailbox) {
    tokio::spawn(super::properties::write_loop(
        center.store.clone(),
        mailbox.side_writes,
    ));
    let mut facts = mailbox.facts;
    let c = center.clone();
    tokio::spawn(async move {
        while let Some(fact) = facts.recv().await {
            c.fact(fact);
        }
    });
    match mailbox.bus {
        None => {
            let (tx, rx) = mpsc::unbounded_channel();
            start_leading(&center, 1, tx, rx, false);
        }
        Some(out) => {
            tokio::spawn(write_bus(center.clone(), out));
            tokio::spawn(listen(center.clone()));
            tokio::spawn(read_bus(center.clone()));
            tokio::spawn(lead(center));
        }
    }
}

fn start_leading(
    center: &Arc<Center>,
    epoch: i64,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    rebuild: bool,
) -> tokio::task::JoinHandle<()> {
    center
        .grants
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    *center.leader.lock().unwrap_or_else(|p| p.into_inner()) = Some(Leading {
        epoch,
        tx: tx.clone(),
    });
    task::start(center.clone(), tx, rx, rebuild)
}

fn stop_leading(center: &Center, task: tokio::task::JoinHandle<()>) {
    *center.leader.lock().unwrap_or_else(|p| p.into_inner()) = None;
    task.abort();
}

fn epoch(center: &Center) -> Option<i64> {
    let leader = center.leader.lock().unwrap_or_else(|p| p.into_inner());
    leader.as_ref().map(|l| l.epoch)
}

/// The leadership loop: takes or renews the lease every third of it (and when told a
/// lease changed hands), starts the router task when this instance becomes leader and
/// stops it when it is deposed, and announces this instance's desktops to each new
/// leader. At shutdown the lease is given up, so another instance leads at once.
async fn lead(center: Arc<Center>) {
    let Some(bus) = center.bus.as_ref() else {
        return;
    };
    let me = InstanceId(bus.me.clone());
    let lease_ms = center.sessions.policy.lease_ms;
    let period = Duration::from_millis((lease_ms / 3).max(100));
    let mut running: Option<tokio::task::JoinHandle<()>> = None;
    let mut last_renewed = now();
    let shutdown = center.sessions.shutdown.clone();
    loop {
        let t = now();
        match center
            .store
            .lead(ROUTING_LEASE, &me, t, t.plus_ms(lease_ms))
            .await
        {
            Ok(l) => {
                let mine = l.instance == me;
                if mine {
                    last_renewed = t;
                }
                if mine && epoch(&center) != Some(l.epoch.0) {
                    if let Some(old) = running.take() {
                        stop_leading(&center, old);
                    }
                    info!(epoch = l.epoch.0, "routing leader: this instance leads");
                    let (tx, rx) = mpsc::unbounded_channel();
                    running = Some(start_leading(&center, l.epoch.0, tx, rx, true));
                } else if !mine {
                    if let Some(old) = running.take() {
                        warn!(leader = %l.instance.0, "routing leader: deposed");
                        stop_leading(&center, old);
                    }
                }
                if bus.known.swap(l.epoch.0, Ordering::Relaxed) != l.epoch.0 {
                    debug!(epoch = l.epoch.0, leader = %l.instance.0, "routing leader known");
                    announce(&center);
                    bus.wake_reader.notify_one();
                }
            }
            Err(e) => {
                warn!(error = %e, "routing leader: lease not renewed");
                if running.is_some()
                    && now().0 - last_renewed.0 >= i64::try_from(lease_ms).unwrap_or(i64::MAX)
                {
                    if let Some(old) = running.take() {
                        stop_leading(&center, old);
                    }
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = bus.wake_leader.notified() => {}
            () = shutdown.cancelled() => break,
        }
    }
    if let Some(old) = running.take() {
        stop_leading(&center, old);
        if let Err(e) = center.store.resign(ROUTING_LEASE, &me).await {
            warn!(error = %e, "routing leader: lease not given up");
        }
    }
}

/// Announces every desktop of this instance to the (new) leader, with the ready state
/// it last had: each gets a fresh `welcome` (its chats as the new leader has them) and
/// its status.
fn announce(center: &Arc<Center>) {
    for (conn, d) in center.desks.all() {
        let ready = d.is_ready();
        let agent = d.profile.login.clone();
        if let Some(tx) = center.local() {
            let (reply, rx) = oneshot::channel();
            let _ = tx.send(Msg::Connect {
                profile: Box::new(d.profile.clone()),
                desk: d.desk(conn),
                reply,
            });
            if d.watching {
                let _ = tx.send(Msg::Watch {
                    agent: agent.clone(),
                    conn,
                });
            }
            if ready {
                let (reply, _) = oneshot::channel();
                let input = RouteInput::AgentReady { agent };
                let _ = tx.send(Msg::Route { input, reply });
            }
            let out = d.tx.clone();
            tokio::spawn(async move {
                if let Ok(welcome) = rx.await {
                    let _ = out.try_send(DeskFrame::Event(welcome));
                }
            });
        } else {
            let center = center.clone();
            tokio::spawn(async move {
                let from = center.instance();
                let reply = center
                    .ask(|rid| ToLeader::Connect {
                        from,
                        rid,
                        profile: Box::new(d.profile.clone()),
                        conn,
                        watching: d.watching,
                        ready,
                    })
                    .await;
                if let Some(Reply::Welcome { frame }) = reply {
                    center.desks.deliver(conn, DeskFrame::Json(frame));
                }
            });
        }
    }
}

/// Posts what this instance sends, in order, a batch per transaction.
async fn write_bus(center: Arc<Center>, mut out: BusOut) {
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
async fn listen(center: Arc<Center>) {
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
async fn read_bus(center: Arc<Center>) {
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
                                Ok(msg) => on_leader(&center, msg),
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

use parley_core::UnixMillis;

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

/// A message to the leader (this instance leads).
fn on_leader(center: &Arc<Center>, msg: ToLeader) {
    let Some(tx) = center.local() else {
        return;
    };
    let Some(bus) = center.bus.as_ref() else {
        return;
    };
    let answer = |from: String, rid: u64, reply: Reply| {
        if let Some(bus) = &center.bus {
            bus.post(&from, &ToInstance::Reply { rid, reply });
        }
    };
    match msg {
        ToLeader::Submit { chat } => {
            let _ = tx.send(Msg::Submit(chat));
        }
        ToLeader::Fact { fact } => {
            let _ = tx.send(Msg::Fact(fact));
        }
        ToLeader::Connect {
            from,
            rid,
            profile,
            conn,
            watching,
            ready,
        } => {
            let agent = profile.login.clone();
            // Its own desktop, asked for while it did not lead yet: held directly.
            let desk = match center.desks.get(conn).filter(|_| from == bus.me) {
                Some(d) => d.desk(conn),
                None => proxy_desk(center.clone(), from.clone(), conn, watching),
            };
            let (reply, rx) = oneshot::channel();
            let _ = tx.send(Msg::Connect {
                profile,
                desk,
                reply,
            });
            if watching {
                let _ = tx.send(Msg::Watch {
                    agent: agent.clone(),
                    conn,
                });
            }
            if ready {
                let (reply, _) = oneshot::channel();
                let input = RouteInput::AgentReady { agent };
                let _ = tx.send(Msg::Route { input, reply });
            }
            let center = center.clone();
            tokio::spawn(async move {
                if let Ok(welcome) = rx.await {
                    if let Some(frame) = DeskFrame::Event(welcome).text() {
                        if let Some(bus) = &center.bus {
                            bus.post(
                                &from,
                                &ToInstance::Reply {
                                    rid,
                                    reply: Reply::Welcome { frame },
                                },
                            );
                        }
                    }
                }
            });
        }
        ToLeader::Disconnect { agent, conn } => {
            let _ = tx.send(Msg::Disconnect { agent, conn });
        }
        ToLeader::Watch { agent, conn } => {
            let _ = tx.send(Msg::Watch { agent, conn });
        }
        ToLeader::Route {
            from,
            rid,
            at,
            input,
        } => {
            let waited = now().0 - at;
            if waited > i64::try_from(ASK_TIMEOUT.as_millis()).unwrap_or(i64::MAX) {
                debug!(
                    waited,
                    "routing leader: dropped a desktop request nobody waits for"
                );
                return;
            }
            let (reply, rx) = oneshot::channel();
            let _ = tx.send(Msg::Route {
                input: input.input(),
                reply,
            });
            let center = center.clone();
            tokio::spawn(async move {
                if let Ok(result) = rx.await {
                    let refused = result.err().map(|e| super::wire::refusal_name(&e));
                    if let Some(bus) = &center.bus {
                        bus.post(
                            &from,
                            &ToInstance::Reply {
                                rid,
                                reply: Reply::Routed { refused },
                            },
                        );
                    }
                }
            });
        }
        ToLeader::MayRead {
            from,
            rid,
            agent,
            interaction,
        } => {
            let (reply, rx) = oneshot::channel();
            let _ = tx.send(Msg::MayRead {
                agent,
                interaction,
                reply,
            });
            let center = center.clone();
            tokio::spawn(async move {
                let yes = rx.await.unwrap_or(false);
                if let Some(bus) = &center.bus {
                    bus.post(
                        &from,
                        &ToInstance::Reply {
                            rid,
                            reply: Reply::Bool { yes },
                        },
                    );
                }
            });
        }
        ToLeader::JoinGrant {
            from,
            rid,
            agent,
            interaction,
        } => {
            let visibility = center.local_grant(&agent, &interaction);
            answer(from, rid, Reply::Grant { visibility });
        }
        ToLeader::Profile { profile } => {
            let _ = tx.send(Msg::Profile(profile));
        }
        ToLeader::Removed { agent } => {
            let _ = tx.send(Msg::Removed(agent));
        }
    }
    let _ = bus;
}

/// On the leader, a desktop of instance `target`: its frames go over the bus.
fn proxy_desk(center: Arc<Center>, target: String, conn: u64, watching: bool) -> Desk {
    let (tx, mut rx) = mpsc::channel::<DeskFrame>(256);
    let kick = tokio_util::sync::CancellationToken::new();
    let kicked = kick.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = rx.recv() => {
                    let Some(frame) = frame else { break };
                    let Some(frame) = frame.text() else { continue };
                    if let Some(bus) = &center.bus {
                        bus.post(&target, &ToInstance::Desk { conn, frame });
                    }
                }
                () = kicked.cancelled() => {
                    if let Some(bus) = &center.bus {
                        bus.post(&target, &ToInstance::Kick { conn });
                    }
                    break;
                }
            }
        }
    });
    Desk {
        conn,
        tx,
        kick,
        watching,
        ready: Arc::new(AtomicBool::new(false)),
    }
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
