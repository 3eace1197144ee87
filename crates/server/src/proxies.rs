//! Which reverse proxies are believed about the client's address, and the address they
//! report. Behind a proxy every TCP peer is the proxy, so anything that limits or logs by
//! address (failed logins, above all) would treat every client as one. The proxies listed
//! in `[web] trusted-proxies` are believed: the client is the nearest address in their
//! `Forwarded` (RFC 7239) or else `X-Forwarded-For` chain that is not itself a trusted
//! proxy. A peer that is not trusted is the client, whatever headers it sends, so nobody
//! can spoof an address by sending the header directly.

use std::net::{IpAddr, SocketAddr};

use axum::http::{header, HeaderMap};
use ipnet::IpNet;

/// Most forwarding hops read from a request's headers: a chain longer than any real
/// deployment's cannot make a request cost more.
const MAX_HOPS: usize = 32;

/// The proxies whose forwarding headers are believed (`[web] trusted-proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From the option's entries: addresses (`10.0.0.7`, `::1`) or networks
    /// (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| parse_net(e).ok_or_else(|| e.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted; then, walking the
    /// forwarding chain from the nearest hop, the first address that is not trusted. A
    /// hop that is not an address (`unknown`, an obfuscated name) ends the walk at the
    /// last address known: nothing before it can be believed.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops = forwarded_for(headers);
        for hop in hops.iter().rev().take(MAX_HOPS) {
            match hop {
                Some(ip) => client = canonical(*ip),
                None => break,
            }
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:192.0.2.1`, what a dual-stack listener
/// reports) is that IPv4 address: the same client, the same entry in the limits.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Whether an entry of `trusted-proxies` is an address or a network (for validation).
pub fn is_proxy_entry(entry: &str) -> bool {
    parse_net(entry).is_some()
}

/// The `for` addresses of the forwarding headers, farthest first: `Forwarded` when the
/// request has one, else `X-Forwarded-For`. `None` stands for a hop that names no
/// address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| node_address(v))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(node_address)
        .collect()
}

/// The address of one hop: `192.0.2.1`, `"192.0.2.1:4711"`, `"[2001:db8::1]:4711"`,
/// `2001:db8::1`.
fn node_address(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    v.parse::<IpAddr>()
        .ok()
        .or_else(|| v.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The trusted proxies of a configuration (validated at load, so they parse).
pub fn of(entries: &[String]) -> TrustedProxies {
    TrustedProxies::parse(entries).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(p.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let h = headers(&[("forwarded", "for=203.0.113.9")]);
        assert_eq!(p.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.7"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 10.1.2.3")]);
        assert_eq!(p.client(ip("192.0.2.7"), &h), ip("203.0.113.9"));
        // A client prepending a made-up address is not believed past the first
        // untrusted hop.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Several headers are one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_wins_and_its_forms_parse() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[
            ("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;by=10.0.0.2, For=\"10.0.0.3:80\"",
        )]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("192.0.2.60"));
    }

    #[test]
    fn a_hop_without_an_address_ends_the_walk() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("forwarded", "for=203.0.113.9, for=unknown")]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers(&[("x-forwarded-for", "garbage, 10.0.0.5")]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn mapped_ipv4_is_ipv4() {
        let p = proxies(&["127.0.0.1"]);
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        assert_eq!(p.client(ip("::ffff:127.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn entries_are_addresses_or_networks() {
        assert!(is_proxy_entry("10.0.0.0/8"));
        assert!(is_proxy_entry("::1"));
        assert!(is_proxy_entry(" 192.0.2.7 "));
        assert!(!is_proxy_entry("proxy.example"));
        assert!(!is_proxy_entry("10.0.0.0/33"));
    }
}
