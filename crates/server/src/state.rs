//! The shared state of the front doors: composition at the top. Each part is built in
//! `lib.rs` and given to what uses it — the session actors get [`Sessions`], the routing
//! service its [`Center`] — so no lower room needs this one.

use std::sync::Arc;

use parley_store::AnyStore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::actor::Sessions;
use crate::center::Center;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::counters::Counters;
use crate::drain::Drain;
use crate::limits::Limits;
use crate::masking::Masking;
use crate::policy::Policy;
use crate::proxies::TrustedProxies;
use crate::throttle::AddressLimits;

/// Shared by every connection.
pub type AppState = Arc<Shared>;

/// Everything the front doors share.
pub struct Shared {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Resolved policy.
    pub policy: Arc<Policy>,
    /// The store (reads of interactions, contacts, documents).
    pub store: AnyStore,
    /// The chat sessions: find, create, call.
    pub sessions: Sessions,
    /// Counters for `/counters`.
    pub counters: Arc<Counters>,
    /// Fires on shutdown.
    pub shutdown: CancellationToken,
    /// Connections (and session actors), awaited on shutdown.
    pub tracker: TaskTracker,
    /// Routing, agents, webhooks.
    pub center: Arc<Center>,
    /// Whether the instance is draining.
    pub drain: Arc<Drain>,
    /// Load limits: whether new sessions, restorations and flex logins are refused.
    pub limits: Arc<Limits>,
    /// This instance in its cluster (forwarding to sessions' owners); `None` on a single
    /// node.
    pub cluster: Option<Arc<Cluster>>,
    /// Whose forwarding headers name the client (`[web] trusted-proxies`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Rate limits by client address (`[rate-limits]`).
    pub address_limits: Arc<AddressLimits>,
    /// Masking sensitive data: the `[transcript-cleanup]` policy and the rules per tenant.
    pub masking: Arc<Masking>,
}
