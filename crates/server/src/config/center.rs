//! The declarations of the contact-center sections: `[routing]`, `[queues.<name>]`,
//! `[agents.<login>]` and `[webhooks]` (Parley's own: Genesys keeps these in Interaction
//! Server, URS strategies and Configuration Server, which Parley replaces).

use serde::Deserialize;

use super::declare::config_section;
use super::Secret;

config_section! {
    /// Parley's own: the built-in routing strategy and agent sessions. Genesys routes with
    /// Interaction Server and URS strategies; Parley offers waiting chats, in the order they
    /// entered their queue, each to the available agent of that queue who has waited longest,
    /// or leaves routing to an external router.
    #[section("routing")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Routing {
        /// Route chats with the built-in strategy. With false, chats wait in their queue for an
        /// external router (webhooks to learn of them, ESP and the admin API to act on them) and
        /// Parley makes no offers.
        #[option("enabled", Bool, default = true)]
        pub enabled: bool,

        /// Seconds a disconnected agent keeps its chats before they go back to their queues and
        /// the agent is set not ready. 0 = at once.
        #[option("agent-disconnect-timeout", Int(0..=3600, "seconds"), default = 60)]
        pub agent_disconnect_timeout_s: u64,

        /// The nickname that the strategy's messages to customers (greeting, place in the queue,
        /// maximum wait) are shown under. They come from an EXTERNAL party, as Genesys workflow
        /// messages do. 1 to 64 characters, not all blank.
        #[option("system-nickname", Str, default = "System")]
        pub system_nickname: String,

        /// Seconds an agent's login token stays valid (43200 = 12 hours); the agent logs in again
        /// after that.
        #[option("agent-token-lifetime", Int(60..=604_800, "seconds"), default = 43200)]
        pub agent_token_lifetime_s: u64,

        /// Wrong passwords accepted per login (and per client address) within login-failure-window
        /// before further attempts are refused until the window has passed.
        #[option("login-max-failures", Int(1..=1000), default = 5)]
        pub login_max_failures: u32,

        /// Seconds over which wrong passwords are counted.
        #[option("login-failure-window", Int(1..=86_400, "seconds"), default = 300)]
        pub login_failure_window_s: u64,
    }
}

config_section! {
    /// Parley's own. One section per queue whose built-in strategy differs
    /// from the defaults below; a queue that an endpoint or an agent names works without one.
    ///
    /// - Queue names are 1 to 64 ASCII letters, digits, -, _ and . (the same rule holds for
    ///   the queues of [endpoints.<tenant>]). Quote names with dots: [queues."eu.sales"].
    /// - A queue exists when it has a section here or is the queue of an endpoint.
    /// - The texts below (greeting, position-text, wait-text, max-wait-message) are sent to
    ///   the customer under [routing] system-nickname; each is at most 1000 characters.
    ///
    /// Default: no section (every queue at the defaults). An example, each option at its
    /// default unless noted:
    #[section("queues", key = "name", example_key = "sales")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct QueueConfig {
        /// Sent to the customer when the chat enters the queue; "" sends none. At most 1000
        /// characters.
        #[option("greeting", Str, default = "",
            example = "Welcome to sales! An agent will be with you shortly.")]
        pub greeting: String,

        /// Tell waiting customers their place in the queue.
        #[option("position-notices", Bool, default = false)]
        pub position_notices: bool,

        /// Seconds between repeated place notices; 0 = tell once.
        #[option("position-interval", Int(0..=3600, "seconds"), default = 30)]
        pub position_interval_s: u64,

        /// The place notice; {position} is replaced by the place. At most 1000 characters.
        #[option("position-text", Str, default = "You are number {position} in the queue.")]
        pub position_text: String,

        /// Append the estimated wait to the place notice.
        #[option("estimated-wait", Bool, default = false)]
        pub estimated_wait: bool,

        /// The estimate; {wait} is replaced by "less than a minute", "about N minutes" or
        /// "unknown". At most 1000 characters.
        #[option("wait-text", Str, default = "Estimated wait: {wait}.")]
        pub wait_text: String,

        /// Seconds an agent has to accept an offer before it goes to the next agent and the agent
        /// is set not ready.
        #[option("offer-timeout", Int(1..=3600, "seconds"), default = 30)]
        pub offer_timeout_s: u64,

        /// Seconds a chat may wait in the queue; 0 = no limit.
        #[option("max-wait", Int(0..=604_800, "seconds"), default = 0)]
        pub max_wait_s: u64,

        /// Sent to the customer when max-wait is reached; "" sends none. At most 1000 characters.
        #[option("max-wait-message", Str, default = "")]
        pub max_wait_message: String,

        /// What happens when max-wait is reached: close the chat, or keep it waiting (after the
        /// message). "keep-waiting" needs a max-wait, since with 0 it would never apply.
        #[option("max-wait-action", Choice("close", "keep-waiting"), default = "close")]
        pub max_wait_action: MaxWaitAction,
    }
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

config_section! {
    /// Parley's own, in place of Genesys Configuration Server persons. One
    /// section per agent or supervisor; more can be added with the admin API. At every start
    /// the file wins for the logins it names.
    ///
    /// - Logins are 1 to 64 ASCII letters, digits, -, _, . and @. Quote logins with dots or
    ///   @: [agents."jane.doe@acme"].
    /// - Every queue an agent names must exist: have a [queues.<name>] section or be the
    ///   queue of an endpoint.
    ///
    /// Default: no agents. An example:
    #[section("agents", key = "login", example_key = "anna")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AgentConfig {
        /// The argon2 hash of the password, as a PHC string, never the password itself:
        ///   parley hash-password          (reads one line from standard input)
        /// It must start with $argon2id$ ($argon2i$ and $argon2d$ are read). The hash is treated
        /// as a secret and never printed; PARLEY_AGENTS__<LOGIN>__PASSWORD_HASH keeps it out of
        /// the file. The example hash below matches no known password.
        #[option("password-hash", Secret,
            required = "the argon2 hash of the agent's password, which \
                `parley hash-password` prints",
            example = "$argon2id$v=19$m=19456,t=2,p=1$Ycm+vlNsC0PWW6wpicO2jw$A5jcnhk+8C8TMdmBk96ReL2a2Cwq7XhJWyAJGbHeTQw")]
        pub password_hash: Secret,

        /// The name customers see; "" shows the login.
        #[option("nickname", Str, default = "", example = "Anna")]
        pub nickname: String,

        /// agent = takes chats; supervisor = takes chats, and also watches, monitors, coaches and
        /// barges in.
        #[option("role", Choice("agent", "supervisor"), default = "agent")]
        pub role: Role,

        /// The queues the agent takes chats from. Each must exist (see above).
        #[option("queues", StrList, default = ["default"], example = ["default", "sales"])]
        pub queues: Vec<String>,

        /// Most chats at once, offers included.
        #[option("capacity", Int(1..=100), default = 3)]
        pub capacity: u32,
    }
}

/// An agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
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

config_section! {
    /// Parley's own: interaction events (interaction.submitted, .queued, .offered,
    /// .accepted, .rejected, .ended, .stopped, party.joined, party.left) POSTed as JSON to
    /// integrators. Each request is signed with an X-Parley-Signature header,
    /// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>, and
    /// carries the event id in X-Parley-Event-Id (the same on every retry). Deliveries never
    /// slow a chat: each URL has its own queue, a full queue drops new events, and dropped
    /// events are counted.
    #[section("webhooks")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Webhooks {
        /// The URLs every event is POSTed to. Each is an http:// or https:// URL with a host and
        /// without user information (user:password@): the signature authenticates Parley. All must
        /// be different; [] sends no webhooks. Only this configuration sets them; chat clients
        /// cannot. URLs are never printed.
        #[option("urls", UrlList, default = [])]
        pub urls: Vec<String>,

        /// The key of the X-Parley-Signature HMAC, at least 32 characters. Required when urls is
        /// set; never printed. Prefer PARLEY_WEBHOOKS__SECRET. Generate one with e.g. `openssl
        /// rand -hex 32`.
        #[option("secret", Secret, unset, example = "0123456789abcdef0123456789abcdef")]
        pub secret: Option<Secret>,

        /// Deliveries tried per event and URL before the event is dropped (and counted).
        #[option("attempts", Int(1..=100), default = 8)]
        pub attempts: u32,

        /// Milliseconds before the first retry; each later retry waits twice as long, up to
        /// max-retry-delay. Must not exceed max-retry-delay.
        #[option("retry-delay", Int(1..=600_000, "milliseconds"), default = 500)]
        pub retry_delay_ms: u64,

        /// The longest wait between retries, in milliseconds.
        #[option("max-retry-delay", Int(1..=3_600_000, "milliseconds"), default = 60000)]
        pub max_retry_delay_ms: u64,

        /// Milliseconds one delivery may take before it counts as failed.
        #[option("timeout", Int(100..=120_000, "milliseconds"), default = 10000)]
        pub timeout_ms: u64,

        /// Events held for delivery per URL; when full, new events are dropped (and counted)
        /// rather than slowing a chat.
        #[option("queue-size", Int(1..=1_000_000), default = 10000)]
        pub queue_size: usize,
    }
}
