//! One client connection: the TLS handshake when the listener speaks TLS, then HTTP/1.1
//! with upgrades, both under the connection's deadlines (`watch.rs`), eviction and the
//! shutdown signal.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;
use tracing::debug;

use super::table::Table;
use super::watch::{Busy, Timeouts, Watch, WatchedIo};
use crate::counters::Counters;

/// What a connection's task needs besides its socket.
pub(super) struct Ctx {
    pub(super) watch: Arc<Watch>,
    pub(super) peer: SocketAddr,
    pub(super) router: Router,
    pub(super) table: Arc<Table>,
    pub(super) timeouts: Timeouts,
    pub(super) counters: Arc<Counters>,
    pub(super) stop: CancellationToken,
}

/// Serves one connection until it closes, upgrades, expires or is evicted.
pub(super) async fn connection(io: WatchedIo, tls: Option<TlsAcceptor>, ctx: Ctx) {
    // No Nagle: a request often gets two small frames back (its event, then its ack), and
    // Nagle would hold the second until the client's delayed ACK (~40 ms).
    if let Err(e) = io.tcp().set_nodelay(true) {
        debug!(error = %e, "could not set TCP_NODELAY");
    }
    match tls {
        None => http(io, &ctx).await,
        Some(acceptor) => {
            if let Some(io) = handshake(&acceptor, io, &ctx).await {
                http(io, &ctx).await;
            }
        }
    }
    // Upgraded, its socket lives on in the WebSocket; either way the listener is done.
    ctx.watch.done.store(true, Ordering::Release);
}

/// The TLS handshake, within the deadline of a connection that has sent no request yet;
/// `None` when it failed, expired, was evicted or the server is stopping (the socket is
/// dropped, which closes it).
async fn handshake(
    acceptor: &TlsAcceptor,
    io: WatchedIo,
    ctx: &Ctx,
) -> Option<tokio_rustls::server::TlsStream<WatchedIo>> {
    let peer = ctx.peer;
    let mut accept = std::pin::pin!(acceptor.accept(io));
    loop {
        let deadline = ctx.watch.deadline(&ctx.timeouts);
        let wake =
            deadline.map_or_else(|| tokio::time::Instant::now() + ctx.timeouts.idle, |d| d.0);
        tokio::select! {
            r = accept.as_mut() => {
                return match r {
                    Ok(io) => Some(io),
                    Err(e) => {
                        debug!(%peer, error = %e, "TLS handshake failed");
                        None
                    }
                };
            }
            () = tokio::time::sleep_until(wake) => {
                if let Some((at, why)) = ctx.watch.deadline(&ctx.timeouts) {
                    if at <= tokio::time::Instant::now() {
                        ctx.counters.connections_timed_out.inc();
                        debug!(%peer, timeout = why.option(), "connection closed in its TLS handshake: timeout");
                        return None;
                    }
                }
            }
            () = ctx.watch.changed.notified() => {}
            () = ctx.watch.evict.notified() => {
                debug!(%peer, "connection closed in its TLS handshake to make room (max-connections)");
                return None;
            }
            () = ctx.stop.cancelled() => return None,
        }
    }
}

/// HTTP/1.1 with upgrades on `io` (plain or TLS).
async fn http<I>(io: I, ctx: &Ctx)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = ctx.peer;
    let timeouts = ctx.timeouts;
    let io = TokioIo::new(io);
    let service = {
        let watch = ctx.watch.clone();
        let table = ctx.table.clone();
        let router = ctx.router.clone();
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
    let watch = &ctx.watch;
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
                        ctx.counters.connections_timed_out.inc();
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
            () = ctx.stop.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
