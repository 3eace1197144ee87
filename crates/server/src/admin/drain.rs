//! Draining the instance (docs/ha.md): `POST /admin/v1/drain` starts it, `GET
//! /admin/v1/drain` tells how far it is. `parley drain` calls the first.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tracing::info;

use super::AdminKey;
use crate::state::AppState;

/// `POST /admin/v1/drain` — stop taking new sessions; exit once the current ones end.
pub(super) async fn start_drain(_key: AdminKey, State(state): State<AppState>) -> Json<Value> {
    if state.drain.start() {
        info!(
            sessions = state.sessions.live(),
            "draining: new sessions refused; stopping when the last one ends"
        );
    }
    drain_status(&state)
}

/// `GET /admin/v1/drain` — whether the instance drains, and how many sessions are left.
pub(super) async fn get_drain(_key: AdminKey, State(state): State<AppState>) -> Json<Value> {
    drain_status(&state)
}

fn drain_status(state: &AppState) -> Json<Value> {
    Json(json!({
        "draining": state.drain.is_draining(),
        "sessions": state.sessions.live(),
        "drainTimeoutSeconds": state.config.settings.drain_timeout_s,
    }))
}
