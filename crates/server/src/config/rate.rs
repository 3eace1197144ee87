//! The declaration of `[rate-limits]` (Parley's own): how fast one client may go, so that
//! one abusive client cannot hurt the others. Each limit is a count per period (a token
//! bucket) with a burst of the same count, or of its own option; 0 turns that limit off.

use super::declare::config_section;

config_section! {
    /// Parley's own: how fast one client may go. A client over a limit gets HTTP 429 with
    /// Retry-After (RATE_LIMITED, 1014) or, on a WebSocket, an error frame with that code; its
    /// connection stays usable. Limits by address use the client's address as trusted-proxies
    /// resolves it. Each limit allows a burst of its whole count (customers' messages: of
    /// message-burst-per-customer), then one per period / count.
    /// 0 turns a limit off (benchmarks that drive many chats from one address do so).
    #[section("rate-limits")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RateLimits {
        /// New chats a customer's address may start per minute, over every protocol.
        #[option("sessions-per-address", Int(0..=1_000_000, "per minute"), default = 20)]
        pub sessions_per_address: u32,

        /// Flex logins (identities waiting for their join) one address may ask for per minute.
        #[option("logins-per-address", Int(0..=1_000_000, "per minute"), default = 60)]
        pub logins_per_address: u32,

        /// HTTP requests one address may send per second, every door together: a guard against
        /// floods, sized for many customers behind one NAT.
        #[option("requests-per-address", Int(0..=1_000_000, "per second"), default = 1000)]
        pub requests_per_address: u32,

        /// Messages one customer may send in one chat per minute.
        #[option("messages-per-customer", Int(0..=1_000_000, "per minute"), default = 120)]
        pub messages_per_customer: u32,

        /// Messages one customer may send at once, before messages-per-customer paces the rest
        /// (at most messages-per-customer). A person types a few lines in a row; a burst of a
        /// hundred large messages at once is a flood, and every other chat waits while the
        /// store writes it (docs/security.md, "Flood, measured").
        #[option("message-burst-per-customer", Int(1..=1_000_000, "messages"), default = 30)]
        pub message_burst_per_customer: u32,

        /// Notices (typing, push URL, custom notices) one customer may send in one chat per minute.
        #[option("notices-per-customer", Int(0..=1_000_000, "per minute"), default = 600)]
        pub notices_per_customer: u32,

        /// Files one customer may upload in one chat per minute.
        #[option("files-per-customer", Int(0..=1_000_000, "per minute"), default = 10)]
        pub files_per_customer: u32,
    }
}
