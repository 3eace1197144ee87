//! Decoding an ESP request body into the interaction id and the method's parameters.
//!
//! JSON: `{"interactionId": "...", "parameters": {"MessageText": "...", ...}}`. Parameter
//! values are strings, as Interaction Server sends them; numbers and booleans are taken as
//! their text (`"timeout-alert": 30` is `"30"`), anything else is refused. For shell use a
//! form body (`application/x-www-form-urlencoded`) carries `interactionId` and the
//! parameters as plain keys. The route's body limit bounds the size; the parameter count
//! is bounded here.

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap};
use serde::Deserialize;
use serde_json::Value;

use super::error::{EspCode, EspError};

/// Most parameters one request may carry.
pub(crate) const MAX_PARAMETERS: usize = 64;

/// The name of the interaction id in a body.
pub(crate) const INTERACTION_ID: &str = "interactionId";

/// A decoded request: the interaction it is for and the method's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EspBody {
    /// The interaction (= chat session) id, as given.
    pub(crate) interaction_id: Option<String>,
    /// Parameters by their seed names.
    pub(crate) parameters: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonBody {
    interaction_id: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Value>,
}

/// Which decoder a request's `Content-Type` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// JSON (also when no type is given: the common case for scripts).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// The decoder for the request's `Content-Type`.
pub(crate) fn kind_of(headers: &HeaderMap) -> Result<Kind, EspError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Kind::Json);
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(Kind::Json)
    } else if mime == "application/x-www-form-urlencoded" {
        Ok(Kind::Form)
    } else {
        Err(EspError::new(
            EspCode::UnsupportedMediaType,
            "send application/json (or application/x-www-form-urlencoded)",
        ))
    }
}

/// Decodes a body of the given kind.
pub(crate) fn decode(kind: Kind, bytes: &[u8]) -> Result<EspBody, EspError> {
    match kind {
        Kind::Json => decode_json(bytes),
        Kind::Form => decode_form(bytes),
    }
}

fn decode_json(bytes: &[u8]) -> Result<EspBody, EspError> {
    let body: JsonBody = serde_json::from_slice(bytes).map_err(|e| {
        EspError::new(
            EspCode::MalformedBody,
            format!(
                "expected {{\"interactionId\": \"...\", \"parameters\": {{...}}}}: {}",
                e
            ),
        )
    })?;
    check_count(body.parameters.len())?;
    let mut parameters = BTreeMap::new();
    for (name, value) in body.parameters {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                return Err(EspError::new(
                    EspCode::InvalidParameter,
                    format!("parameter {name:?} must be a string, a number or a boolean"),
                ))
            }
        };
        parameters.insert(name, text);
    }
    Ok(EspBody {
        interaction_id: body.interaction_id,
        parameters,
    })
}

fn decode_form(bytes: &[u8]) -> Result<EspBody, EspError> {
    let mut out = EspBody::default();
    for (key, value) in form_urlencoded::parse(bytes) {
        if key == INTERACTION_ID {
            out.interaction_id = Some(value.into_owned());
            continue;
        }
        out.parameters.insert(key.into_owned(), value.into_owned());
        check_count(out.parameters.len())?;
    }
    Ok(out)
}

fn check_count(n: usize) -> Result<(), EspError> {
    if n > MAX_PARAMETERS {
        return Err(EspError::new(
            EspCode::MalformedBody,
            format!("at most {MAX_PARAMETERS} parameters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_scalars_become_text_and_structures_are_refused() {
        let b = decode(
            Kind::Json,
            br#"{"interactionId":"s1","parameters":{"MessageText":"hi","timeout-alert":30,"enabled":true}}"#,
        )
        .unwrap();
        assert_eq!(b.interaction_id.as_deref(), Some("s1"));
        assert_eq!(b.parameters["timeout-alert"], "30");
        assert_eq!(b.parameters["enabled"], "true");
        let e = decode(Kind::Json, br#"{"parameters":{"MessageText":[1]}}"#).unwrap_err();
        assert_eq!(e.code, EspCode::InvalidParameter);
    }

    #[test]
    fn hostile_json_is_a_malformed_body() {
        for body in [
            &b"not json"[..],
            b"[]",
            b"{\"interactionId\": 5}",
            b"{\"interactionId\":\"s\",\"extra\":1}",
            b"{\"parameters\": \"x\"}",
            b"\xff\xfe",
        ] {
            let e = decode(Kind::Json, body).unwrap_err();
            assert_eq!(e.code, EspCode::MalformedBody, "{body:?}");
        }
    }

    #[test]
    fn forms_carry_the_id_and_plain_parameter_keys() {
        let b = decode(
            Kind::Form,
            b"interactionId=s1&MessageText=hello+there&Visibility=INT",
        )
        .unwrap();
        assert_eq!(b.interaction_id.as_deref(), Some("s1"));
        assert_eq!(b.parameters["MessageText"], "hello there");
        assert_eq!(b.parameters.len(), 2);
    }

    #[test]
    fn the_parameter_count_is_bounded() {
        let many: String = (0..=MAX_PARAMETERS).map(|i| format!("p{i}=x&")).collect();
        assert_eq!(
            decode(Kind::Form, many.as_bytes()).unwrap_err().code,
            EspCode::MalformedBody
        );
    }

    #[test]
    fn content_types_select_the_decoder() {
        let mut h = HeaderMap::new();
        assert_eq!(kind_of(&h).unwrap(), Kind::Json);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert_eq!(kind_of(&h).unwrap(), Kind::Json);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert_eq!(kind_of(&h).unwrap(), Kind::Form);
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(kind_of(&h).unwrap_err().code, EspCode::UnsupportedMediaType);
    }
}
