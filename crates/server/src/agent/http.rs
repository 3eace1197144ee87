//! The agents' HTTP routes: `POST /agent/v1/login`, `POST /agent/v1/logout`,
//! `GET /agent/v1/interactions/{id}`, and the desktop WebSocket `/agent/v1/ws`
//! (docs/protocol/desktop.md).

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use parley_core::SessionId;
use serde::Deserialize;
use serde_json::json;
use tracing::info;

use crate::center::directory::LoginError;
use crate::center::AgentProfile;
use crate::config::Role;
use crate::http::client::ClientAddr;
use crate::state::AppState;

/// Largest login body accepted.
const MAX_BODY: usize = 4096;

/// The agent routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agent/v1/login", post(login))
        .route("/agent/v1/logout", post(logout))
        .route("/agent/v1/interactions/{id}", get(interaction))
        .route("/agent/v1/ws", get(super::desktop::upgrade))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// An error answer: `{"code", "message"}`.
pub(super) fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"code": code, "message": message.into()})),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "send {\"login\": ..., \"password\": ...} as JSON",
        );
    };
    match state
        .center
        .directory
        .login(&body.login, &body.password, client)
        .await
    {
        Ok((token, profile)) => {
            info!(agent = %profile.login, "agent logged in");
            let expires_at = crate::clock::now()
                .plus_ms(
                    state
                        .config
                        .routing
                        .agent_token_lifetime_s
                        .saturating_mul(1000),
                )
                .0;
            Json(json!({
                "token": token.0,
                "expiresAt": expires_at,
                "agent": agent_json(&profile),
            }))
            .into_response()
        }
        Err(LoginError::BadCredentials) => {
            failed_login(&state, &body.login, client, "wrong login or password");
            refuse(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "wrong login or password",
            )
        }
        Err(e @ LoginError::RateLimited { retry_after_s }) => {
            failed_login(&state, &body.login, client, "too many failed logins");
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_s.to_string())],
                Json(json!({"code": "rate-limited", "message": e.to_string(),
                        "retryAfter": retry_after_s})),
            )
                .into_response()
        }
        Err(LoginError::Store(e)) => {
            tracing::error!(error = %e, "agent login: store failed");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
            )
        }
    }
}

/// Logs a refused login at warn with the client's address (the one trusted proxies name:
/// `ClientAddr`), for fail2ban-style tools and audits, and counts it (`logins-failed`).
/// The login name is printed as sent, cut to 64 characters; the password never.
fn failed_login(state: &AppState, login: &str, client: std::net::IpAddr, why: &str) {
    state.counters.logins_failed.inc();
    let login: String = login.chars().take(64).collect();
    tracing::warn!(%client, login = ?login, reason = why, "agent login failed");
}

/// The agent as JSON.
pub(super) fn agent_json(p: &AgentProfile) -> serde_json::Value {
    json!({
        "login": p.login.as_str(),
        "nickname": p.nickname,
        "role": p.role.as_str(),
        "queues": p.queues.iter().map(|q| q.as_str()).collect::<Vec<_>>(),
        "capacity": p.capacity,
    })
}

/// The bearer token of a request.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The agent behind the request's token.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<AgentProfile, Box<Response>> {
    let profile = match bearer(headers) {
        Some(t) => state.center.directory.authenticate(t).await,
        None => None,
    };
    profile.ok_or_else(|| {
        Box::new(refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <token> from /agent/v1/login",
        ))
    })
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let profile = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let logout = parley_core::routing::RouteInput::AgentLogout {
        agent: profile.login.clone(),
    };
    // Refused only if the agent was not logged in to routing: fine either way.
    let _ = state.center.route(logout).await;
    if let Some(t) = bearer(&headers) {
        state.center.directory.revoke(t).await;
    }
    info!(agent = %profile.login, "agent logged out");
    StatusCode::NO_CONTENT.into_response()
}

async fn interaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let profile = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Ok(id) = id.parse::<SessionId>() else {
        return refuse(StatusCode::NOT_FOUND, "not-found", "no such interaction");
    };
    if profile.role != Role::Supervisor && !state.center.may_read(&profile.login, &id).await {
        return refuse(
            StatusCode::FORBIDDEN,
            "not-allowed",
            "only the agents offered or handling this interaction may read it",
        );
    }
    match crate::admin::interaction_view(&state, &id).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => e.into_response(),
    }
}
