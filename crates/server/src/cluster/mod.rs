//! The instances of a cluster on one PostgreSQL database and the channel between them:
//! any instance answers any client by forwarding a request for a session another live
//! instance holds to that owner (docs/ha.md, "Any instance answers any client").
//!
//! This room holds what does not depend on a front door: the registration of this
//! instance in the store (renewed with the session leases), where a peer is reached
//! (looked up in the store, cached briefly), the cluster secret, and the signing and
//! checking of the forwarding header (`sign.rs`). The HTTP forwarding layer is
//! `forward.rs`; the basic protocol's WebSocket pipe is `basic/forward.rs`.
//!
//! A single node (SQLite) has no cluster: [`Cluster::start`] gives `None` and nothing
//! forwards.

pub mod sign;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_store::{AnyStore, ClusterStore, HealthStore, InstanceId, StoreError};
use tracing::{info, warn};

use crate::clock::now;
use crate::config::Config;
use crate::secrets;
pub use sign::{Forwarded, Refusal, HEADER};

/// How long a peer's URL (or its absence) is trusted before the store is asked again.
const PEER_CACHE: Duration = Duration::from_secs(2);

/// How long a peer that failed to answer stays known as down for logging: its failure
/// is logged at warn once in this time.
const DOWN_LOG: Duration = Duration::from_secs(60);

/// Most time a forwarded connection attempt may take: a live owner answers at once; a
/// dead one refuses the connection or does not answer, and the client is told to retry.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// This instance as a member of the cluster.
pub struct Cluster {
    /// This instance.
    pub me: InstanceId,
    /// Where the peers reach this instance; `None` when it cannot be reached (listening on
    /// an unspecified address with no `advertise-url`): then it still forwards to others,
    /// but nobody forwards to it.
    pub url: Option<String>,
    key: Vec<u8>,
    store: AnyStore,
    peers: Mutex<HashMap<InstanceId, (Option<String>, Instant)>>,
    nonces: Mutex<sign::Nonces>,
    /// Peers that failed to answer, and since when (for logging once).
    down: Mutex<HashMap<InstanceId, Instant>>,
    /// One client for every forwarded HTTP request (connections to peers are reused).
    pub client: reqwest::Client,
    /// Whom forwarding trusts over TLS (`[cluster] ca-file` besides the public roots), for
    /// the basic protocol's WebSocket to a peer as for `client`.
    pub tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("me", &self.me)
            .field("url", &self.url)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The URL peers reach an instance whose default listener is `bound` at: `advertise-url`
/// if set, else `<scheme>://<bound>` (`https` when that listener speaks TLS) unless
/// `bound` is an unspecified address.
pub fn advertised_url(config: &Config, (scheme, bound): (&str, SocketAddr)) -> Option<String> {
    if let Some(url) = &config.cluster.advertise_url {
        return Some(url.trim_end_matches('/').to_owned());
    }
    (!bound.ip().is_unspecified()).then(|| format!("{scheme}://{bound}"))
}

impl Cluster {
    /// Joins the cluster: reads (or creates) the cluster secret and registers this
    /// instance. `None` on a single-node store, where nothing is forwarded.
    pub async fn start(
        config: &Config,
        store: AnyStore,
        me: InstanceId,
        bound: (&str, SocketAddr),
        lease_ms: u64,
        longest_request: Duration,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Option<Cluster>, StoreError> {
        if store.single_node() {
            return Ok(None);
        }
        let key = match &config.cluster.secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => store
                .cluster_secret(&secrets::new_cluster_secret())
                .await?
                .into_bytes(),
        };
        let url = advertised_url(config, bound);
        match &url {
            Some(url) => {
                info!(%url, "cluster: peers forward requests for this instance's chats to it")
            }
            None => warn!(
                listen = %bound.1,
                "cluster: listening on an unspecified address and [cluster] advertise-url is \
                 unset: forwarding to this instance is off (the other instances answer 503 for \
                 its chats until they take them over); set advertise-url"
            ),
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(longest_request + Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .use_preconfigured_tls((*tls).clone())
            .build()
            .map_err(|e| StoreError::Backend(format!("cluster HTTP client: {e}")))?;
        let cluster = Cluster {
            me,
            url,
            key,
            store,
            peers: Mutex::default(),
            nonces: Mutex::default(),
            down: Mutex::default(),
            client,
            tls,
        };
        cluster.heartbeat(lease_ms).await?;
        Ok(Some(cluster))
    }

    /// Registers (or renews) this instance for `lease_ms`; an unreachable instance is
    /// not registered.
    pub async fn heartbeat(&self, lease_ms: u64) -> Result<(), StoreError> {
        let Some(url) = &self.url else { return Ok(()) };
        let now = now();
        self.store
            .register_instance(&self.me, url, now, now.plus_ms(lease_ms))
            .await
    }

    /// Leaves the cluster (graceful shutdown): peers stop forwarding here at once.
    pub async fn leave(&self) {
        if self.url.is_none() {
            return;
        }
        if let Err(e) = self.store.remove_instance(&self.me).await {
            warn!(error = %e, "cluster: could not deregister this instance");
        }
    }

    /// Where `owner` is reached, if it is a live, reachable instance other than this one.
    pub async fn peer_url(&self, owner: &InstanceId) -> Option<String> {
        if *owner == self.me {
            return None;
        }
        if let Some((url, at)) = self.lock_peers().get(owner) {
            if at.elapsed() < PEER_CACHE {
                return url.clone();
            }
        }
        let url = match self.store.instance_url(owner, now()).await {
            Ok(url) => url,
            Err(e) => {
                warn!(error = %e, "cluster: could not look up an instance");
                return None;
            }
        };
        self.lock_peers()
            .insert(owner.clone(), (url.clone(), Instant::now()));
        url
    }

    /// `owner` did not answer: for [`PEER_CACHE`] it counts as unreachable (requests for
    /// its sessions are refused at once, without a connection attempt each), then it is
    /// looked up again. True for the first failure in [`DOWN_LOG`]: the caller logs
    /// that one at warn, and the retries of a failover at debug.
    pub fn peer_down(&self, owner: &InstanceId) -> bool {
        self.lock_peers()
            .insert(owner.clone(), (None, Instant::now()));
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        down.retain(|_, at| at.elapsed() < DOWN_LOG);
        match down.entry(owner.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Instant::now());
                true
            }
        }
    }

    fn lock_peers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<InstanceId, (Option<String>, Instant)>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An error and its causes, for a log line (`reqwest` shows only the outermost).
    pub fn error_chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }

    /// The forwarding header for a request to `to`, on behalf of `client`.
    pub fn sign(&self, req: &sign::Request<'_>, to: &InstanceId, client: &str) -> String {
        sign::sign(
            &self.key,
            req,
            &self.me,
            to,
            now(),
            secrets::new_nonce(),
            client,
        )
    }

    /// Checks a forwarding header received by this instance.
    pub fn verify(&self, header: &str, req: &sign::Request<'_>) -> Result<Forwarded, Refusal> {
        let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        sign::verify(&self.key, header, req, &self.me, now(), &mut nonces)
    }
}
