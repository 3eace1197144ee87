//! What the routing leader does with the bus messages of other instances: each becomes
//! a message to its router task; a desktop of another instance becomes a proxy desk
//! whose frames go back over the bus; replies go to the asking instance.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parley_core::routing::RouteInput;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::cluster::ASK_TIMEOUT;
use super::task::{Desk, DeskFrame, Msg};
use super::wire::{Reply, ToInstance, ToLeader};
use super::Center;
use crate::clock::now;

/// A message to the leader (this instance leads).
pub(super) fn on_leader(center: &Arc<Center>, msg: ToLeader) {
    let Some(tx) = center.local() else {
        return;
    };
    let Some(bus) = center.bus.as_ref() else {
        return;
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
                None => {
                    center
                        .proxies_map()
                        .insert(conn, (from.clone(), agent.clone()));
                    proxy_desk(center.clone(), from.clone(), conn, watching)
                }
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
                        answer(&center, &from, rid, Reply::Welcome { frame });
                    }
                }
            });
        }
        ToLeader::Disconnect { agent, conn } => {
            center.proxies_map().remove(&conn);
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
                    answer(&center, &from, rid, Reply::Routed { refused });
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
                answer(&center, &from, rid, Reply::Bool { yes });
            });
        }
        ToLeader::JoinGrant {
            from,
            rid,
            agent,
            interaction,
        } => {
            let visibility = center.local_grant(&agent, &interaction);
            answer(center, &from, rid, Reply::Grant { visibility });
        }
        ToLeader::Profile { profile } => {
            let _ = tx.send(Msg::Profile(profile));
        }
        ToLeader::Removed { agent } => {
            let _ = tx.send(Msg::Removed(agent));
        }
    }
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

/// Sends the answer to request `rid` of instance `from`.
fn answer(center: &Center, from: &str, rid: u64, reply: Reply) {
    if let Some(bus) = &center.bus {
        bus.post(from, &ToInstance::Reply { rid, reply });
    }
}
