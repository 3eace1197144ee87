//! Failed-login accounting: after `login-max-failures` failures within
//! `login-failure-window`, for one login or for one client address, further attempts are
//! refused without a password check until the window that counted them has passed.
//!
//! An attempt counts as a failure from the moment it starts (and is taken back if the
//! password was right), so a burst of parallel guesses cannot all slip in before the
//! first of them has finished its (slow, by design) argon2 check.
//!
//! Memory is bounded: each map keeps at most [`MAX_TRACKED`] keys. A full map first
//! drops the windows that have passed, then the oldest window. Dropping a live window
//! forgets its count, but filling the map takes thousands of addresses, each of which is
//! itself limited.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most logins, and most client addresses, tracked at once.
pub(super) const MAX_TRACKED: usize = 10_000;

/// Longest login kept as a key: longer ones are cut (they name no agent anyway).
const MAX_KEY_LEN: usize = 64;

/// One key's failures in its current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failures per key.
#[derive(Debug)]
struct Counts<K> {
    by_key: HashMap<K, Window>,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn new() -> Counts<K> {
        Counts {
            by_key: HashMap::new(),
        }
    }

    /// The seconds until `key` may try again, if it is over the limit now.
    fn blocked(&self, key: &K, limit: u32, window: Duration, now: Instant) -> Option<u64> {
        let w = self.by_key.get(key)?;
        let ends = w.started + window;
        (w.failures >= limit && ends > now).then(|| {
            let left = ends - now;
            // Rounded up, at least 1: "retry after 0 s" would invite an immediate retry.
            (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1)
        })
    }

    fn add(&mut self, key: &K, window: Duration, now: Instant) {
        if !self.by_key.contains_key(key) && self.by_key.len() >= MAX_TRACKED {
            self.make_room(window, now);
        }
        let w = self.by_key.entry(key.clone()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if w.started + window <= now {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }

    /// Takes back one failure (the attempt was no failure after all).
    fn take_back(&mut self, key: &K) {
        if let Some(w) = self.by_key.get_mut(key) {
            w.failures = w.failures.saturating_sub(1);
            if w.failures == 0 {
                self.by_key.remove(key);
            }
        }
    }

    fn make_room(&mut self, window: Duration, now: Instant) {
        self.by_key.retain(|_, w| w.started + window > now);
        if self.by_key.len() >= MAX_TRACKED {
            let oldest = self
                .by_key
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.by_key.remove(&k);
            }
        }
    }

    fn len(&self) -> usize {
        self.by_key.len()
    }
}

/// The key of a client address: IPv6 clients by their /64 (one host usually has a whole
/// /64 to pick addresses from), IPv4-mapped IPv6 as IPv4.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

fn login_key(login: &str) -> String {
    let mut end = login.len().min(MAX_KEY_LEN);
    while !login.is_char_boundary(end) {
        end -= 1;
    }
    login[..end].to_owned()
}

/// Failures per login and per client address.
#[derive(Debug)]
pub(super) struct Failures {
    limit: u32,
    window: Duration,
    logins: Counts<String>,
    addresses: Counts<IpAddr>,
}

impl Failures {
    /// At most `limit` failures per `window`.
    pub(super) fn new(limit: u32, window: Duration) -> Failures {
        Failures {
            limit: limit.max(1),
            window,
            logins: Counts::new(),
            addresses: Counts::new(),
        }
    }

    /// Starts an attempt: `Err(seconds to wait)` when the login or the address is over
    /// the limit (nothing is counted then); otherwise the attempt is counted as a failure
    /// until [`Failures::take_back`] takes it back.
    pub(super) fn begin(&mut self, login: &str, client: IpAddr, now: Instant) -> Result<(), u64> {
        let (login, client) = (login_key(login), address_key(client));
        let by_login = self.logins.blocked(&login, self.limit, self.window, now);
        let by_address = self
            .addresses
            .blocked(&client, self.limit, self.window, now);
        if let Some(wait) = by_login.max(by_address) {
            return Err(wait);
        }
        self.logins.add(&login, self.window, now);
        self.addresses.add(&client, self.window, now);
        Ok(())
    }

    /// The attempt [`Failures::begin`] counted is no failure after all (the password was
    /// right, or the server failed).
    pub(super) fn take_back(&mut self, login: &str, client: IpAddr) {
        self.logins.take_back(&login_key(login));
        self.addresses.take_back(&address_key(client));
    }

    /// How many logins and addresses are tracked.
    pub(super) fn tracked(&self) -> (usize, usize) {
        (self.logins.len(), self.addresses.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const WINDOW: Duration = Duration::from_secs(300);

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn a_login_is_limited_within_the_window() {
        let mut f = Failures::new(3, WINDOW);
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(f.begin("anna", ip(i), t0).is_ok(), "attempt {i}");
        }
        assert_eq!(
            f.begin("anna", ip(9), t0),
            Err(300),
            "fourth, other address"
        );
        let later = t0 + Duration::from_millis(100_500);
        assert_eq!(f.begin("anna", ip(9), later), Err(200), "rounded up");
        assert!(f.begin("bob", ip(9), t0).is_ok(), "another login");
        assert!(f.begin("anna", ip(9), t0 + WINDOW).is_ok(), "next window");
    }

    #[test]
    fn an_address_is_limited_across_logins() {
        let mut f = Failures::new(2, WINDOW);
        let t0 = Instant::now();
        assert!(f.begin("a", ip(1), t0).is_ok());
        assert!(f.begin("b", ip(1), t0).is_ok());
        assert_eq!(f.begin("c", ip(1), t0), Err(300));
        assert!(f.begin("c", ip(2), t0).is_ok());
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let mut f = Failures::new(1, WINDOW);
        let t0 = Instant::now();
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().expect("v6");
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().expect("v6");
        assert!(f.begin("x", IpAddr::V6(a), t0).is_ok());
        assert!(f.begin("y", IpAddr::V6(b), t0).is_err(), "same /64");
        assert!(f.begin("z", ip(7), t0).is_ok());
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert!(
            f.begin("w", mapped, t0).is_err(),
            "mapped is the same address"
        );
    }

    #[test]
    fn successes_are_taken_back() {
        let mut f = Failures::new(2, WINDOW);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(f.begin("anna", ip(1), t0).is_ok());
            f.take_back("anna", ip(1));
        }
        assert_eq!(f.tracked(), (0, 0), "nothing left to track");
    }

    #[test]
    fn the_maps_are_bounded() {
        let mut f = Failures::new(5, WINDOW);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED + 50) {
            let login = format!("guess-{i}-{}", "x".repeat(100));
            let client = IpAddr::V4(Ipv4Addr::from(u32::try_from(i).unwrap_or(0)));
            let now = t0 + Duration::from_millis(u64::try_from(i).unwrap_or(0));
            assert!(f.begin(&login, client, now).is_ok());
        }
        assert_eq!(f.tracked(), (MAX_TRACKED, MAX_TRACKED));
        // Once the windows have passed, a full map makes room by dropping them all.
        assert!(f.begin("late", ip(1), t0 + 2 * WINDOW).is_ok());
        assert_eq!(f.tracked(), (1, 1));
    }
}
