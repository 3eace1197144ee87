//! The routes of the default port. By default every front door shares one listener, so
//! one command starts a complete system; the paths keep them apart.

use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::{basic, http};

/// All routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/basic", get(basic::upgrade))
        .route("/healthz", get(http::health::get_healthz))
        .route("/readyz", get(http::health::get_readyz))
        .route("/counters", get(http::health::get_counters))
        .route("/Counters", get(http::health::get_counters))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
