//! Rate limits (`[rate-limits]`): token buckets from `governor`, per client address for
//! what a stranger can start (chats, flex logins, requests) and per customer in a chat
//! for what it sends (messages, notices, files). A client over a limit is refused with
//! `RATE_LIMITED` (1014) and a wait; nothing else slows down: the buckets are lock-free
//! (per-address maps are sharded), and reading the clock is no system call.
//!
//! Memory is bounded: the per-address maps forget addresses whose buckets are full again
//! (`sweep`, every minute), and a customer's buckets live in its session's actor and go
//! with it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimits;

/// A refusal: the client may try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// How long until the bucket has a token again (at least 1 s when rounded).
    pub retry_after: Duration,
    /// Which limit.
    pub limit: &'static str,
}

impl RateLimited {
    /// `Retry-After` in whole seconds, at least 1.
    pub fn retry_after_s(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "too fast ([rate-limits] {}): retry after {} s",
            self.limit,
            self.retry_after_s()
        )
    }
}

fn quota(count: u32, period: Duration) -> Option<Quota> {
    quota_with_burst(count, period, count)
}

/// `count` per `period`, at most `burst` at once (and never more than `count`).
fn quota_with_burst(count: u32, period: Duration, burst: u32) -> Option<Quota> {
    let n = NonZeroU32::new(count)?;
    let burst = NonZeroU32::new(burst.min(count)).unwrap_or(NonZeroU32::MIN);
    let per_token = period / n.get();
    Quota::with_period(per_token).map(|q| q.allow_burst(burst))
}

/// One keyed limit by client address.
struct ByAddress {
    name: &'static str,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl ByAddress {
    fn new(name: &'static str, count: u32, period: Duration) -> Option<ByAddress> {
        quota(count, period).map(|q| ByAddress {
            name,
            limiter: RateLimiter::keyed(q),
        })
    }

    fn check(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| RateLimited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
                limit: self.name,
            })
    }
}

/// The per-address limits of one instance.
pub struct AddressLimits {
    sessions: Option<ByAddress>,
    logins: Option<ByAddress>,
    requests: Option<ByAddress>,
}

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

impl AddressLimits {
    /// From `[rate-limits]`.
    pub fn new(c: &RateLimits) -> AddressLimits {
        AddressLimits {
            sessions: ByAddress::new("sessions-per-address", c.sessions_per_address, MINUTE),
            logins: ByAddress::new("logins-per-address", c.logins_per_address, MINUTE),
            requests: ByAddress::new("requests-per-address", c.requests_per_address, SECOND),
        }
    }

    /// A customer at `ip` starts a chat.
    pub fn session(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.sessions.as_ref().map_or(Ok(()), |l| l.check(ip))
    }

    /// A flex login from `ip`.
    pub fn login(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.logins.as_ref().map_or(Ok(()), |l| l.check(ip))
    }

    /// An HTTP request from `ip`.
    pub fn request(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.requests.as_ref().map_or(Ok(()), |l| l.check(ip))
    }

    /// Forgets the addresses whose buckets are full again.
    pub fn sweep(&self) {
        for l in [&self.sessions, &self.logins, &self.requests]
            .into_iter()
            .flatten()
        {
            l.limiter.retain_recent();
            l.limiter.shrink_to_fit();
        }
    }

    /// How many addresses are tracked, over all limits.
    pub fn tracked(&self) -> usize {
        [&self.sessions, &self.logins, &self.requests]
            .into_iter()
            .flatten()
            .map(|l| l.limiter.len())
            .sum()
    }
}

/// How often the per-address maps forget the addresses whose buckets are full again.
const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// Sweeps `limits` every [`SWEEP_PERIOD`] until `stop`.
pub async fn sweep(
    limits: std::sync::Arc<AddressLimits>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(SWEEP_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => limits.sweep(),
            () = stop.cancelled() => return,
        }
    }
}

/// What a customer sends, each with its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A chat message.
    Message,
    /// A notice (typing, push URL, custom).
    Notice,
    /// A file upload.
    File,
}

/// The per-customer quotas, resolved once.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomerQuotas {
    messages: Option<Quota>,
    notices: Option<Quota>,
    files: Option<Quota>,
}

impl CustomerQuotas {
    /// From `[rate-limits]`.
    pub fn new(c: &RateLimits) -> CustomerQuotas {
        CustomerQuotas {
            messages: quota_with_burst(
                c.messages_per_customer,
                MINUTE,
                c.message_burst_per_customer,
            ),
            notices: quota(c.notices_per_customer, MINUTE),
            files: quota(c.files_per_customer, MINUTE),
        }
    }

    /// Fresh buckets for one customer.
    pub fn buckets(&self) -> CustomerBuckets {
        let make = |q: Option<Quota>| q.map(RateLimiter::direct);
        CustomerBuckets {
            messages: make(self.messages),
            notices: make(self.notices),
            files: make(self.files),
        }
    }
}

/// One customer's buckets in one chat.
pub struct CustomerBuckets {
    messages: Option<DefaultDirectRateLimiter>,
    notices: Option<DefaultDirectRateLimiter>,
    files: Option<DefaultDirectRateLimiter>,
}

impl CustomerBuckets {
    /// Takes a token for `what`.
    pub fn take(&self, what: Sent) -> Result<(), RateLimited> {
        let (bucket, limit) = match what {
            Sent::Message => (&self.messages, "messages-per-customer"),
            Sent::Notice => (&self.notices, "notices-per-customer"),
            Sent::File => (&self.files, "files-per-customer"),
        };
        let Some(bucket) = bucket else { return Ok(()) };
        bucket.check().map_err(|not_until| RateLimited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limits(f: impl FnOnce(&mut RateLimits)) -> RateLimits {
        let mut c = RateLimits::default();
        f(&mut c);
        c
    }

    #[test]
    fn an_address_gets_its_burst_then_waits_and_others_are_not_touched() {
        let a = AddressLimits::new(&limits(|c| c.sessions_per_address = 3));
        let one = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let two = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        for _ in 0..3 {
            assert!(a.session(one).is_ok());
        }
        let refused = a.session(one).expect_err("over the burst");
        assert_eq!(refused.limit, "sessions-per-address");
        // One token every 20 s.
        assert!((1..=20).contains(&refused.retry_after_s()), "{refused}");
        assert!(a.session(two).is_ok());
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let a = AddressLimits::new(&limits(|c| c.requests_per_address = 0));
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..100_000 {
            assert!(a.request(ip).is_ok());
        }
        assert_eq!(a.tracked(), 0);
    }

    #[test]
    fn a_customers_buckets_are_separate() {
        let burst = CustomerQuotas::new(&limits(|c| {
            c.messages_per_customer = 120;
            c.message_burst_per_customer = 3;
        }))
        .buckets();
        for _ in 0..3 {
            assert!(burst.take(Sent::Message).is_ok());
        }
        assert!(
            burst.take(Sent::Message).is_err(),
            "the burst, then the pace"
        );
        let q = CustomerQuotas::new(&limits(|c| {
            c.messages_per_customer = 2;
            c.files_per_customer = 1;
        }));
        let b = q.buckets();
        assert!(b.take(Sent::Message).is_ok());
        assert!(b.take(Sent::Message).is_ok());
        assert_eq!(
            b.take(Sent::Message).map_err(|e| e.limit),
            Err("messages-per-customer")
        );
        assert!(b.take(Sent::Notice).is_ok(), "typing still goes");
        assert!(b.take(Sent::File).is_ok());
        assert!(b.take(Sent::File).is_err());
        // Another customer has full buckets.
        assert!(q.buckets().take(Sent::Message).is_ok());
    }
}
