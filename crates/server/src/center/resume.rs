//! Chats that were in routing when their instance stopped or died. Routing state lives in
//! the store as interaction properties (`RoutingState`, `Queue`, `SubmittedAt`, `Agent`);
//! when an instance restores such a session (a client came back to it, or the orphan
//! sweep took it over):
//! - a chat that was waiting goes back into its queue at the place its first submission
//!   gave it, with its waiting time kept;
//! - a chat an agent was handling stays that agent's (`RouteInput::Reattach`): the agent
//!   is logged in here, disconnected until its desktop connects (with the same login
//!   token: tokens live in the store), and the desktop's `welcome` lists the chat, which
//!   the desktop resumes over the basic protocol. If the desktop does not come within
//!   `[routing] disconnect-requeue-timeout`, the chat goes back in its queue, as for any
//!   desktop that dropped. The agent is the first visible one the transcript shows in
//!   the chat at the stop (else the `Agent` property of a `handled` chat); in a
//!   conference the others take their part again by joining.

use std::collections::HashMap;

use parley_core::routing::{AgentId, QueueName, RouteInput};
use parley_core::{SessionId, UnixMillis};
use parley_store::{InteractionRecord, InteractionStore, SessionState};
use tracing::{debug, info, warn};

use super::task::{self, ChatMeta, Task};
use super::{Center, Submitted};

/// Reads the interaction record and, if the chat was waiting (queued or offered, or
/// submitted so shortly before the stop that its properties were not yet written),
/// resubmits it; if an agent was handling it, gives it back to that agent.
pub(super) fn back_in_routing(
    center: &std::sync::Arc<Center>,
    id: SessionId,
    customer: String,
    agents: Vec<String>,
) {
    let center = center.clone();
    tokio::spawn(async move {
        let record = match center.store.interaction(&id).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                warn!(session_id = %id, error = %e, "could not read a restored interaction");
                return;
            }
        };
        let Some((chat, submitted_at, handler)) = entry(record, customer, &agents) else {
            debug!(session_id = %id, "restored chat not in routing");
            return;
        };
        match handler {
            Some(agent) => {
                info!(session_id = %id, agent = %agent, "handled chat back with its agent");
                center.send(task::Msg::Reattach(Box::new(chat), submitted_at, agent));
            }
            None => {
                info!(session_id = %id, queue = %chat.queue, "waiting chat back in its queue");
                center.send(task::Msg::Resubmit(Box::new(chat), submitted_at));
            }
        }
    });
}

/// What routing makes of a live interaction record: the chat, its first submission and
/// the agent handling it, when it was waiting (queued or offered, or submitted so
/// shortly before a stop that its properties were not yet written) or handled. The
/// agent is the first of `agents` (from the transcript: properties may lag a crash by
/// the side writes' gathering time), else the `Agent` property of a handled chat.
pub(super) fn entry(
    record: InteractionRecord,
    customer: String,
    agents: &[String],
) -> Option<(Submitted, UnixMillis, Option<AgentId>)> {
    let routing = record.properties.get("RoutingState").map(String::as_str);
    let waiting = matches!(routing, None | Some("queued") | Some("offered"));
    let handler = agents
        .iter()
        .find_map(|a| a.parse::<AgentId>().ok())
        .or_else(|| {
            record
                .properties
                .get("Agent")
                .filter(|_| routing == Some("handled"))
                .and_then(|a| a.parse::<AgentId>().ok())
        });
    if record.state != SessionState::Alive || !(waiting || handler.is_some()) {
        return None;
    }
    let queue = record
        .properties
        .get("Queue")
        .unwrap_or(&record.queue)
        .parse::<QueueName>()
        .ok()?;
    let submitted_at = record
        .properties
        .get("SubmittedAt")
        .and_then(|t| t.parse().ok())
        .map_or(record.created_at, UnixMillis);
    let chat = Submitted {
        interaction: record.id.clone(),
        tenant: record.tenant,
        queue,
        subject: record.subject,
        user_data: record.user_data,
        customer,
        password: record.properties.get("ChatServerSessionPassword").cloned(),
    };
    Some((chat, submitted_at, handler))
}

impl Task {
    /// `Msg::Reattach`: the chat is `agent`'s again (see the module's doc). An agent no
    /// longer in the directory leaves the chat waiting in its queue instead.
    pub(super) fn reattach(&mut self, chat: Submitted, submitted_at: UnixMillis, agent: AgentId) {
        let id = chat.interaction.clone();
        if self.router.interaction(&id).is_some() || !self.center.config.routing.enabled {
            return;
        }
        let Some(profile) = self.center.directory.profile(&agent) else {
            info!(session_id = %id, agent = %agent, "its agent is gone: the chat waits");
            return self.submit(chat, Some(submitted_at));
        };
        let logged_in = self.router.agent(&agent).is_some_and(|a| a.logged_in());
        if !logged_in {
            let connected = self.agents.get(&agent).is_some_and(|a| !a.desks.is_empty());
            let _ = self.route(task::login_input(&profile));
            if !connected {
                let _ = self.route(RouteInput::AgentDisconnected {
                    agent: agent.clone(),
                });
            }
        }
        let queue = chat.queue.clone();
        self.chats.insert(
            id.clone(),
            ChatMeta {
                tenant: chat.tenant.clone(),
                queue: chat.queue.clone(),
                subject: chat.subject.clone(),
                user_data: chat.user_data.clone(),
                customer: chat.customer.clone(),
                password: chat.password.clone(),
                parties: HashMap::new(),
            },
        );
        let input = RouteInput::Reattach {
            interaction: id.clone(),
            queue,
            submitted_at,
            agent,
        };
        if let Err(e) = self.route(input) {
            info!(session_id = %id, error = %e, "chat not given back to its agent: it waits");
            self.chats.remove(&id);
            self.submit(chat, Some(submitted_at));
        }
    }
}

impl Task {
    /// A new routing leader of a cluster puts back every chat the store shows in
    /// routing: waiting chats in their queues in the order of their first submission
    /// (waiting time kept), handled chats with their agents (logged in, disconnected
    /// until their desktops are announced again). Offers in flight when the previous
    /// leader died are made again. Runs before the leader reads its mailbox, so no
    /// desktop's announcement (or ready) is applied before the chats its agent holds.
    pub(super) async fn rebuild(&mut self) {
        if !self.center.config.routing.enabled {
            return;
        }
        let mut filter = parley_store::InteractionFilter {
            state: Some(SessionState::Alive),
            limit: parley_store::MAX_PAGE,
            ..parley_store::InteractionFilter::default()
        };
        // Every live interaction, a page at a time (newest first; sorted below).
        let mut records = Vec::new();
        loop {
            let page = match self.center.store.list_interactions(&filter).await {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "routing leader: could not read the chats in routing");
                    return;
                }
            };
            let full = page.len() >= parley_store::MAX_PAGE as usize;
            filter.before = page.last().map(|r| (r.created_at, r.id.clone()));
            records.extend(page);
            if !full || filter.before.is_none() {
                break;
            }
        }
        let mut entries: Vec<_> = records
            .into_iter()
            .filter_map(|r| {
                let customer = r.user_data.get("FirstName").cloned().unwrap_or_default();
                entry(r, customer, &[])
            })
            .collect();
        for (chat, _, agent) in entries.iter_mut() {
            if agent.is_none() {
                // The transcript (durable with every acknowledged line) may show an agent
                // the properties do not yet (they follow by the side writes' gathering).
                *agent = self.agent_in_transcript(&chat.interaction).await;
            }
        }
        entries.sort_by_key(|(chat, at, _)| (*at, chat.interaction.clone()));
        let (mut waiting, mut handled) = (0, 0);
        for (chat, at, agent) in entries {
            match agent {
                Some(agent) => {
                    handled += 1;
                    self.reattach(chat, at, agent);
                }
                None => {
                    waiting += 1;
                    self.submit(chat, Some(at));
                }
            }
        }
        info!(waiting, handled, "routing leader: chats back in routing");
    }
}

impl Task {
    /// The first human agent the stored transcript shows in the chat now (joined with
    /// full visibility and not gone, a restoration's marking aside).
    async fn agent_in_transcript(&self, id: &SessionId) -> Option<AgentId> {
        use parley_core::{EventBody, LeftReason, PartyStyle, PartyType, Visibility};
        use parley_store::TranscriptStore;
        let stored = self.center.store.load_session(id).await.ok()??;
        let mut present: Vec<(parley_core::PartyId, AgentId)> = Vec::new();
        for event in &stored.events {
            match &event.body {
                EventBody::NewParty {
                    party_type: PartyType::Agent,
                    style: PartyStyle::Normal,
                    person_id: Some(login),
                    ..
                } if event.visibility == Visibility::All => {
                    if let Ok(agent) = login.parse::<AgentId>() {
                        present.retain(|(p, _)| *p != event.from);
                        present.push((event.from.clone(), agent));
                    }
                }
                EventBody::PartyLeft { reason, .. } if *reason != LeftReason::Restoration => {
                    present.retain(|(p, _)| *p != event.from);
                }
                _ => {}
            }
        }
        present.into_iter().next().map(|(_, a)| a)
    }
}
