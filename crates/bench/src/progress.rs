//! While the run goes: a progress bar (indicatif; hidden when stderr is not a terminal)
//! and a once-a-second sample of the server's RSS and CPU, our own CPU, the machine's
//! CPU, and the run's rates. The samples go into the JSON report as a time line, so a
//! result that looks odd can be read second by second.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::proc::{self, ProcSample};
use crate::scenario::Phase;
use crate::stats::Stats;

/// Readings at one instant (window start or end).
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// The server, when its PID is known.
    pub server: Option<ProcSample>,
    /// This process.
    pub generator: ProcSample,
    /// Machine (busy, total) CPU ticks.
    pub machine: (u64, u64),
    /// Run clock, microseconds.
    pub t_us: u64,
}

impl Snapshot {
    /// Reads everything now.
    pub fn take(pid: Option<u32>, stats: &Stats) -> Snapshot {
        Snapshot {
            server: pid.and_then(|p| proc::sample(Some(p)).ok()),
            generator: proc::sample(None).unwrap_or_default(),
            machine: proc::machine_cpu().unwrap_or_default(),
            t_us: stats.now_us(),
        }
    }
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since start.
    pub t_s: f64,
    /// `ramp-up`, `measure` or `drain`.
    pub phase: &'static str,
    /// Server RSS, MiB.
    pub server_rss_mib: Option<f64>,
    /// Server CPU over the last second, percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// Generator CPU, percent of one core.
    pub generator_cpu_pct: f64,
    /// Whole machine busy, percent of all cores.
    pub machine_busy_pct: f64,
    /// Sessions open.
    pub sessions_live: u64,
    /// Connections open (ours).
    pub conns_live: u64,
    /// Messages sent in the last second.
    pub sent_per_s: u64,
    /// Deliveries to other parties in the last second.
    pub delivered_per_s: u64,
    /// Errors so far.
    pub errors: u64,
}

/// The sampler task.
pub struct Monitor {
    task: JoinHandle<()>,
    samples: Arc<Mutex<Vec<Sample>>>,
    bar: ProgressBar,
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::RampUp => "ramp-up",
        Phase::Measure => "measure",
        Phase::Drain => "drain",
    }
}

impl Monitor {
    /// Starts sampling. `total_s` sizes the bar (ramp-up + duration).
    pub fn start(
        stats: Arc<Stats>,
        pid: Option<u32>,
        phase: watch::Receiver<Phase>,
        total_s: f64,
        show: bool,
    ) -> Monitor {
        let bar = if show {
            ProgressBar::with_draw_target(
                Some(total_s.ceil() as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            )
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:24}] {pos:>3}/{len}s {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        let samples = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(sample_loop(stats, pid, phase, samples.clone(), bar.clone()));
        Monitor { task, samples, bar }
    }

    /// Stops sampling; returns the time line.
    pub fn stop(self) -> Vec<Sample> {
        self.task.abort();
        self.bar.finish_and_clear();
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

async fn sample_loop(
    stats: Arc<Stats>,
    pid: Option<u32>,
    phase: watch::Receiver<Phase>,
    samples: Arc<Mutex<Vec<Sample>>>,
    bar: ProgressBar,
) {
    let cpus = proc::cpus() as f64;
    let mut prev = Snapshot::take(pid, &stats);
    let (mut sent, mut delivered) = (0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = Snapshot::take(pid, &stats);
        let dt = (now.t_us - prev.t_us) as f64 / 1e6;
        let pct = |a: f64, b: f64| 100.0 * (b - a) / dt;
        let (busy, total) = (
            now.machine.0.saturating_sub(prev.machine.0),
            now.machine.1.saturating_sub(prev.machine.1),
        );
        let (s, d) = (stats.c.sent.get(), stats.c.delivered.get());
        let sample = Sample {
            t_s: now.t_us as f64 / 1e6,
            phase: phase_name(*phase.borrow()),
            server_rss_mib: now.server.map(|p| p.rss_bytes as f64 / (1 << 20) as f64),
            server_cpu_pct: now
                .server
                .zip(prev.server)
                .map(|(n, p)| pct(p.cpu_s, n.cpu_s)),
            generator_cpu_pct: pct(prev.generator.cpu_s, now.generator.cpu_s),
            machine_busy_pct: if total > 0 {
                100.0 * busy as f64 / total as f64
            } else {
                0.0
            },
            sessions_live: stats.c.sessions_live.get(),
            conns_live: stats.c.conns_live.get(),
            sent_per_s: s - sent,
            delivered_per_s: d - delivered,
            errors: stats.error_total(),
        };
        (sent, delivered, prev) = (s, d, now);
        bar.set_position(sample.t_s as u64);
        bar.set_message(format!(
            "{} sess {} conns {} sent/s {} dlv/s {} err {}{}{}",
            sample.phase,
            sample.sessions_live,
            sample.conns_live,
            sample.sent_per_s,
            sample.delivered_per_s,
            sample.errors,
            sample
                .server_rss_mib
                .map(|r| format!(" srv {r:.0}MiB"))
                .unwrap_or_default(),
            sample
                .server_cpu_pct
                .map(|c| format!(" {c:.0}%cpu (of {cpus:.0} cores)"))
                .unwrap_or_default(),
        ));
        samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sample);
    }
}
