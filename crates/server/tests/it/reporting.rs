//! Reporting statistics (`attach-session-statistics`, docs/reporting.md) on a real
//! server: a chat ends, and its interaction's user data — read through the admin API and
//! the desktop's interaction read — and the signed `interaction.ended` webhook carry the
//! seed's keys with the right values.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parley_core::stats::AttachStatistics;
use parley_proto::basic::ServerFrame;
use parley_server::config::{Config, Secret};
use parley_server::webhooks::sign::{verify, SIGNATURE_HEADER};
use serde_json::{json, Value};

use crate::common::{Client, TestServer, WAIT};
use crate::contacts::{admin_get, configure, SAM_PASSWORD};

const SECRET: &str = "reporting-webhook-secret-0123456789abcdef";

type Seen = Arc<Mutex<Vec<Value>>>;

async fn receive(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !verify(SECRET.as_bytes(), signature, &body, now, 300) {
        return StatusCode::UNAUTHORIZED;
    }
    seen.lock()
        .expect("lock")
        .push(serde_json::from_slice(&body).expect("json body"));
    StatusCode::NO_CONTENT
}

/// A webhook receiver on 127.0.0.1:0: what it has seen, and its URL.
async fn receiver() -> (Seen, String) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (seen, format!("http://{addr}/hook"))
}

/// A server with an admin key, webhooks to `hook`, and `attach-session-statistics = mode`.
async fn server(mode: AttachStatistics, hook: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let hook = hook.to_owned();
    TestServer::start(move |c| {
        configure(c);
        c.settings.attach_session_statistics = mode;
        c.webhooks.urls = vec![hook];
        c.webhooks.secret = Some(Secret::new(SECRET));
        c.webhooks.retry_delay_ms = 5;
        tweak(c);
    })
    .await
}

/// A customer "Rita" (from the web) and an agent in one chat: customer and agent clients,
/// and the session id.
async fn chat(server: &TestServer) -> (Client, Client, String) {
    let mut customer = server.client().await;
    customer.register("Rita", "CLIENT", 106).await;
    let s = customer
        .create(json!({"MediaOrigin": "web", "FirstName": "Rita"}))
        .await
        .session_id;
    let agent = server.client().await;
    (customer, agent, s)
}

async fn force_close(agent: &mut Client, s: &str) {
    match agent
        .call(json!({"type": "release", "sessionId": s, "afterAction": "ForceClose"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }
}

/// The interaction record once its chat is over (its end facts are written with the
/// statistics, in one transaction).
async fn ended_record(server: &TestServer, s: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, record) = admin_get(server, &format!("/admin/v1/interactions/{s}")).await;
        assert_eq!(status, 200, "{record}");
        if !record["end"].is_null() {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never ended: {record}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `interaction.ended` webhook of `s`.
async fn ended_webhook(seen: &Seen, s: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = seen
            .lock()
            .expect("lock")
            .iter()
            .find(|e| e["interactionId"] == s && e["type"] == "interaction.ended")
            .cloned();
        if let Some(e) = found {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no interaction.ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_finished_chat_carries_every_statistic_in_its_user_data_and_its_webhook() {
    let (seen, hook) = receiver().await;
    let server = server(AttachStatistics::All, &hook, |_| {}).await;
    let (mut customer, mut agent, s) = chat(&server).await;
    for text in ["one", "two", "three"] {
        customer.say(&s, text).await;
    }
    agent.register("Alex", "AGENT", 106).await;
    agent.join(&s, "ALL", json!({})).await;
    agent.say(&s, "hi Rita").await;
    agent.say(&s, "bye").await;
    force_close(&mut agent, &s).await;

    let record = ended_record(&server, &s).await;
    let data = &record["userData"];
    for (key, value) in [
        ("csg_ChatSessionID", s.as_str()),
        ("csg_MediaOrigin", "web"),
        ("csg_MediaType", "chat"),
        ("csg_SessionEndedBy", "AGENT"),
        ("csg_SessionEndedReason", "FORCE"),
        ("csg_SessionEndedAgent", "PRESENT"),
        ("csg_MessagesFromCustomersCount", "3"),
        ("csg_MessagesFromCustomersSize", "11"),
        ("csg_MessagesFromAgentsCount", "2"),
        ("csg_MessagesFromAgentsSize", "10"),
        ("csg_PartiesAsAgentCount", "1"),
        ("csg_PartiesAsBotCount", "0"),
        ("csg_MessagesFromBotsCount", "0"),
        ("cse_CustomerWaitTotalCount", "1"),
        ("cse_AgentReplyTotalCount", "1"),
        ("cse_AgentWaitTotalCount", "0"),
        ("FirstName", "Rita"),
    ] {
        assert_eq!(data[key], value, "{key} in {data}");
    }
    assert_eq!(data["csg_TenantId"], record["tenant"]);
    for key in [
        "ChatServerSessionStartedAt",
        "ChatServerSessionClosedAt",
        "csg_SessionTotalTime",
        "csg_SessionUntilFirstAgentTime",
        "csg_SessionUntilFirstReplyTime",
        "csg_SessionWithCustomerTime",
        "cse_SessionHandleTotalTime",
    ] {
        assert!(data[key].is_string(), "{key} missing in {data}");
    }
    let closed_at = data["ChatServerSessionClosedAt"]
        .as_str()
        .expect("closed at");
    assert!(
        closed_at.ends_with('Z') && closed_at.len() == 20,
        "{closed_at}"
    );

    // The webhook carries the same statistics, every one of them in the user data.
    let hook = ended_webhook(&seen, &s).await;
    assert_eq!(hook["data"]["endedBy"], "AGENT");
    let stats = hook["data"]["statistics"].as_object().expect("statistics");
    assert_eq!(stats["csg_MessagesFromCustomersCount"], "3");
    for (key, value) in stats {
        assert_eq!(&data[key], value, "{key}");
    }
    assert!(!stats.contains_key("FirstName"), "only the statistics");

    // The desktop's customer pane reads the same user data (a supervisor may read any).
    let (status, login) = crate::desk::login(server.addr, "sam", SAM_PASSWORD).await;
    assert_eq!(status, 200, "{login}");
    let pane: Value = reqwest::Client::new()
        .get(format!("http://{}/agent/v1/interactions/{s}", server.addr))
        .bearer_auth(login["token"].as_str().expect("token"))
        .send()
        .await
        .expect("desktop read")
        .json()
        .await
        .expect("json");
    assert_eq!(&pane["interaction"]["userData"], data, "{pane}");
    server.stop().await;
}

#[tokio::test]
async fn statistics_count_the_whole_transcript_not_only_what_memory_holds() {
    let (seen, hook) = receiver().await;
    // The live session keeps 16 events in memory; the rest is read back at the end.
    let server = server(AttachStatistics::Fired, &hook, |c| {
        c.settings.transcript_memory_events = 16;
    })
    .await;
    let (mut customer, mut agent, s) = chat(&server).await;
    agent.register("Alex", "AGENT", 106).await;
    agent.join(&s, "ALL", json!({})).await;
    for i in 0..20 {
        customer.say(&s, &format!("question {i:02}")).await;
        agent.say(&s, &format!("answer {i:02}")).await;
    }
    force_close(&mut agent, &s).await;
    let record = ended_record(&server, &s).await;
    let data = &record["userData"];
    assert_eq!(data["csg_MessagesFromCustomersCount"], "20");
    assert_eq!(data["csg_MessagesFromCustomersSize"], (20 * 11).to_string());
    assert_eq!(data["csg_MessagesFromAgentsCount"], "20");
    assert_eq!(data["cse_CustomerWaitTotalCount"], "20");
    assert_eq!(data["cse_AgentWaitTotalCount"], "19");
    assert!(
        data.get("csg_PartiesAsBotCount").is_none(),
        "fired: no bots"
    );
    ended_webhook(&seen, &s).await;
    server.stop().await;
}

#[tokio::test]
async fn by_default_only_the_always_attached_keys_are_added() {
    let (seen, hook) = receiver().await;
    let server = server(AttachStatistics::None, &hook, |_| {}).await;
    let (mut customer, _agent, s) = chat(&server).await;
    customer.say(&s, "hello?").await;
    match customer
        .call(json!({"type": "release", "sessionId": s, "afterAction": "KeepAlive"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }
    let record = ended_record(&server, &s).await;
    let data = record["userData"].as_object().expect("user data");
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "ChatServerSessionClosedAt",
            "ChatServerSessionStartedAt",
            "FirstName",
            "MediaOrigin",
            "csg_MediaType",
            "csg_TenantId",
        ]
    );
    assert_eq!(record["end"]["endedBy"], "CLIENT");
    let hook = ended_webhook(&seen, &s).await;
    assert_eq!(
        hook["data"]["statistics"].as_object().map(|m| m.len()),
        Some(4)
    );
    server.stop().await;
}
