//! The contact center around the chat sessions (Interaction Server's and URS's roles):
//! the agent directory and the routing service — the router task driving the pure
//! `parley_core::routing::Router`, fed by the facts sessions report. Agents' desktops
//! reach it through the agent front door (`crate::agent`) and the methods of [`Center`].
//!
//! Layout: `directory.rs` agents, passwords, tokens; `task.rs` the router task (one task
//! owns the `Router`; everything reaches it through its mailbox); `effects.rs` carrying
//! out the router's effects; `views.rs` what desktops are shown (welcome, status,
//! overview); `properties.rs` the interaction properties kept in the store; `gauges.rs`
//! routing gauges for `/counters`.

pub mod directory;
mod effects;
mod gauges;
mod properties;
mod resume;
mod task;
mod views;

pub use directory::{AgentProfile, Directory};
pub use gauges::{RoutingGauges, RoutingSnapshot};
pub use task::{spawn, Desk};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use parley_core::routing::{AgentId, QueueName, RouteError, RouteInput};
use parley_core::{SessionId, UserData, Visibility};
use parley_proto::desktop::DesktopEvent;
use tokio::sync::mpsc;

use parley_store::AnyStore;

use crate::actor::{Facts, Sessions};
use crate::config::Config;
use crate::webhooks::Webhooks;

/// A chat entering routing.
#[derive(Debug, Clone)]
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
    /// The session password, when one is enforced (`ChatServerSessionPassword`).
    pub password: Option<String>,
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
    tx: mpsc::UnboundedSender<task::Msg>,
    side_writes: mpsc::UnboundedSender<properties::Update>,
    /// Which agents may join which chats, and how: written by the router task, read by
    /// the basic protocol's `join` (a map lookup under a short lock, not on the message
    /// path).
    grants: Mutex<HashMap<SessionId, HashMap<AgentId, Visibility>>>,
}

/// The receiving ends of the router task's mailbox and of the properties writer,
/// handed to [`spawn`].
pub struct Mailbox {
    msgs: mpsc::UnboundedReceiver<task::Msg>,
    side_writes: mpsc::UnboundedReceiver<properties::Update>,
    facts: Facts,
}

impl Center {
    /// The center, and the mailbox its router task will read (with the facts `sessions`
    /// report).
    pub fn new(
        directory: Directory,
        webhooks: Webhooks,
        sessions: Sessions,
        facts: Facts,
        store: AnyStore,
        config: Arc<Config>,
    ) -> (Arc<Center>, Mailbox) {
        // Unbounded: senders are session actors and connections that must never wait on
        // routing; the task drains it as fast as the pure router runs.
        let (tx, msgs) = mpsc::unbounded_channel();
        let (side_tx, side_writes) = mpsc::unbounded_channel();
        let center = Center {
            sessions,
            store,
            config,
            directory,
            webhooks,
            gauges: RoutingGauges::default(),
            tx,
            side_writes: side_tx,
            grants: Mutex::default(),
        };
        let mailbox = Mailbox {
            msgs,
            side_writes,
            facts,
        };
        (Arc::new(center), mailbox)
    }

    fn send(&self, msg: task::Msg) {
        // The task only ends with the process.
        let _ = self.tx.send(msg);
    }

    /// A customer's chat was created (durably): submit it to its queue.
    pub fn submit(&self, chat: Submitted) {
        self.send(task::Msg::Submit(Box::new(chat)));
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
        self.send(task::Msg::Profile(Box::new(profile)));
    }

    /// An agent was deleted through the admin API: it is logged out of routing.
    pub fn agent_removed(&self, login: &AgentId) {
        self.send(task::Msg::Removed(login.clone()));
    }

    /// A desktop connected (after its `hello`): its `welcome`, or `None` when routing
    /// has stopped.
    pub async fn connect(&self, profile: AgentProfile, desk: Desk) -> Option<DesktopEvent> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(task::Msg::Connect {
            profile: Box::new(profile),
            desk,
            reply,
        });
        rx.await.ok()
    }

    /// A desktop connection closed.
    pub fn disconnect(&self, agent: AgentId, conn: u64) {
        self.send(task::Msg::Disconnect { agent, conn });
    }

    /// A supervisor's desktop wants overviews.
    pub fn watch(&self, agent: AgentId, conn: u64) {
        self.send(task::Msg::Watch { agent, conn });
    }

    /// Applies a desktop's request to routing.
    pub async fn route(&self, input: RouteInput) -> Result<(), RouteError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(task::Msg::Route { input, reply });
        // The task ends only with the process.
        rx.await.unwrap_or(Ok(()))
    }

    /// Whether `agent` was offered or holds interaction `id` (what an agent may read).
    pub async fn may_read(&self, agent: &AgentId, id: &SessionId) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(task::Msg::MayRead {
            agent: agent.clone(),
            interaction: id.clone(),
            reply: tx,
        });
        rx.await.unwrap_or(false)
    }

    /// How `agent` may join chat `id`, if the router assigned it or a supervision.
    pub fn join_grant(&self, agent: &AgentId, id: &SessionId) -> Option<Visibility> {
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        grants.get(id)?.get(agent).copied()
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
