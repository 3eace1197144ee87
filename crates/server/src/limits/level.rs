//! Which limits are reached: a pure step from the previous answer and the current gauges,
//! with the hysteresis of `limits-restore-threshold` (the seed's example: a limit of 400
//! and a threshold of 80 stop at 400 and restore at 320).

use std::fmt;

/// A measured quantity with a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Live sessions on this instance (`limit-for-sessions`).
    Sessions,
    /// Flex users present in this instance's sessions (`limit-for-flex-users`).
    FlexUsers,
    /// Average reply delay over `limit-average-interval` (`limit-for-reply-delay`).
    ReplyDelay,
}

impl Metric {
    /// Every metric, in the order they are reported.
    pub const ALL: [Metric; 3] = [Metric::Sessions, Metric::FlexUsers, Metric::ReplyDelay];

    /// The name `/counters`, `/readyz` and the log use.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Sessions => "sessions",
            Metric::FlexUsers => "flex-users",
            Metric::ReplyDelay => "reply-delay",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Metric::Sessions => 1,
            Metric::FlexUsers => 2,
            Metric::ReplyDelay => 4,
        }
    }
}

/// The set of metrics at their limit (a small bit set, so it fits an atomic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reached(u8);

impl Reached {
    /// No limit reached: full service.
    pub const NONE: Reached = Reached(0);

    /// From its bits (see [`Reached::bits`]).
    pub fn from_bits(bits: u8) -> Reached {
        Reached(bits & 7)
    }

    /// Its bits, for an atomic.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether `m` is at its limit.
    pub fn has(self, m: Metric) -> bool {
        self.0 & m.bit() != 0
    }

    /// Whether any limit is reached.
    pub fn any(self) -> bool {
        self.0 != 0
    }

    fn with(self, m: Metric) -> Reached {
        Reached(self.0 | m.bit())
    }

    /// The reached metrics' names.
    pub fn names(self) -> Vec<&'static str> {
        Metric::ALL
            .iter()
            .filter(|m| self.has(**m))
            .map(|m| m.name())
            .collect()
    }
}

impl fmt::Display for Reached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// The values of the metrics, in the units of their limits (the delay in microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gauges {
    /// Live sessions.
    pub sessions: u64,
    /// Present flex users.
    pub flex_users: u64,
    /// Average reply delay, microseconds.
    pub reply_delay_us: u64,
}

impl Gauges {
    /// The value of `m`.
    pub fn get(&self, m: Metric) -> u64 {
        match m {
            Metric::Sessions => self.sessions,
            Metric::FlexUsers => self.flex_users,
            Metric::ReplyDelay => self.reply_delay_us,
        }
    }
}

/// The configured limits (0 = that metric is not checked) and the restore threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Limits in the units of [`Gauges`].
    pub limits: Gauges,
    /// `limits-restore-threshold`, percent of each limit.
    pub restore_pct: u64,
}

impl Thresholds {
    /// The limit of `m` (0 = not checked).
    pub fn limit(&self, m: Metric) -> u64 {
        self.limits.get(m)
    }

    /// The next set of reached limits: a metric is reached when it is at or above its
    /// limit, and stays reached until it falls to `restore_pct` % of its limit or below.
    pub fn step(&self, prev: Reached, g: &Gauges) -> Reached {
        let mut next = Reached::NONE;
        for m in Metric::ALL {
            let limit = self.limit(m);
            if limit == 0 {
                continue;
            }
            let v = g.get(m);
            let above_restore =
                u128::from(v) * 100 > u128::from(limit) * u128::from(self.restore_pct);
            if v >= limit || (prev.has(m) && above_restore) {
                next = next.with(m);
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flex(limit: u64, pct: u64) -> Thresholds {
        Thresholds {
            limits: Gauges {
                flex_users: limit,
                ..Gauges::default()
            },
            restore_pct: pct,
        }
    }

    fn users(n: u64) -> Gauges {
        Gauges {
            flex_users: n,
            ..Gauges::default()
        }
    }

    #[test]
    fn the_seed_example_stops_at_400_and_restores_at_320() {
        let t = flex(400, 80);
        let mut r = Reached::NONE;
        for n in [0, 100, 399] {
            r = t.step(r, &users(n));
            assert!(!r.any(), "{n}");
        }
        r = t.step(r, &users(400));
        assert!(r.has(Metric::FlexUsers));
        for n in [400, 399, 350, 321] {
            r = t.step(r, &users(n));
            assert!(r.any(), "still limited at {n}");
        }
        r = t.step(r, &users(320));
        assert_eq!(r, Reached::NONE);
        // Below the limit again, it takes the limit itself to stop.
        assert!(!t.step(r, &users(399)).any());
    }

    #[test]
    fn a_zero_limit_is_not_checked() {
        let t = flex(0, 80);
        assert!(!t.step(Reached::NONE, &users(1_000_000)).any());
        assert!(!t.step(Reached::from_bits(7), &users(5)).any());
    }

    #[test]
    fn each_reached_metric_must_fall_below_its_own_threshold() {
        let t = Thresholds {
            limits: Gauges {
                sessions: 10,
                flex_users: 4,
                reply_delay_us: 200_000,
            },
            restore_pct: 50,
        };
        let r = t.step(
            Reached::NONE,
            &Gauges {
                sessions: 10,
                flex_users: 4,
                reply_delay_us: 0,
            },
        );
        assert_eq!(r.names(), ["sessions", "flex-users"]);
        // Sessions fell to half, flex users did not: still limited, by flex users only.
        let r = t.step(
            r,
            &Gauges {
                sessions: 5,
                flex_users: 3,
                reply_delay_us: 150_000,
            },
        );
        assert_eq!(r.names(), ["flex-users"]);
        let r = t.step(
            r,
            &Gauges {
                sessions: 6,
                flex_users: 2,
                reply_delay_us: 150_000,
            },
        );
        assert_eq!(r, Reached::NONE, "the delay never reached its limit");
        let r = t.step(
            r,
            &Gauges {
                sessions: 0,
                flex_users: 0,
                reply_delay_us: 200_000,
            },
        );
        assert_eq!(r.to_string(), "reply-delay");
    }

    #[test]
    fn thresholds_of_0_and_100() {
        // 0: back only when nothing is left.
        let t = flex(3, 0);
        let r = t.step(Reached::NONE, &users(3));
        assert!(t.step(r, &users(1)).any());
        assert!(!t.step(r, &users(0)).any());
        // 100: back as soon as it is under the limit.
        let t = flex(3, 100);
        let r = t.step(Reached::NONE, &users(3));
        assert!(!t.step(r, &users(2)).any());
    }
}
