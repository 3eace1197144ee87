//! The `X-Parley-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, Stripe-style.
//!
//! The MAC covers `"<t>.<raw body>"`, so a receiver that checks it knows the body came from
//! a holder of the secret *and* when it was signed: with a tolerance on `t` it can refuse a
//! captured request replayed later. Every attempt is signed afresh (a retry an hour later
//! carries a current `t`); the event id (`X-Parley-Event-Id`, also `id` in the body) stays
//! the same, which is what receivers de-duplicate on.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "X-Parley-Signature";

/// Name of the header carrying the event id (the body's `id`).
pub const EVENT_ID_HEADER: &str = "X-Parley-Event-Id";

/// The longest signature header [`verify`] reads. A real one is ~80 bytes; anything far
/// longer is refused before parsing, so a hostile header costs nothing.
const MAX_HEADER_BYTES: usize = 1024;

/// Signs bodies with one secret. The keyed HMAC state is computed once and cloned per
/// signature, so the secret itself is not kept as text. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct Signer {
    keyed: HmacSha256,
}

impl Signer {
    /// A signer for `secret` (any length: HMAC hashes long keys and pads short ones).
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            keyed: keyed(secret),
        }
    }

    /// The header value for `body` signed at `t` (unix seconds).
    pub fn header(&self, t: u64, body: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        feed(&mut mac, t, body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

/// Whether `header` (an `X-Parley-Signature` value) is a valid signature of `body` by
/// `secret`, made within `tolerance_s` seconds of `now_unix_s` (either side, for clock
/// skew). Several `v1=` entries may be present (a sender rotating secrets); one matching is
/// enough. Unknown entries are ignored. The MAC comparison is constant-time.
///
/// This is the check integrators implement; docs/webhooks.md shows it in Python and shell.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_unix_s: u64, tolerance_s: u64) -> bool {
    if header.len() > MAX_HEADER_BYTES {
        return false;
    }
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return false;
        };
        match key {
            "t" => match (t, value.parse::<u64>()) {
                (None, Ok(v)) => t = Some(v),
                _ => return false,
            },
            "v1" => {
                let mut digest = [0u8; 32];
                if hex::decode_to_slice(value, &mut digest).is_ok() {
                    candidates.push(digest);
                }
            }
            _ => {}
        }
    }
    let Some(t) = t else {
        return false;
    };
    if now_unix_s.abs_diff(t) > tolerance_s {
        return false;
    }
    let mut mac = keyed(secret);
    feed(&mut mac, t, body);
    // Every candidate is compared (no early exit), each in constant time.
    candidates.iter().fold(false, |found, digest| {
        mac.clone().verify_slice(digest).is_ok() | found
    })
}

/// The HMAC keyed with `secret`.
fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` only fails for MACs with a fixed
    // key size, which HMAC is not.
    HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length")
}

/// Feeds the signed text `"<t>.<body>"`.
fn feed(mac: &mut HmacSha256, t: u64, body: &[u8]) {
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"parley-test-secret-0123456789abcdef";
    const BODY: &[u8] = br#"{"id":"evt"}"#;
    /// `printf '%s' '1700000000.{"id":"evt"}' | openssl dgst -sha256 -hmac
    /// 'parley-test-secret-0123456789abcdef' -hex`
    const KNOWN: &str =
        "t=1700000000,v1=f9c9bfa142b137540937a61f31c340a76cbd78560717fa5749f78fd6b04fac5b";

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mut mac = keyed(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn header_matches_the_openssl_vector() {
        assert_eq!(Signer::new(SECRET).header(1_700_000_000, BODY), KNOWN);
    }

    #[test]
    fn verify_accepts_the_vector_within_tolerance_only() {
        assert!(verify(SECRET, KNOWN, BODY, 1_700_000_000, 0));
        assert!(verify(SECRET, KNOWN, BODY, 1_700_000_300, 300));
        assert!(verify(SECRET, KNOWN, BODY, 1_699_999_700, 300));
        assert!(!verify(SECRET, KNOWN, BODY, 1_700_000_301, 300));
        assert!(!verify(SECRET, KNOWN, BODY, 1_699_999_699, 300));
    }

    #[test]
    fn verify_refuses_wrong_secret_tampered_body_and_forged_time() {
        let now = 1_700_000_000;
        assert!(!verify(b"another-secret", KNOWN, BODY, now, 300));
        assert!(!verify(SECRET, KNOWN, br#"{"id":"evu"}"#, now, 300));
        let moved = KNOWN.replace("t=1700000000", "t=1700000001");
        assert!(!verify(SECRET, &moved, BODY, now, 300));
    }

    #[test]
    fn verify_accepts_any_matching_v1_and_ignores_unknown_entries() {
        let good = &KNOWN["t=1700000000,".len()..];
        let rotated = format!("t=1700000000,v1={},{good},v0=zz", "00".repeat(32));
        assert!(verify(SECRET, &rotated, BODY, 1_700_000_000, 0));
    }

    #[test]
    fn verify_refuses_malformed_headers() {
        let now = 1_700_000_000;
        for bad in [
            "",
            "t=1700000000",
            "v1=f9c9bfa142b137540937a61f31c340a76cbd78560717fa5749f78fd6b04fac5b",
            "t=abc,v1=00",
            "t=1700000000,t=1700000000,v1=00",
            "t=1700000000,v1=f9c9",
            "t=1700000000;v1=00",
            "garbage",
        ] {
            assert!(!verify(SECRET, bad, BODY, now, 300), "{bad:?}");
        }
        let long = format!("{KNOWN},{}", "x=y,".repeat(400));
        assert!(!verify(SECRET, &long, BODY, now, 300));
    }
}
