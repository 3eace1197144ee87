//! The ESP methods and their parameters, with the seed's names and rules ("How to send
//! ESP requests to Chat Session from Workflow"). Pure: a method name and its parameters
//! in, a typed call or an error naming the offending parameter out.
//!
//! Empty optional parameters count as absent (strategies often pass every parameter of a
//! block, the unused ones empty). Parameters a method does not define are ignored, except
//! by `IdleControlConfigure` (see `idle.rs`), whose whole point is its parameter set.

use std::collections::BTreeMap;

use parley_core::session::{SendBody, DEFAULT_EXTERNAL_NICKNAME};
use parley_core::{NoticeType, UserData, Visibility};

use super::error::{EspCode, EspError};
use super::idle::{self, IdleControl};
use parley_core::session::ExternalRequest;

/// `MessageText`: the message (Message, mandatory).
pub(crate) const MESSAGE_TEXT: &str = "MessageText";
/// `MessageType`: an opaque tag (Message, optional).
pub(crate) const MESSAGE_TYPE: &str = "MessageType";
/// `Nickname`: who the post is shown as (Message and Notice, optional).
pub(crate) const NICKNAME: &str = "Nickname";
/// `Visibility`: `ALL` (default), `INT` or `VIP` (Message and Notice, optional).
pub(crate) const VISIBILITY: &str = "Visibility";
/// `NoticeType`: `USER_PUSHED_URL` or `USER_CUSTOM` (Notice, mandatory).
pub(crate) const NOTICE_TYPE: &str = "NoticeType";
/// `NoticeText`: the notice's text; the URL of a `USER_PUSHED_URL` (Notice).
pub(crate) const NOTICE_TEXT: &str = "NoticeText";
/// `ClientMessageId` (Parley's extension; Message and Notice, optional): the workflow's
/// own id for the post, so a post retried after a lost reply (a crash, a timeout) is
/// stored once.
pub(crate) const CLIENT_MESSAGE_ID: &str = "ClientMessageId";
/// `GCTI_LanguageCode`: the language business attribute's name (ConfigureSession).
pub(crate) const LANGUAGE_CODE: &str = "GCTI_LanguageCode";
/// `GCTI_LanguageName`: used when no code is given (ConfigureSession).
pub(crate) const LANGUAGE_NAME: &str = "GCTI_LanguageName";

/// Longest `MessageType`, language code or language name, in bytes.
const MAX_TAG_BYTES: usize = 255;

/// An ESP method (the External Service block's method name, case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Submit a text message.
    Message,
    /// Send a `USER_PUSHED_URL` or `USER_CUSTOM` notice.
    Notice,
    /// Change the session's inactivity control.
    IdleControlConfigure,
    /// Change the session's language.
    ConfigureSession,
}

impl Method {
    /// The method of a path segment, if it is one.
    pub(crate) fn from_name(name: &str) -> Option<Method> {
        match name {
            "Message" => Some(Method::Message),
            "Notice" => Some(Method::Notice),
            "IdleControlConfigure" => Some(Method::IdleControlConfigure),
            "ConfigureSession" => Some(Method::ConfigureSession),
            _ => None,
        }
    }
}

/// The language a `ConfigureSession` sets: a code wins over a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Language {
    /// `GCTI_LanguageCode`.
    Code(String),
    /// `GCTI_LanguageName`.
    Name(String),
}

/// A validated request.
#[derive(Debug, Clone)]
pub(crate) enum Call {
    /// `Message` or `Notice`.
    Post(ExternalRequest),
    /// `IdleControlConfigure`.
    IdleControl(IdleControl),
    /// `ConfigureSession`.
    Language(Language),
}

/// The bounds parameters are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// `max-message-size`: longest message, notice or idle-control text, in bytes.
    pub(crate) max_text_bytes: usize,
    /// Longest nickname, in characters.
    pub(crate) max_nickname_chars: usize,
}

/// Validates the parameters of `method`.
pub(crate) fn parse(
    method: Method,
    params: &BTreeMap<String, String>,
    bounds: Bounds,
) -> Result<Call, EspError> {
    match method {
        Method::Message => message(params, bounds).map(Call::Post),
        Method::Notice => notice(params, bounds).map(Call::Post),
        Method::IdleControlConfigure => idle::parse(params, bounds).map(Call::IdleControl),
        Method::ConfigureSession => language(params).map(Call::Language),
    }
}

/// A parameter's value, `None` when absent or empty.
pub(super) fn optional<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// A text bounded by `max-message-size`.
pub(super) fn bounded_text(name: &str, text: &str, bounds: Bounds) -> Result<(), EspError> {
    if text.len() > bounds.max_text_bytes {
        return Err(EspError::param(
            EspCode::TextTooLarge,
            name,
            format!(
                "{name} is {} bytes; max-message-size is {}",
                text.len(),
                bounds.max_text_bytes
            ),
        ));
    }
    Ok(())
}

fn message(params: &BTreeMap<String, String>, bounds: Bounds) -> Result<ExternalRequest, EspError> {
    let text = params
        .get(MESSAGE_TEXT)
        .ok_or_else(|| EspError::missing(MESSAGE_TEXT))?;
    if text.trim().is_empty() {
        return Err(EspError::invalid(MESSAGE_TEXT, "must not be empty"));
    }
    bounded_text(MESSAGE_TEXT, text, bounds)?;
    let message_type = optional(params, MESSAGE_TYPE)
        .map(|t| tag(MESSAGE_TYPE, t))
        .transpose()?;
    Ok(ExternalRequest {
        nickname: nickname(params, bounds)?,
        visibility: visibility(params)?,
        body: SendBody::Message {
            text: text.clone(),
            message_type,
        },
        client_msg_id: client_message_id(params)?,
    })
}

fn notice(params: &BTreeMap<String, String>, bounds: Bounds) -> Result<ExternalRequest, EspError> {
    let notice_type = match params.get(NOTICE_TYPE).map(String::as_str) {
        None | Some("") => return Err(EspError::missing(NOTICE_TYPE)),
        Some("USER_PUSHED_URL") => NoticeType::UserPushedUrl,
        Some("USER_CUSTOM") => NoticeType::UserCustom,
        Some(_) => {
            return Err(EspError::invalid(
                NOTICE_TYPE,
                "must be USER_PUSHED_URL or USER_CUSTOM",
            ))
        }
    };
    let text = optional(params, NOTICE_TEXT);
    if let Some(t) = text {
        bounded_text(NOTICE_TEXT, t, bounds)?;
    }
    let text = match notice_type {
        NoticeType::UserPushedUrl => {
            let url = text.ok_or_else(|| {
                EspError::param(
                    EspCode::MissingParameter,
                    NOTICE_TEXT,
                    "a USER_PUSHED_URL notice needs the URL as NoticeText",
                )
            })?;
            Some(pushed_url(url)?)
        }
        _ => text.map(str::to_owned),
    };
    Ok(ExternalRequest {
        nickname: nickname(params, bounds)?,
        visibility: visibility(params)?,
        body: SendBody::Notice {
            notice_type,
            text,
            user_data: UserData::new(),
        },
        client_msg_id: client_message_id(params)?,
    })
}

/// `ClientMessageId`, if given: 1 to 64 letters, digits, `-` or `_`.
fn client_message_id(
    params: &BTreeMap<String, String>,
) -> Result<Option<parley_core::ClientMsgId>, EspError> {
    optional(params, CLIENT_MESSAGE_ID)
        .map(|v| {
            v.parse().map_err(|_| {
                EspError::invalid(
                    CLIENT_MESSAGE_ID,
                    "must be 1 to 64 letters, digits, '-' or '_'",
                )
            })
        })
        .transpose()
}

/// A pushed URL must be an absolute `http` or `https` URL with a host: the customer's
/// browser opens it, so `javascript:`, `data:` and relative links are refused.
fn pushed_url(text: &str) -> Result<String, EspError> {
    let text = text.trim();
    let bad = || {
        EspError::invalid(
            NOTICE_TEXT,
            "a USER_PUSHED_URL notice needs an absolute http or https URL",
        )
    };
    let url = reqwest::Url::parse(text).map_err(|_| bad())?;
    let web = matches!(url.scheme(), "http" | "https");
    if !web || url.host_str().is_none_or(str::is_empty) || text.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok(text.to_owned())
}

/// `Nickname`, trimmed; `System` when absent or blank.
fn nickname(params: &BTreeMap<String, String>, bounds: Bounds) -> Result<String, EspError> {
    let nick = optional(params, NICKNAME).map(str::trim).unwrap_or("");
    if nick.is_empty() {
        return Ok(DEFAULT_EXTERNAL_NICKNAME.to_owned());
    }
    if nick.chars().count() > bounds.max_nickname_chars {
        return Err(EspError::invalid(
            NICKNAME,
            format!("at most {} characters", bounds.max_nickname_chars),
        ));
    }
    if nick.chars().any(char::is_control) {
        return Err(EspError::invalid(NICKNAME, "no control characters"));
    }
    Ok(nick.to_owned())
}

/// `Visibility`: `ALL` when absent.
fn visibility(params: &BTreeMap<String, String>) -> Result<Visibility, EspError> {
    match optional(params, VISIBILITY) {
        None | Some("ALL") => Ok(Visibility::All),
        Some("INT") => Ok(Visibility::Int),
        Some("VIP") => Ok(Visibility::Vip),
        Some(_) => Err(EspError::invalid(VISIBILITY, "must be ALL, INT or VIP")),
    }
}

/// A short opaque value (`MessageType`, language code or name).
fn tag(name: &str, value: &str) -> Result<String, EspError> {
    if value.len() > MAX_TAG_BYTES {
        return Err(EspError::invalid(
            name,
            format!("at most {MAX_TAG_BYTES} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(EspError::invalid(name, "no control characters"));
    }
    Ok(value.to_owned())
}

/// `ConfigureSession`: `GCTI_LanguageCode` if present (the rest is ignored), else
/// `GCTI_LanguageName`; one of them is required.
fn language(params: &BTreeMap<String, String>) -> Result<Language, EspError> {
    let given = |name| {
        optional(params, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(code) = given(LANGUAGE_CODE) {
        return tag(LANGUAGE_CODE, code).map(Language::Code);
    }
    if let Some(name) = given(LANGUAGE_NAME) {
        return tag(LANGUAGE_NAME, name).map(Language::Name);
    }
    Err(EspError::param(
        EspCode::MissingParameter,
        LANGUAGE_CODE,
        "ConfigureSession needs GCTI_LanguageCode or GCTI_LanguageName",
    ))
}
