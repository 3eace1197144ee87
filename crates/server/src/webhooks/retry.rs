//! The retry policy as pure functions: which answers are worth another try, and how long
//! to wait before it. The delivery task only carries them out.

use std::time::Duration;

/// What one attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: the receiver has the event.
    Delivered,
    /// Worth trying again: 408, 429, 5xx (and transport failures, decided by the caller).
    /// `after` is the receiver's `Retry-After`, already capped.
    Retry { after: Option<Duration> },
    /// Any other status (other 4xx, 3xx: redirects are not followed): trying again would
    /// get the same answer, so the event is dropped for this URL.
    Refused,
}

/// Classifies an HTTP status; `retry_after` is the raw `Retry-After` header, if any,
/// honoured up to `max_delay`.
pub(crate) fn classify(status: u16, retry_after: Option<&str>, max_delay: Duration) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => Verdict::Retry {
            after: retry_after
                .and_then(parse_retry_after)
                .map(|d| d.min(max_delay)),
        },
        _ => Verdict::Refused,
    }
}

/// `Retry-After` in its delta-seconds form. The HTTP-date form is not honoured (it needs
/// the receiver's clock to agree with ours); the normal back-off applies instead.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    // More than 10 digits is beyond any cap we allow; refusing it avoids overflow.
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// The wait before retry number `retry` (1 = the first retry): `base` doubled per earlier
/// retry, scaled by `jitter` (a factor in 0.8..=1.2, so that receivers coming back from an
/// outage are not hit by every sender at the same instant), and capped at `max`.
pub(super) fn backoff(base: Duration, max: Duration, retry: u32, jitter: f64) -> Duration {
    let doublings = retry.saturating_sub(1);
    let plain = base
        .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    plain.mul_f64(jitter.clamp(0.8, 1.2)).min(max)
}

/// A random jitter factor in 0.8..=1.2 from the OS CSPRNG (1.0 if it cannot be read:
/// jitter is a courtesy, not a safety property).
pub(super) fn jitter() -> f64 {
    let mut buf = [0u8; 4];
    if getrandom::fill(&mut buf).is_err() {
        return 1.0;
    }
    let unit = f64::from(u32::from_le_bytes(buf)) / f64::from(u32::MAX);
    0.8 + 0.4 * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_secs(60);

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(200, None, MAX), Verdict::Delivered);
        assert_eq!(classify(204, None, MAX), Verdict::Delivered);
        for retried in [408, 429, 500, 502, 503, 599] {
            assert_eq!(
                classify(retried, None, MAX),
                Verdict::Retry { after: None },
                "{retried}"
            );
        }
        for refused in [301, 302, 400, 401, 403, 404, 410, 422] {
            assert_eq!(classify(refused, None, MAX), Verdict::Refused, "{refused}");
        }
    }

    #[test]
    fn retry_after_seconds_are_honoured_and_capped() {
        let after = |v| match classify(429, Some(v), MAX) {
            Verdict::Retry { after } => after,
            other => panic!("{other:?}"),
        };
        assert_eq!(after("0"), Some(Duration::ZERO));
        assert_eq!(after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(after("3600"), Some(MAX));
        assert_eq!(after("99999999999"), None);
        assert_eq!(after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(after("-1"), None);
        assert_eq!(after(""), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_millis(500);
        let ms = |retry| backoff(base, MAX, retry, 1.0).as_millis();
        assert_eq!(ms(1), 500);
        assert_eq!(ms(2), 1000);
        assert_eq!(ms(3), 2000);
        assert_eq!(ms(7), 32000);
        assert_eq!(ms(8), 60000);
        assert_eq!(ms(40), 60000);
        assert_eq!(ms(u32::MAX), 60000);
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_under_the_cap() {
        let base = Duration::from_millis(1000);
        assert_eq!(backoff(base, MAX, 1, 0.8).as_millis(), 800);
        assert_eq!(backoff(base, MAX, 1, 1.2).as_millis(), 1200);
        assert_eq!(backoff(base, MAX, 1, 5.0).as_millis(), 1200);
        assert_eq!(backoff(base, MAX, 20, 1.2), MAX);
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.8..=1.2).contains(&j), "{j}");
        }
    }
}
