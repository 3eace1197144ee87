//! The end of a run: the JSON report (everything, including the per-second time line)
//! and a one-screen human summary of the same numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::Plan;
use crate::progress::{Sample, Snapshot};
use crate::stats::{Percentiles, Stats};

/// Machine facts.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Online CPUs.
    pub cpus: usize,
    /// `/proc/loadavg` before the run (other work on the machine).
    pub loadavg_before: String,
    /// Whole machine busy during the window, percent of all cores.
    pub busy_pct_window: f64,
}

/// The server's side.
#[derive(Debug, Clone, Serialize)]
pub struct Server {
    /// PID, when known.
    pub pid: Option<u32>,
    /// Whether parley-bench started it.
    pub started_by_bench: bool,
    /// Its `transcript-auto-save`.
    pub auto_save: u8,
    /// RSS before any session, MiB.
    pub rss_before_mib: Option<f64>,
    /// RSS at the end of the window, MiB.
    pub rss_window_end_mib: Option<f64>,
    /// Peak RSS (VmHWM), MiB.
    pub rss_peak_mib: Option<f64>,
    /// (RSS at window end − RSS before) / sessions open at window end, KiB.
    pub rss_per_session_kib: Option<f64>,
    /// CPU during the window, percent of one core.
    pub cpu_pct_window: Option<f64>,
    /// How it stopped (when we started it).
    pub exit: Option<String>,
    /// Its `/counters` at the end of the window.
    pub counters: serde_json::Value,
}

/// Sessions.
#[derive(Debug, Clone, Serialize)]
pub struct Sessions {
    /// Setups completed.
    pub opened: u64,
    /// Scripted closes completed (final transcript written).
    pub closed: u64,
    /// Setups or closes that failed.
    pub failed: u64,
    /// Opened inside the window, per second.
    pub opened_per_s: f64,
    /// Closed inside the window, per second.
    pub closed_per_s: f64,
    /// Open at the end of the window.
    pub live_at_window_end: u64,
    /// Customer connect → every party joined (setups begun in the window: churn).
    pub setup: Percentiles,
    /// Agent release → every party saw the end (closes begun in the window: churn).
    pub close: Percentiles,
    /// Setups during ramp-up (opened as fast as `--ramp-up` asks).
    pub setup_ramp_up: Percentiles,
    /// Closes after the window (every session at once).
    pub close_final: Percentiles,
}

/// Messages.
#[derive(Debug, Clone, Serialize)]
pub struct Messages {
    /// Sent over the whole run.
    pub sent: u64,
    /// Sent inside the window, per second.
    pub sent_per_s: f64,
    /// Acknowledged.
    pub acked: u64,
    /// Refused by the server.
    pub failed: u64,
    /// Neither acknowledged nor refused.
    pub unacked: u64,
    /// Deliveries to parties other than the sender.
    pub delivered: u64,
    /// Of those, inside the window, per second.
    pub delivered_per_s: f64,
    /// Copies back to the sender.
    pub echoed: u64,
    /// Deliveries missing at session end. Must be 0.
    pub lost: u64,
    /// Deliveries received twice. Must be 0.
    pub duplicated: u64,
    /// Messages seen in the wrong session or never sent. Must be 0.
    pub misrouted: u64,
    /// Not sent: `--max-messages` reached.
    pub capped: u64,
}

/// Latencies.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Send → receipt by every other party (messages sent in the window).
    pub delivery: Percentiles,
    /// Send → ack at the sender.
    pub ack: Percentiles,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Report format.
    pub format: &'static str,
    /// Start time, seconds since the Unix epoch.
    pub started_at_unix_s: u64,
    /// The target.
    pub target: String,
    /// What was run.
    pub plan: Plan,
    /// Machine.
    pub machine: Machine,
    /// Server.
    pub server: Server,
    /// Generator CPU during the window, percent of one core.
    pub generator_cpu_pct_window: f64,
    /// Generator peak RSS, MiB.
    pub generator_rss_peak_mib: f64,
    /// Measurement window, seconds.
    pub window_s: f64,
    /// Sessions.
    pub sessions: Sessions,
    /// Messages.
    pub messages: Messages,
    /// Latencies.
    pub latency: Latency,
    /// Errors by code or kind.
    pub errors: BTreeMap<String, u64>,
    /// Slots aborted at the hard deadline.
    pub aborted_slots: usize,
    /// What the flooders sent (`--flooders`).
    pub flood: crate::client::flood::FloodOutcome,
    /// Zero lost, duplicated and misrouted.
    pub ok: bool,
    /// One sample a second.
    pub timeline: Vec<Sample>,
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

/// Everything the report is built from.
pub struct Inputs<'a> {
    /// Plan.
    pub plan: &'a Plan,
    /// Target address.
    pub target: String,
    /// Stats.
    pub stats: &'a Stats,
    /// Before any session.
    pub before: Snapshot,
    /// Window start and end.
    pub window: (Snapshot, Snapshot),
    /// Sessions open at window end.
    pub live_at_window_end: u64,
    /// Server facts known to the caller.
    pub server_pid: Option<u32>,
    /// Whether we started the server.
    pub started_by_bench: bool,
    /// Server exit.
    pub exit: Option<String>,
    /// `/counters`.
    pub counters: serde_json::Value,
    /// Load average before.
    pub loadavg_before: String,
    /// Start time.
    pub started_at_unix_s: u64,
    /// Aborted slots.
    pub aborted_slots: usize,
    /// What the flooders sent.
    pub flood: crate::client::flood::FloodOutcome,
    /// Time line.
    pub timeline: Vec<Sample>,
}

impl Report {
    /// Builds the report.
    pub fn build(i: Inputs<'_>) -> Report {
        let s = i.stats;
        let (ws, we) = i.window;
        let window_s = s.window_s().max(1e-9);
        let dt = (we.t_us.saturating_sub(ws.t_us)) as f64 / 1e6;
        let per_core = |a: f64, b: f64| if dt > 0.0 { 100.0 * (b - a) / dt } else { 0.0 };
        let (busy, total) = (
            we.machine.0.saturating_sub(ws.machine.0),
            we.machine.1.saturating_sub(ws.machine.1),
        );
        let rss_before = i.before.server.map(|p| p.rss_bytes);
        let rss_end = we.server.map(|p| p.rss_bytes);
        let per_session = match (rss_before, rss_end) {
            (Some(b), Some(e)) if i.live_at_window_end > 0 => {
                Some(e.saturating_sub(b) as f64 / 1024.0 / i.live_at_window_end as f64)
            }
            _ => None,
        };
        let c = &s.c;
        let messages = Messages {
            sent: c.sent.get(),
            sent_per_s: c.sent_in_window.get() as f64 / window_s,
            acked: c.acked.get(),
            failed: c.send_failed.get(),
            unacked: c.unacked.get(),
            delivered: c.delivered.get(),
            delivered_per_s: c.delivered_in_window.get() as f64 / window_s,
            echoed: c.echoed.get(),
            lost: c.lost.get(),
            duplicated: c.duplicated.get(),
            misrouted: c.misrouted.get(),
            capped: c.capped.get(),
        };
        let ok = messages.lost == 0 && messages.duplicated == 0 && messages.misrouted == 0;
        Report {
            format: "parley-bench/1",
            started_at_unix_s: i.started_at_unix_s,
            target: i.target,
            plan: i.plan.clone(),
            machine: Machine {
                cpus: crate::proc::cpus(),
                loadavg_before: i.loadavg_before,
                busy_pct_window: if total > 0 {
                    100.0 * busy as f64 / total as f64
                } else {
                    0.0
                },
            },
            server: Server {
                pid: i.server_pid,
                started_by_bench: i.started_by_bench,
                auto_save: i.plan.auto_save,
                rss_before_mib: rss_before.map(mib),
                rss_window_end_mib: rss_end.map(mib),
                rss_peak_mib: we.server.map(|p| mib(p.rss_peak_bytes)),
                rss_per_session_kib: per_session,
                cpu_pct_window: ws
                    .server
                    .zip(we.server)
                    .map(|(a, b)| per_core(a.cpu_s, b.cpu_s)),
                exit: i.exit,
                counters: i.counters,
            },
            generator_cpu_pct_window: per_core(ws.generator.cpu_s, we.generator.cpu_s),
            generator_rss_peak_mib: mib(we.generator.rss_peak_bytes),
            window_s,
            sessions: Sessions {
                opened: c.sessions_opened.get(),
                closed: c.sessions_closed.get(),
                failed: c.sessions_failed.get(),
                opened_per_s: c.sessions_opened_in_window.get() as f64 / window_s,
                closed_per_s: c.sessions_closed_in_window.get() as f64 / window_s,
                live_at_window_end: i.live_at_window_end,
                setup: Percentiles::of(&s.setup.merged()),
                close: Percentiles::of(&s.close.merged()),
                setup_ramp_up: Percentiles::of(&s.setup_outside.merged()),
                close_final: Percentiles::of(&s.close_outside.merged()),
            },
            latency: Latency {
                delivery: Percentiles::of(&s.delivery.merged()),
                ack: Percentiles::of(&s.ack.merged()),
            },
            messages,
            errors: s.errors(),
            aborted_slots: i.aborted_slots,
            flood: i.flood,
            ok,
            timeline: i.timeline,
        }
    }

    /// The one-screen summary.
    pub fn human(&self) -> String {
        let p = &self.plan;
        let mut o = String::new();
        let lat = |p: &Percentiles| {
            format!(
                "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms  (n={})",
                p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms, p.count
            )
        };
        let _ = writeln!(
            o,
            "parley-bench  {} customer + basic agent{}  {} sessions  {} msg/s  {} B  churn {}/s  auto-save {}",
            p.protocol,
            if p.supervisor { " + supervisor" } else { "" },
            p.sessions,
            p.rate,
            p.message_size,
            p.churn,
            p.auto_save
        );
        let _ = writeln!(
            o,
            "target     {}  from {} source address(es)  window {:.1} s after {:.0} s ramp-up",
            self.target, p.source_ips, self.window_s, p.ramp_up_s
        );
        let m = &self.messages;
        let _ = writeln!(
            o,
            "messages   sent {} ({:.1}/s)  delivered to others {} ({:.1}/s)  acked {}  refused {}  unacked {}  capped {}",
            m.sent, m.sent_per_s, m.delivered, m.delivered_per_s, m.acked, m.failed, m.unacked, m.capped
        );
        let _ = writeln!(
            o,
            "integrity  lost {}  duplicated {}  misrouted {}",
            m.lost, m.duplicated, m.misrouted
        );
        if p.flooders > 0 {
            let _ = writeln!(
                o,
                "flood      {} flooder(s) of {} B messages: {} frames sent on {} chat(s)",
                p.flooders, p.flood_size, self.flood.frames_sent, self.flood.chats_opened
            );
        }
        let _ = writeln!(o, "delivery   {}", lat(&self.latency.delivery));
        let _ = writeln!(o, "ack        {}", lat(&self.latency.ack));
        let s = &self.sessions;
        let _ = writeln!(
            o,
            "sessions   opened {}  closed {}  failed {}  in window: {:.1} opened/s {:.1} closed/s  live at end {}",
            s.opened, s.closed, s.failed, s.opened_per_s, s.closed_per_s, s.live_at_window_end
        );
        let _ = writeln!(o, "setup      {}", lat(&s.setup));
        let _ = writeln!(o, "close      {}", lat(&s.close));
        let _ = writeln!(o, "setup ramp {}", lat(&s.setup_ramp_up));
        let _ = writeln!(o, "close end  {}", lat(&s.close_final));
        let sv = &self.server;
        let f = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.1}"));
        let _ = writeln!(
            o,
            "server     pid {}  RSS {} -> {} MiB (peak {})  {} KiB/session  CPU {}% of one core",
            sv.pid.map_or("?".into(), |p| p.to_string()),
            f(sv.rss_before_mib),
            f(sv.rss_window_end_mib),
            f(sv.rss_peak_mib),
            f(sv.rss_per_session_kib),
            f(sv.cpu_pct_window)
        );
        let _ = writeln!(
            o,
            "generator  CPU {:.1}% of one core  peak RSS {:.0} MiB   machine: {} CPUs, {:.0}% busy in window, load before {}",
            self.generator_cpu_pct_window,
            self.generator_rss_peak_mib,
            self.machine.cpus,
            self.machine.busy_pct_window,
            self.machine.loadavg_before
        );
        if self.errors.is_empty() {
            let _ = writeln!(o, "errors     none");
        } else {
            for (k, v) in &self.errors {
                let _ = writeln!(o, "error      {v:>8}  {k}");
            }
        }
        let _ = writeln!(
            o,
            "verdict    {}",
            if self.ok {
                "OK: zero lost, zero duplicated, zero misrouted"
            } else {
                "FAILED: messages were lost, duplicated or misrouted"
            }
        );
        o
    }
}
