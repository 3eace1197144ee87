//! `parley-bench`: parses the flags, raises the file-descriptor limit, starts the server
//! (or checks the loopback target), runs the scenario with a progress bar, and prints
//! the summary and writes the JSON report. Exits 2 when any message was lost,
//! duplicated or misrouted.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use parley_bench::chaos::ChaosArgs;
use parley_bench::cli::{self, Args};
use parley_bench::client::{Ctx, HttpPool};
use parley_bench::failover::FailoverArgs;
use parley_bench::progress::{Monitor, Snapshot};
use parley_bench::report::{Inputs, Report};
use parley_bench::scenario::{self, Phase};
use parley_bench::server::{self, ServerProc, ServerSpec};
use parley_bench::stats::Stats;
use parley_bench::target::{self, Target};
use parley_bench::{limits, proc};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Modes other than the load run are named by the first argument; the load run keeps
    // its flags-only command line.
    match std::env::args().nth(1).as_deref() {
        Some("chaos") => return chaos_main().await,
        Some("failover") => return failover_main().await,
        _ => {}
    }
    let args = Args::parse();
    let plan = cli::plan(&args)?;
    // Our sockets plus, when we start it, the server's (it inherits the limit).
    let want = (plan.connections as u64) * 2 + 4096;
    let nofile = limits::raise_nofile(want)?;
    if nofile < plan.connections as u64 + 64 {
        anyhow::bail!(
            "the file-descriptor limit is {nofile} (hard limit; raising it needs \
             CAP_SYS_RESOURCE), too low for {} connections: lower --sessions",
            plan.connections
        );
    }

    let loadavg_before = proc::loadavg();
    let started_at_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut started = None;
    let (addr, pid) = match &args.server_bin {
        Some(bin) => {
            let extra = match &args.server_config {
                Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                    format!("while reading --server-config {}", path.display())
                })?),
                None => None,
            };
            let s = ServerProc::start(ServerSpec {
                bin,
                auto_save: plan.auto_save,
                api_key: &args.api_key,
                settings: &args.server_settings,
                log: args.server_log.as_deref(),
                keep: args.keep_server_data,
                customer_limits: plan.customer_limits,
                extra: extra.as_deref(),
            })
            .await?;
            eprintln!(
                "parley-bench: started server pid {} on {} (data in {})",
                s.pid,
                s.addr,
                s.dir().display()
            );
            let r = (s.addr, Some(s.pid));
            started = Some(s);
            r
        }
        None => {
            let addr = target::resolve_loopback(&args.target)?;
            server::wait_ready(addr, Duration::from_secs(10))
                .await
                .context("the target is not ready")?;
            (addr, args.server_pid)
        }
    };

    let stats = Arc::new(Stats::new());
    let timeout = Duration::from_secs_f64(plan.request_timeout_s);
    let target = Target::new(addr, plan.source_ips)?;
    let http = HttpPool::new(&target, timeout + Duration::from_millis(args.flex_wait_ms))?;
    let ctx = Arc::new(Ctx {
        target,
        http,
        stats: stats.clone(),
        api_key: args.api_key.clone(),
        timeout,
        flex_wait_ms: args.flex_wait_ms,
        gms_poll: Duration::from_millis(args.gms_poll_ms.max(1)),
        gms_service: args.gms_service.clone(),
    });

    let before = Snapshot::take(pid, &stats);
    let (phase_tx, phase_rx) = tokio::sync::watch::channel(Phase::RampUp);
    let monitor = Monitor::start(
        stats.clone(),
        pid,
        phase_rx,
        plan.ramp_up_s + plan.duration_s,
        !args.no_progress,
    );
    let outcome = scenario::run(&plan, ctx, pid, phase_tx).await;
    let timeline = monitor.stop();
    let counters = server::counters(addr).await;
    let exit = match started {
        Some(s) => Some(s.stop(Duration::from_secs(30)).await?),
        None => None,
    };

    let report = Report::build(Inputs {
        plan: &plan,
        target: addr.to_string(),
        stats: &stats,
        before,
        window: outcome.window,
        live_at_window_end: outcome.live_at_window_end,
        server_pid: pid,
        started_by_bench: args.server_bin.is_some(),
        exit,
        counters,
        loadavg_before,
        started_at_unix_s,
        aborted_slots: outcome.aborted_slots,
        flood: outcome.flood,
        timeline,
    });
    print!("{}", report.human());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("while writing {}", path.display()))?;
    }
    if !report.ok {
        std::process::exit(2);
    }
    Ok(())
}

/// `parley-bench chaos ...`: exits 2 when the run found a loss, a duplicate, a stranded
/// chat or a panic.
async fn chaos_main() -> anyhow::Result<()> {
    let args = ChaosArgs::parse_from(std::env::args().skip(1));
    let json = args.json.clone();
    limits::raise_nofile(usize::from(args.chats) as u64 * 4 + 4096)?;
    let report = parley_bench::chaos::run(args).await?;
    print!("{}", report.human());
    if let Some(path) = &json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("while writing {}", path.display()))?;
    }
    if !report.ok {
        std::process::exit(2);
    }
    Ok(())
}

/// `parley-bench failover ...`.
async fn failover_main() -> anyhow::Result<()> {
    let args = FailoverArgs::parse_from(std::env::args().skip(1));
    let json = args.json.clone();
    limits::raise_nofile(args.sessions as u64 + 4096)?;
    let report = parley_bench::failover::run(args).await?;
    print!("{}", report.human());
    if let Some(path) = &json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("while writing {}", path.display()))?;
    }
    if !report.ok {
        std::process::exit(2);
    }
    Ok(())
}
