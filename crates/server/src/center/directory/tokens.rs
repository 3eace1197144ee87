//! Login tokens: issued from the OS CSPRNG and kept only as SHA-256 digests, in the
//! store (so that every instance honours them, across restarts and failovers: an
//! agent's desktop follows its chats to whichever instance holds them without a new
//! login) and in this cache in front of it, looked up by digest, expiring after the
//! configured lifetime.
//!
//! A cached token is trusted for [`REVALIDATE`] after the store last confirmed it; then
//! the store is asked again, so a token revoked on another instance (logout, new
//! password, agent removed) stops working here within that time.
//!
//! Looking a token up by its digest means the comparison that finds (or misses) it works
//! on the digest, never on the secret itself: whatever the map's timing reveals is about
//! a SHA-256 output the caller cannot steer, so it says nothing about live tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parley_core::routing::AgentId;
use sha2::{Digest, Sha256};

/// Most live tokens cached: a bound on memory whatever the login rate. Past it, the token
/// closest to expiry is dropped from the cache (the store still has it).
pub(super) const MAX_TOKENS: usize = 100_000;

/// How long the store's word on a token is trusted before it is asked again.
pub(super) const REVALIDATE: Duration = Duration::from_secs(10);

/// Longest token accepted for a lookup (ours are 64 hex digits): longer input is not
/// hashed at all.
pub(super) const MAX_TOKEN_LEN: usize = 256;

/// The SHA-256 digest of a token.
pub(super) type Digest32 = [u8; 32];

/// The digest of a token.
pub(super) fn digest(token: &str) -> Digest32 {
    Sha256::digest(token.as_bytes()).into()
}

/// The digest as the store keeps it.
pub(super) fn digest_hex(d: &Digest32) -> String {
    hex::encode(d)
}

/// Whose a token is, until when, and when the store last confirmed it.
#[derive(Debug, Clone)]
struct Entry {
    login: AgentId,
    expires: Instant,
    verified: Instant,
}

/// What the cache knows of a token.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Cached {
    /// Live, confirmed recently.
    Fresh(AgentId),
    /// Live when last confirmed, too long ago: ask the store (and fall back on this if
    /// the store cannot answer).
    Stale(AgentId),
    /// Not cached (or expired): ask the store.
    Unknown,
}

/// The cached tokens.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    by_digest: HashMap<Digest32, Entry>,
    /// Size at which expired entries are swept next (amortised: doubles with the map).
    sweep_at: usize,
}

impl Tokens {
    /// Caches a token (by digest) for `login` until `expires`, confirmed at `now`.
    pub(super) fn insert(&mut self, d: Digest32, login: AgentId, expires: Instant, now: Instant) {
        if self.by_digest.len() >= self.sweep_at.max(1024) {
            self.by_digest.retain(|_, e| e.expires > now);
            self.sweep_at = self.by_digest.len().saturating_mul(2);
        }
        if self.by_digest.len() >= MAX_TOKENS && !self.by_digest.contains_key(&d) {
            let soonest = self
                .by_digest
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(d, _)| *d);
            if let Some(d) = soonest {
                self.by_digest.remove(&d);
            }
        }
        self.by_digest.insert(
            d,
            Entry {
                login,
                expires,
                verified: now,
            },
        );
    }

    /// What the cache knows of a token (an expired one is forgotten).
    pub(super) fn get(&mut self, d: &Digest32, now: Instant) -> Cached {
        let Some(entry) = self.by_digest.get(d) else {
            return Cached::Unknown;
        };
        if entry.expires <= now {
            self.by_digest.remove(d);
            Cached::Unknown
        } else if now.saturating_duration_since(entry.verified) < REVALIDATE {
            Cached::Fresh(entry.login.clone())
        } else {
            Cached::Stale(entry.login.clone())
        }
    }

    /// Forgets a token.
    pub(super) fn remove(&mut self, d: &Digest32) {
        self.by_digest.remove(d);
    }

    /// Forgets every token of `login` (deleted agent, new password).
    pub(super) fn remove_login(&mut self, login: &AgentId) {
        self.by_digest.retain(|_, e| &e.login != login);
    }

    /// How many are cached.
    pub(super) fn len(&self) -> usize {
        self.by_digest.len()
    }
}

/// `lifetime` after `now`, saturating far in the future.
pub(super) fn expiry(now: Instant, lifetime: Duration) -> Instant {
    now.checked_add(lifetime)
        .unwrap_or_else(|| now + Duration::from_secs(u64::from(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anna() -> AgentId {
        "anna".parse().expect("login")
    }

    fn d(s: &str) -> Digest32 {
        digest(s)
    }

    #[test]
    fn tokens_expire_go_stale_and_are_revoked() {
        let mut t = Tokens::default();
        let now = Instant::now();
        let hour = Duration::from_secs(3600);
        t.insert(d("tok-1"), anna(), now + hour, now);
        assert_eq!(t.get(&d("tok-1"), now), Cached::Fresh(anna()));
        assert_eq!(t.get(&d("tok-2"), now), Cached::Unknown);
        assert_eq!(
            t.get(&d("tok-1"), now + REVALIDATE),
            Cached::Stale(anna()),
            "asked again after REVALIDATE"
        );
        assert_eq!(t.get(&d("tok-1"), now + hour), Cached::Unknown, "expired");
        assert_eq!(t.len(), 0, "an expired token is forgotten");
        t.insert(d("tok-3"), anna(), now + hour, now);
        t.remove(&d("tok-3"));
        assert_eq!(t.get(&d("tok-3"), now), Cached::Unknown);
        t.insert(d("tok-4"), anna(), now + hour, now);
        t.remove_login(&anna());
        assert_eq!(t.get(&d("tok-4"), now), Cached::Unknown);
    }

    #[test]
    fn expired_tokens_are_swept_as_the_map_grows() {
        let mut t = Tokens::default();
        let now = Instant::now();
        for i in 0..1024 {
            t.insert(d(&format!("old-{i}")), anna(), now, now);
        }
        t.insert(d("new"), anna(), now + Duration::from_secs(1), now);
        assert_eq!(t.len(), 1, "the expired ones went at the sweep");
    }

    #[test]
    fn the_map_is_bounded() {
        let mut t = Tokens::default();
        let now = Instant::now();
        for i in 0..MAX_TOKENS {
            let at = now + Duration::from_secs(10 + u64::try_from(i).unwrap_or(0));
            t.insert(d(&format!("t{i}")), anna(), at, now);
        }
        t.insert(
            d("one-more"),
            anna(),
            now + Duration::from_secs(1_000_000),
            now,
        );
        assert_eq!(t.len(), MAX_TOKENS);
        assert_eq!(
            t.get(&d("t0"), now),
            Cached::Unknown,
            "the one closest to expiry went"
        );
        assert_eq!(t.get(&d("one-more"), now), Cached::Fresh(anna()));
    }
}
