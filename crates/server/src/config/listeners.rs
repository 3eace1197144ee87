//! The declarations of `[tls]` and `[listeners.<port-id>]` (Parley's own: where the front
//! doors listen and with which certificate), the port ids, and their checks.
//!
//! The front doors are grouped by the Genesys port ids (docs/decisions.md, "Listeners
//! and TLS"). `[server] listen` is the `default` listener: it serves every door whose
//! port id has no `[listeners.<port-id>]` of its own. The files are only named here;
//! they are read at start and on SIGHUP (`listen/tls.rs`), so a configuration is checked
//! without touching the disk.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::declare::{config_section, DeclaredSection};
use super::suggest::nearest;
use super::validate::show_str;
use super::{Config, ConfigProblem};

config_section! {
    /// Parley's own: TLS (HTTPS and WSS) on the default listener ([server] listen), read
    /// from PEM files at start and again on SIGHUP (new connections get the new certificate;
    /// open ones, WebSockets included, stay up; a file that fails to load keeps the old
    /// certificate). The [listeners.<port-id>] listeners use these files too unless they
    /// name their own. Both options or neither: with neither, the listeners speak plain HTTP
    /// (put a TLS-terminating proxy in front). TLS 1.2 and 1.3 with rustls' default cipher
    /// suites; HTTP/1.1 (ALPN "http/1.1").
    #[section("tls")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Tls {
        /// The certificate chain, PEM: the server's certificate first, then the intermediate
        /// certificates. Unset: no TLS on the default listener.
        #[option("cert-file", Path, unset, example = "/etc/parley/tls/fullchain.pem")]
        pub cert_file: Option<PathBuf>,

        /// The private key of the certificate, PEM (PKCS#8, PKCS#1 RSA or SEC1 EC). Readable by
        /// Parley only; never printed. Unset: no TLS on the default listener.
        #[option("key-file", Path, unset, example = "/etc/parley/tls/privkey.pem")]
        pub key_file: Option<PathBuf>,
    }
}

config_section! {
    /// Parley's own: a listener for the front doors of one
    /// Genesys port id, which the default listener ([server] listen) then no longer serves.
    /// Port ids:
    ///   webapi = the flex protocol (/flex/v1/..., files included) and GMS v2 (/genesys/...);
    ///   esp    = ESP requests from workflows (/esp/...);
    ///   health = /healthz, /readyz, /counters, /Counters, /metrics;
    ///   ui     = the web pages and widget files (/, /web/...), the agent desktop's
    ///            /agent/v1/... and the admin API /admin/v1/... (and /basic, which the
    ///            desktop speaks to its own address).
    /// The basic protocol (/basic) is the default port id's and stays on [server] listen.
    /// Every listener shares [settings] max-connections and the connection timeouts.
    ///
    /// Default: no section (every door on [server] listen). An example:
    #[section("listeners", key = "port-id", example_key = "esp")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ListenerConfig {
        /// The address and port of this listener. Required. Must differ from [server] listen
        /// and from the other listeners (port 0, any free port, excepted).
        #[option("listen", Addr, unset, example = "127.0.0.1:8081")]
        pub listen: Option<SocketAddr>,

        /// This listener's certificate chain, PEM; unset uses [tls] cert-file (and no TLS when
        /// that is unset too). Set with key-file.
        #[option("cert-file", Path, unset, example = "/etc/parley/tls/esp-fullchain.pem")]
        pub cert_file: Option<PathBuf>,

        /// This listener's private key, PEM; unset uses [tls] key-file. Set with cert-file.
        #[option("key-file", Path, unset, example = "/etc/parley/tls/esp-privkey.pem")]
        pub key_file: Option<PathBuf>,
    }
}

/// A Genesys port id: a group of front doors that can have a listener of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortId {
    /// The basic protocol (`/basic`), and every door not moved elsewhere.
    Default,
    /// The flex protocol, file transfer and the GMS v2 facade.
    Webapi,
    /// ESP requests from workflows.
    Esp,
    /// Liveness, readiness and counters.
    Health,
    /// Web pages, widget and desktop files, the desktop's and the admin API.
    Ui,
}

impl PortId {
    /// Every port id, `default` first.
    pub const ALL: [PortId; 5] = [
        PortId::Default,
        PortId::Webapi,
        PortId::Esp,
        PortId::Health,
        PortId::Ui,
    ];

    /// The port ids a `[listeners.<port-id>]` section may name.
    pub const MOVABLE: [PortId; 4] = [PortId::Webapi, PortId::Esp, PortId::Health, PortId::Ui];

    /// The name, as in `[listeners.<port-id>]` and the logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PortId::Default => "default",
            PortId::Webapi => "webapi",
            PortId::Esp => "esp",
            PortId::Health => "health",
            PortId::Ui => "ui",
        }
    }

    /// The port id called `name` (exactly).
    pub fn from_name(name: &str) -> Option<PortId> {
        PortId::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A certificate chain and its key, as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The PEM certificate chain.
    pub cert: PathBuf,
    /// The PEM private key.
    pub key: PathBuf,
}

/// One listener of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerPlan {
    /// Its port id (`default` for `[server] listen`).
    pub port: PortId,
    /// Where it listens.
    pub listen: SocketAddr,
    /// Its certificate, when it speaks TLS.
    pub tls: Option<TlsFiles>,
}

impl Config {
    /// The listeners, `default` (`[server] listen`) first, then the
    /// `[listeners.<port-id>]` ones in port id order. Call on a validated configuration.
    pub fn listener_plans(&self) -> Vec<ListenerPlan> {
        let shared = files(self.tls.cert_file.as_deref(), self.tls.key_file.as_deref());
        let mut plans = vec![ListenerPlan {
            port: PortId::Default,
            listen: self.server.listen,
            tls: shared.clone(),
        }];
        for port in PortId::MOVABLE {
            let Some(l) = self.listeners.get(port.as_str()) else {
                continue;
            };
            let Some(listen) = l.listen else { continue };
            let own = files(l.cert_file.as_deref(), l.key_file.as_deref());
            plans.push(ListenerPlan {
                port,
                listen,
                tls: own.or_else(|| shared.clone()),
            });
        }
        plans
    }

    /// The port ids served by their own listener.
    pub fn own_listeners(&self) -> Vec<PortId> {
        self.listener_plans()
            .into_iter()
            .map(|p| p.port)
            .filter(|p| *p != PortId::Default)
            .collect()
    }
}

fn files(cert: Option<&Path>, key: Option<&Path>) -> Option<TlsFiles> {
    Some(TlsFiles {
        cert: cert?.to_owned(),
        key: key?.to_owned(),
    })
}

/// The problems of `[tls]` and `[listeners.<port-id>]`.
pub(super) fn problems(config: &Config, p: &mut Vec<ConfigProblem>) {
    const TLS: &str = <Tls as DeclaredSection>::SPEC.name;
    pair(
        TLS,
        config.tls.cert_file.as_deref(),
        config.tls.key_file.as_deref(),
        p,
    );
    let mut seen: Vec<(SocketAddr, String)> =
        vec![(config.server.listen, "[server] listen".into())];
    for (name, l) in &config.listeners {
        let label = format!("{LISTENERS}.{name}");
        port_id(name, &label, p);
        pair(&label, l.cert_file.as_deref(), l.key_file.as_deref(), p);
        let Some(listen) = l.listen else {
            p.push(ConfigProblem::new(
                &label,
                "listen",
                format!(
                    "missing; every [{LISTENERS}.<port-id>] must set it: the address and port \
                     of the listener, such as 127.0.0.1:8081"
                ),
            ));
            continue;
        };
        if listen.port() != 0 {
            if let Some((_, other)) = seen.iter().find(|(a, _)| *a == listen) {
                p.push(
                    ConfigProblem::new(
                        &label,
                        "listen",
                        format!("is the address of {other}; each listener needs its own"),
                    )
                    .with_value(show_str(&listen.to_string())),
                );
            }
        }
        seen.push((listen, format!("[{label}]")));
    }
}

/// The listeners section: `[listeners.<port-id>]` tables.
const LISTENERS: &str = <ListenerConfig as DeclaredSection>::SPEC.name;

/// `name` must be a movable port id.
fn port_id(name: &str, label: &str, p: &mut Vec<ConfigProblem>) {
    let movable = || PortId::MOVABLE.iter().map(|p| p.as_str());
    let names = movable().collect::<Vec<_>>().join(", ");
    let message = match PortId::from_name(name) {
        Some(PortId::Default) => format!(
            "the default listener is [server] listen (with [tls]); a [{LISTENERS}.<port-id>] \
             section moves the doors of one of {names} to a listener of its own"
        ),
        Some(_) => return,
        None => {
            match nearest(name, movable()) {
                Some((known, _)) => {
                    format!("unknown port id; port ids are {names}; did you mean [{LISTENERS}.{known}]?")
                }
                None => format!("unknown port id; port ids are {names}"),
            }
        }
    };
    p.push(ConfigProblem::new(label, "", message));
}

/// `cert-file` and `key-file` of `section` go together, and neither may be empty.
fn pair(section: &str, cert: Option<&Path>, key: Option<&Path>, p: &mut Vec<ConfigProblem>) {
    for (option, value) in [("cert-file", cert), ("key-file", key)] {
        if value.is_some_and(|v| v.as_os_str().is_empty()) {
            p.push(ConfigProblem::new(section, option, "must not be empty"));
        }
    }
    let missing = match (cert, key) {
        (Some(_), None) => Some(("key-file", "cert-file")),
        (None, Some(_)) => Some(("cert-file", "key-file")),
        _ => None,
    };
    if let Some((missing, set)) = missing {
        p.push(ConfigProblem::new(
            section,
            missing,
            format!(
                "missing; {set} is set, and TLS needs both: set cert-file and key-file, or \
                 neither"
            ),
        ));
    }
}
