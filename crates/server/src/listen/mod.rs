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
//! - With TLS (`tls.rs`), the handshake runs inside the same watch: a client that opens a
//!   connection and never finishes its handshake is closed by `user-register-timeout` (or
//!   `request-header-timeout` from its first byte), and is evictable, like one that never
//!   sends its headers.
//! - HTTP/1.1 with upgrades only, with or without TLS (ALPN `http/1.1`): the WebSocket
//!   doors upgrade HTTP/1.1 requests.
//! - Several listeners (`bind.rs`: the default one and one per `[listeners.<port-id>]`)
//!   share one connection cap, one set of timeouts and one shutdown.
//! - On shutdown: stop accepting, close idle connections, let requests in progress
//!   finish (hyper's graceful shutdown), then return.
//!
//! Layout: `bind.rs` the listeners and their certificates; `tls.rs` certificates from
//! PEM files and their reload; `conn.rs` one connection (handshake, HTTP, deadlines);
//! `table.rs` the cap and eviction; `watch.rs` one connection's state.

mod bind;
mod conn;
mod table;
pub mod tls;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::{PortId, Settings};
use crate::counters::Counters;
pub use bind::{bind, Listener, Listeners, LISTEN_BACKLOG};
use table::Table;
pub use tls::{Certificate, Reloader, TlsError};
pub use watch::Timeouts;
use watch::{Watch, WatchedIo};

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

/// One listener with what it serves.
pub struct Served {
    /// Its port id (for the logs).
    pub port: PortId,
    /// The socket.
    pub tcp: TcpListener,
    /// TLS, when the listener speaks it.
    pub tls: Option<TlsAcceptor>,
    /// Its doors.
    pub router: Router,
}

/// Accepts connections on every listener and serves each one's router on them until
/// `stop` is cancelled; returns once the connections have closed (or after
/// `limits.grace`). The listeners share the connection cap.
pub async fn serve(
    listeners: Vec<Served>,
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
    let mut loops = tokio::task::JoinSet::new();
    for served in listeners {
        loops.spawn(accept_loop(
            served,
            table.clone(),
            conns.clone(),
            limits.timeouts,
            counters.clone(),
            stop.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
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

/// Accepts connections on one listener until `stop` is cancelled.
async fn accept_loop(
    served: Served,
    table: Arc<Table>,
    conns: TaskTracker,
    timeouts: Timeouts,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let Served {
        port,
        tcp: listener,
        tls,
        router,
    } = served;
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
        debug!(conns = open, %peer, %port, "connection opened");
        let io = WatchedIo::new(tcp, watch.clone(), table.clone());
        conns.spawn(conn::connection(
            io,
            tls.clone(),
            conn::Ctx {
                watch,
                peer,
                router: router.clone(),
                table: table.clone(),
                timeouts,
                counters: counters.clone(),
                stop: stop.clone(),
            },
        ));
    }
    drop(listener);
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
