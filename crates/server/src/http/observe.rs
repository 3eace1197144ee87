//! Every HTTP request is observed once, around everything else: it gets a request id (in
//! its span, so every line it causes carries it, and in the `x-request-id` response
//! header, so a client can quote it), one log line at info when it ends (method, matched
//! route, status, duration), and a sample of `parley_http_request_duration_seconds`.
//!
//! The line names the route template (`/flex/v1/{sessionId}/send`), never the path or
//! the query string: paths carry session ids and query strings may carry secure keys and
//! tokens. A WebSocket upgrade keeps its request's span for the life of the connection
//! (`basic::upgrade`, the desktop's upgrade), so the connection's lines carry the same id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::state::AppState;

/// The response header that carries the request id.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of a request no route matched: one series for every unknown path.
pub const UNMATCHED: &str = "unmatched";

/// A request's id: 16 hex digits, unique in this process (a random start, then one up
/// per request: no system call per request) and unlikely to repeat across instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    fn next() -> RequestId {
        static BASE: OnceLock<u64> = OnceLock::new();
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = *BASE.get_or_init(|| {
            let n = crate::secrets::new_nonce();
            u64::from_le_bytes(n[..8].try_into().expect("8 of 16 bytes"))
        });
        RequestId(format!(
            "{:016x}",
            base.wrapping_add(SEQ.fetch_add(1, Ordering::Relaxed))
        ))
    }
}

/// Middleware: the request id, span, log line and duration sample of each request.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = RequestId::next();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED.to_owned(), |m| m.as_str().to_owned());
    let span = tracing::info_span!("request", id = %id.0);
    req.extensions_mut().insert(id.clone());
    let mut resp = next.run(req).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = resp.status();
    let duration_ms = took.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(%method, route, status = status.as_u16(), duration_ms, "request");
        } else {
            tracing::info!(%method, route, status = status.as_u16(), duration_ms, "request");
        }
    });
    state
        .counters
        .metrics
        .http_request(method.as_str(), &route, status.as_u16(), took);
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        resp.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_hex_and_differ() {
        let (a, b) = (RequestId::next(), RequestId::next());
        assert_ne!(a, b);
        assert_eq!(a.0.len(), 16);
        assert!(a.0.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
