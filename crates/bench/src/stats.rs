//! Run-wide measurements, shared by every task: counters (atomics), HDR histograms of
//! latencies in microseconds (sharded behind small mutexes: a record is tens of
//! nanoseconds, and with 16 shards two cores never wait on each other), and errors by
//! code. Latency histograms take only messages *sent* inside the measurement window, so
//! ramp-up and the final drain do not colour the percentiles; loss and duplication are
//! counted over the whole run, because a message lost during ramp-up is still lost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency a histogram holds: anything slower is clamped here (and is a failure
/// of the run anyway).
const MAX_US: u64 = 120_000_000;

/// A histogram split over a few mutexes.
pub struct Sharded {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Sharded {
    fn new(n: usize) -> Sharded {
        Sharded {
            shards: (0..n)
                .map(|_| Mutex::new(Histogram::new_with_bounds(1, MAX_US, 3).expect("bounds")))
                .collect(),
        }
    }

    /// Records `us` microseconds in the shard chosen by `key`.
    pub fn record(&self, key: usize, us: u64) {
        let mut h = self.shards[key % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        h.saturating_record(us.clamp(1, MAX_US));
    }

    /// All shards merged.
    pub fn merged(&self) -> Histogram<u64> {
        let mut all = Histogram::new_with_bounds(1, MAX_US, 3).expect("bounds");
        for s in &self.shards {
            let h = s.lock().unwrap_or_else(|e| e.into_inner());
            all.add(&*h).expect("same bounds");
        }
        all
    }
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Percentiles {
    /// From a microsecond histogram.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// A counter.
#[derive(Default)]
pub struct Count(AtomicU64);

impl Count {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// Subtracts one (gauges).
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter of a run.
#[derive(Default)]
pub struct Counters {
    /// Messages handed to a socket or an HTTP request.
    pub sent: Count,
    /// Of which sent inside the measurement window.
    pub sent_in_window: Count,
    /// Sends the server acknowledged.
    pub acked: Count,
    /// Sends the server refused (error reply): not expected to be delivered.
    pub send_failed: Count,
    /// Sends with neither an ack nor an error by the end of the session.
    pub unacked: Count,
    /// Deliveries of a message to a party other than its sender.
    pub delivered: Count,
    /// Of which delivered inside the measurement window.
    pub delivered_in_window: Count,
    /// Deliveries of a message back to its own sender (the sender's copy).
    pub echoed: Count,
    /// Deliveries of a message a party had already received.
    pub duplicated: Count,
    /// Deliveries a party never received (counted when its session ends).
    pub lost: Count,
    /// Messages that arrived in a session they were not sent in, or with an id never sent.
    pub misrouted: Count,
    /// Messages not sent because `--max-messages` was reached.
    pub capped: Count,
    /// Sessions whose setup completed.
    pub sessions_opened: Count,
    /// Sessions closed by the script (final transcript written).
    pub sessions_closed: Count,
    /// Of which closed inside the measurement window.
    pub sessions_closed_in_window: Count,
    /// Of which opened inside the measurement window.
    pub sessions_opened_in_window: Count,
    /// Sessions whose setup or close failed.
    pub sessions_failed: Count,
    /// Sessions open now (gauge).
    pub sessions_live: Count,
    /// Connections open now (gauge).
    pub conns_live: Count,
}

/// Everything measured in a run.
pub struct Stats {
    origin: Instant,
    window_start_us: AtomicU64,
    window_end_us: AtomicU64,
    /// Send → receipt by each party other than the sender.
    pub delivery: Sharded,
    /// Send → ack (or HTTP reply) at the sender.
    pub ack: Sharded,
    /// Customer's first connect → every party joined, for setups begun in the window.
    pub setup: Sharded,
    /// The same for setups outside the window (ramp-up: a burst by design).
    pub setup_outside: Sharded,
    /// Agent's release → every party saw the session end (final transcript written), for
    /// closes begun in the window (churn).
    pub close: Sharded,
    /// The same for the closes after the window (every session at once, by design).
    pub close_outside: Sharded,
    /// Counters.
    pub c: Counters,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

impl Stats {
    /// A fresh run starting now.
    pub fn new() -> Stats {
        Stats {
            origin: Instant::now(),
            window_start_us: AtomicU64::new(u64::MAX),
            window_end_us: AtomicU64::new(u64::MAX),
            delivery: Sharded::new(16),
            ack: Sharded::new(16),
            setup: Sharded::new(4),
            setup_outside: Sharded::new(4),
            close: Sharded::new(4),
            close_outside: Sharded::new(4),
            c: Counters::default(),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// Microseconds since the run started (the clock every message timestamp uses).
    pub fn now_us(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }

    /// Opens the measurement window now.
    pub fn open_window(&self) {
        self.window_start_us.store(self.now_us(), Ordering::Relaxed);
    }

    /// Closes the measurement window now.
    pub fn close_window(&self) {
        self.window_end_us.store(self.now_us(), Ordering::Relaxed);
    }

    /// Whether `t_us` falls inside the measurement window.
    pub fn in_window(&self, t_us: u64) -> bool {
        t_us >= self.window_start_us.load(Ordering::Relaxed)
            && t_us < self.window_end_us.load(Ordering::Relaxed)
    }

    /// Length of the measurement window in seconds (so far, if still open).
    pub fn window_s(&self) -> f64 {
        let start = self.window_start_us.load(Ordering::Relaxed);
        if start == u64::MAX {
            return 0.0;
        }
        let end = self
            .window_end_us
            .load(Ordering::Relaxed)
            .min(self.now_us());
        end.saturating_sub(start) as f64 / 1e6
    }

    /// Counts an error under `what` (e.g. `8201 NO_SUCH_USER`, `client: connect`).
    pub fn error(&self, what: impl Into<String>) {
        let mut m = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry(what.into()).or_default() += 1;
    }

    /// Counts a protocol error code.
    pub fn error_code(&self, code: parley_proto::ErrorCode) {
        self.error(format!("{} {}", code.number(), code.name()));
    }

    /// Errors so far.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Total errors so far.
    pub fn error_total(&self) -> u64 {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_out_in_milliseconds() {
        let s = Stats::new();
        for us in 1..=1000u64 {
            s.delivery.record(us as usize, us * 10);
        }
        let p = Percentiles::of(&s.delivery.merged());
        assert_eq!(p.count, 1000);
        assert!((p.p50_ms - 5.0).abs() < 0.01, "{p:?}");
        assert!((p.max_ms - 10.0).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn the_window_bounds_what_counts() {
        let s = Stats::new();
        assert!(!s.in_window(s.now_us()));
        s.open_window();
        assert!(s.in_window(s.now_us()));
        s.close_window();
        assert!(!s.in_window(s.now_us() + 1));
    }
}
