//! The forwarding layer: any instance answers any HTTP request. A request whose handler
//! refused it because another live instance holds its session (the response is marked
//! [`HeldBy`]; the refusal did nothing) is replayed to that owner with the signed
//! forwarding header, and the owner's response goes back to the client. One layer for
//! every HTTP door (flex, GMS v2, ESP, files, documents): the doors only mark their
//! refusal.
//!
//! The layer also guards the channel: a request carrying the forwarding header is
//! checked (MAC, target, time, nonce) and refused with 401 `FORWARD_REFUSED` unless it
//! verifies; one that verifies is served with the original client's address as its peer
//! address, and is never forwarded again (one hop: meeting a held session again, it gets
//! the door's 503 `UNAVAILABLE`). The WebSocket upgrade at `/basic` is checked the same
//! way and continues in `basic/forward.rs`.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parley_proto::ErrorCode;
use serde_json::json;
use tracing::{debug, warn};

use crate::cluster::{sign, Cluster, Forwarded, Refusal, HEADER};
use crate::http::error::HeldBy;
use crate::state::AppState;

/// Seconds a client refused with 503 waits before trying again (about a lease period).
const RETRY_AFTER_S: &str = "5";

/// Headers that belong to one connection, not to the request or response
/// (RFC 9110 §7.6.1), plus those the forwarding client sets itself.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// The largest body the layer buffers: the largest any door takes (an agent's document,
/// a customer's file), so that a body a door would accept can always be replayed.
pub fn max_body(state: &AppState) -> usize {
    let file = usize::try_from(state.policy.session.files.max_file_size).unwrap_or(usize::MAX);
    crate::basic::documents::MAX_BODY_BYTES
        .max(file.saturating_add(64 * 1024))
        .max(state.policy.max_frame_bytes)
}

/// The layer (see the module documentation).
pub async fn forward_held(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let has_header = req.headers().contains_key(HEADER);
    let Some(cluster) = state.cluster.as_deref() else {
        if has_header {
            return refuse(&state, Refusal::Off);
        }
        return next.run(req).await;
    };
    if req.uri().path() == "/basic" {
        // An upgrade has no body; its handler forwards the connection itself.
        return match check(cluster, req, Bytes::new()) {
            Ok((req, _)) => next.run(req).await,
            Err(r) => refuse(&state, r),
        };
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, max_body(&state)).await else {
        return too_large();
    };
    let method = parts.method.clone();
    let uri = parts.uri.clone();
    let headers = parts.headers.clone();
    // The client as this instance resolves it (behind trusted proxies, the one they
    // name): the owner counts and logs that address.
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| {
            let ip = state.trusted_proxies.client(c.0.ip(), &parts.headers);
            SocketAddr::new(ip, c.0.port()).to_string()
        })
        .unwrap_or_default();
    let req = Request::from_parts(parts, Body::from(bytes.clone()));
    let (req, forwarded) = match check(cluster, req, bytes.clone()) {
        Ok(r) => r,
        Err(r) => return refuse(&state, r),
    };
    let mut resp = next.run(req).await;
    let Some(HeldBy(held)) = resp.extensions_mut().remove::<HeldBy>() else {
        return resp;
    };
    if forwarded.is_some() {
        // One hop: the owner the sender saw no longer holds the session here either.
        debug!(session_id = %held.session, "forwarded request met another owner; not forwarded on");
        return retry_later(resp);
    }
    let Some(base) = cluster.peer_url(&held.owner).await else {
        debug!(session_id = %held.session, owner = %held.owner.0, "owner not reachable; refused");
        return retry_later(resp);
    };
    let out = Outgoing {
        method,
        uri,
        headers,
        body: bytes,
        client,
    };
    match replay(cluster, &held.owner, &base, out).await {
        Ok(answer) => {
            state.counters.forwarded_requests.inc();
            answer
        }
        Err(e) => {
            state.counters.forward_failures.inc();
            let error = Cluster::error_chain(&e);
            if cluster.peer_down(&held.owner) {
                warn!(session_id = %held.session, owner = %held.owner.0, %error,
                    "could not forward a request to the session's owner; clients are told to retry until it answers or its sessions are taken over");
            } else {
                debug!(session_id = %held.session, owner = %held.owner.0, %error, "owner still not answering");
            }
            retry_later(resp)
        }
    }
}

/// Checks the forwarding header of `req`, if any: a verified request goes on with the
/// client's address as its peer; any other request with the header is refused.
fn check(
    cluster: &Cluster,
    mut req: Request,
    body: Bytes,
) -> Result<(Request, Option<Forwarded>), Refusal> {
    let Some(value) = req.headers_mut().remove(HEADER) else {
        return Ok((req, None));
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let signed = sign::Request {
        method: req.method().as_str(),
        path_and_query: &path,
        body: &body,
    };
    let verified = value
        .to_str()
        .map_err(|_| Refusal::Malformed)
        .and_then(|v| cluster.verify(v, &signed));
    match verified {
        Ok(f) => {
            debug!(from = %f.from.0, client = %f.client, path = %req.uri().path(), "forwarded request");
            if let Ok(addr) = f.client.parse::<SocketAddr>() {
                req.extensions_mut().insert(ConnectInfo(addr));
            }
            req.extensions_mut().insert(f.clone());
            Ok((req, Some(f)))
        }
        Err(r) => Err(r),
    }
}

/// 401 `FORWARD_REFUSED`: the request did nothing.
fn refuse(state: &AppState, r: Refusal) -> Response {
    state.counters.forward_refused.inc();
    debug!(reason = %r, "forwarded request refused");
    let status = if r == Refusal::Busy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::UNAUTHORIZED
    };
    let code = if r == Refusal::Busy {
        ErrorCode::Unavailable
    } else {
        ErrorCode::ForwardRefused
    };
    let body =
        json!({"error": {"code": code.number(), "name": code.name(), "message": r.to_string()}});
    retry_later((status, Json(body)).into_response())
}

fn too_large() -> Response {
    let code = ErrorCode::FrameTooLarge;
    let body = json!({"error": {"code": code.number(), "name": code.name(),
        "message": "the request body is larger than any door takes"}});
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// A 503 says when to come back.
fn retry_later(mut resp: Response) -> Response {
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static(RETRY_AFTER_S));
    }
    resp
}

/// A request to replay.
struct Outgoing {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    client: String,
}

/// Sends `out` to `owner` at `base` and turns its answer into this response.
async fn replay(
    cluster: &Cluster,
    owner: &parley_store::InstanceId,
    base: &str,
    out: Outgoing,
) -> Result<Response, reqwest::Error> {
    let path = out.uri.path_and_query().map_or("/", |p| p.as_str());
    let signature = cluster.sign(
        &sign::Request {
            method: out.method.as_str(),
            path_and_query: path,
            body: &out.body,
        },
        owner,
        &out.client,
    );
    let mut headers = out.headers;
    strip(&mut headers);
    headers.remove(header::CONTENT_LENGTH);
    if let Ok(v) = HeaderValue::from_str(&signature) {
        headers.insert(HeaderName::from_static(HEADER), v);
    }
    let answer = cluster
        .client
        .request(out.method, format!("{base}{path}"))
        .headers(headers)
        .body(out.body)
        .send()
        .await?;
    let mut resp = Response::builder().status(answer.status());
    if let Some(h) = resp.headers_mut() {
        for (name, value) in answer.headers() {
            h.append(name, value.clone());
        }
        strip(h);
        h.remove(header::CONTENT_LENGTH);
    }
    // Answers are small (a long poll's events, a customer's file at most): read whole.
    let body = Body::from(answer.bytes().await?);
    Ok(resp
        .body(body)
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()))
}

/// Removes the hop-by-hop headers (and any forwarding header).
fn strip(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(HEADER);
}
