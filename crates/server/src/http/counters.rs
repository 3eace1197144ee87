//! The KPI counters over HTTP: `GET /Counters` (also `/counters`) as the seed describes it
//! (`metadata`, `content=all|new|set`, `reset`), and `GET /metrics` for Prometheus. Both
//! read the same counters ([`readings`]); `[health-service] token` guards them.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::counters::view::{self, Content, Reader, Reading};
use crate::counters::{Described, Kind, GAUGES, KPI};
use crate::state::{AppState, Shared};

/// The routing gauges and webhook counters (`/Counters` groups `routing` and `webhooks`).
const GROUPS: &[Described] = &[
    gauge(
        "routing.waiting",
        "Chats in a queue with no offer out (on the routing leader).",
    ),
    gauge(
        "routing.offered",
        "Chats offered to an agent, waiting for the answer.",
    ),
    gauge("routing.handled", "Chats an agent handles."),
    gauge(
        "routing.wrap-up",
        "Chats whose agents only do after-chat work.",
    ),
    gauge(
        "routing.agents-logged-in",
        "Agents and supervisors logged in.",
    ),
    gauge(
        "routing.agents-ready",
        "Agents and supervisors ready for chats.",
    ),
    cumulative(
        "webhooks.delivered",
        "Webhook deliveries answered with a 2xx.",
    ),
    cumulative("webhooks.retried", "Webhook attempts that were retries."),
    cumulative(
        "webhooks.dropped",
        "Webhook events given up (the sum of the two below).",
    ),
    cumulative(
        "webhooks.dropped-queue-full",
        "Webhook events not queued because the URL's queue was full.",
    ),
    cumulative(
        "webhooks.dropped-failed",
        "Webhook events dropped after every attempt, or refused by the receiver.",
    ),
];

const fn gauge(name: &'static str, description: &'static str) -> Described {
    Described {
        name,
        kind: Kind::Gauge,
        description,
    }
}
const fn cumulative(name: &'static str, description: &'static str) -> Described {
    Described {
        name,
        kind: Kind::Cumulative,
        description,
    }
}

/// Every counter's declaration, in `/Counters` order.
pub fn described() -> impl Iterator<Item = &'static Described> {
    GAUGES.iter().chain(KPI).chain(GROUPS)
}

/// Every counter with its value since the start, in [`described`] order.
pub fn readings(state: &Shared) -> Vec<Reading> {
    let r = state.center.gauges.snapshot();
    let w = state.center.webhooks.stats();
    let groups = [
        r.waiting,
        r.offered,
        r.handled,
        r.wrap_up,
        r.agents_logged_in,
        r.agents_ready,
        w.delivered,
        w.retried,
        w.dropped,
        w.dropped_queue_full,
        w.dropped_failed,
    ];
    let c = &state.counters;
    let own = c.gauges().into_iter().map(|(name, value)| Reading {
        name,
        kind: Kind::Gauge,
        value,
    });
    let kpi = c.cumulative().into_iter().map(|(name, value)| Reading {
        name,
        kind: Kind::Cumulative,
        value,
    });
    let grouped = GROUPS.iter().zip(groups).map(|(d, value)| Reading {
        name: d.name,
        kind: d.kind,
        value,
    });
    own.chain(kpi).chain(grouped).collect()
}

/// The description of the counter called `name`.
fn describe(name: &str) -> &'static str {
    described()
        .find(|d| d.name == name)
        .map_or("", |d| d.description)
}

/// The `/Counters` parameters; a missing or invalid value takes the default.
#[derive(Debug, Default, PartialEq, Eq)]
struct Params {
    metadata: bool,
    content: Content,
    reset: bool,
}

fn params(query: Option<&str>) -> Params {
    let mut p = Params::default();
    let flag = |v: &str, default: bool| match v.to_ascii_lowercase().as_str() {
        "true" | "yes" => true,
        "false" | "no" => false,
        _ => default,
    };
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "metadata" => p.metadata = flag(&v, false),
            "reset" => p.reset = flag(&v, false),
            "content" => {
                p.content = match v.to_ascii_lowercase().as_str() {
                    "new" => Content::New,
                    "set" => Content::Set,
                    _ => Content::All,
                }
            }
            _ => {}
        }
    }
    p
}

/// Whether the request may read the counters (`[health-service] token`).
fn authorized(state: &Shared, headers: &HeaderMap) -> bool {
    let Some(token) = &state.config.health_service.token else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|presented| token.matches(presented.trim()))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
        Json(json!({"code": "unauthorized", "message": "the counters need the [health-service] token"})),
    )
        .into_response()
}

/// `GET /Counters` — the KPI counters as the seed describes them: `reset=true` resets
/// every cumulative counter first; then `metadata=true` lists every counter with its
/// description, or else `content` picks the counters (`all`, the default, with the
/// instance's state: draining and load limits; `new`, changed since the previous
/// request; `set`, not zero).
pub async fn get_counters(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let p = params(query.as_deref());
    let raw = readings(&state);
    if p.reset {
        state.counters.view.reset(&raw);
        tracing::info!("KPI counters reset");
    }
    if p.metadata {
        let list: Vec<Value> = described()
            .map(|d| json!({"name": d.name, "kind": d.kind, "description": d.description}))
            .collect();
        return Json(json!({ "counters": list })).into_response();
    }
    let (shown, _) = state.counters.view.read(&raw, p.content, Reader::Http);
    let mut body = view::to_json(&shown);
    if p.content == Content::All {
        body.insert("draining".into(), state.drain.is_draining().into());
        body.insert("limits".into(), json!(state.limits.snapshot()));
    }
    Json(Value::Object(body)).into_response()
}

/// `GET /metrics` — every counter (since the start: a `/Counters` reset does not touch
/// them) and Parley's histograms, in the Prometheus text format.
pub async fn get_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let text = state.counters.metrics.render(&readings(&state), describe);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_or_missing_parameters_take_the_defaults() {
        assert_eq!(params(None), Params::default());
        assert_eq!(
            params(Some("metadata=maybe&content=odd&reset=2")),
            Params::default()
        );
        assert_eq!(
            params(Some("metadata=YES&content=Set&reset=true")),
            Params {
                metadata: true,
                content: Content::Set,
                reset: true
            }
        );
        assert_eq!(params(Some("content=new&reset=no")).content, Content::New);
    }

    #[test]
    fn every_counter_has_a_unique_name_and_a_description() {
        let mut names: Vec<_> = described().map(|d| d.name).collect();
        assert!(described().all(|d| !d.description.is_empty()));
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
