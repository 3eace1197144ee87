//! Parley's accept loop (rather than `axum::serve`, which has no connection cap and no
//! timeouts before a request): every client connection, HTTP or WebSocket, is counted
//! against `max-connections` and watched until it has a request or an upgrade.
//!
//! - At the cap, a new connection closes the one that has waited longest without a
//!   request in progress (table.rs); the accept loop never stalls and the kernel backlog
//!   never fills, so `/healthz` and live chats keep answering under a flood.
//! - A connection must complete its first request's headers within
//!   `user-register-timeout`, any request's headers within `request-header-timeout` of its
//!   first byte, and may stay idle between requests for `http-idle-timeout` (watch.rs).
//!   A request being handled has no listener deadline (long polls wait on purpose); its
//!   body may pause at most `http-idle-timeout` between two parts. An upgraded WebSocket
//!   leaves these deadlines: the basic protocol and the desktop have their own.
//! - HTTP/1.1 with upgrades only, as before (no cleartext HTTP/2: browsers speak it only
//!   over TLS, which a proxy in front of Parley terminates).
//! - On shutdown: stop accepting, close idle connections, let requests in progress
//!   finish (hyper's graceful shutdown), then return.

mod table;
mod watch;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;
use tracing::{debug, info, warn};

use crate::config::Settings;
use crate::counters::Counters;
use table::Table;
pub use watch::Timeouts;
use watch::{Busy, Watch, WatchedIo};

/// Files kept free of client connections when the cap is derived from the open files
/// limit: the store's pools (SQLite's writer and readers with their WAL files, or
/// PostgreSQL's pool), webhook deliveries, logs, the listener and the runtime's own.
const RESERVED_FILES: u64 = 256;

/// How far past the cap connections may be while the ones evicted to make room are still
/// closing (their tasks wait for a busy runtime); beyond it new ones are refused, so the
/// process stays within its open files limit (`RESERVED_FILES` is larger).
const EVICTION_SLACK: u64 = 64;

/// What the listener needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The effective connection cap.
    pub cap: u64,
    /// The connection deadlines.
    pub timeouts: Timeouts,
    /// How long a shutdown waits for the requests in progress.
    pub grace: Duration,
}

impl Limits {
    /// From `[settings]` and the process's open files limit (soft `RLIMIT_NOFILE`).
    pub fn from_settings(s: &Settings) -> Limits {
        let files = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(u64::MAX);
        let option = u64::try_from(s.max_connections).unwrap_or(u64::MAX);
        let cap = option.min(files.saturating_sub(RESERVED_FILES)).max(16);
        info!(
            cap,
            max_connections = option,
            open_files_limit = files,
            "connection cap: max-connections, within the open files limit"
        );
        Limits {
            cap,
            timeouts: Timeouts {
                register: Duration::from_secs(s.user_register_timeout_s),
                header: Duration::from_secs(s.request_header_timeout_s),
                idle: Duration::from_secs(s.http_idle_timeout_s),
            },
            // A long poll in progress may take flex-refresh-max-wait to answer.
            grace: Duration::from_secs(s.shutdown_timeout_s + s.flex_refresh_max_wait_s),
        }
    }
}

/// Accepts connections on `listener` and serves `router` on them until `stop` is
/// cancelled; returns once the connections have closed (or after `limits.grace`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    info!(
        register_timeout_s = limits.timeouts.register.as_secs(),
        header_timeout_s = limits.timeouts.header.as_secs(),
        idle_timeout_s = limits.timeouts.idle.as_secs(),
        "connection timeouts"
    );
    let table = Arc::new(Table::new(limits.cap, counters.clone()));
    let conns = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = stop.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                accept_failed(&e, &table, &stop).await;
                continue;
            }
        };
        let open = table.open();
        if open >= table.cap && (open >= table.cap + EVICTION_SLACK || !table.evict_one()) {
            // Every connection is busy, or too many evicted ones have not closed yet: the
            // newest one goes.
            counters.connections_shed.inc();
            debug!(%peer, "connection refused: max-connections reached");
            drop(tcp);
            continue;
        }
        // Counted at once, not when its task starts: under a burst the tasks lag the
        // accepts, and the cap must see every socket this process holds.
        let watch = Arc::new(Watch::new());
        let open = table.opened(&watch);
        debug!(conns = open, %peer, "connection opened");
        let io = WatchedIo::new(tcp, watch.clone(), table.clone());
        conns.spawn(connection(
            io,
            watch,
            peer,
            router.clone(),
            table.clone(),
            limits.timeouts,
            counters.clone(),
            stop.clone(),
        ));
    }
    drop(listener);
    conns.close();
    if tokio::time::timeout(limits.grace, conns.wait())
        .await
        .is_err()
    {
        warn!(
            open = conns.len(),
            "connections still busy after the shutdown grace; leaving them"
        );
    }
}

/// An accept error. Out of file descriptors, an idle connection makes room (else the
/// loop would spin on the same error); a connection reset before its accept is no error.
async fn accept_failed(e: &std::io::Error, table: &Table, stop: &CancellationToken) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    warn!(error = %e, open = table.open(), "accept failed");
    table.evict_one();
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(20)) => {}
        () = stop.cancelled() => {}
    }
}

/// Serves one connection until it closes, upgrades, expires or is evicted.
#[allow(clippy::too_many_arguments)]
async fn connection(
    io: WatchedIo,
    watch: Arc<Watch>,
    peer: SocketAddr,
    router: Router,
    table: Arc<Table>,
    timeouts: Timeouts,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    // No Nagle: a request often gets two small frames back (its event, then its ack), and
    // Nagle would hold the second until the client's delayed ACK (~40 ms).
    if let Err(e) = io.tcp().set_nodelay(true) {
        debug!(error = %e, "could not set TCP_NODELAY");
    }
    let io = TokioIo::new(io);
    let service = {
        let watch = watch.clone();
        let table = table.clone();
        hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let busy = Busy::start(watch.clone(), table.clone());
            // Handlers take the peer address with `ConnectInfo<SocketAddr>`.
            req.extensions_mut().insert(ConnectInfo(peer));
            let req = req.map(|body| TimeoutBody::new(timeouts.idle, body));
            let answer = router.clone().oneshot(req);
            async move {
                let resp = answer.await;
                drop(busy);
                Ok::<_, Infallible>(match resp {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                })
            }
        })
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    // The deadlines are the watch's: hyper's header timer also runs while a connection
    // waits for its next request, so it cannot tell a slow client from an idle one.
    http.header_read_timeout(None);
    let conn = http.serve_connection(io, service).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = watch.deadline(&timeouts);
        let wake = deadline.map_or_else(|| tokio::time::Instant::now() + timeouts.idle, |d| d.0);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = tokio::time::sleep_until(wake) => {
                if let Some((at, why)) = watch.deadline(&timeouts) {
                    if at <= tokio::time::Instant::now() {
                        counters.connections_timed_out.inc();
                        debug!(%peer, timeout = why.option(), "connection closed: timeout");
                        break;
                    }
                }
            }
            () = watch.changed.notified() => {}
            () = watch.evict.notified() => {
                debug!(%peer, "connection closed to make room (max-connections)");
                break;
            }
            () = stop.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    // Upgraded, its socket lives on in the WebSocket; either way the listener is done.
    watch.done.store(true, Ordering::Release);
}
