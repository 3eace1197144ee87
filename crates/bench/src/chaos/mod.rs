//! `parley-bench chaos`: the HA chaos harness. Three (`--instances`) Parley processes on
//! one fresh PostgreSQL database with a short lease; chats over GMS v2, flex and basic
//! customers, each with a basic-protocol agent, messages flowing both ways; every
//! `--kill-every` seconds a random instance gets SIGKILL and comes back on its port after
//! `--restart-after`. Clients of a dead instance go to the next one up, as a load
//! balancer retrying on a connection error (or a 503) would, and carry on. At the end
//! every chat is closed and its stored transcript read back through the admin API: no
//! acknowledged message may be lost or stored twice, and no chat may be stranded.
//!
//! - `cluster.rs` the database, the instances, the balancer's view
//! - `chat.rs`    one chat's route and ledger, and the final verdict
//! - `party.rs`   the run context, failure classes, send pacing
//! - `basic.rs`   basic-protocol parties (basic customers and every agent)
//! - `http.rs`    GMS v2 and flex customers
//! - `report.rs`  the JSON report and the summary
//! - `rng.rs`     a small random generator

pub mod basic;
pub mod chat;
pub mod cluster;
pub mod http;
pub mod party;
pub mod report;
pub mod rng;
mod run;

use std::path::PathBuf;

use clap::Parser;

pub use run::run;

/// `parley-bench chaos`: kill Parley instances under load and check that no acknowledged
/// message is lost or doubled and no chat stranded. Loopback only; needs PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "parley-bench chaos")]
pub struct ChaosArgs {
    /// PostgreSQL server; a database `parley_chaos_<random>` is created on it and
    /// dropped at the end.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres: String,
    /// The `parley` binary (default: `parley` next to this program).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Instances.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..=8))]
    pub instances: u16,
    /// `[settings] session-lease-timeout`, seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=60))]
    pub lease: u64,
    /// Chats (customers in turn GMS, flex, basic; one agent each).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(3..=3000))]
    pub chats: u16,
    /// Milliseconds between one party's messages.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Instances killed in all (SIGKILL).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub kills: u32,
    /// Seconds between kills.
    #[arg(long, default_value_t = 4.0)]
    pub kill_every: f64,
    /// Seconds a killed instance stays down before it is restarted on its port.
    #[arg(long, default_value_t = 1.0)]
    pub restart_after: f64,
    /// Seconds of traffic after the last kill, before draining (default: 2 leases + 2).
    #[arg(long)]
    pub settle: Option<f64>,
    /// Seconds the drain (last sends, last deliveries, closes) may take.
    #[arg(long, default_value_t = 60.0)]
    pub drain_timeout: f64,
    /// Seconds to wait for one reply.
    #[arg(long, default_value_t = 5.0)]
    pub request_timeout: f64,
    /// API key of the agents.
    #[arg(long, default_value = crate::cli::DEFAULT_API_KEY)]
    pub api_key: String,
    /// GMS service name.
    #[arg(long, default_value = "customer-support")]
    pub gms_service: String,
    /// Extra `[settings]` line for the instances (repeatable, `KEY=VALUE`).
    #[arg(long = "server-setting", value_name = "KEY=VALUE")]
    pub server_settings: Vec<String>,
    /// Keep the instances' directories (config, logs) and the database.
    #[arg(long)]
    pub keep: bool,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The `parley` binary next to the running program (`target/<profile>/parley`).
pub fn sibling_server_bin() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory for {}", me.display()))?;
    let bin = dir.join(format!("parley{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        anyhow::bail!("no server binary at {} (pass --server-bin)", bin.display());
    }
    Ok(bin)
}
