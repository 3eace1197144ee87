//! Chats that were waiting when their instance stopped or died. Routing state lives in
//! the store as interaction properties (`RoutingState`, `Queue`, `SubmittedAt`); when an
//! instance restores such a session (a customer came back to it, or the orphan sweep took
//! it over), the chat goes back into its queue at the place its first submission gave
//! it, with its waiting time kept. A chat an agent was handling is not re-queued: its
//! agent comes back to it.

use parley_core::routing::QueueName;
use parley_core::{SessionId, UnixMillis};
use parley_store::{InteractionStore, SessionState};
use tracing::{debug, info, warn};

use super::{task, Center, Submitted};

/// Reads the interaction record and, if the chat was waiting (queued or offered, or
/// submitted so shortly before the stop that its properties were not yet written),
/// resubmits it.
pub(super) fn resubmit_if_waiting(
    center: &std::sync::Arc<Center>,
    id: SessionId,
    customer: String,
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
        if record.state != SessionState::Alive || !waiting {
            debug!(session_id = %id, routing = ?routing, "restored chat not waiting");
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
        info!(session_id = %id, queue = %queue, "waiting chat back in its queue");
        let chat = Submitted {
            interaction: id,
            tenant: record.tenant,
            queue,
            subject: record.subject,
            user_data: record.user_data,
            customer,
            password: record.properties.get("ChatServerSessionPassword").cloned(),
        };
        center.send(task::Msg::Resubmit(Box::new(chat), submitted_at));
    });
}
