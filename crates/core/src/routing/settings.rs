//! Router and per-queue settings (the built-in strategy), and the customer notice texts.

use std::collections::BTreeMap;

use super::ids::QueueName;
use super::stop::StopAbandoned;

/// What happens when a chat has waited `max_wait` in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxWaitAction {
    /// Close the chat (after the message, if any). The router forgets the interaction.
    #[default]
    Close,
    /// Keep the chat waiting (after the message, once per stay in the queue).
    KeepWaiting,
}

/// The maximum time in queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxWait {
    /// How long a chat may wait in the queue, from when it entered it.
    pub after_ms: u64,
    /// Sent to the customer when the time is up, if set.
    pub message: Option<String>,
    /// Close the chat or keep it waiting.
    pub action: MaxWaitAction,
}

/// One queue's built-in strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// Sent to the customer when the chat is submitted to this queue, if set.
    pub greeting: Option<String>,
    /// Whether waiting customers are told their place in the queue.
    pub position_notices: bool,
    /// How often the place is repeated while the chat waits; 0 = only once, on entry.
    pub position_interval_ms: u64,
    /// The place text; `{position}` is replaced by the place (1 = next).
    pub position_text: String,
    /// Whether the estimated wait is appended to the place text.
    pub estimated_wait: bool,
    /// The estimated-wait text; `{wait}` is replaced by "less than a minute",
    /// "about N minutes" or "unknown".
    pub wait_text: String,
    /// How long an agent has to accept an offer before it goes to the next agent and the
    /// agent is set not ready.
    pub offer_timeout_ms: u64,
    /// The maximum time in queue, if any.
    pub max_wait: Option<MaxWait>,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            greeting: None,
            position_notices: false,
            position_interval_ms: 30_000,
            position_text: "You are number {position} in the queue.".to_owned(),
            estimated_wait: false,
            wait_text: "Estimated wait: {wait}.".to_owned(),
            offer_timeout_ms: 30_000,
            max_wait: None,
        }
    }
}

impl QueueSettings {
    /// The position notice for `place`, with the estimate when `estimated_wait` is on.
    pub fn position_notice(&self, place: u32, estimate_ms: Option<u64>) -> String {
        let text = self.position_text.replace("{position}", &place.to_string());
        if self.estimated_wait {
            let wait = self
                .wait_text
                .replace("{wait}", &describe_wait(estimate_ms));
            format!("{text} {wait}")
        } else {
            text
        }
    }
}

/// An estimate in words: "unknown", "less than a minute", "about N minute(s)".
pub fn describe_wait(estimate_ms: Option<u64>) -> String {
    match estimate_ms {
        None => "unknown".to_owned(),
        Some(ms) if ms < 60_000 => "less than a minute".to_owned(),
        Some(ms) => match ms.div_ceil(60_000) {
            1 => "about 1 minute".to_owned(),
            n => format!("about {n} minutes"),
        },
    }
}

/// The router's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSettings {
    /// The configured queues and their strategies.
    pub queues: BTreeMap<QueueName, QueueSettings>,
    /// How long a disconnected agent keeps its chats before they are re-queued and the
    /// agent is set not ready (reason [`DISCONNECTED_REASON`]).
    pub disconnect_requeue_ms: u64,
    /// `stop-abandoned-interaction`: whether the interaction is stopped when its chat ends.
    pub stop_abandoned: StopAbandoned,
}

impl Default for RouterSettings {
    fn default() -> Self {
        RouterSettings {
            queues: BTreeMap::new(),
            disconnect_requeue_ms: 60_000,
            stop_abandoned: StopAbandoned::Never,
        }
    }
}

/// The not-ready reason of an agent who let an offer time out.
pub const NO_ANSWER_REASON: &str = "no answer";
/// The not-ready reason of an agent whose disconnect outlasted `disconnect_requeue_ms`.
pub const DISCONNECTED_REASON: &str = "disconnected";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_is_described_in_whole_minutes_rounded_up() {
        assert_eq!(describe_wait(None), "unknown");
        assert_eq!(describe_wait(Some(59_999)), "less than a minute");
        assert_eq!(describe_wait(Some(60_000)), "about 1 minute");
        assert_eq!(describe_wait(Some(60_001)), "about 2 minutes");
    }

    #[test]
    fn position_notice_appends_the_estimate_only_when_on() {
        let mut q = QueueSettings::default();
        assert_eq!(q.position_notice(3, None), "You are number 3 in the queue.");
        q.estimated_wait = true;
        assert_eq!(
            q.position_notice(3, Some(120_000)),
            "You are number 3 in the queue. Estimated wait: about 2 minutes."
        );
    }
}
