//! What ESP stores: idle-control overrides and the language on the interaction record,
//! and posts after a restart (restoration).

use parley_core::{EventBody, PartyType};
use parley_store::{InteractionRecord, TranscriptStore};
use serde_json::{json, Value};

use super::{esp, esp_config, message, open_store, record, start};
use crate::common::{Chat, TestServer};

#[tokio::test]
async fn idle_control_and_language_are_stored_on_the_interaction() {
    let server = start().await;
    let chat = Chat::start(&server).await;
    let s = chat.session.as_str();
    let ok = |got: (u16, Value)| {
        assert_eq!(got, (200, json!({"result": "ok"})));
    };
    ok(esp(
        &server,
        "IdleControlConfigure",
        s,
        json!({"enabled": "true", "timeout-alert": "30"}),
    )
    .await);
    ok(esp(
        &server,
        "IdleControlConfigure",
        s,
        json!({"timeout-close": 10, "message-close": "bye"}),
    )
    .await);
    let idle = |r: &InteractionRecord| -> Value {
        serde_json::from_str(r.properties.get("IdleControl").expect("IdleControl")).unwrap()
    };
    assert_eq!(
        idle(&record(&server, s).await),
        json!({"enabled": true, "timeout-alert": 30, "timeout-close": 10, "message-close": "bye"})
    );
    ok(esp(
        &server,
        "IdleControlConfigure",
        s,
        json!({"reset-parameters": "true", "include-notices": "all"}),
    )
    .await);
    assert_eq!(
        idle(&record(&server, s).await),
        json!({"include-notices": "all"})
    );

    ok(esp(
        &server,
        "ConfigureSession",
        s,
        json!({"GCTI_LanguageCode": "fr", "GCTI_LanguageName": "German"}),
    )
    .await);
    let r = record(&server, s).await;
    assert_eq!(
        r.properties.get("GCTI_LanguageCode").map(String::as_str),
        Some("fr")
    );
    assert_eq!(
        r.properties.get("GCTI_LanguageName").map(String::as_str),
        Some("")
    );
    ok(esp(
        &server,
        "ConfigureSession",
        s,
        json!({"GCTI_LanguageName": "German"}),
    )
    .await);
    let r = record(&server, s).await;
    assert_eq!(
        r.properties.get("GCTI_LanguageCode").map(String::as_str),
        Some("")
    );
    assert_eq!(
        r.properties.get("GCTI_LanguageName").map(String::as_str),
        Some("German")
    );
    // Stored, and nothing is posted into the chat.
    assert!(!r.user_data.contains_key("IdleControl"));
    server.stop().await;
}

#[tokio::test]
async fn a_post_restores_a_session_after_a_restart_and_reuses_its_party() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), esp_config).await;
    let chat = Chat::start(&server).await;
    message(&server, &chat.session, json!({"MessageText": "before"})).await;
    server.stop().await;

    let server = TestServer::start_in(dir.path(), esp_config).await;
    let after = message(&server, &chat.session, json!({"MessageText": "after"})).await;
    let stored = open_store(&server)
        .await
        .load_session(&chat.session.parse().unwrap())
        .await
        .unwrap()
        .expect("stored");
    let joins: Vec<_> = stored
        .events
        .iter()
        .filter(|e| {
            matches!(
                &e.body,
                EventBody::NewParty {
                    party_type: PartyType::External,
                    ..
                }
            )
        })
        .map(|e| e.from.clone())
        .collect();
    assert_eq!(
        joins.len(),
        2,
        "joined, and shown joining again after the restoration"
    );
    assert_eq!(joins[0], joins[1], "the same party");
    assert!(stored.events.iter().any(|e| e.id.0 == after));
    server.stop().await;
}

/// Parley's `ClientMessageId` extension: a workflow that retries a `Message` whose reply
/// it lost gets the first post's event id back, before and after a restart, and the
/// transcript holds the line once. Another id is another post; a bad id is refused.
#[tokio::test]
async fn a_retried_message_with_a_client_message_id_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), esp_config).await;
    let chat = Chat::start(&server).await;
    let post = json!({"MessageText": "your order shipped", "Nickname": "Bot",
                      "ClientMessageId": "wf-42"});
    let first = message(&server, &chat.session, post.clone()).await;
    assert_eq!(message(&server, &chat.session, post.clone()).await, first);
    let (status, body) = esp(
        &server,
        "Message",
        &chat.session,
        json!({"MessageText": "x", "ClientMessageId": "not ok!"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    server.stop().await;

    let server = TestServer::start_in(dir.path(), esp_config).await;
    assert_eq!(
        message(&server, &chat.session, post).await,
        first,
        "the retry after a restart is recognised"
    );
    let other = json!({"MessageText": "your order shipped", "Nickname": "Bot",
                       "ClientMessageId": "wf-43"});
    assert!(message(&server, &chat.session, other).await > first);
    let stored = open_store(&server)
        .await
        .load_session(&chat.session.parse().unwrap())
        .await
        .unwrap()
        .expect("stored");
    let lines = stored
        .events
        .iter()
        .filter(
            |e| matches!(&e.body, EventBody::Message { text, .. } if text == "your order shipped"),
        )
        .count();
    assert_eq!(lines, 2, "wf-42 once, wf-43 once");
    server.stop().await;
}
