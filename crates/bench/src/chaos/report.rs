//! The chaos report: what was killed, what every chat's final check found, failover
//! times, and whether the run passed (no acknowledged message lost, none stored or
//! delivered twice, no chat stranded, no panic in any instance's log).

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::chat::{Kind, Verdict};
use super::ChaosArgs;
use crate::stats::Percentiles;

/// One kill.
#[derive(Debug, Clone, Serialize)]
pub struct Kill {
    /// 0-based.
    pub kill: usize,
    /// Instance index.
    pub instance: usize,
    /// Its PID.
    pub pid: Option<u32>,
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// Chats routed to it at the kill.
    pub affected_chats: usize,
}

/// Totals over the chats.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Messages sent (attempted).
    pub sent: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Acknowledged and lost: missing from the stored transcript, or never received by
    /// the other party.
    pub lost: u64,
    /// Of which missing from the stored transcript.
    pub lost_stored: u64,
    /// Of which never received by the other party.
    pub lost_delivered: u64,
    /// Duplicated: stored twice, or received twice by a party.
    pub duplicated: u64,
    /// Of which stored more than once.
    pub dup_stored: u64,
    /// Of which received more than once.
    pub dup_received: u64,
    /// Requests retried (after a connection error, timeout or UNAVAILABLE).
    pub retries: u64,
    /// Events received by basic parties after one with a higher id.
    pub out_of_order: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    /// Passed.
    pub ok: bool,
    /// Instances.
    pub instances: u16,
    /// Lease, seconds.
    pub lease_s: u64,
    /// Chats by customer protocol (gms, flex, basic).
    pub chats: [usize; 3],
    /// Milliseconds between one party's messages.
    pub interval_ms: u64,
    /// Seconds between kills.
    pub kill_every_s: f64,
    /// Seconds a killed instance stayed down.
    pub restart_after_s: f64,
    /// Kills done.
    pub kills: usize,
    /// Whole run, seconds.
    pub duration_s: f64,
    /// Traffic (first kill timer to the end of the drain), seconds.
    pub traffic_s: f64,
    /// Message totals.
    pub messages: Totals,
    /// Chats that could not go on.
    pub stranded: usize,
    /// Kill → first acknowledged send of each affected chat.
    pub failover: Percentiles,
    /// Instance logs with a panic.
    pub panics: Vec<String>,
    /// `/proc/loadavg` before.
    pub loadavg_before: String,
    /// `/proc/loadavg` after.
    pub loadavg_after: String,
    /// CPUs.
    pub cpus: usize,
    /// Every kill.
    pub kill_log: Vec<Kill>,
    /// Chats with a finding (lost, duplicated, stranded, problems).
    pub findings: Vec<Verdict>,
}

impl ChaosReport {
    /// Sums the verdicts.
    pub fn new(
        args: &ChaosArgs,
        duration_s: f64,
        traffic_s: f64,
        kill_log: Vec<Kill>,
        verdicts: Vec<Verdict>,
        failover: &Histogram<u64>,
    ) -> ChaosReport {
        let mut t = Totals::default();
        let mut chats = [0; 3];
        let mut stranded = 0;
        let mut findings = Vec::new();
        for v in verdicts {
            chats[match v.kind {
                Kind::Gms => 0,
                Kind::Flex => 1,
                Kind::Basic => 2,
            }] += 1;
            t.sent += v.sent;
            t.acked += v.acked;
            t.lost_stored += v.lost_stored.len() as u64;
            t.lost_delivered += v.lost_delivered.len() as u64;
            t.dup_stored += v.dup_stored.len() as u64;
            t.dup_received += v.dup_received;
            t.retries += v.retries;
            t.out_of_order += v.out_of_order;
            stranded += usize::from(v.stranded);
            let bad = v.stranded
                || !v.lost_stored.is_empty()
                || !v.lost_delivered.is_empty()
                || !v.dup_stored.is_empty()
                || v.dup_received > 0
                || !v.problems.is_empty()
                || v.gave_up.is_some();
            if bad {
                findings.push(v);
            }
        }
        t.lost = t.lost_stored + t.lost_delivered;
        t.duplicated = t.dup_stored + t.dup_received;
        ChaosReport {
            ok: false,
            instances: args.instances,
            lease_s: args.lease,
            chats,
            interval_ms: args.interval_ms,
            kill_every_s: args.kill_every,
            restart_after_s: args.restart_after,
            kills: kill_log.len(),
            duration_s,
            traffic_s,
            messages: t,
            stranded,
            failover: Percentiles::of(failover),
            panics: Vec::new(),
            loadavg_before: String::new(),
            loadavg_after: String::new(),
            cpus: crate::proc::cpus(),
            kill_log,
            findings,
        }
    }

    /// Decides `ok` once everything is in.
    pub fn finish(&mut self) {
        self.ok = self.messages.lost == 0
            && self.messages.duplicated == 0
            && self.stranded == 0
            && self.panics.is_empty()
            && self.messages.acked > 0;
    }

    /// The human summary.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let m = &self.messages;
        let f = &self.failover;
        let _ = writeln!(
            s,
            "chaos: {} instances, lease {} s, {} chats (gms {}, flex {}, basic {}), {} kills every {} s (down {} s), {:.0} s",
            self.instances,
            self.lease_s,
            self.chats.iter().sum::<usize>(),
            self.chats[0],
            self.chats[1],
            self.chats[2],
            self.kills,
            self.kill_every_s,
            self.restart_after_s,
            self.duration_s
        );
        let _ = writeln!(
            s,
            "  messages  sent {}  acknowledged {}  lost {} (stored {}, delivered {})  duplicated {} (stored {}, received {})  retries {}  out-of-order events {}",
            m.sent, m.acked, m.lost, m.lost_stored, m.lost_delivered, m.duplicated, m.dup_stored, m.dup_received, m.retries, m.out_of_order
        );
        let _ = writeln!(s, "  stranded chats  {}", self.stranded);
        let _ = writeln!(
            s,
            "  failover (kill -> next acknowledged send, {} chat recoveries)  p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
            f.count, f.p50_ms, f.p99_ms, f.max_ms
        );
        let _ = writeln!(
            s,
            "  load  before {}  after {}  ({} cpus)",
            self.loadavg_before, self.loadavg_after, self.cpus
        );
        for p in &self.panics {
            let _ = writeln!(s, "  PANIC in {p}");
        }
        for v in self.findings.iter().take(10) {
            let _ = writeln!(
                s,
                "  chat {} ({:?}, session {}): stranded {} ({}) lost {:?} {:?} dup {:?} +{} problems {:?}",
                v.chat,
                v.kind,
                v.session.as_deref().unwrap_or("-"),
                v.stranded,
                v.gave_up.as_deref().unwrap_or("-"),
                v.lost_stored,
                v.lost_delivered,
                v.dup_stored,
                v.dup_received,
                v.problems
            );
        }
        let _ = writeln!(s, "  {}", if self.ok { "PASS" } else { "FAIL" });
        s
    }
}
