//! Login tokens: issued from the OS CSPRNG, kept only as SHA-256 digests, looked up by
//! digest, expiring after the configured lifetime.
//!
//! Looking a token up by its digest means the comparison that finds (or misses) it works
//! on the digest, never on the secret itself: whatever the map's timing reveals is about
//! a SHA-256 output the caller cannot steer, so it says nothing about live tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parley_core::routing::AgentId;
use sha2::{Digest, Sha256};

/// Most live tokens kept: a bound on memory whatever the login rate. Past it, the token
/// closest to expiry is dropped (its agent logs in again).
pub(super) const MAX_TOKENS: usize = 100_000;

/// Longest token accepted for a lookup (ours are 64 hex digits): longer input is not
/// hashed at all.
const MAX_TOKEN_LEN: usize = 256;

/// The SHA-256 digest of a token.
type Digest32 = [u8; 32];

fn digest(token: &str) -> Digest32 {
    Sha256::digest(token.as_bytes()).into()
}

/// Whose a token is, and until when.
#[derive(Debug, Clone)]
struct Entry {
    login: AgentId,
    expires: Instant,
}

/// The live tokens.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    by_digest: HashMap<Digest32, Entry>,
    /// Size at which expired entries are swept next (amortised: doubles with the map).
    sweep_at: usize,
}

impl Tokens {
    /// Keeps a new token for `login` until `expires`.
    pub(super) fn insert(&mut self, token: &str, login: AgentId, expires: Instant, now: Instant) {
        if self.by_digest.len() >= self.sweep_at.max(1024) {
            self.by_digest.retain(|_, e| e.expires > now);
            self.sweep_at = self.by_digest.len().saturating_mul(2);
        }
        if self.by_digest.len() >= MAX_TOKENS {
            let soonest = self
                .by_digest
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(d, _)| *d);
            if let Some(d) = soonest {
                self.by_digest.remove(&d);
            }
        }
        self.by_digest
            .insert(digest(token), Entry { login, expires });
    }

    /// The login of a live token (an expired one is forgotten).
    pub(super) fn get(&mut self, token: &str, now: Instant) -> Option<AgentId> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let d = digest(token);
        let entry = self.by_digest.get(&d)?;
        if entry.expires > now {
            Some(entry.login.clone())
        } else {
            self.by_digest.remove(&d);
            None
        }
    }

    /// Forgets a token.
    pub(super) fn remove(&mut self, token: &str) {
        if token.len() <= MAX_TOKEN_LEN {
            self.by_digest.remove(&digest(token));
        }
    }

    /// Forgets every token of `login` (deleted agent, new password).
    pub(super) fn remove_login(&mut self, login: &AgentId) {
        self.by_digest.retain(|_, e| &e.login != login);
    }

    /// How many are kept.
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

    #[test]
    fn tokens_expire_and_are_revoked() {
        let mut t = Tokens::default();
        let now = Instant::now();
        t.insert("tok-1", anna(), now + Duration::from_secs(60), now);
        assert_eq!(t.get("tok-1", now), Some(anna()));
        assert_eq!(t.get("tok-2", now), None);
        assert_eq!(
            t.get("tok-1", now + Duration::from_secs(60)),
            None,
            "expired"
        );
        assert_eq!(t.len(), 0, "an expired token is forgotten");
        t.insert("tok-3", anna(), now + Duration::from_secs(60), now);
        t.remove("tok-3");
        assert_eq!(t.get("tok-3", now), None);
        t.insert("tok-4", anna(), now + Duration::from_secs(60), now);
        t.remove_login(&anna());
        assert_eq!(t.get("tok-4", now), None);
        assert_eq!(t.get(&"a".repeat(MAX_TOKEN_LEN + 1), now), None);
    }

    #[test]
    fn expired_tokens_are_swept_as_the_map_grows() {
        let mut t = Tokens::default();
        let now = Instant::now();
        for i in 0..1024 {
            t.insert(&format!("old-{i}"), anna(), now, now);
        }
        t.insert("new", anna(), now + Duration::from_secs(1), now);
        assert_eq!(t.len(), 1, "the expired ones went at the sweep");
    }

    #[test]
    fn the_map_is_bounded() {
        let mut t = Tokens::default();
        let now = Instant::now();
        for i in 0..MAX_TOKENS {
            let at = now + Duration::from_secs(10 + u64::try_from(i).unwrap_or(0));
            t.insert(&format!("t{i}"), anna(), at, now);
        }
        t.insert(
            "one-more",
            anna(),
            now + Duration::from_secs(1_000_000),
            now,
        );
        assert_eq!(t.len(), MAX_TOKENS);
        assert_eq!(t.get("t0", now), None, "the one closest to expiry went");
        assert_eq!(t.get("one-more", now), Some(anna()));
    }
}
