//! Refusals: every error code with the parameter it names, keys, offline interactions.

use std::time::Duration;

use parley_core::{EventBody, PartyType};
use parley_proto::basic::ServerFrame;
use parley_store::TranscriptStore;
use serde_json::{json, Value};

use super::{esp, esp_config, esp_with, message, open_store, start, ESP_KEY};
use crate::common::{Chat, TestServer, WAIT};

/// Asserts a refusal: status, code and the parameter it names.
fn refused(got: (u16, Value), status: u16, code: &str, parameter: Option<&str>) {
    let (s, body) = got;
    assert_eq!(
        (s, body["code"].as_str(), body["parameter"].as_str()),
        (status, Some(code), parameter),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn every_refusal_has_its_code_and_names_the_parameter() {
    let server = TestServer::start(|c| {
        esp_config(c);
        c.settings.max_message_size_bytes = 100;
    })
    .await;
    let chat = Chat::start(&server).await;
    let s = chat.session.as_str();
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "Message",
            json!({}),
            400,
            "missing-parameter",
            Some("MessageText"),
        ),
        (
            "Message",
            json!({"MessageText": "x", "Visibility": "PUBLIC"}),
            400,
            "invalid-parameter",
            Some("Visibility"),
        ),
        (
            "Message",
            json!({"MessageText": "x".repeat(101)}),
            413,
            "text-too-large",
            Some("MessageText"),
        ),
        (
            "Message",
            json!({"MessageText": "x", "Nickname": "n".repeat(65)}),
            400,
            "invalid-parameter",
            Some("Nickname"),
        ),
        (
            "Notice",
            json!({}),
            400,
            "missing-parameter",
            Some("NoticeType"),
        ),
        (
            "Notice",
            json!({"NoticeType": "TYPING_STARTED"}),
            400,
            "invalid-parameter",
            Some("NoticeType"),
        ),
        (
            "Notice",
            json!({"NoticeType": "USER_PUSHED_URL", "NoticeText": "javascript:alert(1)"}),
            400,
            "invalid-parameter",
            Some("NoticeText"),
        ),
        (
            "Notice",
            json!({"NoticeType": "USER_PUSHED_URL", "NoticeText": "not a url"}),
            400,
            "invalid-parameter",
            Some("NoticeText"),
        ),
        (
            "Notice",
            json!({"NoticeType": "USER_CUSTOM", "NoticeText": "x".repeat(101)}),
            413,
            "text-too-large",
            Some("NoticeText"),
        ),
        (
            "IdleControlConfigure",
            json!({}),
            400,
            "missing-parameter",
            None,
        ),
        (
            "IdleControlConfigure",
            json!({"timeout-idle": "5"}),
            400,
            "unknown-parameter",
            Some("timeout-idle"),
        ),
        (
            "IdleControlConfigure",
            json!({"enabled": "yes"}),
            400,
            "invalid-parameter",
            Some("enabled"),
        ),
        (
            "IdleControlConfigure",
            json!({"reset-parameters": "1"}),
            400,
            "invalid-parameter",
            Some("reset-parameters"),
        ),
        (
            "IdleControlConfigure",
            json!({"timeout-alert": "-5"}),
            400,
            "invalid-parameter",
            Some("timeout-alert"),
        ),
        (
            "IdleControlConfigure",
            json!({"timeout-close": "ten"}),
            400,
            "invalid-parameter",
            Some("timeout-close"),
        ),
        (
            "ConfigureSession",
            json!({"Language": "fr"}),
            400,
            "missing-parameter",
            Some("GCTI_LanguageCode"),
        ),
    ];
    for (method, params, status, code, parameter) in cases {
        let got = esp(&server, method, s, params.clone()).await;
        assert_eq!(got.0, status, "{method} {params}: {}", got.1);
        refused(got, status, code, parameter);
    }
    refused(
        esp(&server, "Chat", s, json!({"MessageText": "x"})).await,
        404,
        "unknown-method",
        None,
    );
    refused(
        esp(
            &server,
            "Message",
            "no-such-chat",
            json!({"MessageText": "x"}),
        )
        .await,
        404,
        "not-found",
        None,
    );
    refused(
        esp_with(
            &server,
            "Message",
            json!({"parameters": {"MessageText": "x"}}),
            Some(ESP_KEY),
        )
        .await,
        400,
        "missing-parameter",
        Some("interactionId"),
    );
    refused(
        esp(&server, "Message", "../etc", json!({"MessageText": "x"})).await,
        400,
        "invalid-parameter",
        Some("interactionId"),
    );
    refused(
        esp_with(
            &server,
            "Message",
            json!(["not", "an", "object"]),
            Some(ESP_KEY),
        )
        .await,
        400,
        "malformed-body",
        None,
    );
    let too_big = json!({"interactionId": s, "parameters": {"MessageText": "x".repeat(80 * 1024)}});
    refused(
        esp_with(&server, "Message", too_big, Some(ESP_KEY)).await,
        413,
        "body-too-large",
        None,
    );
    let resp = reqwest::Client::new()
        .post(format!("http://{}/esp/Message", server.addr))
        .bearer_auth(ESP_KEY)
        .header("content-type", "text/plain")
        .body("MessageText=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    // Nothing refused reached the session.
    let stored = open_store(&server)
        .await
        .load_session(&chat.session.parse().unwrap())
        .await
        .unwrap()
        .expect("stored");
    assert!(stored.events.iter().all(|e| !matches!(
        &e.body,
        EventBody::NewParty {
            party_type: PartyType::External,
            ..
        }
    )));
    server.stop().await;
}

#[tokio::test]
async fn requests_without_an_accepted_key_are_unauthorized() {
    let server = start().await;
    let chat = Chat::start(&server).await;
    let body = json!({"interactionId": chat.session, "parameters": {"MessageText": "x"}});
    for key in [None, Some("wrong-key-0123456789abcdef0123456789"), Some("")] {
        refused(
            esp_with(&server, "Message", body.clone(), key).await,
            401,
            "unauthorized",
            None,
        );
    }
    // Without a key, even an unknown method is just unauthorized.
    refused(
        esp_with(&server, "Nope", body.clone(), None).await,
        401,
        "unauthorized",
        None,
    );
    let resp = reqwest::Client::new()
        .post(format!("http://{}/esp/Message", server.addr))
        .header("authorization", format!("Basic {ESP_KEY}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer")
    );
    server.stop().await;

    // No esp-api-keys configured: every request is refused.
    let server = TestServer::start(|c| c.routing.enabled = false).await;
    let chat = Chat::start(&server).await;
    let body = json!({"interactionId": chat.session, "parameters": {"MessageText": "x"}});
    refused(
        esp_with(&server, "Message", body, Some(ESP_KEY)).await,
        401,
        "unauthorized",
        None,
    );
    server.stop().await;
}

#[tokio::test]
async fn an_interaction_whose_chat_is_closed_is_offline() {
    let server = start().await;
    let mut chat = Chat::start(&server).await;
    message(&server, &chat.session, json!({"MessageText": "before"})).await;
    chat.customer
        .call(json!({"type": "release", "sessionId": chat.session, "afterAction": "ForceClose"}))
        .await;
    chat.agent
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let got = loop {
        let got = esp(
            &server,
            "Message",
            &chat.session,
            json!({"MessageText": "after"}),
        )
        .await;
        if got.0 != 200 || tokio::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let message = got.1["message"].as_str().unwrap_or("").to_owned();
    refused(got, 409, "interaction-offline", None);
    assert!(message.contains("offline"), "{message}");
    for (method, params) in [
        ("Notice", json!({"NoticeType": "USER_CUSTOM"})),
        ("IdleControlConfigure", json!({"enabled": "true"})),
        ("ConfigureSession", json!({"GCTI_LanguageCode": "fr"})),
    ] {
        refused(
            esp(&server, method, &chat.session, params).await,
            409,
            "interaction-offline",
            None,
        );
    }
    server.stop().await;
}
