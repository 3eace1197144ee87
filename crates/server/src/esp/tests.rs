//! The ESP parameter rules, method by method (pure: no server, no store).

use std::collections::BTreeMap;

use parley_core::session::SendBody;
use parley_core::{NoticeType, Visibility};
use serde_json::json;

use super::error::{EspCode, EspError};
use super::idle::IdleControl;
use super::params::{parse, Bounds, Call, Language, Method};
use parley_core::session::ExternalRequest;

const BOUNDS: Bounds = Bounds {
    max_text_bytes: 100,
    max_nickname_chars: 8,
};

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn call(method: Method, pairs: &[(&str, &str)]) -> Result<Call, EspError> {
    parse(method, &params(pairs), BOUNDS)
}

fn post(method: Method, pairs: &[(&str, &str)]) -> ExternalRequest {
    match call(method, pairs) {
        Ok(Call::Post(p)) => p,
        other => panic!("expected a post, got {other:?}"),
    }
}

fn idle(pairs: &[(&str, &str)]) -> IdleControl {
    match call(Method::IdleControlConfigure, pairs) {
        Ok(Call::IdleControl(i)) => i,
        other => panic!("expected idle control, got {other:?}"),
    }
}

/// Asserts the refusal's code and the parameter it names.
fn refused(method: Method, pairs: &[(&str, &str)], code: EspCode, parameter: Option<&str>) {
    let e = call(method, pairs).expect_err("refused");
    assert_eq!(
        (e.code, e.parameter.as_deref()),
        (code, parameter),
        "{pairs:?}: {e}"
    );
}

#[test]
fn methods_are_the_four_of_the_seed_case_sensitive() {
    for (name, m) in [
        ("Message", Method::Message),
        ("Notice", Method::Notice),
        ("IdleControlConfigure", Method::IdleControlConfigure),
        ("ConfigureSession", Method::ConfigureSession),
    ] {
        assert_eq!(Method::from_name(name), Some(m));
    }
    for name in ["message", "UpdateProperties", "", "Message "] {
        assert_eq!(Method::from_name(name), None, "{name:?}");
    }
}

#[test]
fn a_message_defaults_to_system_and_all() {
    let p = post(Method::Message, &[("MessageText", "hi"), ("Nickname", "")]);
    assert_eq!(p.nickname, "System");
    assert_eq!(p.visibility, Visibility::All);
    assert!(matches!(
        p.body,
        SendBody::Message { ref text, message_type: None } if text == "hi"
    ));
    let p = post(
        Method::Message,
        &[
            ("MessageText", "hi"),
            ("Nickname", " Bot "),
            ("Visibility", "VIP"),
            ("MessageType", "greeting"),
            ("SomethingElse", "ignored"),
        ],
    );
    assert_eq!(
        (p.nickname.as_str(), p.visibility),
        ("Bot", Visibility::Vip)
    );
    assert!(
        matches!(p.body, SendBody::Message { message_type: Some(ref t), .. } if t == "greeting")
    );
    assert_eq!(
        post(
            Method::Message,
            &[("MessageText", "x"), ("Visibility", "INT")]
        )
        .visibility,
        Visibility::Int
    );
}

#[test]
fn message_refusals_name_the_parameter() {
    use EspCode::*;
    let m = Method::Message;
    refused(m, &[], MissingParameter, Some("MessageText"));
    refused(
        m,
        &[("MessageText", " ")],
        InvalidParameter,
        Some("MessageText"),
    );
    refused(
        m,
        &[("MessageText", &"x".repeat(101))],
        TextTooLarge,
        Some("MessageText"),
    );
    for bad in ["all", "PUBLIC", "INTERNAL"] {
        refused(
            m,
            &[("MessageText", "x"), ("Visibility", bad)],
            InvalidParameter,
            Some("Visibility"),
        );
    }
    refused(
        m,
        &[("MessageText", "x"), ("Nickname", "123456789")],
        InvalidParameter,
        Some("Nickname"),
    );
    refused(
        m,
        &[("MessageText", "x"), ("Nickname", "a\u{7}")],
        InvalidParameter,
        Some("Nickname"),
    );
    refused(
        m,
        &[("MessageText", "x"), ("MessageType", &"t".repeat(256))],
        InvalidParameter,
        Some("MessageType"),
    );
    // Exactly max-message-size is fine.
    post(m, &[("MessageText", &"x".repeat(100))]);
}

#[test]
fn notices_are_pushed_urls_or_custom() {
    let p = post(
        Method::Notice,
        &[
            ("NoticeType", "USER_PUSHED_URL"),
            ("NoticeText", " https://example.com/help?q=1 "),
            ("Visibility", "INT"),
        ],
    );
    assert!(matches!(
        p.body,
        SendBody::Notice { notice_type: NoticeType::UserPushedUrl, text: Some(ref t), .. }
            if t == "https://example.com/help?q=1"
    ));
    assert_eq!(p.visibility, Visibility::Int);
    let p = post(Method::Notice, &[("NoticeType", "USER_CUSTOM")]);
    assert!(matches!(
        p.body,
        SendBody::Notice {
            notice_type: NoticeType::UserCustom,
            text: None,
            ..
        }
    ));
    post(
        Method::Notice,
        &[
            ("NoticeType", "USER_PUSHED_URL"),
            ("NoticeText", "http://h"),
        ],
    );
}

#[test]
fn notice_refusals_name_the_parameter() {
    use EspCode::*;
    let n = Method::Notice;
    refused(n, &[], MissingParameter, Some("NoticeType"));
    for bad in [
        "TYPING_STARTED",
        "SYS_COMMAND",
        "user_custom",
        "USER_UPDATE_NICK",
    ] {
        refused(
            n,
            &[("NoticeType", bad)],
            InvalidParameter,
            Some("NoticeType"),
        );
    }
    refused(
        n,
        &[("NoticeType", "USER_PUSHED_URL")],
        MissingParameter,
        Some("NoticeText"),
    );
    for bad in [
        "example.com",
        "/relative",
        "javascript:alert(1)",
        "ftp://example.com/",
        "data:text/html,x",
        "http://",
        "https://exa mple.com/",
    ] {
        refused(
            n,
            &[("NoticeType", "USER_PUSHED_URL"), ("NoticeText", bad)],
            InvalidParameter,
            Some("NoticeText"),
        );
    }
    refused(
        n,
        &[
            ("NoticeType", "USER_CUSTOM"),
            ("NoticeText", &"x".repeat(101)),
        ],
        TextTooLarge,
        Some("NoticeText"),
    );
    refused(
        n,
        &[("NoticeType", "USER_CUSTOM"), ("Visibility", "X")],
        InvalidParameter,
        Some("Visibility"),
    );
}

#[test]
fn idle_control_types_each_setting() {
    let i = idle(&[
        ("enabled", "TRUE"),
        ("include-notices", "major2"),
        ("message-alert", ""),
        ("message-close", "bye"),
        ("timeout-alert", "30"),
        ("timeout-alert2", "0"),
        ("timeout-close", "86400"),
    ]);
    assert!(!i.reset);
    assert_eq!(
        serde_json::Value::Object(i.set),
        json!({
            "enabled": true,
            "include-notices": "major2",
            "message-alert": "",
            "message-close": "bye",
            "timeout-alert": 30,
            "timeout-alert2": 0,
            "timeout-close": 86400,
        })
    );
    let i = idle(&[("reset-parameters", "true")]);
    assert!(i.reset && i.set.is_empty());
}

#[test]
fn idle_control_refusals_name_the_parameter() {
    use EspCode::*;
    let m = Method::IdleControlConfigure;
    refused(m, &[], MissingParameter, None);
    refused(m, &[("enabled", "")], MissingParameter, None);
    refused(
        m,
        &[("timeout-idle", "5")],
        UnknownParameter,
        Some("timeout-idle"),
    );
    refused(
        m,
        &[("enabled", "true"), ("Enabled", "true")],
        UnknownParameter,
        Some("Enabled"),
    );
    for (name, bad) in [
        ("enabled", "yes"),
        ("enabled", "1"),
        ("reset-parameters", "maybe"),
        ("include-notices", "some"),
        ("timeout-alert", "-1"),
        ("timeout-alert", "0"),
        ("timeout-alert", "1.5"),
        ("timeout-alert", "+5"),
        ("timeout-close", "86401"),
        ("timeout-alert2", "99999999999999999999999"),
        ("timeout-alert2", "ten"),
    ] {
        refused(m, &[(name, bad)], InvalidParameter, Some(name));
    }
    refused(
        m,
        &[("message-alert", &"x".repeat(101))],
        TextTooLarge,
        Some("message-alert"),
    );
}

#[test]
fn idle_control_overrides_merge_unless_reset() {
    let previous = r#"{"enabled":true,"timeout-alert":60}"#;
    let merged = idle(&[("timeout-alert", "30"), ("message-close", "bye")]).apply(Some(previous));
    assert_eq!(
        serde_json::Value::Object(merged),
        json!({"enabled": true, "timeout-alert": 30, "message-close": "bye"})
    );
    let reset = idle(&[("reset-parameters", "true"), ("timeout-close", "10")]);
    assert_eq!(
        serde_json::Value::Object(reset.apply(Some(previous))),
        json!({"timeout-close": 10})
    );
    // A damaged stored value is no reason to refuse the workflow.
    let merged = idle(&[("enabled", "false")]).apply(Some("not json"));
    assert_eq!(serde_json::Value::Object(merged), json!({"enabled": false}));
}

#[test]
fn configure_session_prefers_the_code() {
    let lang = |pairs: &[(&str, &str)]| match call(Method::ConfigureSession, pairs) {
        Ok(Call::Language(l)) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        lang(&[("GCTI_LanguageCode", "fr"), ("GCTI_LanguageName", "German")]),
        Language::Code("fr".into())
    );
    assert_eq!(
        lang(&[("GCTI_LanguageCode", " "), ("GCTI_LanguageName", "German")]),
        Language::Name("German".into())
    );
    refused(
        Method::ConfigureSession,
        &[("Language", "fr")],
        EspCode::MissingParameter,
        Some("GCTI_LanguageCode"),
    );
    refused(
        Method::ConfigureSession,
        &[("GCTI_LanguageName", &"x".repeat(256))],
        EspCode::InvalidParameter,
        Some("GCTI_LanguageName"),
    );
}

#[test]
fn every_code_has_a_distinct_wire_name_and_a_client_or_server_status() {
    use EspCode::*;
    let all = [
        Unauthorized,
        UnknownMethod,
        MalformedBody,
        BodyTooLarge,
        UnsupportedMediaType,
        MissingParameter,
        InvalidParameter,
        UnknownParameter,
        TextTooLarge,
        NotFound,
        InteractionOffline,
        Unavailable,
        Internal,
    ];
    let names: std::collections::HashSet<_> = all.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), all.len());
    for c in all {
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
        assert!(c.status().is_client_error() || c.status().is_server_error());
    }
    assert_eq!(UnknownMethod.status().as_u16(), 404);
    assert_eq!(NotFound.status().as_u16(), 404);
    assert_eq!(InteractionOffline.status().as_u16(), 409);
    assert_eq!(Unauthorized.status().as_u16(), 401);
}
