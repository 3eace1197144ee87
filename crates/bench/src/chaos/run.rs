//! The chaos run, start to end: database and instances up, chats opened, the killer
//! loop, the settle period, the drain and closes, the transcripts read back, the report.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;

use super::basic::Basic;
use super::chat::{Chat, Kind, Verdict, AGENT, CUSTOMER};
use super::cluster::{config_toml, Balancer, Database, Instance};
use super::http::{Flex, Gms};
use super::party::{Run, DRAINING, OVER};
use super::report::{ChaosReport, Kill};
use super::rng::{self, Rng};
use super::ChaosArgs;

/// Runs the chaos scenario; the report says whether it passed.
pub async fn run(args: ChaosArgs) -> anyhow::Result<ChaosReport> {
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => super::sibling_server_bin()?,
    };
    let loadavg_before = crate::proc::loadavg();
    let db = Database::create(&args.postgres, "parley_chaos").await?;
    eprintln!("parley-bench chaos: database {}", db.name);
    let admin_key = format!(
        "chaos-admin-{:016x}{:016x}",
        rng::seed(),
        rng::seed() ^ 0xabcdef
    );
    let config = config_toml(
        &db.url(),
        args.lease,
        &args.api_key,
        &admin_key,
        &args.server_settings,
    )?;
    let root = std::env::temp_dir().join(format!(
        "parley-chaos-{}-{:x}",
        std::process::id(),
        rng::seed()
    ));
    let mut instances = Vec::new();
    for i in 0..args.instances {
        instances.push(Instance::new(&bin, root.join(format!("i{i}")), &config)?);
    }
    let outcome = drive(&args, &mut instances, &admin_key).await;
    for inst in &mut instances {
        inst.stop(Duration::from_secs(10)).await;
    }
    let panics: Vec<String> = instances
        .iter()
        .enumerate()
        .filter(|(_, i)| i.log_has_panic())
        .map(|(n, i)| format!("instance {n}: {}", i.dir().join("server.log").display()))
        .collect();
    let mut report = outcome?;
    report.panics = panics;
    report.loadavg_before = loadavg_before;
    report.loadavg_after = crate::proc::loadavg();
    report.finish();
    if args.keep || !report.ok {
        eprintln!(
            "parley-bench chaos: logs kept in {} (database {} kept: {})",
            root.display(),
            db.name,
            args.keep
        );
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
    if !args.keep {
        db.drop_database(&args.postgres).await?;
    }
    Ok(report)
}

async fn drive(
    args: &ChaosArgs,
    instances: &mut [Instance],
    admin_key: &str,
) -> anyhow::Result<ChaosReport> {
    let started = Instant::now();
    for inst in instances.iter_mut() {
        inst.start().await?;
    }
    let lb = Balancer::new(instances.iter().map(|i| i.addr).collect());
    let timeout = Duration::from_secs_f64(args.request_timeout);
    let run = Arc::new(Run::new(
        lb,
        args.api_key.clone(),
        args.gms_service.clone(),
        Duration::from_millis(args.interval_ms.max(10)),
        timeout,
    )?);
    let n = instances.len();

    // Open every chat: customer and agent on the same instance, spread round robin.
    let mut chats = Vec::new();
    let mut tasks = Vec::new();
    for c in 0..usize::from(args.chats) {
        let kind = Kind::ALL[c % Kind::ALL.len()];
        let chat = Chat::new(c, kind, c % n);
        let i = c % n;
        let (cust_flag, agent_flag) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let session = match kind {
            Kind::Gms => {
                let g = Gms::open(&run, i, &format!("Cust{c}"))
                    .await
                    .context("GMS request chat")?;
                let id = g.id().to_owned();
                tasks.push(tokio::spawn(g.run(
                    run.clone(),
                    chat.clone(),
                    cust_flag.clone(),
                    agent_flag.clone(),
                )));
                id
            }
            Kind::Flex => {
                let f = Flex::open(&run, i, &format!("Cust{c}"))
                    .await
                    .context("flex login and join")?;
                let id = f.id().to_owned();
                tasks.push(tokio::spawn(f.run(
                    run.clone(),
                    chat.clone(),
                    cust_flag.clone(),
                    agent_flag.clone(),
                )));
                id
            }
            Kind::Basic => {
                let b = Basic::open(&run, &chat, CUSTOMER, i, None)
                    .await
                    .context("basic customer")?;
                let id = b.session().to_owned();
                tasks.push(tokio::spawn(b.run(
                    run.clone(),
                    chat.clone(),
                    cust_flag.clone(),
                    agent_flag.clone(),
                )));
                id
            }
        };
        chat.set_session(&session);
        let agent = Basic::open(&run, &chat, AGENT, i, Some(&session))
            .await
            .context("agent join")?;
        tasks.push(tokio::spawn(agent.run(
            run.clone(),
            chat.clone(),
            agent_flag,
            cust_flag,
        )));
        chats.push(chat);
    }
    eprintln!(
        "parley-bench chaos: {} chats open on {n} instances",
        chats.len()
    );

    // The killer.
    let rng = Rng::new(rng::seed());
    let every = Duration::from_secs_f64(args.kill_every.max(0.1));
    let down_for = Duration::from_secs_f64(args.restart_after.max(0.0));
    let mut kills = Vec::new();
    let run_started = Instant::now();
    for k in 0..args.kills as usize {
        let next = run_started + every * (k as u32 + 1);
        tokio::time::sleep_until(next.into()).await;
        let victim = rng.below(n as u64) as usize;
        let at = Instant::now();
        let affected = chats
            .iter()
            .filter(|c| c.route() == victim && c.killed(k, at))
            .count();
        let pid = instances[victim].pid();
        run.lb.set_up(victim, false);
        instances[victim].kill9();
        kills.push(Kill {
            kill: k,
            instance: victim,
            pid,
            at_ms: at.duration_since(started).as_millis() as u64,
            affected_chats: affected,
        });
        tokio::time::sleep(down_for).await;
        instances[victim]
            .start()
            .await
            .with_context(|| format!("restarting instance {victim}"))?;
        run.lb.set_up(victim, true);
        if (k + 1) % 10 == 0 || k + 1 == args.kills as usize {
            eprintln!("parley-bench chaos: {} kills", k + 1);
        }
    }
    let settle = args.settle.unwrap_or(2.0 * args.lease as f64 + 2.0);
    tokio::time::sleep(Duration::from_secs_f64(settle)).await;

    // Drain: no new messages; last sends, deliveries and closes.
    run.set_phase(DRAINING);
    let drain_deadline = Instant::now() + Duration::from_secs_f64(args.drain_timeout);
    let all = futures::future::join_all(tasks);
    tokio::pin!(all);
    if tokio::time::timeout_at(drain_deadline.into(), &mut all)
        .await
        .is_err()
    {
        run.set_phase(OVER);
        if tokio::time::timeout(timeout * 6, &mut all).await.is_err() {
            eprintln!("parley-bench chaos: some party loops did not end");
        }
    }
    let traffic_s = run_started.elapsed().as_secs_f64();

    // Read every chat's final transcript from an instance that is up.
    let mut verdicts: Vec<Verdict> = Vec::new();
    for chat in &chats {
        let stored = match chat.session() {
            Some(id) => stored_messages(&run, admin_key, &id)
                .await
                .map_err(|e| chat.problem(format!("transcript: {e}")))
                .ok(),
            None => None,
        };
        verdicts.push(chat.verdict(stored.as_deref()));
    }
    let mut hist = Histogram::<u64>::new(3)?;
    for v in &verdicts {
        for r in &v.recoveries {
            hist.record(r.ms.max(1) * 1000)?;
        }
    }
    Ok(ChaosReport::new(
        args,
        started.elapsed().as_secs_f64(),
        traffic_s,
        kills,
        verdicts,
        &hist,
    ))
}

/// The message texts of a closed chat's final transcript (`GET /admin/v1/interactions/{id}`),
/// asked of each instance in turn until one answers with the transcript.
async fn stored_messages(run: &Run, admin_key: &str, id: &str) -> anyhow::Result<Vec<String>> {
    let mut last = String::new();
    for attempt in 0..20u32 {
        let i = attempt as usize % run.lb.addrs.len();
        let r = run
            .http
            .get(format!("{}/admin/v1/interactions/{id}", run.base(i)))
            .bearer_auth(admin_key)
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {
                let v: serde_json::Value = r.json().await?;
                if let Some(t) = v["transcript"].as_array() {
                    return Ok(t
                        .iter()
                        .filter(|e| e["type"] == "message")
                        .filter_map(|e| e["text"].as_str().map(str::to_owned))
                        .collect());
                }
                last = format!("no final transcript (state {})", v["state"]);
            }
            Ok(r) => last = format!("http {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!("{last}")
}
