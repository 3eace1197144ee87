//! A routed chat announced by webhooks: a real Parley with `[webhooks]` pointing at a real
//! local receiver (axum on 127.0.0.1:0) that checks every signature.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parley_proto::basic::ServerFrame;
use parley_server::config::{QueueConfig, Secret};
use parley_server::webhooks::sign::{verify, SIGNATURE_HEADER};
use serde_json::{json, Value};

use crate::common::{TestServer, WAIT};
use crate::desk::{self, agent_client, token, Desk};

const SECRET: &str = "routing-webhook-secret-0123456789abcdef";

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
    let v: Value = serde_json::from_slice(&body).expect("json body");
    seen.lock().expect("lock").push(v);
    StatusCode::NO_CONTENT
}

#[tokio::test]
async fn a_routed_chat_is_announced_by_signed_webhooks() {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = TestServer::start(|c| {
        desk::center(c, QueueConfig::default());
        c.webhooks.urls = vec![format!("http://{hook}/hook")];
        c.webhooks.secret = Some(Secret::new(SECRET));
        c.webhooks.retry_delay_ms = 5;
    })
    .await;
    let anna_token = token(server.addr, "anna").await;
    let mut anna = Desk::open(server.addr, &anna_token).await;
    anna.ok(json!({"type": "ready"})).await;
    let mut c = server.client().await;
    c.register("Ann", "CLIENT", 106).await;
    let s = c.create(json!({"FirstName": "Ann"})).await.session_id;
    anna.offer().await;
    anna.accept(&s).await;
    let mut a = agent_client(server.addr, &anna_token, "AGENT").await;
    a.join(&s, "ALL", json!({})).await;
    match a
        .call(json!({"type": "release", "sessionId": s, "afterAction": "ForceClose"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }
    anna.ok(json!({"type": "markDone", "interactionId": s}))
        .await;

    let want = [
        "interaction.submitted",
        "party.joined",
        "interaction.offered",
        "interaction.accepted",
        "party.left",
        "interaction.ended",
        "interaction.stopped",
    ];
    let deadline = tokio::time::Instant::now() + WAIT;
    let events = loop {
        let events: Vec<Value> = seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|e| e["interactionId"] == s.as_str())
            .cloned()
            .collect();
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
        if want.iter().all(|k| kinds.contains(k)) {
            break events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing webhooks; got {kinds:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let find = |kind: &str| {
        events
            .iter()
            .find(|e| e["type"] == kind)
            .cloned()
            .expect("event")
    };
    assert_eq!(find("interaction.submitted")["data"]["queue"], "default");
    assert_eq!(find("interaction.offered")["data"]["agent"], "anna");
    assert_eq!(find("interaction.accepted")["data"]["agent"], "anna");
    assert_eq!(find("interaction.stopped")["data"]["reason"], "done");
    let joined: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "party.joined")
        .collect();
    assert!(joined.iter().any(|e| e["data"]["partyType"] == "AGENT"));
    // Ids are unique: receivers de-duplicate by them.
    let mut ids: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len());
    server.stop().await;
}
