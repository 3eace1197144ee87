//! Health and counters: `/healthz` (liveness, no dependencies), `/readyz` (a store round
//! trip, so it fails when the database is unreachable; 503 while draining or limited by
//! its load limits), `/counters` (the KPI snapshot; also at the Genesys path `/Counters`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use parley_store::HealthStore;
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz` — the process is up.
pub async fn get_healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz` — the process can serve: its store answers, it is not shutting down, and
/// it takes new sessions (not at a load limit, unless `limits-reached-report-scs` is off).
pub async fn get_readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.shutdown.is_cancelled() || state.drain.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining", "sessions": state.sessions.live() })),
        );
    }
    let reached = state.limits.reached();
    if state.limits.unready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "limited", "reached": reached.names() })),
        );
    }
    match state.store.ping().await {
        Ok(()) if reached.any() => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "limited": reached.names() })),
        ),
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::error!(error = %e, "readiness: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "store unreachable" })),
            )
        }
    }
}

/// `GET /counters` — cumulative KPI counters and current gauges (`sessions`, `conns`).
pub async fn get_counters(State(state): State<AppState>) -> impl IntoResponse {
    Json(CountersView {
        draining: state.drain.is_draining(),
        limits: state.limits.snapshot(),
        counters: state.counters.snapshot(),
        routing: state.center.gauges.snapshot(),
        webhooks: state.center.webhooks.stats(),
    })
}

/// `/counters`: the session and connection counters at the top level, routing gauges
/// and webhook delivery counters each in their own object.
#[derive(serde::Serialize)]
struct CountersView {
    /// The instance refuses new sessions and stops once its last one ends.
    draining: bool,
    /// Load limits: whether new sessions are refused, why, and the gauges.
    limits: crate::limits::LimitsSnapshot,
    #[serde(flatten)]
    counters: crate::counters::CountersSnapshot,
    routing: crate::center::RoutingSnapshot,
    webhooks: crate::webhooks::WebhookStats,
}
