//! A small xorshift generator: the harness needs random choices (which instance dies,
//! database names), not cryptographic randomness, and the bench depends on no `rand`.

use std::sync::atomic::{AtomicU64, Ordering};

/// A seed from the clock and the process id.
pub fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed = nanos ^ (u64::from(std::process::id()) << 32) ^ 0x9e37_79b9_7f4a_7c15;
    mixed.max(1)
}

/// xorshift64*, shareable.
pub struct Rng(AtomicU64);

impl Rng {
    /// A generator from `seed` (0 is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(AtomicU64::new(seed.max(1)))
    }

    /// The next number.
    pub fn next(&self) -> u64 {
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_below_the_bound_and_vary() {
        let r = Rng::new(7);
        let v: Vec<u64> = (0..100).map(|_| r.below(3)).collect();
        assert!(v.iter().all(|&x| x < 3));
        assert!((0..3).all(|k| v.contains(&k)), "{v:?}");
    }
}
