//! The admin API's errors: `{"code", "message"}` with a stable code per kind of refusal
//! (docs/admin-api.md lists them). A refusal (4xx) is logged at `debug`; a failure of
//! ours (5xx) is logged once, at `error`, with its cause, and answered with a generic
//! message.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A refused or failed admin request.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// The cause of a 5xx, logged and never sent.
    cause: Option<String>,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            code,
            message: message.into(),
            cause: None,
        }
    }

    /// `401 unauthorized`: no or wrong admin key.
    pub fn unauthorized() -> AdminError {
        AdminError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <one of [security] admin-api-keys>",
        )
    }

    /// `400 bad-request`: a body or query that does not parse.
    pub fn bad_request(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    /// `400 invalid-field`: a value that parses but is not allowed.
    pub fn invalid_field(field: &str, problem: &str) -> AdminError {
        AdminError::new(
            StatusCode::BAD_REQUEST,
            "invalid-field",
            format!("{field}: {problem}"),
        )
    }

    /// `400 unknown-queue`: a queue that neither a `[queues.<name>]` section nor an
    /// endpoint names.
    pub fn unknown_queue(queue: &str) -> AdminError {
        AdminError::new(
            StatusCode::BAD_REQUEST,
            "unknown-queue",
            format!("queue {queue:?} is not configured ([queues.<name>] or an endpoint)"),
        )
    }

    /// `400 invalid-rule`: a masking rule whose regex does not compile (or is empty, or too
    /// long); the message names the rule.
    pub fn invalid_rule(e: &parley_core::mask::RuleError) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, "invalid-rule", e.to_string())
    }

    /// `404 not-found`.
    pub fn not_found(what: &str) -> AdminError {
        AdminError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no such {what}"),
        )
    }

    /// `409 config-owned`: the configuration file defines this agent.
    pub fn config_owned(login: &str) -> AdminError {
        AdminError::new(
            StatusCode::CONFLICT,
            "config-owned",
            format!("agent {login} is defined in [agents.{login}]: change it in the file"),
        )
    }

    /// `409 name-taken`: another masking rule of the tenant has this name.
    pub fn name_taken(name: &str) -> AdminError {
        AdminError::new(
            StatusCode::CONFLICT,
            "name-taken",
            format!("the tenant has a masking rule named {name:?} already"),
        )
    }

    /// `409 too-many-rules`: the tenant has as many masking rules as allowed.
    pub fn too_many_rules(max: usize) -> AdminError {
        AdminError::new(
            StatusCode::CONFLICT,
            "too-many-rules",
            format!("a tenant has at most {max} masking rules: delete one first"),
        )
    }

    /// `409 live-interactions`: the contact has chats going on; erase it once they end.
    pub fn live_interactions(ids: &[parley_core::SessionId]) -> AdminError {
        let shown: Vec<&str> = ids.iter().take(10).map(|i| i.as_str()).collect();
        let more = if ids.len() > shown.len() { ", ..." } else { "" };
        AdminError::new(
            StatusCode::CONFLICT,
            "live-interactions",
            format!(
                "the contact has {} chat(s) going on ({}{more}); nothing was erased: erase it \
                 once they have ended",
                ids.len(),
                shown.join(", ")
            ),
        )
    }

    /// `413 payload-too-large`.
    pub fn too_large() -> AdminError {
        AdminError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "the body is too large",
        )
    }

    /// `500 internal`: our failure; `cause` is logged, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> AdminError {
        AdminError {
            cause: Some(cause.to_string()),
            ..AdminError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed; try again shortly",
            )
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<parley_store::StoreError> for AdminError {
    fn from(e: parley_store::StoreError) -> AdminError {
        AdminError::internal(format_args!("store: {e}"))
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(
                code = self.code,
                cause = self.cause.as_deref().unwrap_or(""),
                "admin request failed"
            );
        } else {
            tracing::debug!(code = self.code, message = %self.message, "admin request refused");
        }
        (
            self.status,
            Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response()
    }
}

/// The JSON body of a request, or why not. Only field names are ever repeated back (a
/// value could be a password sent in the wrong field).
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AdminError> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AdminError::too_large()),
        Err(JsonRejection::MissingJsonContentType(_)) => Err(AdminError::bad_request(
            "send the body as JSON with Content-Type: application/json",
        )),
        Err(JsonRejection::JsonDataError(e)) => {
            let text = e.body_text();
            let named = ["unknown field", "missing field"]
                .iter()
                .any(|k| text.contains(k));
            Err(AdminError::bad_request(if named {
                text
            } else {
                "a field has the wrong type (see docs/admin-api.md)".to_owned()
            }))
        }
        Err(_) => Err(AdminError::bad_request("the body is not valid JSON")),
    }
}

/// The query of a request, or why not.
pub(crate) fn query<T>(
    query: Result<axum::extract::Query<T>, QueryRejection>,
) -> Result<T, AdminError> {
    query
        .map(|q| q.0)
        .map_err(|e| AdminError::bad_request(e.body_text()))
}
