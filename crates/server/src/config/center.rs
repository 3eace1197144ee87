//! The contact-center sections: `[routing]`, `[queues.<name>]`, `[agents.<login>]` and
//! `[webhooks]` (Parley's own: Genesys keeps these in Interaction Server, URS strategies
//! and Configuration Server, which Parley replaces).

use serde::Deserialize;

use super::Secret;

/// `[routing]`: the built-in strategy and agent sessions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Routing {
    /// `enabled`: route chats with the built-in strategy. With `false` chats wait in their
    /// queue for an external router (webhooks + ESP + the admin API) and no offers are made.
    /// default: `true`
    #[serde(default = "default_routing_enabled")]
    pub enabled: bool,
    /// `agent-disconnect-timeout`: seconds a disconnected agent keeps its chats before
    /// they are re-queued and the agent is set not ready, 0..=3600.
    /// default: `60`
    #[serde(
        default = "default_agent_disconnect_timeout_s",
        rename = "agent-disconnect-timeout"
    )]
    pub agent_disconnect_timeout_s: u64,
    /// `system-nickname`: the nickname the strategy's messages to customers (greeting,
    /// queue position, maximum wait) are shown under; they come from an EXTERNAL party,
    /// as Genesys workflow messages do.
    /// default: `System`
    #[serde(default = "default_system_nickname")]
    pub system_nickname: String,
    /// `agent-token-lifetime`: seconds an agent login token stays valid, 60..=604800.
    /// default: `43200`
    #[serde(
        default = "default_agent_token_lifetime_s",
        rename = "agent-token-lifetime"
    )]
    pub agent_token_lifetime_s: u64,
    /// `login-max-failures`: wrong passwords accepted per login (and per client address)
    /// within `login-failure-window` before further attempts are refused, 1..=1000.
    /// default: `5`
    #[serde(default = "default_login_max_failures")]
    pub login_max_failures: u32,
    /// `login-failure-window`: seconds over which wrong passwords are counted, 1..=86400.
    /// default: `300`
    #[serde(
        default = "default_login_failure_window_s",
        rename = "login-failure-window"
    )]
    pub login_failure_window_s: u64,
}

/// What happens when a chat reaches `max-wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxWaitAction {
    /// Close the chat.
    Close,
    /// Keep it waiting.
    KeepWaiting,
}

/// `[queues.<name>]`: one queue's built-in strategy. A queue named by an endpoint but
/// without a section uses these defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QueueConfig {
    /// `greeting`: sent to the customer when the chat enters the queue; empty: none.
    /// default: `""`
    #[serde(default)]
    pub greeting: String,
    /// `position-notices`: tell waiting customers their place in the queue.
    /// default: `false`
    #[serde(default)]
    pub position_notices: bool,
    /// `position-interval`: seconds between repeated place notices; 0 = once, 0..=3600.
    /// default: `30`
    #[serde(default = "default_position_interval_s", rename = "position-interval")]
    pub position_interval_s: u64,
    /// `position-text`: the place notice; `{position}` is replaced by the place.
    /// default: `You are number {position} in the queue.`
    #[serde(default = "default_position_text")]
    pub position_text: String,
    /// `estimated-wait`: append the estimated wait to the place notice.
    /// default: `false`
    #[serde(default)]
    pub estimated_wait: bool,
    /// `wait-text`: the estimate; `{wait}` is replaced by "less than a minute", "about N
    /// minutes" or "unknown".
    /// default: `Estimated wait: {wait}.`
    #[serde(default = "default_wait_text")]
    pub wait_text: String,
    /// `offer-timeout`: seconds an agent has to accept an offer before it goes to the next
    /// agent and the agent is set not ready, 1..=3600.
    /// default: `30`
    #[serde(default = "default_offer_timeout_s", rename = "offer-timeout")]
    pub offer_timeout_s: u64,
    /// `max-wait`: seconds a chat may wait in the queue; 0 = no limit, 0..=604800.
    /// default: `0`
    #[serde(default, rename = "max-wait")]
    pub max_wait_s: u64,
    /// `max-wait-message`: sent to the customer when `max-wait` is reached; empty: none.
    /// default: `""`
    #[serde(default)]
    pub max_wait_message: String,
    /// `max-wait-action`: `close` the chat or `keep-waiting` when `max-wait` is reached.
    /// default: `close`
    #[serde(default = "default_max_wait_action")]
    pub max_wait_action: MaxWaitAction,
}

/// An agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes chats.
    Agent,
    /// Takes chats, and watches, monitors, coaches and barges in.
    Supervisor,
}

impl Role {
    /// `agent` or `supervisor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
        }
    }
}

/// `[agents.<login>]`: an agent or supervisor defined in the file (more come from the
/// admin API). The file wins at every start for the logins it names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentConfig {
    /// `password-hash`: the argon2 PHC string of the password (`parley hash-password`
    /// prints one). Never the password itself.
    /// default: required
    pub password_hash: Secret,
    /// `nickname`: the name customers see; the login when empty.
    /// default: `""`
    #[serde(default)]
    pub nickname: String,
    /// `role`: `agent` or `supervisor`.
    /// default: `agent`
    #[serde(default = "default_role")]
    pub role: Role,
    /// `queues`: the queues the agent takes chats from.
    /// default: `["default"]`
    #[serde(default = "default_agent_queues")]
    pub queues: Vec<String>,
    /// `capacity`: most chats at once, offers included, 1..=100.
    /// default: `3`
    #[serde(default = "default_capacity")]
    pub capacity: u32,
}

/// `[webhooks]`: interaction events POSTed to integrators.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Webhooks {
    /// `urls`: `http`/`https` URLs each event is POSTed to. Only the file sets them:
    /// clients cannot.
    /// default: `[]` (no webhooks)
    #[serde(default)]
    pub urls: Vec<String>,
    /// `secret`: key of the `X-Parley-Signature` HMAC-SHA256 header, at least 32
    /// characters; required when `urls` is set. Never printed.
    /// default: unset
    #[serde(default)]
    pub secret: Option<Secret>,
    /// `attempts`: deliveries tried per event and URL before it is dropped (and
    /// counted), 1..=100.
    /// default: `8`
    #[serde(default = "default_webhook_attempts")]
    pub attempts: u32,
    /// `retry-delay`: milliseconds before the first retry; each later retry waits twice
    /// as long, up to `max-retry-delay`, 1..=600000.
    /// default: `500`
    #[serde(default = "default_webhook_retry_delay_ms", rename = "retry-delay")]
    pub retry_delay_ms: u64,
    /// `max-retry-delay`: milliseconds, the longest wait between retries, 1..=3600000.
    /// default: `60000`
    #[serde(
        default = "default_webhook_max_retry_delay_ms",
        rename = "max-retry-delay"
    )]
    pub max_retry_delay_ms: u64,
    /// `timeout`: milliseconds one delivery may take, 100..=120000.
    /// default: `10000`
    #[serde(default = "default_webhook_timeout_ms", rename = "timeout")]
    pub timeout_ms: u64,
    /// `queue-size`: events held for delivery per URL; when full, new events are dropped
    /// (and counted) rather than slowing a chat, 1..=1000000.
    /// default: `10000`
    #[serde(default = "default_webhook_queue_size")]
    pub queue_size: usize,
}

fn default_routing_enabled() -> bool {
    true
}
fn default_agent_disconnect_timeout_s() -> u64 {
    60
}
fn default_system_nickname() -> String {
    "System".into()
}
fn default_agent_token_lifetime_s() -> u64 {
    43_200
}
fn default_login_max_failures() -> u32 {
    5
}
fn default_login_failure_window_s() -> u64 {
    300
}
fn default_position_interval_s() -> u64 {
    30
}
fn default_position_text() -> String {
    "You are number {position} in the queue.".into()
}
fn default_wait_text() -> String {
    "Estimated wait: {wait}.".into()
}
fn default_offer_timeout_s() -> u64 {
    30
}
fn default_max_wait_action() -> MaxWaitAction {
    MaxWaitAction::Close
}
fn default_role() -> Role {
    Role::Agent
}
fn default_agent_queues() -> Vec<String> {
    vec!["default".into()]
}
fn default_capacity() -> u32 {
    3
}
fn default_webhook_attempts() -> u32 {
    8
}
fn default_webhook_retry_delay_ms() -> u64 {
    500
}
fn default_webhook_max_retry_delay_ms() -> u64 {
    60_000
}
fn default_webhook_timeout_ms() -> u64 {
    10_000
}
fn default_webhook_queue_size() -> usize {
    10_000
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            enabled: default_routing_enabled(),
            agent_disconnect_timeout_s: default_agent_disconnect_timeout_s(),
            system_nickname: default_system_nickname(),
            agent_token_lifetime_s: default_agent_token_lifetime_s(),
            login_max_failures: default_login_max_failures(),
            login_failure_window_s: default_login_failure_window_s(),
        }
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            greeting: String::new(),
            position_notices: false,
            position_interval_s: default_position_interval_s(),
            position_text: default_position_text(),
            estimated_wait: false,
            wait_text: default_wait_text(),
            offer_timeout_s: default_offer_timeout_s(),
            max_wait_s: 0,
            max_wait_message: String::new(),
            max_wait_action: default_max_wait_action(),
        }
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks {
            urls: Vec::new(),
            secret: None,
            attempts: default_webhook_attempts(),
            retry_delay_ms: default_webhook_retry_delay_ms(),
            max_retry_delay_ms: default_webhook_max_retry_delay_ms(),
            timeout_ms: default_webhook_timeout_ms(),
            queue_size: default_webhook_queue_size(),
        }
    }
}
