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
use parley_store::{InteractionStore, SessionState};
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
        let routing = record.properties.get("RoutingState").map(String::as_str);
        let waiting = matches!(routing, None | Some("queued") | Some("offered"));
        // Who was in the chat, from the transcript (its properties may lag a crash by
        // the side writes' gathering time), else from the properties.
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
            debug!(session_id = %id, routing = ?routing, "restored chat not in routing");
            return;
        }
        let queue = record
            .properties
            .get("Queue")
            .unwrap_or(&record.queue)
            .parse::<QueueName>();
        let Ok(queue) = queue else {
            return;
        };
        let submitted_at = record
            .properties
            .get("SubmittedAt")
            .and_then(|t| t.parse().ok())
            .map_or(record.created_at, UnixMillis);
        let chat = Submitted {
            interaction: id.clone(),
            tenant: record.tenant,
            queue,
            subject: record.subject,
            user_data: record.user_data,
            customer,
            password: record.properties.get("ChatServerSessionPassword").cloned(),
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
                queue: chat.queue.clone(),
                subject: chat.subject.clone(),
                user_data: chat.user_data.clone(),
                customer: chat.customer.clone(),
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
