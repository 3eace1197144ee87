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
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_core::routing::AgentId;
use parley_core::routing::RouteInput;
use parley_store::{InstanceId, RoutingStore, ROUTING_LEASE};
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::{debug, info, warn};

use super::task::{self, DeskFrame, Msg};
use super::wire::{Reply, ToLeader};
use super::{Center, Mailbox};
use crate::clock::now;

/// The bus target of the routing leader.
pub(super) const LEADER: &str = "leader";
/// How long an instance waits for the leader's answer (a leader change takes up to the
/// lease and a third); the request is then refused as unavailable, and the leader drops
/// it if it comes later.
pub(super) const ASK_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a bus reader looks without being woken (a lost notification).
pub(super) const POLL: Duration = Duration::from_secs(1);
/// Messages taken from the bus at once.
pub(super) const TAKE: u32 = 256;
/// Messages to instances that died are purged after this long.
pub(super) const KEEP_MS: i64 = 10 * 60 * 1000;

/// The router task of this instance while it leads.
pub(super) struct Leading {
    pub(super) epoch: i64,
    pub(super) tx: mpsc::UnboundedSender<Msg>,
}

/// This instance's end of the routing bus.
pub(super) struct Bus {
    pub(super) me: String,
    out: mpsc::UnboundedSender<(String, String)>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    next_rid: AtomicU64,
    /// The newest leader epoch seen (frames of an older leader are dropped).
    pub(super) known: AtomicI64,
    /// Wakes the bus reader.
    pub(super) wake_reader: Notify,
    /// Wakes the leadership loop (a lease changed hands).
    pub(super) wake_leader: Notify,
}

/// The bus's outgoing messages, for the writer task.
pub(super) struct BusOut(pub(super) mpsc::UnboundedReceiver<(String, String)>);

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

    pub(super) fn pending_map(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Reply>>> {
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
            tokio::spawn(super::bus_io::write_bus(center.clone(), out));
            tokio::spawn(super::bus_io::listen(center.clone()));
            tokio::spawn(super::bus_io::read_bus(center.clone()));
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
    center.proxies_map().clear();
    task.abort();
}

/// The name of an instance's liveness lease (renewed with the routing lease).
fn alive_lease(instance: &str) -> String {
    format!("alive:{instance}")
}

/// While this instance leads: the desktops of instances whose liveness lease has lapsed
/// (they died) are taken as disconnected, so their agents' offers are withdrawn and their
/// chats re-queued after `agent-disconnect-timeout`. A lapsed lease is taken over with a
/// lease that is already over (`lead` with `lease_until = now`), which tells the death
/// (instance ids are never reused).
async fn drop_dead_instances(center: &Center, me: &InstanceId) {
    let Some(tx) = center.local() else {
        return;
    };
    let mut targets: Vec<String> = center
        .proxies_map()
        .values()
        .map(|(t, _)| t.clone())
        .collect();
    targets.sort();
    targets.dedup();
    for target in targets {
        let t = now();
        let Ok(holder) = center.store.lead(&alive_lease(&target), me, t, t).await else {
            continue;
        };
        if holder.instance.0 == target {
            continue;
        }
        let gone: Vec<(u64, AgentId)> = {
            let mut proxies = center.proxies_map();
            let conns: Vec<u64> = proxies
                .iter()
                .filter(|(_, (i, _))| *i == target)
                .map(|(c, _)| *c)
                .collect();
            conns
                .into_iter()
                .filter_map(|c| proxies.remove(&c).map(|(_, a)| (c, a)))
                .collect()
        };
        warn!(instance = %target, desktops = gone.len(), "routing leader: an instance died; its desktops are disconnected");
        for (conn, agent) in gone {
            let _ = tx.send(Msg::Disconnect { agent, conn });
        }
    }
}

pub(super) fn epoch(center: &Center) -> Option<i64> {
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
                // Known before this instance posts as the new leader (its frames carry
                // it; older ones are dropped).
                let changed = bus.known.fetch_max(l.epoch.0, Ordering::Relaxed) < l.epoch.0;
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
                if changed {
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
        let t = now();
        if let Err(e) = center
            .store
            .lead(&alive_lease(&bus.me), &me, t, t.plus_ms(lease_ms))
            .await
        {
            debug!(error = %e, "liveness lease not renewed");
        }
        if running.is_some() {
            drop_dead_instances(&center, &me).await;
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
