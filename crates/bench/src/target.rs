//! Where the load goes, and from where. Our workplace forbids load on anything but this
//! machine, so every target must resolve to a loopback address; the check is here, once,
//! before any socket is opened. Tens of thousands of connections to one server port need
//! more than one source address (each source address has only ~28,000 ephemeral ports),
//! so connections are spread over 127.0.0.1, 127.0.0.2, ... — all of 127.0.0.0/8 is
//! loopback on Linux.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context};
use tokio::net::{TcpSocket, TcpStream};

/// Connections one source address may carry, with head room below the default ephemeral
/// range (32768-60999).
pub const CONNS_PER_SOURCE: usize = 20_000;

/// Resolves `addr` and refuses it unless every address it names is loopback.
pub fn resolve_loopback(addr: &str) -> anyhow::Result<SocketAddr> {
    let all: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .with_context(|| format!("while resolving {addr}"))?
        .collect();
    let Some(first) = all.first().copied() else {
        bail!("{addr} resolves to nothing");
    };
    if let Some(bad) = all.iter().find(|a| !a.ip().is_loopback()) {
        bail!(
            "refusing target {addr} ({}): parley-bench only loads loopback addresses \
             (127.0.0.0/8 or ::1)",
            bad.ip()
        );
    }
    Ok(first)
}

/// The server's address and the source addresses connections are spread over.
pub struct Target {
    /// The server (loopback).
    pub addr: SocketAddr,
    sources: Vec<IpAddr>,
    next: AtomicUsize,
}

impl Target {
    /// `sources` source addresses (127.0.0.1, .2, ...) for an IPv4 target; `::1` alone for
    /// IPv6. Fails if `addr` is not loopback.
    pub fn new(addr: SocketAddr, sources: usize) -> anyhow::Result<Target> {
        if !addr.ip().is_loopback() {
            bail!("refusing non-loopback target {addr}");
        }
        let sources = match addr.ip() {
            IpAddr::V4(_) => (1..=sources.clamp(1, 254))
                .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i as u8)))
                .collect(),
            IpAddr::V6(v6) => vec![IpAddr::V6(v6)],
        };
        Ok(Target {
            addr,
            sources,
            next: AtomicUsize::new(0),
        })
    }

    /// Source addresses in use.
    pub fn sources(&self) -> &[IpAddr] {
        &self.sources
    }

    /// The next source address, round robin.
    pub fn next_source(&self) -> IpAddr {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.sources[i % self.sources.len()]
    }

    /// A TCP connection to the server from the next source address, with Nagle off so a
    /// small frame is not held back waiting for an ACK (that would add up to 40 ms of
    /// delayed-ACK latency that is ours, not the server's).
    pub async fn connect(&self) -> anyhow::Result<TcpStream> {
        let source = self.next_source();
        let socket = match self.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .context("while creating a socket")?;
        socket
            .bind(SocketAddr::new(source, 0))
            .with_context(|| format!("while binding source address {source}"))?;
        let stream = socket
            .connect(self.addr)
            .await
            .with_context(|| format!("while connecting to {} from {source}", self.addr))?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Source addresses needed for `connections` connections.
pub fn sources_for(connections: usize) -> usize {
    connections.div_ceil(CONNS_PER_SOURCE).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(resolve_loopback("127.0.0.1:8080").is_ok());
        assert!(resolve_loopback("127.3.4.5:1").is_ok());
        assert!(resolve_loopback("[::1]:8080").is_ok());
        assert!(resolve_loopback("10.0.0.1:8080").is_err());
        assert!(resolve_loopback("192.168.1.1:80").is_err());
        assert!(resolve_loopback("8.8.8.8:53").is_err());
        assert!(resolve_loopback("0.0.0.0:80").is_err());
        assert!(Target::new("10.1.2.3:80".parse().unwrap(), 1).is_err());
    }

    #[test]
    fn connections_spread_over_several_source_addresses() {
        assert_eq!(sources_for(10), 1);
        assert_eq!(sources_for(100_000), 5);
        let t = Target::new("127.0.0.1:9".parse().unwrap(), 3).unwrap();
        let got: Vec<String> = (0..4).map(|_| t.next_source().to_string()).collect();
        assert_eq!(got, ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1"]);
    }
}
