//! The average reply delay over `limit-average-interval`: a pure value fed, once per tick,
//! the sum and count of the delays measured since the previous tick, with the time as an
//! input (milliseconds on any monotonic scale).

use std::collections::VecDeque;

/// Per-tick buckets of reply delays within the averaging window.
#[derive(Debug, Clone)]
pub struct DelayWindow {
    window_ms: u64,
    /// (tick time, sum of delays in microseconds, how many), oldest first.
    buckets: VecDeque<(u64, u64, u64)>,
}

impl DelayWindow {
    /// An empty window `window_ms` long.
    pub fn new(window_ms: u64) -> DelayWindow {
        DelayWindow {
            window_ms: window_ms.max(1),
            buckets: VecDeque::new(),
        }
    }

    /// Adds what was measured up to `now_ms` (`count` replies that took `sum_us` in all),
    /// and forgets the buckets that have left the window.
    pub fn push(&mut self, now_ms: u64, sum_us: u64, count: u64) {
        self.forget(now_ms);
        if count > 0 {
            self.buckets.push_back((now_ms, sum_us, count));
        }
    }

    /// The average delay in microseconds of the replies measured in the window ending at
    /// `now_ms` (the buckets pushed after `now_ms - window`); 0 when there were none.
    pub fn average_us(&self, now_ms: u64) -> u64 {
        let since = now_ms.saturating_sub(self.window_ms);
        let (sum, count) = self
            .buckets
            .iter()
            .filter(|(at, _, _)| *at > since && *at <= now_ms)
            .fold((0u128, 0u128), |(s, c), (_, sum, n)| {
                (s + u128::from(*sum), c + u128::from(*n))
            });
        sum.checked_div(count)
            .map_or(0, |avg| u64::try_from(avg).unwrap_or(u64::MAX))
    }

    fn forget(&mut self, now_ms: u64) {
        let since = now_ms.saturating_sub(self.window_ms);
        while self.buckets.front().is_some_and(|(at, _, _)| *at <= since) {
            self.buckets.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DelayWindow;

    #[test]
    fn an_empty_window_averages_zero() {
        let w = DelayWindow::new(15_000);
        assert_eq!(w.average_us(0), 0);
        assert_eq!(w.average_us(1_000_000), 0);
        let mut w = DelayWindow::new(15_000);
        w.push(1_000, 0, 0);
        assert_eq!(w.average_us(1_000), 0, "a tick with no reply adds nothing");
    }

    #[test]
    fn the_average_weighs_each_reply_once() {
        let mut w = DelayWindow::new(15_000);
        // One tick: 3 replies of 1, 2 and 3 ms; the next: 1 reply of 10 ms.
        w.push(1_000, 6_000, 3);
        assert_eq!(w.average_us(1_000), 2_000);
        w.push(2_000, 10_000, 1);
        assert_eq!(w.average_us(2_000), 4_000, "(1+2+3+10)/4 ms");
    }

    #[test]
    fn buckets_leave_the_window_after_its_length() {
        let mut w = DelayWindow::new(15_000);
        w.push(1_000, 90_000, 1);
        w.push(2_000, 10_000, 1);
        assert_eq!(w.average_us(15_999), 50_000);
        // At 16 000 the bucket of 1 000 is exactly one window old: out.
        assert_eq!(w.average_us(16_000), 10_000);
        assert_eq!(w.average_us(17_000), 0);
        w.push(17_000, 0, 0);
        assert!(w.buckets.is_empty(), "old buckets are forgotten");
    }

    #[test]
    fn a_window_shorter_than_a_tick_holds_the_last_tick_only() {
        let mut w = DelayWindow::new(1_000);
        w.push(1_000, 5_000, 1);
        w.push(2_000, 1_000, 1);
        assert_eq!(w.average_us(2_000), 1_000);
    }

    #[test]
    fn large_sums_do_not_overflow() {
        let mut w = DelayWindow::new(15_000);
        w.push(1_000, u64::MAX, 1);
        w.push(2_000, u64::MAX, 1);
        assert_eq!(w.average_us(2_000), u64::MAX);
    }
}
