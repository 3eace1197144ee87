//! The header that authenticates a forwarded request: who sent it, to which instance,
//! when, a nonce, the original client's address, and an HMAC-SHA256 over all of that,
//! the method, the path and query, and the SHA-256 of the body. Pure: the key, the clock
//! reading and the replay cache are given.
//!
//! Wire form (`x-parley-forwarded`), one line of `name=value` pairs separated by `;`:
//! `v1;from=<id>;to=<id>;t=<unix ms>;n=<32 hex>;c=<client address>;mac=<64 hex>`.

use std::collections::{HashMap, VecDeque};

use hmac::{Hmac, Mac};
use parley_core::UnixMillis;
use parley_store::InstanceId;
use sha2::{Digest, Sha256};

/// The header a forwarded request carries. Never accepted from a client: a request with
/// it that does not verify is refused, and one that does is known to come from a peer.
pub const HEADER: &str = "x-parley-forwarded";

/// How far a forwarded request's time may be from the receiver's clock, either way.
pub const SKEW_MS: i64 = 30_000;

/// Nonces remembered at most; a receiver that has seen more within the window refuses
/// new forwarded requests until old ones age out (`Refusal::Busy`).
pub const MAX_NONCES: usize = 262_144;

/// What a verified header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The sending instance.
    pub from: InstanceId,
    /// The original client's address, as the sender saw it (for logs).
    pub client: String,
}

/// Why a forwarded request was refused. Each has a stable name in the refusal's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The header cannot be parsed.
    #[error("malformed forwarding header")]
    Malformed,
    /// The MAC does not match: forged, altered, or signed with another key.
    #[error("bad forwarding signature")]
    BadMac,
    /// Signed for another instance.
    #[error("forwarded request addressed to another instance")]
    Misdirected,
    /// The timestamp is more than [`SKEW_MS`] away.
    #[error("stale forwarded request")]
    Stale,
    /// The nonce was seen within the window: a replay.
    #[error("replayed forwarded request")]
    Replayed,
    /// Too many forwarded requests within the window to remember them all.
    #[error("too many forwarded requests; retry")]
    Busy,
    /// This instance does not take forwarded requests (single node, or forwarding off).
    #[error("this instance takes no forwarded requests")]
    Off,
}

/// What the MAC covers besides the header's own fields.
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// Path and query, as sent.
    pub path_and_query: &'a str,
    /// The body.
    pub body: &'a [u8],
}

/// The header's fields.
struct Fields<'a> {
    from: &'a str,
    to: &'a str,
    t: i64,
    nonce: &'a str,
    client: &'a str,
}

fn mac_of(key: &[u8], req: &Request<'_>, f: &Fields<'_>) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    let body = hex::encode(Sha256::digest(req.body));
    for part in [
        "parley-forward-v1",
        req.method,
        req.path_and_query,
        f.from,
        f.to,
        &f.t.to_string(),
        f.nonce,
        f.client,
        &body,
    ] {
        mac.update(part.as_bytes());
        mac.update(b"\n");
    }
    mac
}

/// The header value for `req`, sent by `from` to `to` at `now`, on behalf of `client`.
/// `nonce` is 16 random bytes.
pub fn sign(
    key: &[u8],
    req: &Request<'_>,
    from: &InstanceId,
    to: &InstanceId,
    now: UnixMillis,
    nonce: [u8; 16],
    client: &str,
) -> String {
    // The client address goes in a `;`-separated line: keep it to what an address has.
    let client: String = client
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
        .take(64)
        .collect();
    let nonce = hex::encode(nonce);
    let f = Fields {
        from: &from.0,
        to: &to.0,
        t: now.0,
        nonce: &nonce,
        client: &client,
    };
    let mac = hex::encode(mac_of(key, req, &f).finalize().into_bytes());
    format!(
        "v1;from={};to={};t={};n={};c={};mac={mac}",
        f.from, f.to, f.t, f.nonce, f.client
    )
}

/// Checks a header received by `me` at `now`: the MAC first (so nothing unauthenticated
/// reaches the nonce cache), then the target, the time, and that the nonce is new.
pub fn verify(
    key: &[u8],
    header: &str,
    req: &Request<'_>,
    me: &InstanceId,
    now: UnixMillis,
    nonces: &mut Nonces,
) -> Result<Forwarded, Refusal> {
    let mut parts = header.split(';');
    if parts.next() != Some("v1") {
        return Err(Refusal::Malformed);
    }
    let mut field = |name: &str| {
        parts
            .next()
            .and_then(|p| p.strip_prefix(name))
            .and_then(|p| p.strip_prefix('='))
            .ok_or(Refusal::Malformed)
    };
    let (from, to, t, nonce, client, mac) = (
        field("from")?,
        field("to")?,
        field("t")?,
        field("n")?,
        field("c")?,
        field("mac")?,
    );
    let t: i64 = t.parse().map_err(|_| Refusal::Malformed)?;
    let mac = hex::decode(mac).map_err(|_| Refusal::Malformed)?;
    if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::Malformed);
    }
    let f = Fields {
        from,
        to,
        t,
        nonce,
        client,
    };
    // `verify_slice` compares in constant time.
    mac_of(key, req, &f)
        .verify_slice(&mac)
        .map_err(|_| Refusal::BadMac)?;
    if to != me.0 {
        return Err(Refusal::Misdirected);
    }
    // `t` is the sender's to choose: its distance from `now` cannot overflow.
    if now.0.abs_diff(t) > SKEW_MS.unsigned_abs() {
        return Err(Refusal::Stale);
    }
    nonces.insert(nonce, now)?;
    Ok(Forwarded {
        from: InstanceId(from.to_owned()),
        client: client.to_owned(),
    })
}

/// The nonces seen within the last two skew windows (a request is accepted up to
/// [`SKEW_MS`] either side of the receiver's clock, so a nonce must be remembered that
/// long after it was seen), bounded by [`MAX_NONCES`].
#[derive(Default)]
pub struct Nonces {
    seen: HashMap<String, UnixMillis>,
    order: VecDeque<(UnixMillis, String)>,
}

impl Nonces {
    /// Remembers `nonce` seen at `now`; refuses one already seen.
    fn insert(&mut self, nonce: &str, now: UnixMillis) -> Result<(), Refusal> {
        while let Some((at, _)) = self.order.front() {
            if now.0.saturating_sub(at.0) <= 2 * SKEW_MS {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(nonce) {
            return Err(Refusal::Replayed);
        }
        if self.seen.len() >= MAX_NONCES {
            return Err(Refusal::Busy);
        }
        self.seen.insert(nonce.to_owned(), now);
        self.order.push_back((now, nonce.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const T: UnixMillis = UnixMillis(1_700_000_000_000);

    fn a() -> InstanceId {
        InstanceId("aaaa".into())
    }
    fn b() -> InstanceId {
        InstanceId("bbbb".into())
    }
    fn req(body: &[u8]) -> Request<'_> {
        Request {
            method: "POST",
            path_and_query: "/genesys/2/chat/s/c1/send/?x=1",
            body,
        }
    }

    fn signed(nonce: u8) -> String {
        sign(
            KEY,
            &req(b"message=hi"),
            &a(),
            &b(),
            T,
            [nonce; 16],
            "10.0.0.1:5555",
        )
    }

    #[test]
    fn a_signed_request_verifies_once() {
        let mut n = Nonces::default();
        let header = signed(1);
        let got = verify(KEY, &header, &req(b"message=hi"), &b(), T, &mut n);
        assert_eq!(
            got,
            Ok(Forwarded {
                from: a(),
                client: "10.0.0.1:5555".into()
            })
        );
        assert_eq!(
            verify(KEY, &header, &req(b"message=hi"), &b(), T, &mut n),
            Err(Refusal::Replayed)
        );
    }

    #[test]
    fn anything_altered_is_refused() {
        let mut n = Nonces::default();
        let header = signed(2);
        let check = |h: &str, r: &Request<'_>, n: &mut Nonces| verify(KEY, h, r, &b(), T, n);
        assert_eq!(
            check(&header, &req(b"message=ho"), &mut n),
            Err(Refusal::BadMac)
        );
        let other_path = Request {
            path_and_query: "/genesys/2/chat/s/c2/send/",
            ..req(b"message=hi")
        };
        assert_eq!(check(&header, &other_path, &mut n), Err(Refusal::BadMac));
        let other_client = header.replace("c=10.0.0.1:5555", "c=10.0.0.2:5555");
        assert_eq!(
            check(&other_client, &req(b"message=hi"), &mut n),
            Err(Refusal::BadMac)
        );
        let other_key = verify(
            b"another key",
            &header,
            &req(b"message=hi"),
            &b(),
            T,
            &mut n,
        );
        assert_eq!(other_key, Err(Refusal::BadMac));
        assert_eq!(
            check("v1;from=x", &req(b""), &mut n),
            Err(Refusal::Malformed)
        );
        assert_eq!(check("", &req(b""), &mut n), Err(Refusal::Malformed));
        // None of these used up the nonce.
        assert!(check(&header, &req(b"message=hi"), &mut n).is_ok());
    }

    #[test]
    fn misdirected_and_stale_requests_are_refused() {
        let mut n = Nonces::default();
        let r = req(b"message=hi");
        assert_eq!(
            verify(KEY, &signed(3), &r, &a(), T, &mut n),
            Err(Refusal::Misdirected)
        );
        let late = T.plus_ms(SKEW_MS as u64 + 1);
        assert_eq!(
            verify(KEY, &signed(4), &r, &b(), late, &mut n),
            Err(Refusal::Stale)
        );
        let early = UnixMillis(T.0 - SKEW_MS - 1);
        assert_eq!(
            verify(KEY, &signed(5), &r, &b(), early, &mut n),
            Err(Refusal::Stale)
        );
        let in_window = T.plus_ms(SKEW_MS as u64);
        assert!(verify(KEY, &signed(6), &r, &b(), in_window, &mut n).is_ok());
    }

    #[test]
    fn times_at_the_ends_of_the_range_are_stale_not_a_panic() {
        // `(now - t).abs()` overflowed for a `t` far from `now` (a peer holding the key
        // chooses `t`; fuzz/fuzz_targets/cluster.rs signs any `t`): a panic in debug builds.
        let r = req(b"message=hi");
        for (t, now) in [(i64::MIN, T.0), (i64::MAX, -1), (i64::MIN, i64::MAX)] {
            let mut n = Nonces::default();
            let header = sign(KEY, &r, &a(), &b(), UnixMillis(t), [7; 16], "c");
            assert_eq!(
                verify(KEY, &header, &r, &b(), UnixMillis(now), &mut n),
                Err(Refusal::Stale)
            );
        }
    }

    #[test]
    fn nonces_age_out_and_are_bounded() {
        let mut n = Nonces::default();
        n.insert("x", T).expect("new");
        assert_eq!(n.insert("x", T.plus_ms(60_000)), Err(Refusal::Replayed));
        // Two windows later the nonce is forgotten (its request is stale by then anyway).
        n.insert("x", T.plus_ms(60_001)).expect("forgotten");
        for i in 0..MAX_NONCES - 1 {
            n.insert(&i.to_string(), T.plus_ms(60_001)).expect("room");
        }
        assert_eq!(n.insert("full", T.plus_ms(60_001)), Err(Refusal::Busy));
        n.insert("later", T.plus_ms(200_000)).expect("aged out");
    }
}
