//! `parley-bench failover`: failover at scale. Two instances on one fresh PostgreSQL
//! database; `--sessions` live GMS v2 chats are created on instance A (a GMS chat needs
//! no open connection, so 10,000 cost nothing on our side); A gets SIGKILL; then B's
//! `/counters` (`sessions-restored`) is polled until B holds every one of them. The
//! leases A last wrote are read from the store, so the report splits the time into
//! kill → lease lapse (the lease at work, by design) and lapse → all restored (the
//! orphan sweep and restoration path, the part to make fast).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Parser;
use futures::StreamExt;
use serde::Serialize;
use sqlx::Connection;

use crate::chaos::cluster::{config_toml, Database, Instance};

/// `parley-bench failover`: create sessions on instance A, SIGKILL it, and time how long
/// instance B takes to restore them all. Loopback only; needs PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "parley-bench failover")]
pub struct FailoverArgs {
    /// PostgreSQL server; a database `parley_failover_<random>` is created on it and
    /// dropped at the end.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres: String,
    /// The `parley` binary (default: `parley` next to this program).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Live sessions on A.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub sessions: u64,
    /// `[settings] session-lease-timeout`, seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=60))]
    pub lease: u64,
    /// Concurrent requests while creating the sessions.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds to wait for B to restore everything.
    #[arg(long, default_value_t = 300.0)]
    pub timeout: f64,
    /// GMS service name.
    #[arg(long, default_value = "customer-support")]
    pub gms_service: String,
    /// Extra `[settings]` line for both instances (repeatable, `KEY=VALUE`).
    #[arg(long = "server-setting", value_name = "KEY=VALUE")]
    pub server_settings: Vec<String>,
    /// `RUST_LOG` of both instances (default: warn, to keep 10,000 restorations out of
    /// the log).
    #[arg(long, default_value = "warn")]
    pub server_log: String,
    /// Keep the instances' directories and the database.
    #[arg(long)]
    pub keep: bool,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// What the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    /// Every session restored in time.
    pub ok: bool,
    /// Sessions created on A.
    pub sessions: u64,
    /// Lease, seconds.
    pub lease_s: u64,
    /// Seconds to create them.
    pub create_s: f64,
    /// Kill → the last lease A wrote lapses (ms).
    pub kill_to_lapse_ms: i64,
    /// Kill → B's first restoration (ms).
    pub kill_to_first_restore_ms: Option<i64>,
    /// Kill → B holds them all (ms).
    pub kill_to_all_restored_ms: Option<i64>,
    /// Last lease lapse → B holds them all (ms); the target is ≤ 5,000.
    pub lapse_to_all_restored_ms: Option<i64>,
    /// First → last restoration, sessions per second.
    pub restore_rate_per_s: Option<f64>,
    /// B's `sessions-restored` at the end.
    pub restored: u64,
    /// B's RSS at the end, MiB.
    pub b_rss_mib: f64,
    /// B's CPU seconds from the kill to the end.
    pub b_cpu_s: f64,
    /// `/proc/loadavg` before the kill.
    pub loadavg: String,
}

impl FailoverReport {
    /// The human summary.
    pub fn human(&self) -> String {
        let ms = |v: Option<i64>| v.map_or("-".into(), |v| format!("{v} ms"));
        format!(
            "failover: {} sessions on A (created in {:.1} s), lease {} s\n  kill -> lease lapse {} ms\n  kill -> first restored on B {}\n  kill -> all restored on B {}\n  lapse -> all restored {}\n  restore rate {} sessions/s; B rss {:.0} MiB, cpu {:.1} s; load {}\n  {}\n",
            self.sessions,
            self.create_s,
            self.lease_s,
            self.kill_to_lapse_ms,
            ms(self.kill_to_first_restore_ms),
            ms(self.kill_to_all_restored_ms),
            ms(self.lapse_to_all_restored_ms),
            self.restore_rate_per_s.map_or("-".into(), |r| format!("{r:.0}")),
            self.b_rss_mib,
            self.b_cpu_s,
            self.loadavg,
            if self.ok { "PASS" } else { "FAIL" }
        )
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs the measurement.
pub async fn run(args: FailoverArgs) -> anyhow::Result<FailoverReport> {
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => crate::chaos::sibling_server_bin()?,
    };
    let db = Database::create(&args.postgres, "parley_failover").await?;
    eprintln!("parley-bench failover: database {}", db.name);
    let mut settings = args.server_settings.clone();
    // Nobody answers these chats: keep them alive (and out of routing timeouts) for the
    // whole measurement.
    settings.push("basic-reconnect-timeout = 3600".into());
    let config = config_toml(
        &db.url(),
        args.lease,
        crate::cli::DEFAULT_API_KEY,
        "unused-admin-key-0123456789abcdef0123",
        &settings,
    )?;
    let root = std::env::temp_dir().join(format!(
        "parley-failover-{}-{:x}",
        std::process::id(),
        crate::chaos::rng::seed()
    ));
    let mut a = Instance::new(&bin, root.join("a"), &config)?;
    let mut b = Instance::new(&bin, root.join("b"), &config)?;
    a.log = Some(args.server_log.clone());
    b.log = Some(args.server_log.clone());
    let result = measure(&args, &db, &mut a, &mut b).await;
    a.stop(Duration::from_secs(10)).await;
    b.stop(Duration::from_secs(30)).await;
    if !args.keep {
        let _ = std::fs::remove_dir_all(&root);
        db.drop_database(&args.postgres).await?;
    } else {
        eprintln!(
            "parley-bench failover: kept {} and database {}",
            root.display(),
            db.name
        );
    }
    result
}

async fn counters(http: &reqwest::Client, inst: &Instance) -> anyhow::Result<serde_json::Value> {
    Ok(http
        .get(format!("http://{}/counters", inst.addr))
        .send()
        .await?
        .json()
        .await?)
}

async fn measure(
    args: &FailoverArgs,
    db: &Database,
    a: &mut Instance,
    b: &mut Instance,
) -> anyhow::Result<FailoverReport> {
    a.start().await?;
    b.start().await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;

    // Create the sessions on A.
    let url = Arc::new(format!(
        "http://{}/genesys/2/chat/{}",
        a.addr, args.gms_service
    ));
    let t0 = Instant::now();
    let mut created = futures::stream::iter(0..args.sessions)
        .map(|n| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let r = http
                    .post(url.as_str())
                    .form(&[
                        ("nickname", format!("F{n}")),
                        ("subject", "failover".into()),
                    ])
                    .send()
                    .await?;
                let v: serde_json::Value = r.json().await?;
                match v["chatId"].as_str() {
                    Some(id) => Ok(id.to_owned()),
                    None => bail!("request chat failed: {v}"),
                }
            }
        })
        .buffer_unordered(args.concurrency.max(1));
    let mut one = None;
    let mut n = 0u64;
    while let Some(r) = created.next().await {
        let id = r?;
        one.get_or_insert(id);
        n += 1;
        if n.is_multiple_of(2000) {
            eprintln!("parley-bench failover: {n} sessions");
        }
    }
    let create_s = t0.elapsed().as_secs_f64();
    let one = one.context("no session created")?;
    let live_a = counters(&http, a).await?["sessions"].as_u64().unwrap_or(0);
    if live_a < args.sessions {
        bail!("A holds {live_a} sessions, not {}", args.sessions);
    }
    let before = counters(&http, b).await?["sessions-restored"]
        .as_u64()
        .unwrap_or(0);
    let b_pid = b.pid().context("B is not running")?;
    let b_cpu0 = crate::proc::sample(Some(b_pid))?.cpu_s;
    let loadavg = crate::proc::loadavg();

    // Kill A; read the leases it last wrote.
    let kill_ms = unix_ms();
    let killed = Instant::now();
    a.kill9();
    let mut conn = sqlx::PgConnection::connect(&db.url()).await?;
    let (owner,): (String,) = sqlx::query_as("SELECT owner FROM sessions WHERE id = $1")
        .bind(&one)
        .fetch_one(&mut conn)
        .await?;
    let (lapse_ms, owned): (Option<i64>, i64) = sqlx::query_as(
        "SELECT max(lease_until), count(*) FROM sessions WHERE owner = $1 AND state = 'alive'",
    )
    .bind(&owner)
    .fetch_one(&mut conn)
    .await?;
    let lapse_ms = lapse_ms.unwrap_or(kill_ms);
    eprintln!(
        "parley-bench failover: killed A holding {owned} sessions; its leases lapse in {} ms",
        lapse_ms - kill_ms
    );

    // Watch B.
    let deadline = killed + Duration::from_secs_f64(args.timeout);
    let (mut first, mut all) = (None, None);
    let mut restored = 0;
    while Instant::now() < deadline {
        let c = counters(&http, b).await?;
        restored = c["sessions-restored"].as_u64().unwrap_or(0) - before;
        let now = unix_ms();
        if restored > 0 && first.is_none() {
            first = Some(now);
        }
        if restored >= args.sessions {
            all = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = crate::proc::sample(Some(b_pid))?;
    let rate = match (first, all) {
        (Some(f), Some(l)) if l > f => Some(args.sessions as f64 * 1000.0 / (l - f) as f64),
        _ => None,
    };
    Ok(FailoverReport {
        ok: all.is_some(),
        sessions: args.sessions,
        lease_s: args.lease,
        create_s,
        kill_to_lapse_ms: lapse_ms - kill_ms,
        kill_to_first_restore_ms: first.map(|f| f - kill_ms),
        kill_to_all_restored_ms: all.map(|l| l - kill_ms),
        lapse_to_all_restored_ms: all.map(|l| l - lapse_ms),
        restore_rate_per_s: rate,
        restored,
        b_rss_mib: s.rss_bytes as f64 / (1024.0 * 1024.0),
        b_cpu_s: s.cpu_s - b_cpu0,
        loadavg,
    })
}
