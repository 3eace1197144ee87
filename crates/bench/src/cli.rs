//! The command line, and the plan it becomes once checked against the run's bounds:
//! every run is bounded in sessions (hence connections), messages and wall-clock time,
//! whatever the flags say.

use std::path::PathBuf;

use anyhow::bail;
use clap::Parser;
use serde::Serialize;

use crate::client::Protocol;

/// Hard ceilings, above any sensible flag value.
const MAX_SESSIONS: usize = 100_000;
const MAX_DURATION_S: f64 = 3600.0;
const MAX_RAMP_S: f64 = 600.0;
const MAX_MESSAGE_SIZE: usize = 1 << 20;
const MAX_FLOODERS: usize = 64;

/// The API key used when no other is given: `--server-bin` writes it into the server's
/// `[security] api-keys`.
pub const DEFAULT_API_KEY: &str = "parley-bench-api-key-0123456789abcdef";

/// parley-bench: a bounded load generator for Parley. Loopback targets only.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Other modes: `parley-bench chaos --help` (instances killed under load on \
                  PostgreSQL) and `parley-bench failover --help` (one instance's sessions \
                  restored by another)."
)]
pub struct Args {
    /// Server to load (must be loopback). Ignored with --server-bin.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub target: String,
    /// Start this `parley` binary with a fresh data directory and the settings below,
    /// measure it, and stop it at the end.
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// PID of an already running server, to read its RSS and CPU from /proc.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// `[settings] transcript-auto-save` of the server: set on a server we start, or the
    /// value a running server has (recorded in the report).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub auto_save: u8,
    /// Extra `[settings]` line for a server we start, e.g. `commit-batch-max=2000`
    /// (repeatable; the value is a TOML literal).
    #[arg(long = "server-setting", value_name = "KEY=VALUE")]
    pub server_settings: Vec<String>,
    /// A TOML file of further sections for a server we start (say `[transcript-cleanup]`
    /// to measure masking), appended to the config the bench writes; it must not repeat
    /// `[settings]`, `[security]` or `[rate-limits]`.
    #[arg(long, value_name = "PATH")]
    pub server_config: Option<PathBuf>,
    /// `RUST_LOG` for a server we start (default: the server's own default).
    #[arg(long, value_name = "FILTER")]
    pub server_log: Option<String>,
    /// Keep the started server's data directory and log.
    #[arg(long)]
    pub keep_server_data: bool,
    /// API key agents and supervisors register with.
    #[arg(long, env = "PARLEY_BENCH_API_KEY", default_value = DEFAULT_API_KEY, hide_env_values = true)]
    pub api_key: String,
    /// The customer's protocol: basic (WebSocket), flex (HTTP long-poll) or gms (GMS v2,
    /// polled). Agents and supervisors always use basic.
    #[arg(long, default_value = "basic")]
    pub protocol: Protocol,
    /// Add a supervisor who monitors every session (joins with visibility INT).
    #[arg(long)]
    pub supervisor: bool,
    /// Concurrent sessions (one customer and one agent each, each on its own connection).
    #[arg(long, default_value_t = 10)]
    pub sessions: usize,
    /// Total messages per second over all sessions (customer and agent take turns).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Message text size in bytes (at least the ~40-byte stamp).
    #[arg(long, default_value_t = 64)]
    pub message_size: usize,
    /// Sessions closed (and replaced by new ones) per second once ramp-up is over.
    #[arg(long, default_value_t = 0.0)]
    pub churn: f64,
    /// Seconds over which the sessions are opened (not measured).
    #[arg(long, default_value_t = 5.0)]
    pub ramp_up: f64,
    /// Seconds of measurement after ramp-up.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds a closing session waits for its last messages to arrive before the ones
    /// still missing count as lost.
    #[arg(long, default_value_t = 10.0)]
    pub drain_timeout: f64,
    /// Seconds to wait for any control reply (register, join, release...).
    #[arg(long, default_value_t = 15.0)]
    pub request_timeout: f64,
    /// Refuse plans needing more connections than this.
    #[arg(long, default_value_t = 120_000)]
    pub max_connections: usize,
    /// Stop sending after this many messages in total.
    #[arg(long, default_value_t = 20_000_000)]
    pub max_messages: u64,
    /// Source addresses 127.0.0.1..N to spread connections over (default: enough for
    /// the planned connections).
    #[arg(long)]
    pub source_ips: Option<usize>,
    /// Long-poll wait of flex refreshes, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub flex_wait_ms: u64,
    /// Milliseconds between GMS refreshes.
    #[arg(long, default_value_t = 250)]
    pub gms_poll_ms: u64,
    /// GMS service name (`[gms-chat-services]`).
    #[arg(long, default_value = "customer-support")]
    pub gms_service: String,
    /// Abusive customers next to the measured chats during the window: each pipelines
    /// messages of --flood-size bytes without reading (client/flood.rs). A server the
    /// bench starts then keeps its per-customer rate limits (others stay off).
    #[arg(long, default_value_t = 0)]
    pub flooders: usize,
    /// Message size of the flooders, bytes.
    #[arg(long, default_value_t = 16_000)]
    pub flood_size: usize,
    /// Keep the per-customer rate limits of a server the bench starts (the baseline of a
    /// --flooders run; implied by --flooders).
    #[arg(long)]
    pub customer_limits: bool,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// A checked plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Customer protocol.
    pub protocol: Protocol,
    /// A monitoring supervisor in every session.
    pub supervisor: bool,
    /// Concurrent sessions.
    pub sessions: usize,
    /// Total messages per second.
    pub rate: f64,
    /// Message size, bytes.
    pub message_size: usize,
    /// Sessions closed and reopened per second.
    pub churn: f64,
    /// Ramp-up, seconds.
    pub ramp_up_s: f64,
    /// Measurement, seconds.
    pub duration_s: f64,
    /// Drain wait at close, seconds.
    pub drain_timeout_s: f64,
    /// Control reply timeout, seconds.
    pub request_timeout_s: f64,
    /// Message budget.
    pub max_messages: u64,
    /// Connections the plan needs at most.
    pub connections: usize,
    /// Source addresses.
    pub source_ips: usize,
    /// The server's transcript-auto-save.
    pub auto_save: u8,
    /// Flooding customers during the window.
    pub flooders: usize,
    /// Their message size, bytes.
    pub flood_size: usize,
    /// A started server keeps its per-customer rate limits.
    pub customer_limits: bool,
}

impl Plan {
    /// Parties per session.
    pub fn parties(&self) -> u8 {
        2 + u8::from(self.supervisor)
    }

    /// The longest the whole run may take: ramp-up, measurement, the final drain and
    /// close, and a margin. Past it everything still running is aborted.
    pub fn deadline_s(&self) -> f64 {
        self.ramp_up_s
            + self.duration_s
            + self.drain_timeout_s
            + 3.0 * self.request_timeout_s
            + 10.0
    }
}

/// Checks the flags against the bounds.
pub fn plan(a: &Args) -> anyhow::Result<Plan> {
    let mut bad = Vec::new();
    if a.sessions == 0 || a.sessions > MAX_SESSIONS {
        bad.push(format!("--sessions must be 1 to {MAX_SESSIONS}"));
    }
    if !(a.duration > 0.0 && a.duration <= MAX_DURATION_S) {
        bad.push(format!(
            "--duration must be above 0 and at most {MAX_DURATION_S} s"
        ));
    }
    if !(a.ramp_up >= 0.0 && a.ramp_up <= MAX_RAMP_S) {
        bad.push(format!("--ramp-up must be 0 to {MAX_RAMP_S} s"));
    }
    if !(a.rate >= 0.0 && a.rate.is_finite()) {
        bad.push("--rate must be 0 or more".into());
    }
    if !(a.churn >= 0.0 && a.churn <= a.sessions as f64 * 10.0) {
        bad.push("--churn must be 0 to ten times --sessions".into());
    }
    if a.message_size == 0 || a.message_size > MAX_MESSAGE_SIZE {
        bad.push(format!("--message-size must be 1 to {MAX_MESSAGE_SIZE}"));
    }
    if !(a.drain_timeout >= 0.0 && a.drain_timeout <= 120.0) {
        bad.push("--drain-timeout must be 0 to 120 s".into());
    }
    if !(a.request_timeout > 0.0 && a.request_timeout <= 120.0) {
        bad.push("--request-timeout must be above 0 and at most 120 s".into());
    }
    let parties = 2 + usize::from(a.supervisor);
    // HTTP customers hold a long-poll and a send connection.
    let per_session = parties + usize::from(a.protocol != Protocol::Basic);
    // Churn briefly overlaps a closing session with its replacement.
    let connections = (a.sessions + a.churn.ceil() as usize) * per_session + a.flooders;
    if connections > a.max_connections {
        bad.push(format!(
            "the plan needs up to {connections} connections, above --max-connections {}",
            a.max_connections
        ));
    }
    if a.flooders > MAX_FLOODERS {
        bad.push(format!("--flooders must be 0 to {MAX_FLOODERS}"));
    }
    if a.flood_size == 0 || a.flood_size > MAX_MESSAGE_SIZE {
        bad.push(format!("--flood-size must be 1 to {MAX_MESSAGE_SIZE}"));
    }
    if !bad.is_empty() {
        bail!("{}", bad.join("\n"));
    }
    let source_ips = a
        .source_ips
        .unwrap_or_else(|| crate::target::sources_for(connections))
        .clamp(1, 254);
    Ok(Plan {
        protocol: a.protocol,
        supervisor: a.supervisor,
        sessions: a.sessions,
        rate: a.rate,
        message_size: a.message_size,
        churn: a.churn,
        ramp_up_s: a.ramp_up,
        duration_s: a.duration,
        drain_timeout_s: a.drain_timeout,
        request_timeout_s: a.request_timeout,
        max_messages: a.max_messages,
        connections,
        source_ips,
        auto_save: a.auto_save,
        flooders: a.flooders,
        flood_size: a.flood_size,
        customer_limits: a.customer_limits || a.flooders > 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["parley-bench"];
        v.extend_from_slice(extra);
        Args::parse_from(v)
    }

    #[test]
    fn defaults_make_a_small_bounded_plan() {
        let p = plan(&args(&[])).unwrap();
        assert_eq!((p.sessions, p.connections, p.source_ips), (10, 20, 1));
        assert!(p.deadline_s() < 120.0);
    }

    #[test]
    fn unbounded_or_oversized_plans_are_refused() {
        assert!(plan(&args(&["--sessions", "0"])).is_err());
        assert!(plan(&args(&["--sessions", "1000000"])).is_err());
        assert!(plan(&args(&["--duration", "100000"])).is_err());
        assert!(
            plan(&args(&["--sessions", "70000"])).is_err(),
            "140k connections"
        );
        let big = plan(&args(&["--sessions", "50000"])).unwrap();
        assert_eq!((big.connections, big.source_ips), (100_000, 5));
    }
}
