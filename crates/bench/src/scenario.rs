//! The session script and the load shape.
//!
//! Each of `--sessions` slots plays chats back to back: the customer connects and creates
//! a session, the agent (and the supervisor, monitoring) joins, then customer and agent
//! take turns sending at the slot's share of `--rate`; when the slot is asked to close
//! (churn) or the run ends, it waits for its messages to arrive everywhere, the agent
//! releases with `ForceClose` (answered once the final transcript is written), every
//! party sees the end, and the slot starts its next chat. Slots open over `--ramp-up`;
//! the measurement window follows for `--duration`; a churn ticker asks slots to close,
//! round robin, `--churn` times a second inside the window.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parley_proto::basic::{PartyType, Visibility};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cli::Plan;
use crate::client::basic::{short, Party};
use crate::client::flood::{flood, FloodOutcome};
use crate::client::{Ctx, Customer};
use crate::ledger::{Ledger, SharedLedger, AGENT, SUPERVISOR};
use crate::progress::Snapshot;

/// How the run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Slots still running at the hard deadline (aborted).
    pub aborted_slots: usize,
    /// Readings when the window opened and closed.
    pub window: (Snapshot, Snapshot),
    /// Sessions open when the window closed.
    pub live_at_window_end: u64,
    /// What the flooders sent (`--flooders`).
    pub flood: FloodOutcome,
}

/// The phases, for the sampler and the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Opening sessions.
    RampUp,
    /// Measuring.
    Measure,
    /// Closing everything.
    Drain,
}

/// Runs the plan; `phase` reports where the run is; `pid` is the server's, for the
/// readings at the window's edges.
pub async fn run(
    plan: &Plan,
    ctx: Arc<Ctx>,
    pid: Option<u32>,
    phase: watch::Sender<Phase>,
) -> Outcome {
    let mut out = Outcome::default();
    let t0 = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let close_reqs: Arc<Vec<Notify>> =
        Arc::new((0..plan.sessions).map(|_| Notify::new()).collect());
    let mut slots = JoinSet::new();
    for i in 0..plan.sessions {
        let start = t0 + Duration::from_secs_f64(plan.ramp_up_s * i as f64 / plan.sessions as f64);
        let (plan, ctx, reqs, stop) = (
            plan.clone(),
            ctx.clone(),
            close_reqs.clone(),
            stop_rx.clone(),
        );
        slots.spawn(async move { slot(i, t0, start, &plan, &ctx, &reqs[i], stop).await });
    }

    tokio::time::sleep_until(t0 + Duration::from_secs_f64(plan.ramp_up_s)).await;
    ctx.stats.open_window();
    out.window.0 = Snapshot::take(pid, &ctx.stats);
    let _ = phase.send(Phase::Measure);
    let (flood_stop, flood_rx) = watch::channel(false);
    let flooders: Vec<_> = (0..plan.flooders)
        .map(|_| {
            let (ctx, stop, size) = (ctx.clone(), flood_rx.clone(), plan.flood_size);
            tokio::spawn(async move { flood(&ctx, size, stop).await })
        })
        .collect();
    let churn = (plan.churn > 0.0).then(|| {
        let (reqs, every) = (
            close_reqs.clone(),
            Duration::from_secs_f64(1.0 / plan.churn),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            tick.tick().await;
            for k in 0usize.. {
                tick.tick().await;
                reqs[k % reqs.len()].notify_one();
            }
        })
    });
    tokio::time::sleep(Duration::from_secs_f64(plan.duration_s)).await;
    ctx.stats.close_window();
    out.window.1 = Snapshot::take(pid, &ctx.stats);
    out.live_at_window_end = ctx.stats.c.sessions_live.get();
    let _ = flood_stop.send(true);
    for f in flooders {
        if let Ok(f) = f.await {
            out.flood.frames_sent += f.frames_sent;
            out.flood.chats_opened += f.chats_opened;
        }
    }
    let _ = phase.send(Phase::Drain);
    if let Some(c) = churn {
        c.abort();
    }
    let _ = stop_tx.send(true);

    let deadline = t0 + Duration::from_secs_f64(plan.deadline_s());
    while !slots.is_empty() {
        match tokio::time::timeout_at(deadline, slots.join_next()).await {
            Ok(_) => {}
            Err(_) => {
                out.aborted_slots = slots.len();
                ctx.stats
                    .error("bench: slot still running at the hard deadline");
                slots.abort_all();
                break;
            }
        }
    }
    out
}

/// A slot's send schedule. It belongs to the slot, not to one chat, and is anchored on
/// the run's start with a per-slot phase, so all slots together send an evenly spaced
/// stream at `--rate`. What fell due before the slot's first chat opened (ramp-up) is
/// skipped; what falls due while it is between chats (draining, closing, setting up the
/// next) is sent when the next chat opens, so churn neither lowers nor raises the
/// offered rate.
struct Schedule {
    start: Instant,
    begun: bool,
    rate: f64,
    /// Offset within a period, so the slots' sends are spread evenly, not in phase.
    phase: f64,
    /// Messages sent (or skipped at the cap) so far.
    k: u64,
}

impl Schedule {
    /// The slot's first chat is open: start from now.
    fn begin(&mut self) {
        if !self.begun {
            self.begun = true;
            self.k = self.due();
        }
    }

    fn due(&self) -> u64 {
        (self.start.elapsed().as_secs_f64() * self.rate + self.phase).floor() as u64
    }

    fn next_at(&self) -> Instant {
        if self.rate > 0.0 {
            self.start + Duration::from_secs_f64((self.k as f64 + 1.0 - self.phase) / self.rate)
        } else {
            self.start + Duration::from_secs(366 * 24 * 3600)
        }
    }
}

/// One slot: chats back to back until the run stops.
async fn slot(
    i: usize,
    t0: Instant,
    start: Instant,
    plan: &Plan,
    ctx: &Arc<Ctx>,
    close_req: &Notify,
    mut stop: watch::Receiver<bool>,
) {
    tokio::select! {
        () = tokio::time::sleep_until(start) => {}
        _ = stop.wait_for(|s| *s) => return,
    }
    let mut schedule = Schedule {
        start: t0,
        begun: false,
        rate: plan.rate / plan.sessions as f64,
        phase: (i as f64 + 0.5) / plan.sessions as f64,
        k: 0,
    };
    for generation in 0u64.. {
        if *stop.borrow() {
            return;
        }
        let tag = ((i as u64) << 24) | (generation & 0xff_ffff);
        let r = chat(i, tag, plan, ctx, close_req, &mut stop, &mut schedule).await;
        if let Err(e) = r {
            ctx.stats.c.sessions_failed.inc();
            ctx.stats
                .error(format!("session: {}", short(&format!("{e:#}"))));
            // Back off a little so a failing server is not hammered in a tight loop.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

/// The parties of one chat, so that whatever fails, everything opened is closed.
struct Parties {
    customer: Option<Customer>,
    agent: Option<Party>,
    supervisor: Option<Party>,
}

impl Parties {
    async fn close(&mut self) {
        if let Some(c) = self.customer.take() {
            c.close().await;
        }
        if let Some(a) = self.agent.take() {
            a.close().await;
        }
        if let Some(s) = self.supervisor.take() {
            s.close().await;
        }
    }
}

/// One chat: setup, talk, drain, close.
async fn chat(
    i: usize,
    tag: u64,
    plan: &Plan,
    ctx: &Arc<Ctx>,
    close_req: &Notify,
    stop: &mut watch::Receiver<bool>,
    schedule: &mut Schedule,
) -> anyhow::Result<()> {
    let ledger = Ledger::shared(tag, plan.parties());
    let mut parties = Parties {
        customer: None,
        agent: None,
        supervisor: None,
    };
    let r = chat_with(
        i,
        plan,
        ctx,
        (close_req, stop, schedule),
        &ledger,
        &mut parties,
    )
    .await;
    parties.close().await;
    ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .finish(&ctx.stats);
    r
}

/// What tells a chat to stop talking, and when to send.
type Control<'a> = (&'a Notify, &'a mut watch::Receiver<bool>, &'a mut Schedule);

async fn chat_with(
    i: usize,
    plan: &Plan,
    ctx: &Arc<Ctx>,
    control: Control<'_>,
    ledger: &SharedLedger,
    parties: &mut Parties,
) -> anyhow::Result<()> {
    let stats = &ctx.stats;
    let t_setup = stats.now_us();
    let (customer, session) = Customer::open(plan.protocol, ctx, ledger, "Pat")
        .await
        .context("customer setup")?;
    parties.customer = Some(customer);
    let agent = parties.agent.insert(
        Party::connect(ctx, AGENT, ledger)
            .await
            .context("agent connect")?,
    );
    agent
        .register("Alex", PartyType::Agent, Some(&ctx.api_key))
        .await
        .context("agent register")?;
    agent
        .join(&session, Visibility::All)
        .await
        .context("agent join")?;
    if plan.supervisor {
        let sup = parties.supervisor.insert(
            Party::connect(ctx, SUPERVISOR, ledger)
                .await
                .context("supervisor connect")?,
        );
        sup.register("Sue", PartyType::Supervisor, Some(&ctx.api_key))
            .await
            .context("supervisor register")?;
        sup.join(&session, Visibility::Int)
            .await
            .context("supervisor join")?;
    }
    let opened = stats.now_us();
    if stats.in_window(t_setup) {
        stats.setup.record(i, opened - t_setup);
    } else {
        stats.setup_outside.record(i, opened - t_setup);
    }
    stats.c.sessions_opened.inc();
    if stats.in_window(opened) {
        stats.c.sessions_opened_in_window.inc();
    }
    stats.c.sessions_live.inc();
    let talked = talk(plan, ctx, control, ledger, parties).await;
    stats.c.sessions_live.dec();
    talked?;

    // Drain: every message sent must reach every party before the session ends.
    let drain_until = Instant::now() + Duration::from_secs_f64(plan.drain_timeout_s);
    while ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .outstanding()
        > 0
        && Instant::now() < drain_until
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let t_close = stats.now_us();
    let timeout = Duration::from_secs_f64(plan.request_timeout_s);
    let agent = parties.agent.as_mut().expect("agent joined");
    agent.release_force_close().await.context("agent release")?;
    if let Some(c) = parties.customer.as_mut() {
        c.wait_end(timeout).await.context("customer end")?;
    }
    if let Some(s) = parties.supervisor.as_mut() {
        s.wait_session_over(timeout)
            .await
            .context("supervisor end")?;
    }
    let closed = stats.now_us();
    if stats.in_window(t_close) {
        stats.close.record(i, closed - t_close);
    } else {
        stats.close_outside.record(i, closed - t_close);
    }
    stats.c.sessions_closed.inc();
    if stats.in_window(closed) {
        stats.c.sessions_closed_in_window.inc();
    }
    Ok(())
}

/// Sends on the slot's schedule until asked to close or the run stops. Sends are
/// scheduled against the slot's start, not the previous send, so a slow send is followed
/// by a catch-up burst rather than a lower offered rate (no coordinated omission).
async fn talk(
    plan: &Plan,
    ctx: &Arc<Ctx>,
    (close_req, stop, schedule): Control<'_>,
    ledger: &SharedLedger,
    parties: &mut Parties,
) -> anyhow::Result<()> {
    let stats = &ctx.stats;
    schedule.begin();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep_until(schedule.next_at()) => {
                let due = schedule.due();
                while schedule.k < due {
                    schedule.k += 1;
                    if stats.c.sent.get() >= plan.max_messages {
                        stats.c.capped.inc();
                        continue;
                    }
                    if schedule.k % 2 == 1 {
                        let c = parties.customer.as_mut().expect("customer");
                        c.send(ledger, plan.message_size).await.context("customer send")?;
                    } else {
                        let a = parties.agent.as_mut().expect("agent");
                        a.send_message(ledger, plan.message_size).await.context("agent send")?;
                    }
                }
            }
            () = close_req.notified() => return Ok(()),
            _ = stop.changed() => return Ok(()),
        }
    }
}
