//! The contact center around the chat sessions (Interaction Server's and URS's roles):
//! the agent directory and the routing service — the router task driving the pure
//! `parley_core::routing::Router`, fed by the facts sessions report. Agents' desktops
//! reach it through the agent front door (`crate::agent`) and the methods of [`Center`].
//!
//! Layout: `directory.rs` agents, passwords, tokens; `task.rs` the router task (one task
//! owns the `Router`; everything reaches it through its mailbox); `effects.rs` carrying
//! out the router's effects; `views.rs` what desktops are shown (welcome, status,
//! overview); `properties.rs` the interaction properties kept in the store; `gauges.rs`
//! routing gauges for `/counters`; `cluster.rs` the routing leader and the bus between
//! instances (one router for a whole cluster, docs/ha.md); `wire.rs` the bus's messages;
//! `desks.rs` the desktops connected to this instance.
//!
//! Every instance has a `Center`; one of them, the routing leader, runs the router task.
//! Each method below goes to the router task when this instance leads (always on
//! SQLite), else over the bus to the leader.

mod bus_io;
mod cluster;
mod desks;
pub mod directory;
mod effects;
mod gauges;
mod inbox;
mod properties;
mod resume;
mod task;
mod views;
pub(crate) mod wire;

pub use cluster::spawn;
pub use directory::{AgentProfile, Directory};
pub use gauges::{RoutingGauges, RoutingSnapshot};
pub use task::{Desk, DeskFrame};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use parley_core::routing::{AgentId, QueueName, RouteError, RouteInput};
use parley_core::{SessionId, UserData, Visibility};
use tokio::sync::mpsc;

use parley_store::AnyStore;

use crate::actor::{Facts, Sessions};
use crate::config::Config;
use crate::webhooks::Webhooks;

/// A chat entering routing.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Submitted {
    /// The interaction (= session) id.
    pub interaction: SessionId,
    /// Its tenant.
    pub tenant: String,
    /// Its queue.
    pub queue: QueueName,
    /// Subject.
    pub subject: Option<String>,
    /// The session's user data.
    pub user_data: UserData,
    /// The customer's nickname.
    pub customer: String,
    /// The session password, when the session has one (`session-password-enforce`, or
    /// chosen by a basic creator): the interaction's `ChatServerSessionPassword`, and what
    /// the desktops of the agents and supervisors it is routed to join with.
    pub password: Option<String>,
}

/// Why a desktop request was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteRefusal {
    /// The router refused it.
    #[error(transparent)]
    Router(#[from] RouteError),
    /// No routing leader answered in time (a leader change is under way).
    #[error("routing is unavailable: no routing leader answered in time")]
    Unavailable,
}

/// The contact center's shared parts.
pub struct Center {
    /// The sessions routing acts on (joins, removals, notices, closes).
    pub(crate) sessions: Sessions,
    /// Interaction records and contact links.
    pub(crate) store: AnyStore,
    /// Routing options, queues and agents.
    pub(crate) config: Arc<Config>,
    /// Agents and supervisors, logins and tokens.
    pub directory: Directory,
    /// Interaction events to integrators.
    pub webhooks: Webhooks,
    /// What routing holds now (for `/counters`).
    pub gauges: RoutingGauges,
    side_writes: mpsc::UnboundedSender<properties::Update>,
    /// Which agents may join which chats, and how: written by the router task while
    /// this instance leads, read by the basic protocol's `join` (a map lookup under a
    /// short lock, not on the message path; other instances ask the leader).
    grants: Mutex<HashMap<SessionId, HashMap<AgentId, Visibility>>>,
    /// The router task's mailbox while this instance is the routing leader.
    leader: Mutex<Option<cluster::Leading>>,
    /// The bus to the other instances (PostgreSQL); `None` on SQLite.
    bus: Option<cluster::Bus>,
    /// The desktops connected to this instance.
    desks: desks::Registry,
    /// While this instance leads: the desktops of other instances (connection → its
    /// instance and agent), dropped when their instance dies.
    proxies: Mutex<HashMap<u64, (String, AgentId)>>,
}

/// The receiving ends the background tasks of [`spawn`] read.
pub struct Mailbox {
    side_writes: mpsc::UnboundedReceiver<properties::Update>,
    facts: Facts,
    bus: Option<cluster::BusOut>,
}

impl Center {
    /// The center, and the mailbox its tasks will read (with the facts `sessions`
    /// report).
    pub fn new(
        directory: Directory,
        webhooks: Webhooks,
        sessions: Sessions,
        facts: Facts,
        store: AnyStore,
        config: Arc<Config>,
    ) -> (Arc<Center>, Mailbox) {
        let (side_tx, side_writes) = mpsc::unbounded_channel();
        let (bus, bus_out) = if parley_store::HealthStore::single_node(&store) {
            (None, None)
        } else {
            let (bus, out) = cluster::Bus::new(sessions.instance.0.clone());
            (Some(bus), Some(out))
        };
        let center = Center {
            sessions,
            store,
            config,
            directory,
            webhooks,
            gauges: RoutingGauges::default(),
            side_writes: side_tx,
            grants: Mutex::default(),
            leader: Mutex::default(),
            bus,
            desks: desks::Registry::default(),
            proxies: Mutex::default(),
        };
        let mailbox = Mailbox {
            side_writes,
            facts,
            bus: bus_out,
        };
        (Arc::new(center), mailbox)
    }

    /// The router task's mailbox, while this instance leads.
    fn local(&self) -> Option<mpsc::UnboundedSender<task::Msg>> {
        let leader = self.leader.lock().unwrap_or_else(|p| p.into_inner());
        leader.as_ref().map(|l| l.tx.clone())
    }

    /// Sends to the local router task (dropped when this instance does not lead: the
    /// leader rebuilds what it needs from the store).
    fn send(&self, msg: task::Msg) {
        if let Some(tx) = self.local() {
            let _ = tx.send(msg);
        }
    }

    /// To the local router task, or over the bus to the leader.
    fn to_leader(&self, local: task::Msg, remote: impl FnOnce() -> wire::ToLeader) {
        match self.local() {
            Some(tx) => {
                let _ = tx.send(local);
            }
            None => {
                if let Some(bus) = &self.bus {
                    bus.post(cluster::LEADER, &remote());
                }
            }
        }
    }

    /// A customer's chat was created (durably): submit it to its queue.
    pub fn submit(&self, chat: Submitted) {
        let chat = Box::new(chat);
        let remote = chat.clone();
        self.to_leader(task::Msg::Submit(chat), || wire::ToLeader::Submit {
            chat: remote,
        });
    }

    /// A session fact, for routing and webhooks.
    fn fact(&self, fact: crate::actor::SessionFact) {
        let fact = Box::new(fact);
        let remote = fact.clone();
        self.to_leader(task::Msg::Fact(fact), || wire::ToLeader::Fact {
            fact: remote,
        });
    }

    /// The chat belongs to this contact (written in the background, with the properties).
    pub fn link_contact(&self, contact: parley_core::contacts::ContactId, session: SessionId) {
        let _ = self.side_writes.send(properties::Update::Link(
            contact,
            session,
            crate::clock::now(),
        ));
    }

    /// An agent was created or changed through the admin API: routing takes the new
    /// queues and capacity at once if it is logged in.
    pub fn agent_changed(&self, profile: AgentProfile) {
        let profile = Box::new(profile);
        let remote = profile.clone();
        self.to_leader(task::Msg::Profile(profile), || wire::ToLeader::Profile {
            profile: remote,
        });
    }

    /// An agent was deleted through the admin API: it is logged out of routing.
    pub fn agent_removed(&self, login: &AgentId) {
        self.to_leader(task::Msg::Removed(login.clone()), || {
            wire::ToLeader::Removed {
                agent: login.clone(),
            }
        });
    }

    /// A desktop connected (after its `hello`): its `welcome`, or `None` when routing
    /// has stopped or no leader answered.
    pub async fn connect(&self, profile: AgentProfile, desk: Desk) -> Option<DeskFrame> {
        self.desks.insert(&profile, &desk);
        let conn = desk.conn;
        let welcome = match self.local() {
            Some(tx) => {
                let (reply, rx) = tokio::sync::oneshot::channel();
                let _ = tx.send(task::Msg::Connect {
                    profile: Box::new(profile),
                    desk,
                    reply,
                });
                rx.await.ok().map(DeskFrame::Event)
            }
            None => {
                let from = self.instance();
                let reply = self
                    .ask(|rid| wire::ToLeader::Connect {
                        from,
                        rid,
                        profile: Box::new(profile),
                        conn,
                        watching: false,
                        ready: false,
                    })
                    .await;
                match reply {
                    Some(wire::Reply::Welcome { frame }) => Some(DeskFrame::Json(frame)),
                    _ => None,
                }
            }
        };
        if welcome.is_none() {
            self.desks.remove(conn);
        }
        welcome
    }

    /// A desktop connection closed.
    pub fn disconnect(&self, agent: AgentId, conn: u64) {
        self.desks.remove(conn);
        let remote = agent.clone();
        self.to_leader(task::Msg::Disconnect { agent, conn }, || {
            wire::ToLeader::Disconnect {
                agent: remote,
                conn,
            }
        });
    }

    /// A supervisor's desktop wants overviews.
    pub fn watch(&self, agent: AgentId, conn: u64) {
        self.desks.watching(conn);
        let remote = agent.clone();
        self.to_leader(task::Msg::Watch { agent, conn }, || wire::ToLeader::Watch {
            agent: remote,
            conn,
        });
    }

    /// Applies a desktop's request to routing.
    pub async fn route(&self, input: RouteInput) -> Result<(), RouteRefusal> {
        if let Some(tx) = self.local() {
            let (reply, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(task::Msg::Route { input, reply });
            // The task ends only when leadership moves.
            return match rx.await {
                Ok(r) => r.map_err(RouteRefusal::Router),
                Err(_) => Err(RouteRefusal::Unavailable),
            };
        }
        let Some(input) = wire::WireInput::of(input) else {
            return Err(RouteRefusal::Unavailable);
        };
        let from = self.instance();
        let at = crate::clock::now().0;
        let reply = self
            .ask(|rid| wire::ToLeader::Route {
                from,
                rid,
                at,
                input,
            })
            .await;
        match reply {
            Some(wire::Reply::Routed { refused: None }) => Ok(()),
            Some(wire::Reply::Routed {
                refused: Some(name),
            }) => Err(wire::refusal(&name).map_or(RouteRefusal::Unavailable, RouteRefusal::Router)),
            _ => Err(RouteRefusal::Unavailable),
        }
    }

    /// Whether `agent` was offered or holds interaction `id` (what an agent may read).
    pub async fn may_read(&self, agent: &AgentId, id: &SessionId) -> bool {
        if let Some(tx) = self.local() {
            let (reply, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(task::Msg::MayRead {
                agent: agent.clone(),
                interaction: id.clone(),
                reply,
            });
            return rx.await.unwrap_or(false);
        }
        let from = self.instance();
        let reply = self
            .ask(|rid| wire::ToLeader::MayRead {
                from,
                rid,
                agent: agent.clone(),
                interaction: id.clone(),
            })
            .await;
        matches!(reply, Some(wire::Reply::Bool { yes: true }))
    }

    /// How `agent` may join chat `id`, if the router assigned it or a supervision.
    pub async fn join_grant(&self, agent: &AgentId, id: &SessionId) -> Option<Visibility> {
        if self.local().is_some() {
            return self.local_grant(agent, id);
        }
        let from = self.instance();
        let reply = self
            .ask(|rid| wire::ToLeader::JoinGrant {
                from,
                rid,
                agent: agent.clone(),
                interaction: id.clone(),
            })
            .await;
        match reply {
            Some(wire::Reply::Grant { visibility }) => visibility,
            _ => None,
        }
    }

    fn local_grant(&self, agent: &AgentId, id: &SessionId) -> Option<Visibility> {
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        grants.get(id)?.get(agent).copied()
    }

    fn proxies_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (String, AgentId)>> {
        self.proxies.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn instance(&self) -> String {
        self.sessions.instance.0.clone()
    }

    /// Asks the leader over the bus; `None` when there is no bus or no answer in time.
    async fn ask(&self, make: impl FnOnce(u64) -> wire::ToLeader) -> Option<wire::Reply> {
        let bus = self.bus.as_ref()?;
        bus.ask(make).await
    }

    fn grant(&self, agent: &AgentId, id: &SessionId, visibility: Visibility) {
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        grants
            .entry(id.clone())
            .or_default()
            .insert(agent.clone(), visibility);
    }

    fn revoke(&self, agent: &AgentId, id: &SessionId) {
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = grants.get_mut(id) {
            g.remove(agent);
            if g.is_empty() {
                grants.remove(id);
            }
        }
    }

    fn revoke_all(&self, id: &SessionId) {
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        grants.remove(id);
    }
}
