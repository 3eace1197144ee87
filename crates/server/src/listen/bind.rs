//! The listeners of an instance: the default one (`[server] listen`) and one per
//! `[listeners.<port-id>]`, each bound with a large backlog and, when configured, with its
//! TLS certificate loaded. `main.rs` binds them all before `run` (so it can print where
//! it listens and reload the certificates on SIGHUP); tests hand `run` a bound
//! [`TcpListener`] and `run` completes the rest from the configuration.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use super::tls::{Certificate, Reloader};
use crate::config::{Config, PortId, TlsFiles};

/// Room in the kernel's queue of connections waiting for `accept` (capped by
/// `net.core.somaxconn`): with the default 1,024 a burst of connects (thousands of clients
/// coming back after a restart, a flood) overflows it and a dropped SYN costs the client
/// a 1 s retransmission, `/healthz` probes included (docs/BENCHMARKS.md, "Idle and
/// slowloris connections").
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` (SO_REUSEADDR, as `TcpListener::bind`) with [`LISTEN_BACKLOG`].
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// One bound listener.
#[derive(Debug)]
pub struct Listener {
    /// The doors it is for (`default`: also every port id without a listener of its own).
    pub port: PortId,
    /// The socket.
    pub tcp: TcpListener,
    /// Its certificate, when it speaks TLS.
    pub tls: Option<Arc<Certificate>>,
}

impl Listener {
    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// The listeners `run` serves.
#[derive(Debug)]
pub struct Listeners {
    /// `default` first.
    list: Vec<Listener>,
    /// Whether the certificates have been loaded (by [`Listeners::bind`] or
    /// [`Listeners::complete`]).
    loaded: bool,
}

impl From<TcpListener> for Listeners {
    /// The default listener, bound by the caller; `run` binds the others and loads the
    /// certificates from the configuration.
    fn from(tcp: TcpListener) -> Listeners {
        Listeners {
            list: vec![Listener {
                port: PortId::Default,
                tcp,
                tls: None,
            }],
            loaded: false,
        }
    }
}

impl Listeners {
    /// Binds every listener of `config` and loads their certificates. The errors name
    /// the address or the file.
    pub fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let mut list = Vec::new();
        for plan in config.listener_plans() {
            let tcp = bind(plan.listen).with_context(|| {
                format!("while binding {} (the {} listener)", plan.listen, plan.port)
            })?;
            list.push(Listener {
                port: plan.port,
                tcp,
                tls: None,
            });
        }
        Listeners {
            list,
            loaded: false,
        }
        .complete(config)
    }

    /// Binds the listeners of `config` not bound yet and loads the certificates, once.
    pub(crate) fn complete(mut self, config: &Config) -> anyhow::Result<Listeners> {
        let plans = config.listener_plans();
        for plan in &plans {
            if self.list.iter().any(|l| l.port == plan.port) {
                continue;
            }
            let tcp = bind(plan.listen).with_context(|| {
                format!("while binding {} (the {} listener)", plan.listen, plan.port)
            })?;
            self.list.push(Listener {
                port: plan.port,
                tcp,
                tls: None,
            });
        }
        if !self.loaded {
            // Listeners naming the same files share one certificate (one reload each).
            let mut loaded: Vec<(&TlsFiles, Arc<Certificate>)> = Vec::new();
            for l in &mut self.list {
                let Some(files) = plans
                    .iter()
                    .find(|p| p.port == l.port)
                    .and_then(|p| p.tls.as_ref())
                else {
                    continue;
                };
                let cert = match loaded.iter().find(|(f, _)| *f == files) {
                    Some((_, c)) => c.clone(),
                    None => {
                        let c = Certificate::load(files).with_context(|| {
                            format!(
                                "while loading the TLS certificate of the {} listener",
                                l.port
                            )
                        })?;
                        loaded.push((files, c.clone()));
                        c
                    }
                };
                l.tls = Some(cert);
            }
            self.loaded = true;
        }
        Ok(self)
    }

    /// The listeners, `default` first.
    pub fn iter(&self) -> impl Iterator<Item = &Listener> {
        self.list.iter()
    }

    /// The default listener.
    pub fn default_listener(&self) -> &Listener {
        &self.list[0]
    }

    /// What reloads every certificate (SIGHUP).
    pub fn reloader(&self) -> Reloader {
        let mut certs: Vec<Arc<Certificate>> = Vec::new();
        for c in self.list.iter().filter_map(|l| l.tls.as_ref()) {
            if !certs.iter().any(|known| Arc::ptr_eq(known, c)) {
                certs.push(c.clone());
            }
        }
        Reloader::new(certs)
    }

    pub(crate) fn into_list(self) -> Vec<Listener> {
        self.list
    }
}
