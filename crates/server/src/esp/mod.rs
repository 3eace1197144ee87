//! ESP, the workflow port: `POST /esp/{Method}` with HTTP + JSON, the way a Genesys
//! strategy's External Service block reaches Chat Server ("How to send ESP requests to
//! Chat Session from Workflow"). Methods `Message`, `Notice`, `IdleControlConfigure` and
//! `ConfigureSession`, with the seed's parameter names, address a chat by its interaction
//! id (= session id). Callers authenticate with `Authorization: Bearer <key>`, a key from
//! `[security] esp-api-keys`. See `docs/esp.md`.
//!
//! Messages and notices are posted by an EXTERNAL party (protocol ESP) named after the
//! `Nickname` parameter, through `Sessions::post_external`, which the built-in routing
//! strategy also uses for its greeting and queue notices.
//!
//! Layout: `mod.rs` the route; `body.rs` body decoding;
//! `params.rs` methods and parameters; `idle.rs` `IdleControlConfigure`; `record.rs` the
//! interaction record (online check, stored properties); `error.rs` codes and statuses.

pub(crate) mod body;
mod error;
pub(crate) mod idle;
pub(crate) mod params;
mod record;
#[cfg(test)]
mod tests;

pub use error::{EspCode, EspError};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use parley_core::SessionId;
use serde::Serialize;
use tracing::debug;

use crate::state::AppState;
use params::{Bounds, Call, Method};

/// The smallest ESP body limit: room for any parameter set at the default
/// `max-message-size`.
const BODY_MIN_BYTES: usize = 64 * 1024;
/// What a body may hold besides its one long text (id, other parameters, JSON framing).
const BODY_OVERHEAD_BYTES: usize = 16 * 1024;

/// The ESP routes. The body limit grows with `max-message-size`, so a text the
/// configuration allows always fits.
pub fn routes(state: &AppState) -> Router<AppState> {
    let limit = BODY_MIN_BYTES.max(
        state
            .policy
            .session
            .limits
            .max_text_bytes
            .saturating_add(BODY_OVERHEAD_BYTES),
    );
    Router::new()
        .route("/esp/{method}", post(call_method))
        .layer(DefaultBodyLimit::max(limit))
}

/// The answer to an accepted request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Done {
    result: &'static str,
    /// The posted event (`Message`, `Notice`).
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<u64>,
}

/// `POST /esp/{Method}` — runs one ESP method on an interaction's chat session.
async fn call_method(
    State(state): State<AppState>,
    Path(method): Path<String>,
    req: Request,
) -> Response {
    match run_method(&state, &method, req).await {
        Ok(done) => (StatusCode::OK, Json(done)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run_method(state: &AppState, method: &str, req: Request) -> Result<Done, EspError> {
    // The key first: without one, nothing about the server (not even its methods) shows.
    authorize(state, req.headers())?;
    let method = Method::from_name(method).ok_or_else(|| {
        EspError::new(
            EspCode::UnknownMethod,
            format!(
                "unknown method {:?}: use Message, Notice, IdleControlConfigure or \
                 ConfigureSession",
                method.chars().take(64).collect::<String>()
            ),
        )
    })?;
    let kind = body::kind_of(req.headers())?;
    let bytes = Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            EspError::new(EspCode::BodyTooLarge, "the body is too large")
        } else {
            EspError::new(EspCode::MalformedBody, "the body could not be read")
        }
    })?;
    let bounds = Bounds {
        max_text_bytes: state.policy.session.limits.max_text_bytes,
        max_nickname_chars: state.policy.session.limits.max_nickname_chars,
    };
    let (id, call) = decode_call(method, kind, &bytes, bounds)?;
    debug!(session_id = %id, method = ?method, "ESP request");
    match call {
        Call::Post(post) => {
            record::online(state, &id).await?;
            let acked = state
                .sessions
                .post_external(&id, post)
                .await
                .map_err(EspError::from_cmd)?;
            Ok(Done {
                result: "ok",
                event_id: Some(acked.event_id.0),
            })
        }
        Call::IdleControl(idle) => {
            record::online(state, &id).await?;
            state
                .sessions
                .configure_idle(&id, idle.to_override())
                .await
                .map_err(EspError::from_cmd)?;
            record::store_idle_control(state, &id, &idle).await?;
            Ok(Done {
                result: "ok",
                event_id: None,
            })
        }
        Call::Language(language) => {
            record::online(state, &id).await?;
            record::store_language(state, &id, &language).await?;
            Ok(Done {
                result: "ok",
                event_id: None,
            })
        }
    }
}

/// The interaction and the validated call of a request body. Pure.
pub(crate) fn decode_call(
    method: Method,
    kind: body::Kind,
    bytes: &[u8],
    bounds: Bounds,
) -> Result<(SessionId, Call), EspError> {
    let body = body::decode(kind, bytes)?;
    let id = interaction_id(body.interaction_id.as_deref())?;
    let call = params::parse(method, &body.parameters, bounds)?;
    Ok((id, call))
}

/// Checks `Authorization: Bearer <key>` against `esp-api-keys` (constant time). With no
/// key configured every request is refused.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), EspError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, key) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("Bearer").then(|| key.trim())
        })
        .filter(|k| !k.is_empty());
    match presented {
        Some(key) if state.config.security.accepts_esp_key(key) => Ok(()),
        _ => Err(EspError::unauthorized()),
    }
}

/// The `interactionId` of a body: mandatory, and shaped like a session id.
fn interaction_id(raw: Option<&str>) -> Result<SessionId, EspError> {
    let raw = raw
        .filter(|s| !s.is_empty())
        .ok_or_else(|| EspError::missing(body::INTERACTION_ID))?;
    raw.parse::<SessionId>().map_err(|_| {
        EspError::invalid(
            body::INTERACTION_ID,
            "must be 1 to 64 letters, digits, '-' or '_'",
        )
    })
}
