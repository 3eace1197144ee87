//! Who a request comes from: the client's real address and the page that sent it.
//!
//! - **Address.** The TCP peer, or behind a trusted proxy the client it names
//!   (`crate::proxies`).
//! - **Origin.** Browsers name the page behind every WebSocket upgrade and every
//!   cross-origin request in `Origin`. When `[web] cors-allowed-origins` lists sites, a
//!   request from any other page is refused before it reaches a front door: CORS alone
//!   only hides answers from scripts, it does not stop a WebSocket or a form post.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parley_proto::ErrorCode;
use serde_json::json;
use tracing::debug;

use crate::cluster::Forwarded;
use crate::config::Web;
use crate::state::AppState;

/// The client's address as far as this instance can tell (see the module doc). Every
/// request carries one; take it with `Extension<ClientAddr>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address [`resolve`] put in a request (unspecified if it did not run).
    pub fn of<B>(req: &axum::http::Request<B>) -> IpAddr {
        req.extensions()
            .get::<ClientAddr>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0)
    }
}

/// Middleware: puts the request's [`ClientAddr`] in its extensions, and refuses it when
/// that address goes faster than `requests-per-address` (429 `RATE_LIMITED`).
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    // A request another instance forwarded (verified by `forward_held`, outside this
    // layer) carries as its peer the client that instance resolved and counted.
    let forwarded = req.extensions().get::<Forwarded>().is_some();
    if forwarded {
        req.extensions_mut().insert(ClientAddr(peer));
        return next.run(req).await;
    }
    let client = state.trusted_proxies.client(peer, req.headers());
    if let Err(e) = state.address_limits.request(client) {
        state.counters.rate_limited.inc();
        debug!(%client, "request refused: {e}");
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            &e.to_string(),
            Some(e.retry_after_s()),
        );
    }
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

/// Middleware: refuses a request whose `Origin` is neither this server's own nor one of
/// `cors-allowed-origins` (403 `ORIGIN_NOT_ALLOWED`). A request without `Origin` is not
/// a browser's cross-origin request (a server, curl, a same-origin navigation) and goes
/// on; with `"*"` listed every origin goes on.
pub async fn check_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.extensions().get::<Forwarded>().is_some() {
        // The instance that forwarded it checked the origin against its own host.
        return next.run(req).await;
    }
    match req.headers().get(header::ORIGIN).map(|o| o.to_str()) {
        None => next.run(req).await,
        Some(Ok(origin)) if origin_allowed(&state.config.web, origin, req.headers()) => {
            next.run(req).await
        }
        Some(origin) => {
            debug!(origin = ?origin.unwrap_or("(not text)"), path = req.uri().path(), "origin refused");
            refused(
                StatusCode::FORBIDDEN,
                ErrorCode::OriginNotAllowed,
                "requests from this page's origin are not allowed ([web] cors-allowed-origins)",
                None,
            )
        }
    }
}

pub(crate) fn origin_allowed(web: &Web, origin: &str, headers: &HeaderMap) -> bool {
    web.allows_origin(origin) || same_origin(origin, headers)
}

/// Whether `origin` names the host the request was sent to: the widget's own page and
/// the desktop, served by Parley itself. The scheme is not compared: a proxy in front
/// may terminate TLS.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// A refusal before any front door: the flex error shape, which every door's clients
/// read as `{code, name, message}`.
fn refused(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    retry_after_s: Option<u64>,
) -> Response {
    let body = Json(json!({
        "status": "error",
        "error": {"code": code.number(), "name": code.name(), "message": message},
    }));
    let mut resp = (status, body).into_response();
    if let Some(s) = retry_after_s {
        resp.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn same_origin_compares_the_host() {
        let h = headers(&[("host", "chat.example:8080")]);
        assert!(same_origin("http://chat.example:8080", &h));
        assert!(same_origin("https://CHAT.example:8080", &h));
        assert!(!same_origin("https://chat.example", &h));
        assert!(!same_origin("null", &h));
        assert!(!same_origin("https://evil.example", &HeaderMap::new()));
    }
}
