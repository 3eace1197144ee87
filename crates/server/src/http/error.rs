//! HTTP status codes for the stable error codes, shared by the HTTP front doors.

use crate::actor::Held;
use axum::http::StatusCode;
use axum::response::Response;
use parley_proto::ErrorCode;

/// The HTTP status an error code is answered with.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MalformedFrame
        | ErrorCode::UnknownFrameType
        | ErrorCode::InvalidField
        | ErrorCode::NotText
        | ErrorCode::NotRegistered
        | ErrorCode::AlreadyRegistered
        | ErrorCode::RegisterTimeout
        | ErrorCode::AlreadyJoined
        | ErrorCode::NoSuchReceiver => StatusCode::BAD_REQUEST,
        ErrorCode::FrameTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unauthorized
        | ErrorCode::BadSecureKey
        | ErrorCode::LoggedOut
        | ErrorCode::ForwardRefused => StatusCode::UNAUTHORIZED,
        ErrorCode::WrongSessionPassword
        | ErrorCode::NotAllowed
        | ErrorCode::OriginNotAllowed
        | ErrorCode::IdentityNotVerified
        | ErrorCode::NoSuchUser => StatusCode::FORBIDDEN,
        ErrorCode::LimitExceeded => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::SessionNotFound => StatusCode::NOT_FOUND,
        ErrorCode::SessionOver => StatusCode::GONE,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::StoreFailed | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Whether the fault is the server's (logged at error level, once, by the caller).
pub fn is_server_fault(code: ErrorCode) -> bool {
    status_of(code).is_server_error()
}

/// Whether the refusal only asks the client to come back later (503 `UNAVAILABLE`: a
/// draining or limited instance, a session on the move): expected under load, so the
/// front doors log it at debug, not once per refused request at error.
pub fn is_retry_later(code: ErrorCode) -> bool {
    code == ErrorCode::Unavailable
}

/// On a response: the request was refused, having done nothing, because live instance
/// `.0` holds its session. The forwarding layer (`forward.rs`) replays the request
/// there and never lets this reach the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy(pub Held);

/// `resp`, marked [`HeldBy`] the owner `e` names (if any).
pub fn mark_held(mut resp: Response, e: Option<&Held>) -> Response {
    if let Some(owner) = e {
        resp.extensions_mut().insert(HeldBy(owner.clone()));
    }
    resp
}
