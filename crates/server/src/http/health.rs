//! Health and counters: `/healthz` (liveness, no dependencies), `/readyz` (a store round
//! trip, so it fails when the database is unreachable; 503 while draining or limited by
//! its load limits). The counters are in `counters.rs`.

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
