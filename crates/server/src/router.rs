//! The routes of each listener. By default every front door shares one listener, so
//! one command starts a complete system; the paths keep them apart. `[listeners.<port-id>]`
//! moves the doors of a Genesys port id to a listener of its own ([`for_listener`]). The customer front
//! doors (flex, GMS v2, widget assets) answer cross-origin requests from the origins in
//! `[web] cors-allowed-origins`, since the widget runs on the customers' own sites.
//!
//! Every path also answers with a trailing slash (`/healthz/`, `/agent/v1/login/`,
//! `…/{chatId}/send/`): GMS accepts both forms and clients written against real GMS
//! deployments send them, so the slash is trimmed before routing, for every door at once,
//! and each route is declared once. A path no door serves gets 404 with a coded body.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::normalize_path::NormalizePathLayer;

use crate::config::PortId;
use crate::state::AppState;
use crate::{basic, flex, gms, http};

/// Every door: the routes of an instance whose doors all share the default listener.
pub fn router(state: AppState) -> Router {
    doors(state, &PortId::ALL)
}

/// The routes of the listener for `port`, given the port ids that have listeners of
/// their own (`own`). The default listener also answers requests that a peer forwards
/// for any door (they carry the signed forwarding header and go to the peer's
/// `advertise-url`, which is the default listener), so a cluster keeps forwarding when
/// doors move to listeners of their own.
pub fn for_listener(state: AppState, port: PortId, own: &[PortId]) -> Router {
    let served = served_by(port, own);
    let part = doors(state.clone(), &served);
    if port != PortId::Default || served.len() == PortId::ALL.len() || state.cluster.is_none() {
        return part;
    }
    let full = doors(state, &PortId::ALL);
    Router::new().fallback_service(tower::service_fn(move |req: Request| {
        let to = if req.headers().contains_key(crate::cluster::HEADER) {
            full.clone()
        } else {
            part.clone()
        };
        to.oneshot(req)
    }))
}

/// The port ids whose doors the listener for `port` serves: its own, and for the
/// default listener every port id without a listener of its own.
pub fn served_by(port: PortId, own: &[PortId]) -> Vec<PortId> {
    if port != PortId::Default {
        return vec![port];
    }
    PortId::ALL
        .into_iter()
        .filter(|p| *p == PortId::Default || !own.contains(p))
        .collect()
}

/// The routes of the doors of `ports` (docs/decisions.md, "Listeners and TLS"):
/// `default` the basic protocol; `webapi` flex (with its files) and GMS v2; `esp`;
/// `health`; `ui` the pages and web files, the agent desktop's and the admin API, and
/// `/basic` too, which the desktop opens on its own address.
fn doors(state: AppState, ports: &[PortId]) -> Router {
    let has = |p: PortId| ports.contains(&p);
    let mut routes = Router::new();
    if has(PortId::Default) || has(PortId::Ui) {
        routes = routes.route("/basic", get(basic::upgrade));
    }
    if has(PortId::Default) {
        routes = routes.merge(basic::documents::routes());
    }
    if has(PortId::Ui) {
        routes = routes
            .route("/", get(http::assets::get_index))
            .merge(crate::agent::routes())
            .merge(crate::admin::routes());
    }
    if has(PortId::Esp) {
        routes = routes.merge(crate::esp::routes(&state));
    }
    if has(PortId::Health) {
        routes = routes
            .route("/healthz", get(http::health::get_healthz))
            .route("/readyz", get(http::health::get_readyz))
            .route("/counters", get(http::counters::get_counters))
            .route("/Counters", get(http::counters::get_counters))
            .route("/metrics", get(http::counters::get_metrics));
    }
    let mut customer = Router::new();
    if has(PortId::Webapi) {
        customer = customer
            .merge(flex::routes(&state))
            .merge(gms::routes(&state));
    }
    if has(PortId::Ui) {
        customer = customer.route("/web/{name}", get(http::assets::get_asset));
    }
    let customer = customer
        .layer(middleware::from_fn_with_state(state.clone(), count_errors))
        .layer(cors(&state));
    let routes = routes
        .merge(customer)
        .fallback(no_such_path)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::client::check_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::client::resolve,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::forward::forward_held,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::observe::observe,
        ))
        .with_state(state);
    // Trimming must happen before routing, so it wraps the whole router (a layer added
    // with `Router::layer` runs after the route is chosen). The query string is kept, and
    // `/` stays `/`.
    Router::new().fallback_service(NormalizePathLayer::trim_trailing_slash().layer(routes))
}

/// A path that no door serves: 404 with a coded body, in the admin API's error shape.
async fn no_such_path() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "code": "not-found",
            "message": "no such path; see the documentation for the paths Parley serves",
        })),
    )
        .into_response()
}

/// Counts the refused and failed HTTP requests of the customer front doors (the basic
/// protocol counts its error frames itself) — requests a route took: a path no door
/// serves (a browser's `/favicon.ico`, a scanner's probes) is the client's business, not
/// an error of Parley's (it still shows in `/metrics` under route `unmatched`) — and tells a client refused with 503 (a
/// draining instance, a session moving to another instance) or 429 (a customer over its
/// `[rate-limits]`, whose buckets refill within a second or a few) when to try again.
async fn count_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let routed = req.extensions().get::<MatchedPath>().is_some();
    let mut resp = next.run(req).await;
    // A refusal for a session another instance holds is forwarded there, not an error.
    let held = resp.extensions().get::<http::error::HeldBy>().is_some();
    if routed && (resp.status().is_client_error() || resp.status().is_server_error()) && !held {
        state.counters.request_errors.inc();
    }
    let retry_after = match resp.status() {
        StatusCode::SERVICE_UNAVAILABLE => Some(RETRY_AFTER_S),
        StatusCode::TOO_MANY_REQUESTS => Some(RETRY_AFTER_THROTTLED_S),
        _ => None,
    };
    if let Some(s) = retry_after {
        resp.headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static(s));
    }
    resp
}

/// Seconds a refused customer request waits before trying again (about a lease period:
/// by then another instance holds the session or takes new chats).
const RETRY_AFTER_S: &str = "5";

/// Seconds a throttled customer waits: its bucket gets a token back within about that
/// (the per-address refusals before the doors carry their exact wait).
const RETRY_AFTER_THROTTLED_S: &str = "1";

/// Customer endpoints take no cookies (identity is in the request), so allowing other
/// origins exposes nothing a page could not already send.
fn cors(state: &AppState) -> CorsLayer {
    let origins = &state.config.web.cors_allowed_origins;
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
}
