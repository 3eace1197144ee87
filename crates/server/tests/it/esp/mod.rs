//! ESP, the workflow port: `POST /esp/{Method}` against a real server, a customer and an
//! agent over the basic protocol, and the SQLite store in a temp directory.
//!
//! Layout: this file holds the helpers and the posts (`Message`, `Notice`, the EXTERNAL
//! party); `errors.rs` every refusal, keys and offline interactions; `stored.rs` what
//! is stored (idle control, language) and restoration.

mod errors;
mod stored;

use std::time::Duration;

use parley_core::{EventBody, PartyType, Protocol};
use parley_proto::basic::{self, ServerFrame, WireEvent};
use parley_server::config::{Config, Secret};
use parley_store::{InteractionRecord, InteractionStore, TranscriptStore};
use serde_json::{json, Value};

use crate::common::{Chat, Client, TestServer};

/// The key workflows present.
const ESP_KEY: &str = "esp-test-key-0123456789abcdef0123456789";
const QUIET: Duration = Duration::from_millis(250);

fn esp_config(c: &mut Config) {
    c.security.esp_api_keys = vec![Secret::new(ESP_KEY)];
    // No built-in strategy: its greetings would add EXTERNAL posts of their own.
    c.routing.enabled = false;
}

async fn start() -> TestServer {
    TestServer::start(esp_config).await
}

/// `POST /esp/{method}` with a JSON body and the given key; returns status and body.
async fn esp_with(
    server: &TestServer,
    method: &str,
    body: Value,
    key: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{}/esp/{method}", server.addr))
        .json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.expect("http post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn esp(server: &TestServer, method: &str, session: &str, params: Value) -> (u16, Value) {
    esp_with(
        server,
        method,
        json!({"interactionId": session, "parameters": params}),
        Some(ESP_KEY),
    )
    .await
}

/// Posts an accepted `Message`; returns its event id.
async fn message(server: &TestServer, session: &str, params: Value) -> u64 {
    let (status, body) = esp(server, "Message", session, params).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "ok");
    body["eventId"].as_u64().expect("eventId")
}

async fn open_store(server: &TestServer) -> parley_store::AnyStore {
    parley_store::open(&format!(
        "sqlite://{}",
        server.data_dir.join("parley.db").display()
    ))
    .await
    .expect("open store")
}

async fn record(server: &TestServer, session: &str) -> InteractionRecord {
    open_store(server)
        .await
        .interaction(&session.parse().unwrap())
        .await
        .unwrap()
        .expect("interaction record")
}

/// The texts of the messages in `events`.
fn texts(events: &[WireEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.kind == "message")
        .filter_map(|e| e.text.as_deref())
        .collect()
}

/// Everything `client` has received, up to the agent's marker line (events arrive in
/// order, so nothing posted before the marker is still on its way).
async fn seen_until(client: &mut Client, marker: &str) -> Vec<WireEvent> {
    client
        .event_where(|e| e.text.as_deref() == Some(marker))
        .await;
    client.drain_events(QUIET).await
}

#[tokio::test]
async fn messages_reach_the_audience_of_their_visibility_under_the_nickname() {
    let server = start().await;
    let mut chat = Chat::start(&server).await;
    let mut sup = server.client().await;
    sup.register("Sue", "SUPERVISOR", 106).await;
    sup.join(&chat.session, "INT", json!({})).await;

    let all = message(
        &server,
        &chat.session,
        json!({"MessageText": "to everyone", "Nickname": "Workflow", "MessageType": "greeting"}),
    )
    .await;
    let int = message(
        &server,
        &chat.session,
        json!({"MessageText": "to staff", "Nickname": "Workflow", "Visibility": "INT"}),
    )
    .await;
    let vip = message(
        &server,
        &chat.session,
        json!({"MessageText": "to supervisors", "Nickname": "Workflow", "Visibility": "VIP"}),
    )
    .await;
    assert!(all < int && int < vip, "ids increase: {all} {int} {vip}");
    chat.agent.say(&chat.session, "marker").await;

    let customer = seen_until(&mut chat.customer, "marker").await;
    let agent = seen_until(&mut chat.agent, "marker").await;
    let supervisor = seen_until(&mut sup, "marker").await;
    assert_eq!(texts(&customer), vec!["to everyone"]);
    assert_eq!(texts(&agent), vec!["to everyone", "to staff"]);
    assert_eq!(
        texts(&supervisor),
        vec!["to everyone", "to staff", "to supervisors"]
    );
    // Shown under the nickname, from an EXTERNAL party that joined visibly.
    let join = customer
        .iter()
        .find(|e| e.kind == "newParty")
        .expect("the customer sees the workflow join");
    assert_eq!(join.nickname, "Workflow");
    assert_eq!(join.party_type, basic::PartyType::External);
    let m = customer
        .iter()
        .find(|e| e.event_id == all)
        .expect("message");
    assert_eq!(
        (m.nickname.as_str(), m.party_type, m.user_id.as_str()),
        (
            "Workflow",
            basic::PartyType::External,
            join.user_id.as_str()
        )
    );
    assert_eq!(m.message_type.as_deref(), Some("greeting"));
    let staff = agent.iter().find(|e| e.event_id == int).expect("INT");
    assert_eq!(staff.visibility, basic::Visibility::Int);

    // The stored transcript has the EXTERNAL party with protocol ESP.
    let stored = open_store(&server)
        .await
        .load_session(&chat.session.parse().unwrap())
        .await
        .unwrap()
        .expect("stored session");
    let externals: Vec<_> = stored
        .events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::NewParty {
                nickname,
                party_type: PartyType::External,
                protocol,
                ..
            } => Some((nickname.as_str(), *protocol)),
            _ => None,
        })
        .collect();
    assert_eq!(externals, vec![("Workflow", Protocol::Esp)]);
    server.stop().await;
}

#[tokio::test]
async fn the_same_nickname_joins_once_and_no_nickname_is_system() {
    let server = start().await;
    let mut chat = Chat::start(&server).await;
    message(
        &server,
        &chat.session,
        json!({"MessageText": "one", "Nickname": "Bot"}),
    )
    .await;
    message(
        &server,
        &chat.session,
        json!({"MessageText": "two", "Nickname": "Bot"}),
    )
    .await;
    message(&server, &chat.session, json!({"MessageText": "three"})).await;
    chat.agent.say(&chat.session, "marker").await;
    let seen = seen_until(&mut chat.customer, "marker").await;
    let joins: Vec<&str> = seen
        .iter()
        .filter(|e| e.kind == "newParty")
        .map(|e| e.nickname.as_str())
        .collect();
    assert_eq!(joins, vec!["Bot", "System"]);
    let by: Vec<(&str, &str)> = seen
        .iter()
        .filter(|e| e.kind == "message" && e.text.as_deref() != Some("marker"))
        .map(|e| (e.nickname.as_str(), e.text.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        by,
        vec![("Bot", "one"), ("Bot", "two"), ("System", "three")]
    );
    server.stop().await;
}

#[tokio::test]
async fn notices_push_urls_and_custom_text() {
    let server = start().await;
    let mut chat = Chat::start(&server).await;
    let (status, body) = esp(
        &server,
        "Notice",
        &chat.session,
        json!({"NoticeType": "USER_PUSHED_URL", "NoticeText": "https://example.com/help"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let url_id = body["eventId"].as_u64().expect("eventId");
    let (status, body) = esp(
        &server,
        "Notice",
        &chat.session,
        json!({"NoticeType": "USER_CUSTOM", "NoticeText": "{\"step\":2}", "Nickname": "Flow"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let url = chat
        .customer
        .event_where(|e| e.kind == "notice" && e.event_id == url_id)
        .await;
    assert_eq!(url.notice_type.as_deref(), Some("USER_PUSHED_URL"));
    assert_eq!(url.text.as_deref(), Some("https://example.com/help"));
    assert_eq!(
        (url.nickname.as_str(), url.party_type),
        ("System", basic::PartyType::External)
    );
    let custom = chat
        .customer
        .event_where(|e| e.notice_type.as_deref() == Some("USER_CUSTOM"))
        .await;
    assert_eq!(custom.text.as_deref(), Some("{\"step\":2}"));
    assert_eq!(custom.nickname, "Flow");
    server.stop().await;
}

#[tokio::test]
async fn a_form_body_works_for_shell_use() {
    let server = start().await;
    let mut chat = Chat::start(&server).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{}/esp/Message", server.addr))
        .bearer_auth(ESP_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "interactionId={}&MessageText=from+curl&Visibility=ALL",
            chat.session
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    chat.customer
        .event_where(|e| e.text.as_deref() == Some("from curl"))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_chat_with_only_the_customer_and_workflow_parties_ends_when_the_customer_leaves() {
    let server = start().await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer.create(json!({})).await;
    message(
        &server,
        &info.session_id,
        json!({"MessageText": "an agent will be with you"}),
    )
    .await;
    customer
        .event_where(|e| e.text.as_deref() == Some("an agent will be with you"))
        .await;
    customer
        .call(json!({"type": "release", "sessionId": info.session_id}))
        .await;
    customer
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    server.stop().await;
}
