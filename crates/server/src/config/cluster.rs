//! The declaration of `[cluster]` (Parley's own: how the instances of a cluster on one
//! PostgreSQL reach each other) and its hand-written checks.

use std::path::PathBuf;

use super::declare::{config_section, DeclaredSection};
use super::urls::check_webhook_url;
use super::validate::ranges;
use super::{Config, ConfigProblem, Secret};

/// Minimum length of a configured cluster secret, in characters.
const MIN_CLUSTER_SECRET_CHARS: usize = 32;

config_section! {
    /// Parley's own: several instances on one PostgreSQL database (N+1). A request reaching
    /// an instance that does not hold its chat is forwarded to the instance that does, over
    /// HTTP (and WebSocket for the basic protocol), signed with the cluster secret. A single
    /// instance on SQLite never forwards.
    #[section("cluster")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Cluster {
        /// The base URL the other instances reach this one at, such as "http://10.0.0.5:8080":
        /// http:// or https://, a host and an optional port, no path. Unset means
        /// http://<[server] listen> when listen names an address; when listen is 0.0.0.0 or [::]
        /// and this is unset, this instance cannot be reached by its peers and they answer 503
        /// for its chats until they take them over (a warning says so at start).
        #[option("advertise-url", Url, unset, example = "http://10.0.0.5:8080")]
        pub advertise_url: Option<String>,

        /// The key forwarded requests are signed with (HMAC-SHA256), at least 32 characters, the
        /// same on every instance; never printed. Unset (the usual choice) means a 256-bit key
        /// created by the first instance in the store and read from there by the others: whoever
        /// reads the database is already trusted with every chat in it. Prefer
        /// PARLEY_CLUSTER__SECRET to a file when you set it.
        #[option("secret", Secret, unset, example = "0123456789abcdef0123456789abcdef")]
        pub secret: Option<Secret>,

        /// A PEM file of certificate authorities the instances' own certificates come from,
        /// for forwarding to peers whose advertise URL is https:// with certificates of a
        /// private CA. They are trusted besides the public roots (webpki-roots) and only for
        /// forwarding. Read at start; unset means the public roots only.
        #[option("ca-file", Path, unset, example = "/etc/parley/tls/cluster-ca.pem")]
        pub ca_file: Option<PathBuf>,
    }
}

/// The problems of `[cluster]`.
pub(super) fn problems(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = <Cluster as DeclaredSection>::SPEC.name;
    let c = &config.cluster;
    ranges(c, p);
    if let Some(url) = &c.advertise_url {
        let path = url
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .is_some_and(|rest| rest.contains(['/', '?', '#']));
        let why = check_webhook_url(url)
            .err()
            .or(path.then_some("has a path"));
        if let Some(why) = why {
            p.push(ConfigProblem::new(
                SECTION,
                "advertise-url",
                format!(
                    "{why}; it must be an http:// or https:// URL with a host and an optional \
                     port, such as \"http://10.0.0.5:8080\""
                ),
            ));
        }
    }
    if let Some(secret) = &c.secret {
        let n = secret.expose().chars().count();
        if n < MIN_CLUSTER_SECRET_CHARS {
            p.push(ConfigProblem::new(
                SECTION,
                "secret",
                format!("has {n} characters; it needs at least {MIN_CLUSTER_SECRET_CHARS}"),
            ));
        }
    }
}
