//! ESP errors: a stable code, an HTTP status and, when one parameter is at fault, its
//! name, so a workflow author sees at once which parameter to fix. The body is
//! `{"code": "...", "message": "...", "parameter": "..."}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use parley_proto::ErrorCode;
use serde::Serialize;
use tracing::{debug, error};

use crate::actor::CmdError;

/// The stable codes of ESP errors. Published in `docs/esp.md`; a code never changes
/// meaning once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EspCode {
    /// No `Authorization: Bearer <key>`, or a key that is not in `esp-api-keys`.
    Unauthorized,
    /// The method is not `Message`, `Notice`, `IdleControlConfigure` or `ConfigureSession`.
    UnknownMethod,
    /// The body is not a JSON object of the expected shape (or not a form).
    MalformedBody,
    /// The body is larger than the ESP limit.
    BodyTooLarge,
    /// The body is neither JSON nor `application/x-www-form-urlencoded`.
    UnsupportedMediaType,
    /// A mandatory parameter is missing (or, for the methods that need at least one
    /// parameter of a set, none was given).
    MissingParameter,
    /// A parameter has a value outside its domain.
    InvalidParameter,
    /// A parameter the method does not know (`IdleControlConfigure`).
    UnknownParameter,
    /// A text is longer than `max-message-size`.
    TextTooLarge,
    /// No interaction has this id.
    NotFound,
    /// The interaction's chat session is closed (`IsOnline` 0).
    InteractionOffline,
    /// The session is served by another instance right now; retry.
    Unavailable,
    /// The server failed; retry.
    Internal,
}

impl EspCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EspCode::Unauthorized => "unauthorized",
            EspCode::UnknownMethod => "unknown-method",
            EspCode::MalformedBody => "malformed-body",
            EspCode::BodyTooLarge => "body-too-large",
            EspCode::UnsupportedMediaType => "unsupported-media-type",
            EspCode::MissingParameter => "missing-parameter",
            EspCode::InvalidParameter => "invalid-parameter",
            EspCode::UnknownParameter => "unknown-parameter",
            EspCode::TextTooLarge => "text-too-large",
            EspCode::NotFound => "not-found",
            EspCode::InteractionOffline => "interaction-offline",
            EspCode::Unavailable => "unavailable",
            EspCode::Internal => "internal",
        }
    }

    /// The HTTP status the code is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            EspCode::Unauthorized => StatusCode::UNAUTHORIZED,
            EspCode::UnknownMethod | EspCode::NotFound => StatusCode::NOT_FOUND,
            EspCode::MalformedBody
            | EspCode::MissingParameter
            | EspCode::InvalidParameter
            | EspCode::UnknownParameter => StatusCode::BAD_REQUEST,
            EspCode::BodyTooLarge | EspCode::TextTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EspCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            EspCode::InteractionOffline => StatusCode::CONFLICT,
            EspCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            EspCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A refused or failed ESP request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct EspError {
    /// Stable code.
    pub code: EspCode,
    /// What is wrong, for the workflow author (never secrets, never message text).
    pub message: String,
    /// The parameter at fault, by its seed name (`Visibility`, `timeout-alert`, ...).
    pub parameter: Option<String>,
    /// The live instance holding the session, on a refusal the forwarding layer replays
    /// there (`forward.rs`).
    pub held_by: Option<crate::actor::Held>,
}

impl EspError {
    /// An error not tied to one parameter.
    pub fn new(code: EspCode, message: impl Into<String>) -> EspError {
        EspError {
            code,
            message: message.into(),
            parameter: None,
            held_by: None,
        }
    }

    /// An error about `parameter`.
    pub fn param(code: EspCode, parameter: &str, message: impl Into<String>) -> EspError {
        EspError {
            code,
            message: message.into(),
            parameter: Some(bounded(parameter)),
            held_by: None,
        }
    }

    /// `parameter` is mandatory and absent.
    pub fn missing(parameter: &str) -> EspError {
        EspError::param(
            EspCode::MissingParameter,
            parameter,
            format!("the parameter {parameter} is mandatory"),
        )
    }

    /// `parameter` has a value outside its domain.
    pub fn invalid(parameter: &str, why: impl std::fmt::Display) -> EspError {
        EspError::param(
            EspCode::InvalidParameter,
            parameter,
            format!("invalid {parameter}: {why}"),
        )
    }

    /// The answer to a request without an accepted key.
    pub fn unauthorized() -> EspError {
        EspError::new(
            EspCode::Unauthorized,
            "send Authorization: Bearer <key> with a key from [security] esp-api-keys",
        )
    }

    /// The ESP meaning of a session actor's refusal of a post whose interaction was
    /// found alive a moment before.
    pub fn from_cmd(e: CmdError) -> EspError {
        let code = match e.code {
            // The record said alive, but no live session answers here: restoration is
            // off, or the session closed in between.
            ErrorCode::SessionNotFound | ErrorCode::SessionOver => {
                return EspError::new(
                    EspCode::InteractionOffline,
                    "the interaction's chat session is no longer online",
                )
            }
            ErrorCode::Unavailable => EspCode::Unavailable,
            ErrorCode::LimitExceeded => EspCode::TextTooLarge,
            ErrorCode::InvalidField | ErrorCode::NotAllowed => EspCode::InvalidParameter,
            _ => EspCode::Internal,
        };
        EspError {
            held_by: e.held_by,
            ..EspError::new(code, e.message)
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
}

/// Longest parameter name echoed back: names come from the caller.
const MAX_ECHOED_NAME: usize = 100;

fn bounded(name: &str) -> String {
    name.chars().take(MAX_ECHOED_NAME).collect()
}

impl IntoResponse for EspError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if status.is_server_error() && self.held_by.is_none() {
            error!(code = self.code.as_str(), message = %self.message, "ESP request failed");
        } else {
            debug!(
                code = self.code.as_str(),
                parameter = self.parameter.as_deref().unwrap_or(""),
                message = %self.message,
                "ESP request refused"
            );
        }
        let message = if status.is_server_error() {
            // The detail is in the log; the caller only needs to retry.
            "the server could not complete the request; retry"
        } else {
            self.message.as_str()
        };
        let mut resp = (
            status,
            Json(Body {
                code: self.code.as_str(),
                message,
                parameter: self.parameter.as_deref(),
            }),
        )
            .into_response();
        if self.code == EspCode::Unauthorized {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        crate::http::error::mark_held(resp, self.held_by.as_ref())
    }
}
