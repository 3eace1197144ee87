//! Load limits (the seed's "Setting Load Limits", `[settings] limits-*`): when live
//! sessions, present flex users or the average reply delay reach their limit, the instance
//! is *limited*: it creates no session, restores none from the store and accepts no flex
//! login, until every reached metric has fallen to `limits-restore-threshold` % of its
//! limit. Current sessions go on. docs/ha.md, "Load limits".
//!
//! The gauges are fed where they change: the session registry sets the session count,
//! each session actor adds or removes its present flex users, and each durable reply adds
//! its delay to two atomics. Session and flex-user changes are judged at once, so the
//! refusal is exact at the limit; the delay is folded into its window by a one-second
//! ticker ([`watch`]), which judges the limits again.
//!
//! Layout: `mod.rs` the shared limiter; `level.rs` the pure hysteresis step; `window.rs`
//! the pure averaging window.

mod level;
mod window;

pub use level::{Gauges, Metric, Reached, Thresholds};
pub use window::DelayWindow;

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Settings;

/// How often the reply delays measured are folded into the averaging window.
pub const TICK: Duration = Duration::from_secs(1);

/// The limiter of this instance: its gauges and whether it is limited.
#[derive(Debug)]
pub struct Limits {
    enabled: bool,
    /// `/readyz` answers 503 while limited (`limits-reached-report-scs`).
    report_unready: bool,
    thresholds: Thresholds,
    sessions: AtomicU64,
    flex_users: AtomicI64,
    /// Delays measured since the last tick.
    delay_sum_us: AtomicU64,
    delay_count: AtomicU64,
    /// The average over the window at the last tick.
    delay_avg_us: AtomicU64,
    reached: AtomicU8,
    window: Mutex<DelayWindow>,
    start: Instant,
}

/// A request refused because the instance is limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Reached);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this instance is at its load limit ({}): try again later or elsewhere",
            self.0
        )
    }
}

impl Limits {
    /// The limiter `settings` configure.
    pub fn new(settings: &Settings) -> Limits {
        Limits {
            enabled: settings.limits_control_enabled,
            report_unready: settings.limits_reached_report_scs,
            thresholds: Thresholds {
                limits: Gauges {
                    sessions: settings.limit_for_sessions,
                    flex_users: settings.limit_for_flex_users,
                    reply_delay_us: settings.limit_for_reply_delay_ms.saturating_mul(1000),
                },
                restore_pct: settings.limits_restore_threshold_pct,
            },
            sessions: AtomicU64::new(0),
            flex_users: AtomicI64::new(0),
            delay_sum_us: AtomicU64::new(0),
            delay_count: AtomicU64::new(0),
            delay_avg_us: AtomicU64::new(0),
            reached: AtomicU8::new(0),
            window: Mutex::new(DelayWindow::new(
                settings.limit_average_interval_s.saturating_mul(1000),
            )),
            start: Instant::now(),
        }
    }

    /// Whether load limits are on (`limits-control-enabled`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Refuses when the instance is limited: before a session is created or restored, and
    /// before a flex login.
    pub fn check(&self) -> Result<(), Refused> {
        match self.reached() {
            r if r.any() => Err(Refused(r)),
            _ => Ok(()),
        }
    }

    /// The limits reached now (none when limits control is off).
    pub fn reached(&self) -> Reached {
        Reached::from_bits(self.reached.load(Ordering::Relaxed))
    }

    /// Whether `/readyz` should answer 503: limited, and `limits-reached-report-scs` on.
    pub fn unready(&self) -> bool {
        self.report_unready && self.reached().any()
    }

    /// The registry's session count changed.
    pub fn set_sessions(&self, n: usize) {
        self.sessions.store(n as u64, Ordering::Relaxed);
        self.judge();
    }

    /// A session's present flex users changed by `delta`.
    pub fn add_flex_users(&self, delta: i64) {
        if delta != 0 {
            self.flex_users.fetch_add(delta, Ordering::Relaxed);
            self.judge();
        }
    }

    /// `count` replies took `total` together (from arrival in the mailbox to the reply).
    pub fn record_replies(&self, total: Duration, count: u64) {
        if count > 0 {
            let us = u64::try_from(total.as_micros()).unwrap_or(u64::MAX);
            self.delay_sum_us.fetch_add(us, Ordering::Relaxed);
            self.delay_count.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// Folds the delays measured since the last tick into the window and judges the limits.
    pub fn tick(&self) {
        let now_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let count = self.delay_count.swap(0, Ordering::Relaxed);
        let sum = self.delay_sum_us.swap(0, Ordering::Relaxed);
        let avg = {
            let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
            w.push(now_ms, sum, count);
            w.average_us(now_ms)
        };
        self.delay_avg_us.store(avg, Ordering::Relaxed);
        self.judge();
    }

    fn gauges(&self) -> Gauges {
        Gauges {
            sessions: self.sessions.load(Ordering::Relaxed),
            flex_users: u64::try_from(self.flex_users.load(Ordering::Relaxed)).unwrap_or(0),
            reply_delay_us: self.delay_avg_us.load(Ordering::Relaxed),
        }
    }

    /// Moves to the set of reached limits the gauges call for, and logs entering and
    /// leaving the limited state (once each; the request refused meanwhile are not).
    fn judge(&self) {
        if !self.enabled {
            return;
        }
        let mut prev = self.reached();
        loop {
            let g = self.gauges();
            let next = self.thresholds.step(prev, &g);
            if next == prev {
                return;
            }
            match self.reached.compare_exchange(
                prev.bits(),
                next.bits(),
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.log(prev, next, &g);
                    return;
                }
                Err(bits) => prev = Reached::from_bits(bits),
            }
        }
    }

    fn log(&self, prev: Reached, next: Reached, g: &Gauges) {
        if !prev.any() {
            let what: Vec<String> = Metric::ALL
                .iter()
                .filter(|m| next.has(**m))
                .map(|m| self.describe(*m, g))
                .collect();
            warn!(
                reached = %what.join(", "),
                "load limit reached: new sessions, restorations and flex logins are refused"
            );
        } else if !next.any() {
            info!(
                sessions = g.sessions,
                flex_users = g.flex_users,
                reply_delay_ms = g.reply_delay_us as f64 / 1000.0,
                "load back under the restore threshold: full service"
            );
        } else {
            debug!(from = %prev, to = %next, "load limits reached changed");
        }
    }

    fn describe(&self, m: Metric, g: &Gauges) -> String {
        let (v, limit) = (g.get(m), self.thresholds.limit(m));
        match m {
            Metric::ReplyDelay => format!(
                "{} {} ms >= limit {} ms",
                m.name(),
                v as f64 / 1000.0,
                limit / 1000
            ),
            _ => format!("{} {v} >= limit {limit}", m.name()),
        }
    }

    /// What `/counters` shows.
    pub fn snapshot(&self) -> LimitsSnapshot {
        let g = self.gauges();
        let reached = self.reached();
        let l = self.thresholds.limits;
        LimitsSnapshot {
            enabled: self.enabled,
            limited: reached.any(),
            reached: reached.names(),
            sessions: g.sessions,
            flex_users: g.flex_users,
            reply_delay_ms: g.reply_delay_us as f64 / 1000.0,
            limit_for_sessions: l.sessions,
            limit_for_flex_users: l.flex_users,
            limit_for_reply_delay: l.reply_delay_us / 1000,
            limits_restore_threshold: self.thresholds.restore_pct,
        }
    }
}

/// The limiter as `/counters` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LimitsSnapshot {
    /// `limits-control-enabled`.
    pub enabled: bool,
    /// New sessions, restorations and flex logins are refused.
    pub limited: bool,
    /// The metrics at their limit.
    pub reached: Vec<&'static str>,
    /// Live sessions.
    pub sessions: u64,
    /// Present flex users.
    pub flex_users: u64,
    /// Average reply delay over `limit-average-interval`, at the last tick.
    pub reply_delay_ms: f64,
    /// The configured limits (0 = not checked) and threshold.
    pub limit_for_sessions: u64,
    /// See `limit-for-flex-users`.
    pub limit_for_flex_users: u64,
    /// See `limit-for-reply-delay`.
    pub limit_for_reply_delay: u64,
    /// See `limits-restore-threshold`.
    pub limits_restore_threshold: u64,
}

/// Folds the measured reply delays into their window every [`TICK`] until shutdown.
pub async fn watch(limits: Arc<Limits>, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => limits.tick(),
            () = shutdown.cancelled() => return,
        }
    }
}
