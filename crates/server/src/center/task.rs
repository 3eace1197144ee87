//! The router task: the one owner of the pure `Router`. Desktops, session actors,
//! session creation and the admin API reach it through its mailbox; it applies each input
//! at the current time, carries out the effects (`effects.rs`) without ever waiting on a
//! session or the store (those run in spawned tasks), and sleeps until the router's next
//! deadline.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parley_core::routing::{
    AgentId, MaxWait, MaxWaitAction, QueueName, QueueSettings, RouteInput, Router, RouterSettings,
};
use parley_core::session::EndedAgent;
use parley_core::{PartyId, SessionId, UnixMillis, UserData};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

pub use super::desks::{Desk, DeskFrame};
use super::{AgentProfile, Center, Submitted};
use crate::actor::SessionFact;
use crate::clock::now;
use crate::config::{self, Config, Role};
use parley_proto::desktop::{DesktopEvent, StatusInfo};

/// How often supervisors' overviews are refreshed at most.
const OVERVIEW_PERIOD: Duration = Duration::from_secs(1);

/// A message to the router task.
pub(crate) enum Msg {
    /// A desktop request, already authenticated and parsed.
    Route {
        input: RouteInput,
        reply: oneshot::Sender<Result<(), parley_core::routing::RouteError>>,
    },
    /// A new chat.
    Submit(Box<Submitted>),
    /// A chat that was waiting before a restart or a failover, first submitted then.
    Resubmit(Box<Submitted>, UnixMillis),
    /// A chat this agent was handling before a restart or a failover.
    Reattach(Box<Submitted>, UnixMillis, AgentId),
    /// A desktop connected (after `hello`): reply with its `welcome`.
    Connect {
        profile: Box<AgentProfile>,
        desk: Desk,
        reply: oneshot::Sender<DesktopEvent>,
    },
    /// A desktop connection closed.
    Disconnect { agent: AgentId, conn: u64 },
    /// A supervisor's desktop wants overviews.
    Watch { agent: AgentId, conn: u64 },
    /// Admin API change.
    Profile(Box<AgentProfile>),
    /// Admin API removal.
    Removed(AgentId),
    /// A session fact (from this instance or, over the bus, from another).
    Fact(Box<SessionFact>),
    /// Whether the agent was offered or holds the interaction.
    MayRead {
        agent: AgentId,
        interaction: SessionId,
        reply: oneshot::Sender<bool>,
    },
}

/// What the task keeps about a chat besides the router's view.
pub(super) struct ChatMeta {
    pub(super) queue: QueueName,
    /// Its tenant (the `parley_chats` gauge's label).
    pub(super) tenant: String,
    pub(super) subject: Option<String>,
    pub(super) user_data: UserData,
    pub(super) customer: String,
    /// The session password (`Submitted::password`): shown to the agents and supervisors
    /// the chat is offered or assigned to, so their desktops can join it.
    pub(super) password: Option<String>,
    /// The party each agent joined the session as (to take it out again).
    pub(super) parties: HashMap<AgentId, PartyId>,
}

/// An agent's desktops and what they were last told.
#[derive(Default)]
pub(super) struct AgentDesks {
    pub(super) profile: Option<AgentProfile>,
    pub(super) desks: Vec<Desk>,
    pub(super) last_status: Option<StatusInfo>,
}

pub(super) struct Task {
    pub(super) center: Arc<Center>,
    pub(super) router: Router,
    pub(super) chats: HashMap<SessionId, ChatMeta>,
    pub(super) agents: HashMap<AgentId, AgentDesks>,
    pub(super) overview_dirty: bool,
    /// Each chat's queue of routing notices and closes, carried out in order
    /// (`effects.rs`).
    pub(super) notices: HashMap<SessionId, mpsc::UnboundedSender<super::wire::ChatOp>>,
    /// The pending offers' clocks, for the queue wait and offer-to-accept histograms.
    pub(super) offers: HashMap<SessionId, OfferClock>,
}

/// When a pending offer went out, and since when its chat had waited in its queue (an
/// offer from a queue; transfers and conferences have no queue wait).
#[derive(Debug, Clone, Copy)]
pub(super) struct OfferClock {
    pub(super) at: UnixMillis,
    pub(super) queued_since: Option<UnixMillis>,
}

/// The router settings of a configuration: every queue named by an endpoint, an agent
/// or a `[queues]` section, with its strategy.
pub(super) fn router_settings(config: &Config) -> RouterSettings {
    let mut names: BTreeSet<String> = config.queues.keys().cloned().collect();
    names.extend(config.endpoints.values().flat_map(|e| e.values().cloned()));
    names.extend(
        config
            .agents
            .values()
            .flat_map(|a| a.queues.iter().cloned()),
    );
    let queues = names
        .into_iter()
        .filter_map(|n| n.parse::<QueueName>().ok())
        .map(|q| {
            let c = config.queues.get(q.as_str()).cloned().unwrap_or_default();
            (q, queue_settings(&c))
        })
        .collect();
    RouterSettings {
        queues,
        disconnect_requeue_ms: config
            .routing
            .agent_disconnect_timeout_s
            .saturating_mul(1000),
        stop_abandoned: config.settings.stop_abandoned_interaction,
    }
}

fn queue_settings(c: &config::QueueConfig) -> QueueSettings {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    QueueSettings {
        greeting: some(&c.greeting),
        position_notices: c.position_notices,
        position_interval_ms: c.position_interval_s.saturating_mul(1000),
        position_text: c.position_text.clone(),
        estimated_wait: c.estimated_wait,
        wait_text: c.wait_text.clone(),
        offer_timeout_ms: c.offer_timeout_s.saturating_mul(1000),
        max_wait: (c.max_wait_s > 0).then(|| MaxWait {
            after_ms: c.max_wait_s.saturating_mul(1000),
            message: some(&c.max_wait_message),
            action: match c.max_wait_action {
                config::MaxWaitAction::Close => MaxWaitAction::Close,
                config::MaxWaitAction::KeepWaiting => MaxWaitAction::KeepWaiting,
            },
        }),
    }
}

/// Starts a router task reading `rx` (this instance now leads routing). With `rebuild`
/// (a cluster: the previous leader may have died), it first puts back every chat the
/// store shows in routing (`rebuild.rs`), before any desktop's announcement is applied.
pub(super) fn start(
    center: Arc<Center>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    rebuild: bool,
) -> tokio::task::JoinHandle<()> {
    let settings = router_settings(&center.config);
    let task = Task {
        router: Router::new(settings),
        center,
        chats: HashMap::new(),
        agents: HashMap::new(),
        overview_dirty: false,
        notices: HashMap::new(),
        offers: HashMap::new(),
    };
    // Supervisors see every agent of the directory, logged in or not.
    let center = task.center.clone();
    tokio::spawn(async move {
        match center.directory.list().await {
            Ok(agents) => {
                for record in &agents {
                    let _ = tx.send(Msg::Profile(Box::new(AgentProfile::of(record))));
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list the agent directory"),
        }
    });
    tokio::spawn(task.run(rx, rebuild))
}

impl Task {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>, rebuild: bool) {
        if rebuild {
            self.rebuild().await;
        }
        let mut overview = tokio::time::interval(OVERVIEW_PERIOD);
        overview.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.router.next_deadline().map(|d| {
                let wait = u64::try_from((d.0 - now().0).max(0)).unwrap_or(0);
                tokio::time::Instant::now() + Duration::from_millis(wait)
            });
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => self.handle(msg),
                    None => break,
                },
                () = sleep_until(deadline) => {
                    // A tick is never refused.
                    let _ = self.route(RouteInput::Tick);
                }
                _ = overview.tick() => {
                    if self.overview_dirty {
                        self.overview_dirty = false;
                        self.send_overviews();
                    }
                }
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Route { input, reply } => {
                let after = match &input {
                    RouteInput::Reject { agent, interaction } => {
                        Some((true, agent.clone(), interaction.clone()))
                    }
                    RouteInput::MarkDone { agent, interaction } => {
                        Some((false, agent.clone(), interaction.clone()))
                    }
                    _ => None,
                };
                let result = self.route(input);
                match (&result, after) {
                    (Ok(()), Some((true, agent, interaction))) => {
                        self.rejected(&agent, &interaction, "rejected");
                    }
                    (Ok(()), Some((false, agent, interaction))) => self.tell(
                        &agent,
                        DesktopEvent::ChatDone {
                            interaction_id: interaction.to_string(),
                        },
                    ),
                    _ => {}
                }
                let _ = reply.send(result);
            }
            Msg::Submit(chat) => self.submit(*chat, None),
            Msg::Resubmit(chat, at) => self.submit(*chat, Some(at)),
            Msg::Reattach(chat, at, agent) => self.reattach(*chat, at, agent),
            Msg::Connect {
                profile,
                desk,
                reply,
            } => {
                let welcome = self.connect(*profile, desk);
                let _ = reply.send(welcome);
            }
            Msg::Disconnect { agent, conn } => self.disconnect(&agent, conn),
            Msg::Watch { agent, conn } => {
                if let Some(a) = self.agents.get_mut(&agent) {
                    for d in a.desks.iter_mut().filter(|d| d.conn == conn) {
                        d.watching = true;
                    }
                }
                self.overview_dirty = false;
                self.send_overviews();
            }
            Msg::Profile(profile) => {
                let login = profile.login.clone();
                let logged_in = self.router.agent(&login).is_some_and(|a| a.logged_in());
                self.agents.entry(login.clone()).or_default().profile = Some((*profile).clone());
                if logged_in {
                    let _ = self.route(login_input(&profile));
                }
            }
            Msg::MayRead {
                agent,
                interaction,
                reply,
            } => {
                let ok = self.router.interaction(&interaction).is_some_and(|ix| {
                    ix.handlers.contains_key(&agent)
                        || ix.supervisors.contains_key(&agent)
                        || ix.offer.as_ref().is_some_and(|o| o.agent == agent)
                });
                let _ = reply.send(ok);
            }
            Msg::Fact(fact) => self.fact(*fact),
            Msg::Removed(login) => {
                if self.router.agent(&login).is_some_and(|a| a.logged_in()) {
                    let _ = self.route(RouteInput::AgentLogout {
                        agent: login.clone(),
                    });
                }
                if let Some(a) = self.agents.remove(&login) {
                    for d in a.desks {
                        d.kick.cancel();
                    }
                }
            }
        }
    }

    /// Applies one input now and carries out its effects.
    pub(super) fn route(
        &mut self,
        input: RouteInput,
    ) -> Result<(), parley_core::routing::RouteError> {
        let effects = self.router.handle(now(), input)?;
        for effect in effects {
            self.carry_out(effect);
        }
        self.push_statuses();
        self.overview_dirty = true;
        Ok(())
    }

    /// A chat enters routing: new, or again (`first_submitted`) after a restart or a
    /// failover, keeping its place and waiting time.
    pub(super) fn submit(&mut self, chat: Submitted, first_submitted: Option<UnixMillis>) {
        let id = chat.interaction.clone();
        if self.router.interaction(&id).is_some() {
            return; // already routed here (restored twice, or never left)
        }
        super::properties::submitted(&self.center, &chat, first_submitted);
        self.center.webhooks.emit(crate::webhooks::WebhookEvent {
            kind: crate::webhooks::WebhookKind::Submitted,
            interaction_id: id.clone(),
            at: now(),
            data: serde_json::json!({
                "queue": chat.queue.as_str(),
                "reason": if first_submitted.is_some() { "restored" } else { "new" },
                "tenant": chat.tenant,
                "subject": chat.subject,
                "userData": chat.user_data,
            }),
        });
        let queue = chat.queue.clone();
        self.chats.insert(
            id.clone(),
            ChatMeta {
                tenant: chat.tenant.clone(),
                queue: chat.queue,
                subject: chat.subject,
                user_data: chat.user_data,
                customer: chat.customer,
                password: chat.password,
                parties: HashMap::new(),
            },
        );
        if !self.center.config.routing.enabled {
            debug!(session_id = %id, "routing disabled: the chat waits for an external router");
            return;
        }
        let input = match first_submitted {
            None => RouteInput::Submit {
                interaction: id.clone(),
                queue,
            },
            Some(submitted_at) => RouteInput::Resubmit {
                interaction: id.clone(),
                queue,
                submitted_at,
            },
        };
        if let Err(e) = self.route(input) {
            info!(session_id = %id, error = %e, "chat not routed");
        }
    }

    fn fact(&mut self, fact: SessionFact) {
        super::effects::fact_webhook(&self.center, &fact);
        match fact {
            SessionFact::Joined {
                interaction,
                party,
                person_id,
                ..
            } => {
                if let (Some(meta), Some(agent)) = (
                    self.chats.get_mut(&interaction),
                    person_id.and_then(|p| p.parse::<AgentId>().ok()),
                ) {
                    meta.parties.insert(agent, party);
                }
            }
            SessionFact::Left {
                interaction,
                person_id,
                party_type,
                after_action,
                reason,
                ..
            } => {
                let Some(agent) = person_id.and_then(|p| p.parse::<AgentId>().ok()) else {
                    return;
                };
                // Marked gone by a restoration: the agent comes back to the chat
                // (`resume.rs`), it did not leave it.
                if !party_type.is_staff() || reason == parley_core::LeftReason::Restoration {
                    return;
                }
                if let Some(meta) = self.chats.get_mut(&interaction) {
                    meta.parties.remove(&agent);
                }
                self.center.revoke(&agent, &interaction);
                // Refused when the router already took the agent out (transfer, logout).
                let _ = self.route(RouteInput::AgentLeft {
                    agent,
                    interaction,
                    after_action,
                });
            }
            SessionFact::Restored {
                interaction,
                customer,
                agents,
            } => {
                if self.center.config.routing.enabled
                    && self.router.interaction(&interaction).is_none()
                {
                    super::resume::back_in_routing(&self.center, interaction, customer, agents);
                }
            }
            SessionFact::Ended {
                interaction, end, ..
            } => {
                // Nobody reads notices any more: the chat's poster ends.
                self.notices.remove(&interaction);
                super::properties::ended(&self.center, &interaction);
                self.center.revoke_all(&interaction);
                let _ = self.route(RouteInput::InteractionEnded {
                    interaction: interaction.clone(),
                    answered: end.agent != EndedAgent::Absent,
                });
                if self.router.interaction(&interaction).is_none() {
                    self.chats.remove(&interaction);
                    self.offers.remove(&interaction);
                }
            }
        }
    }

    fn connect(&mut self, profile: AgentProfile, desk: Desk) -> DesktopEvent {
        let login = profile.login.clone();
        let was = self
            .router
            .agent(&login)
            .map(|a| (a.logged_in(), a.disconnected_since.is_none()));
        let entry = self.agents.entry(login.clone()).or_default();
        entry.profile = Some(profile.clone());
        // Announced again (a new leader) or twice (its own bus message): one desk.
        entry.desks.retain(|d| d.conn != desk.conn);
        entry.desks.push(desk);
        let result = match was {
            Some((true, false)) => self.route(RouteInput::AgentReconnected {
                agent: login.clone(),
            }),
            Some((true, true)) => Ok(()),
            _ => self.route(login_input(&profile)),
        };
        if let Err(e) = result {
            info!(agent = %login, error = %e, "desktop connect");
        }
        super::views::welcome(self, &login)
    }

    fn disconnect(&mut self, agent: &AgentId, conn: u64) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        a.desks.retain(|d| d.conn != conn);
        if a.desks.is_empty() && self.router.agent(agent).is_some_and(|x| x.logged_in()) {
            let _ = self.route(RouteInput::AgentDisconnected {
                agent: agent.clone(),
            });
        }
    }

    /// Sends a frame to every desktop of `agent`. A desktop that cannot keep up is closed
    /// (it reconnects and gets a fresh `welcome`).
    pub(super) fn tell(&self, agent: &AgentId, event: DesktopEvent) {
        if let Some(a) = self.agents.get(agent) {
            for d in &a.desks {
                if d.tx.try_send(event.clone().into()).is_err() {
                    d.kick.cancel();
                }
            }
        }
    }

    fn push_statuses(&mut self) {
        let mut changed = Vec::new();
        for (login, a) in &self.agents {
            if a.desks.is_empty() {
                continue;
            }
            let now = super::views::status(&self.router, login, a.profile.as_ref());
            if a.last_status.as_ref() != Some(&now) {
                changed.push((login.clone(), now));
            }
        }
        for (login, status) in changed {
            self.tell(&login, DesktopEvent::Status(status.clone()));
            if let Some(a) = self.agents.get_mut(&login) {
                a.last_status = Some(status);
            }
        }
    }

    fn send_overviews(&self) {
        self.center.gauges.publish(&self.router);
        self.publish_chats();
        let snapshot = self.agents_snapshot();
        let frame = views_overview(&self.router, &self.chats, &snapshot);
        for a in self.agents.values() {
            for d in a.desks.iter().filter(|d| d.watching) {
                if d.tx.try_send(frame.clone().into()).is_err() {
                    d.kick.cancel();
                }
            }
        }
    }

    fn agents_snapshot(&self) -> Vec<(AgentProfile, bool)> {
        self.agents
            .values()
            .filter_map(|a| a.profile.clone().map(|p| (p, !a.desks.is_empty())))
            .collect()
    }
}

fn views_overview(
    router: &Router,
    chats: &HashMap<SessionId, ChatMeta>,
    agents: &[(AgentProfile, bool)],
) -> DesktopEvent {
    super::views::overview(router, chats, agents, now())
}

/// The login input of a profile.
pub(super) fn login_input(profile: &AgentProfile) -> RouteInput {
    RouteInput::AgentLogin {
        agent: profile.login.clone(),
        capacity: profile.capacity,
        queues: profile.queues.clone(),
        supervisor: profile.role == Role::Supervisor,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
