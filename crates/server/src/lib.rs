//! Parley's server: front doors, session actors, the persistence pipeline.
//!
//! Layout, lowest layer first (`scripts/check-layers` keeps the arrows pointing down;
//! docs/architecture.md has the map):
//! - `clock.rs`, `secrets.rs`, `counters/`, `proxies.rs`  the wall clock; ids and keys
//!   from the OS CSPRNG; KPI counters and the Prometheus registry; the client's address
//!   behind trusted proxies
//! - `config/`, `telemetry.rs`, `policy.rs`  the typed configuration (Genesys option
//!   names); tracing and log filters; what sessions need of the configuration
//! - `persist.rs`    group commit of transcript writes
//! - `limits/`       load limits: gauges, hysteresis, the reply-delay window
//! - `actor/`        one task per live session; the `Sessions` facade; restoration
//! - `webhooks/`     signed interaction events to integrators
//! - `masking/`     masking sensitive data: the `[transcript-cleanup]` policy and the
//!   rules per tenant (built-in, file, stored)
//! - `retention.rs`  the background purge of closed chats' transcripts, files and records
//! - `center/`       the routing service and the agent directory
//! - `state.rs`      the front doors' shared state (composition)
//! - `identity/`     verified visitor identity: what websites sign about their visitors
//! - `customer/`     operations shared by the customer front doors (sessions, files)
//! - front doors: `basic/` (WebSocket), `flex/` (HTTP long-poll), `gms/` (GMS v2),
//!   `agent/` (agent login and desktop WebSocket), `esp/` (workflows), `admin/`,
//!   `http/` (health, counters, web assets, HTTP error statuses, client address and
//!   origin checks)
//! - `cluster/`      the instances of a cluster: registry, secret, signed forwarding
//!   header; `forward.rs` the HTTP forwarding layer
//! - `router.rs`     routes; `listen/` the accept loop (connection cap and timeouts);
//!   `lib.rs` `run`, the one entry point (main and tests)

pub mod actor;
pub mod admin;
pub mod agent;
pub mod basic;
pub mod center;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod counters;
pub mod customer;
pub mod drain;
pub mod esp;
pub mod flex;
pub mod forward;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod gms;
pub mod http;
pub mod identity;
pub mod limits;
pub mod listen;
pub mod masking;
pub mod persist;
pub mod policy;
pub mod proxies;
pub mod retention;
pub mod router;
pub mod secrets;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parley_store::{HealthStore, InstanceId, TranscriptStore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::Config;
use crate::counters::Counters;
use crate::persist::{Pipeline, Retry};
use crate::policy::Policy;
use crate::state::{AppState, Shared};

/// Runs Parley on `listeners` until `shutdown` resolves, then drains: connections close,
/// session actors flush what they submitted (sessions stay alive in the store, to be
/// restored), and this instance gives up its leases.
///
/// `listeners` is every listener bound by [`listen::Listeners::bind`] (main), or just the
/// default one as a [`tokio::net::TcpListener`] (tests): then `run` binds the `[listeners.<port-id>]`
/// ones and loads the TLS certificates itself.
pub async fn run(
    config: Config,
    listeners: impl Into<listen::Listeners>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listeners = listeners.into().complete(&config)?;
    std::fs::create_dir_all(&config.server.data_dir).with_context(|| {
        format!(
            "while creating the data directory {}",
            config.server.data_dir.display()
        )
    })?;
    let url = config.store_url();
    let store = parley_store::open(&url)
        .await
        .context("while opening the store")?;
    let config = Arc::new(config);
    let policy = Arc::new(Policy::from_config(&config));
    let counters = Arc::new(Counters::default());
    let retry = Retry {
        attempts: config.settings.transcript_resend_attempts,
        delay: Duration::from_secs(config.settings.transcript_resend_delay_s),
    };
    let (pipeline, writer) = Pipeline::start(
        store.clone(),
        config.settings.commit_batch_max,
        retry,
        counters.clone(),
    )
    .context("while starting the transcript writer")?;
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let instance = InstanceId(secrets::new_instance_id());
    let limits = Arc::new(limits::Limits::new(&config.settings));
    let masking = masking::Masking::new(&config, store.clone())
        .context("while compiling the masking rules")?;
    let (sessions, facts) = actor::Sessions::new(
        pipeline,
        store.clone(),
        policy.clone(),
        counters.clone(),
        limits.clone(),
        masking.clone(),
        instance.clone(),
        token.clone(),
        tracker.clone(),
    );
    let (center, center_mailbox) = center::Center::new(
        center::Directory::start(&config, store.clone())
            .await
            .context("while loading the agent directory")?,
        webhooks::Webhooks::start(&config.webhooks),
        sessions.clone(),
        facts,
        store.clone(),
        config.clone(),
    );
    let shutdown_timeout = Duration::from_secs(config.settings.shutdown_timeout_s);
    let addr = listeners.default_listener().local_addr()?;
    let cluster = cluster::Cluster::start(
        &config,
        store.clone(),
        instance.clone(),
        (listeners.default_listener().scheme(), addr),
        policy.lease_ms,
        policy.flex_refresh_max_wait,
        listen::tls::peer_client_config(config.cluster.ca_file.as_deref())
            .context("while reading [cluster] ca-file")?,
    )
    .await
    .context("while joining the cluster")?
    .map(Arc::new);
    let state = Arc::new(Shared {
        masking,
        trusted_proxies: Arc::new(proxies::of(&config.web.trusted_proxies)),
        address_limits: Arc::new(throttle::AddressLimits::new(&config.rate_limits)),
        config,
        policy,
        store: store.clone(),
        sessions,
        counters,
        shutdown: token.clone(),
        tracker,
        center,
        drain: Arc::new(drain::Drain::default()),
        limits: limits.clone(),
        cluster,
    });
    if state.config.security.api_keys.is_empty() {
        warn!(
            "no [security] api-keys: only customers (CLIENT) can register over the basic protocol"
        );
    }
    center::spawn(state.center.clone(), center_mailbox);
    let leases = tokio::spawn(renew_leases(state.clone()));
    tokio::spawn(state.sessions.clone().adopt_orphans());
    tokio::spawn(finish_drain(state.clone()));
    tokio::spawn(limits::watch(limits, token.clone()));
    tokio::spawn(throttle::sweep(state.address_limits.clone(), token.clone()));
    tokio::spawn(http::counters_log::run(state.clone()));
    tokio::spawn(http::counters_log::upkeep(state.clone()));
    tokio::spawn(retention::run(
        store.clone(),
        state.config.clone(),
        state.counters.clone(),
        token.clone(),
    ));
    info!(%addr, instance = %instance.0, "parley listening");
    let served = serve_plan(&state, listeners)?;
    let stop = token.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let limits = listen::Limits::from_settings(&state.config.settings);
    listen::serve(served, limits, state.counters.clone(), token.clone()).await;

    info!("shutting down: draining sessions");
    state.tracker.close();
    if tokio::time::timeout(shutdown_timeout, state.tracker.wait())
        .await
        .is_err()
    {
        warn!("shutdown-timeout reached with work still running");
    }
    leases.abort();
    if let Some(cluster) = &state.cluster {
        cluster.leave().await;
    }
    writer.stop().await;
    // Webhook deliveries stop here; what is still queued is dropped (docs/webhooks.md).
    state.center.webhooks.shutdown();
    match store.release_leases(&instance).await {
        Ok(n) => info!(sessions = n, "leases released"),
        Err(e) => warn!(error = %e, "could not release leases"),
    }
    Ok(())
}

/// Each listener with its doors, logged.
fn serve_plan(
    state: &AppState,
    listeners: listen::Listeners,
) -> anyhow::Result<Vec<listen::Served>> {
    let own = state.config.own_listeners();
    let mut served = Vec::new();
    for l in listeners.into_list() {
        let doors: Vec<&str> = router::served_by(l.port, &own)
            .into_iter()
            .map(config::PortId::as_str)
            .collect();
        info!(
            port = %l.port,
            addr = %l.local_addr()?,
            scheme = l.scheme(),
            doors = %doors.join(", "),
            "listener"
        );
        served.push(listen::Served {
            port: l.port,
            router: router::for_listener(state.clone(), l.port, &own),
            tls: l.tls.as_ref().map(listen::Certificate::acceptor),
            tcp: l.tcp,
        });
    }
    Ok(served)
}

/// Once the instance is draining, ends it when its last session has ended, or when
/// `drain-timeout` has passed (the graceful shutdown then releases the leases, and the
/// other instances restore the sessions left, as after any graceful shutdown).
async fn finish_drain(state: AppState) {
    let limit = Duration::from_secs(state.config.settings.drain_timeout_s);
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        let Some(since) = state.drain.since() else {
            continue;
        };
        let left = state.sessions.live();
        if left == 0 {
            info!("drained: no session left; stopping");
            state.shutdown.cancel();
            return;
        }
        if !limit.is_zero() && since.elapsed() >= limit {
            warn!(
                sessions = left,
                "drain-timeout reached: handing the sessions left to the other instances"
            );
            state.shutdown.cancel();
            return;
        }
    }
}

/// Keeps this instance's claim on its live sessions (N+1 HA: a peer restores a session
/// only after its owner's lease has lapsed). A single-node store (SQLite) has no peer:
/// its claims and orphan sweeps ignore leases, so renewing them would only take the one
/// writer away from the transcript's group commit.
async fn renew_leases(state: AppState) {
    if state.store.single_node() {
        return;
    }
    let period = Duration::from_millis((state.policy.lease_ms / 3).max(1000));
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        let until = clock::now().plus_ms(state.policy.lease_ms);
        if let Err(e) = state
            .store
            .renew_leases(&state.sessions.instance, until)
            .await
        {
            warn!(error = %e, "lease renewal failed");
        }
        if let Some(cluster) = &state.cluster {
            if let Err(e) = cluster.heartbeat(state.policy.lease_ms).await {
                warn!(error = %e, "cluster registration renewal failed");
            }
        }
    }
}
