//! Bounded decoding of inbound basic-protocol frames into typed requests, with a typed
//! error for every way a frame can be wrong. Pure; unit-tested on hostile input.

use parley_proto::basic::ClientFrame;
use parley_proto::ErrorCode;
use serde_json::Value;

/// Frame types a client may send.
const KNOWN_TYPES: &[&str] = &[
    "register",
    "createSession",
    "join",
    "resume",
    "message",
    "notify",
    "release",
];

/// Why a frame was refused, with the request id when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The frame's `requestId`, if readable.
    pub request_id: Option<u64>,
    /// Stable code.
    pub code: ErrorCode,
    /// Detail.
    pub message: String,
}

/// Decodes one text frame. Size is checked before parsing; serde_json bounds nesting
/// depth (128) itself, so a deeply nested frame is an error, not a stack overflow.
pub fn decode(text: &str, max_bytes: usize) -> Result<ClientFrame, DecodeError> {
    let err = |request_id, code, message: String| DecodeError {
        request_id,
        code,
        message,
    };
    if text.len() > max_bytes {
        return Err(err(
            None,
            ErrorCode::FrameTooLarge,
            format!(
                "frame of {} bytes exceeds max-frame-size {max_bytes}",
                text.len()
            ),
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        err(
            None,
            ErrorCode::MalformedFrame,
            format!("not valid JSON: {e}"),
        )
    })?;
    let Value::Object(obj) = &value else {
        return Err(err(
            None,
            ErrorCode::MalformedFrame,
            "a frame is a JSON object".into(),
        ));
    };
    let request_id = obj.get("requestId").and_then(Value::as_u64);
    let Some(kind) = obj.get("type").and_then(Value::as_str) else {
        return Err(err(
            request_id,
            ErrorCode::InvalidField,
            "missing field `type`".into(),
        ));
    };
    if !KNOWN_TYPES.contains(&kind) {
        let shown: String = kind.chars().take(40).collect();
        return Err(err(
            request_id,
            ErrorCode::UnknownFrameType,
            format!("unknown frame type {shown:?}"),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| err(request_id, ErrorCode::InvalidField, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> ErrorCode {
        decode(text, 1024).unwrap_err().code
    }

    #[test]
    fn hostile_frames_get_typed_errors() {
        assert_eq!(code("{"), ErrorCode::MalformedFrame);
        assert_eq!(code("[1,2]"), ErrorCode::MalformedFrame);
        assert_eq!(code("\"register\""), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"requestId":1}"#), ErrorCode::InvalidField);
        assert_eq!(code(r#"{"type":"shutdown"}"#), ErrorCode::UnknownFrameType);
        assert_eq!(
            code(r#"{"type":"message","sessionId":"s"}"#),
            ErrorCode::InvalidField
        );
        assert_eq!(
            code(r#"{"type":"message","sessionId":"s","text":"x","bogus":1}"#),
            ErrorCode::InvalidField
        );
        assert_eq!(code(&"x".repeat(2000)), ErrorCode::FrameTooLarge);
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        assert_eq!(
            decode(&deep, 10_000).unwrap_err().code,
            ErrorCode::MalformedFrame
        );
    }

    #[test]
    fn request_id_is_echoed_when_readable() {
        let e = decode(r#"{"type":"message","requestId":7}"#, 1024).unwrap_err();
        assert_eq!(e.request_id, Some(7));
    }

    #[test]
    fn a_good_frame_decodes() {
        let f = decode(
            r#"{"type":"message","requestId":3,"sessionId":"abc","text":"hi","clientMessageId":"m1"}"#,
            1024,
        )
        .unwrap();
        assert!(matches!(
            f,
            ClientFrame::Message {
                request_id: Some(3),
                ..
            }
        ));
    }
}
