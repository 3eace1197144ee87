//! The declaration of `[health-service]`: the Genesys options of the periodic KPI counter
//! log, and Parley's own token for the counters over HTTP.

use serde::Deserialize;

use super::declare::config_section;
use super::Secret;
pub use crate::counters::view::Content as LogContent;

config_section! {
    /// The Genesys [health-service] section: KPI counters in the log, and who may read them
    /// over HTTP. The counters are served at /Counters (and /counters) and, for Prometheus,
    /// /metrics, on the health port id's listener ([listeners.health], else [server] listen).
    #[section("health-service")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct HealthService {
        /// Seconds between two prints of the KPI counters to the log (at info, one line); 0 =
        /// never.
        #[option("log-output-timeout", Int(0..=86_400, "seconds"), default = 0, example = 300)]
        pub log_output_timeout_s: u64,

        /// When a print is due: always = every log-output-timeout; update = only when a counter
        /// changed since the previous print.
        #[option("log-output-proviso", Choice("always", "update"), default = "update")]
        pub log_output_proviso: LogProviso,

        /// Which counters a print shows: all = every counter; new = those that changed since the
        /// previous print; set = those that are not zero.
        #[option("log-output-content", Choice("all", "new", "set"), default = "set")]
        pub log_output_content: LogContent,

        /// Parley's own: when set, /Counters, /counters and /metrics answer only requests with
        /// the header "Authorization: Bearer <token>" (401 otherwise); /healthz and /readyz stay
        /// open for load balancers. Unset: anyone who reaches the listener may read them (keep
        /// the health listener on a private address). Never printed.
        #[option("token", Secret, unset, example = "a-long-random-string")]
        pub token: Option<Secret>,
    }
}

/// `log-output-proviso`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogProviso {
    /// Print every period.
    Always,
    /// Print only when something changed.
    Update,
}
