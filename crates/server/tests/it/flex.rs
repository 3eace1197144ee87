//! The flex protocol end to end: login, join, send, notify, long-poll refresh, logout,
//! inactivity removal and bad keys, against a real server with an agent on the basic
//! protocol.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{Client, TestServer};

/// A flex customer.
pub struct Flex {
    http: reqwest::Client,
    base: String,
    pub user_id: String,
    pub secure_key: String,
    pub session: String,
    pub next: u64,
}

/// POSTs JSON to a flex path; returns status and body.
pub async fn post(http: &reqwest::Client, base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = http
        .post(format!("{base}/flex/v1/{path}"))
        .json(&body)
        .send()
        .await
        .expect("http");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

impl Flex {
    /// Logs in and starts a session.
    pub async fn start(server: &TestServer, nickname: &str) -> Flex {
        let http = reqwest::Client::new();
        let base = format!("http://{}", server.addr);
        let (s, login) = post(
            &http,
            &base,
            "login",
            json!({"nickname": nickname, "emailAddress": "c@example.com"}),
        )
        .await;
        assert_eq!(s, 200, "{login}");
        let user_id = login["userId"].as_str().unwrap().to_owned();
        let secure_key = login["secureKey"].as_str().unwrap().to_owned();
        let (s, joined) = post(
            &http,
            &base,
            "join",
            json!({"userId": user_id, "secureKey": secure_key, "subject": "Order 42"}),
        )
        .await;
        assert_eq!(s, 200, "{joined}");
        assert_eq!(joined["events"][0]["kind"], "newParty");
        Flex {
            session: joined["sessionId"].as_str().unwrap().to_owned(),
            next: joined["nextPosition"].as_u64().unwrap(),
            http,
            base,
            user_id,
            secure_key,
        }
    }

    pub async fn call(&self, path: &str, mut body: Value) -> (u16, Value) {
        body["userId"] = json!(self.user_id);
        body["secureKey"] = json!(self.secure_key);
        body["sessionId"] = json!(self.session);
        post(&self.http, &self.base, path, body).await
    }

    /// Refreshes from the last position, waiting up to `wait_ms`; advances the position.
    pub async fn refresh(&mut self, wait_ms: u64) -> Vec<Value> {
        let (s, r) = self
            .call(
                "refresh",
                json!({"transcriptPosition": self.next, "waitMs": wait_ms}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        self.next = r["nextPosition"].as_u64().unwrap();
        r["events"].as_array().cloned().unwrap_or_default()
    }
}

async fn agent_joins(server: &TestServer, session: &str) -> Client {
    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", 106).await;
    agent.join(session, "ALL", json!({})).await;
    agent
}

#[tokio::test]
async fn a_flex_customer_chats_with_an_agent_and_long_polls_without_gaps_or_repeats() {
    let server = TestServer::start(|_| {}).await;
    let mut c = Flex::start(&server, "Pat").await;
    let mut agent = agent_joins(&server, &c.session).await;
    let joined = c.refresh(5000).await;
    assert_eq!(joined[0]["kind"], "newParty");
    assert_eq!(joined[0]["nickname"], "Alex");

    let (s, r) = c
        .call(
            "send",
            json!({"text": "where is my order?", "clientMessageId": "f1"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let first = r["eventId"].as_u64().unwrap();
    let (_, again) = c
        .call(
            "send",
            json!({"text": "where is my order?", "clientMessageId": "f1"}),
        )
        .await;
    assert_eq!(
        (again["eventId"].as_u64(), again["duplicate"].as_bool()),
        (Some(first), Some(true))
    );
    agent
        .event_where(|e| e.text.as_deref() == Some("where is my order?"))
        .await;

    // A long poll in flight is woken by the agent's reply.
    let poll = {
        let (http, base) = (c.http.clone(), c.base.clone());
        let body = json!({"userId": c.user_id, "secureKey": c.secure_key, "sessionId": c.session,
                          "transcriptPosition": first + 1, "waitMs": 10000});
        tokio::spawn(async move { post(&http, &base, "refresh", body).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    agent
        .call(json!({"type": "notify", "sessionId": c.session, "noticeType": "TYPING_STARTED", "text": "let me check"}))
        .await;
    let (s, woke) = poll.await.unwrap();
    assert_eq!(s, 200);
    assert_eq!(
        woke["events"][0]["noticeType"], "TYPING_STARTED",
        "transient events reach flex too: {woke}"
    );
    agent.say(&c.session, "it ships today").await;
    c.next = first + 1;
    let mut seen = Vec::new();
    while !seen.iter().any(|e: &Value| e["text"] == "it ships today") {
        seen.extend(c.refresh(2000).await);
    }
    let ids: Vec<u64> = seen
        .iter()
        .map(|e| e["eventId"].as_u64().unwrap())
        .collect();
    let mut dedup = ids.clone();
    dedup.dedup();
    assert_eq!(ids, dedup, "no event twice");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // Nothing new: an immediate refresh is empty and keeps the position.
    let pos = c.next;
    assert!(c.refresh(0).await.is_empty());
    assert_eq!(c.next, pos);

    let (s, r) = c.call("logout", json!({})).await;
    assert_eq!((s, r["chatEnded"].as_bool()), (200, Some(true)));
    let left = agent.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(left.reason.map(|r| r.code), Some(0));
    server.stop().await;
}

#[tokio::test]
async fn with_the_genesys_option_a_bad_secure_key_removes_the_flex_customer_at_once() {
    let server = TestServer::start(|c| c.security.bad_secure_key_removes_party = true).await;
    let c = Flex::start(&server, "Pat").await;
    let mut agent = agent_joins(&server, &c.session).await;
    let (s, r) = post(
        &c.http,
        &c.base,
        "send",
        json!({"userId": c.user_id, "secureKey": "guess", "sessionId": c.session, "text": "hi"}),
    )
    .await;
    assert_eq!((s, r["error"]["code"].as_u64()), (401, Some(8210)));
    let left = agent.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(left.reason.map(|r| r.code), Some(6));
    let (s, r) = c.call("send", json!({"text": "me again"})).await;
    assert_eq!((s, r["error"]["code"].as_u64()), (401, Some(8209)), "{r}");
    server.stop().await;
}

#[tokio::test]
async fn a_silent_flex_customer_is_removed_after_flex_disconnect_timeout() {
    let server = TestServer::start(|c| {
        c.settings.flex_disconnect_timeout_s = 1;
        c.settings.flex_refresh_max_wait_s = 0;
    })
    .await;
    let c = Flex::start(&server, "Pat").await;
    let mut agent = agent_joins(&server, &c.session).await;
    let left = agent.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(left.reason.map(|r| r.code), Some(3), "DISCONNECT");
    let (s, r) = c.call("send", json!({"text": "still there?"})).await;
    assert_eq!(
        (s, r["error"]["code"].as_u64()),
        (401, Some(8209)),
        "logged out: {r}"
    );
    let (s, r) = c.call("refresh", json!({"transcriptPosition": 1})).await;
    assert_eq!((s, r["chatEnded"].as_bool()), (200, Some(true)));
    server.stop().await;
}

#[tokio::test]
async fn a_reloaded_page_comes_back_with_what_it_missed() {
    let server = TestServer::start(|_| {}).await;
    let c = Flex::start(&server, "Pat").await;
    let mut agent = agent_joins(&server, &c.session).await;
    let id = agent.say(&c.session, "one").await;
    agent.say(&c.session, "two").await;
    let (s, r) = post(&c.http, &c.base, "join", json!({"userId": c.user_id, "secureKey": c.secure_key, "sessionId": c.session, "transcriptPosition": id + 1})).await;
    assert_eq!(s, 200, "{r}");
    let texts: Vec<_> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].clone())
        .collect();
    assert_eq!(texts, vec![json!("two")]);
    server.stop().await;
}

#[tokio::test]
async fn bad_flex_requests_get_typed_errors() {
    let server = TestServer::start(|c| {
        c.settings.max_frame_size_bytes = 2048;
        c.settings.max_message_size_bytes = 1024;
    })
    .await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let raw = |body: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let r = http
                .post(format!("{base}/flex/v1/login"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (s, r) = raw("{oops").await;
    assert_eq!((s, r["error"]["code"].as_u64()), (400, Some(1001)));
    let (s, r) = raw(r#"{"nickname":"x","admin":true}"#).await;
    assert_eq!((s, r["error"]["code"].as_u64()), (400, Some(1003)));
    let (s, r) = raw(r#"{}"#).await;
    assert_eq!(
        (s, r["error"]["code"].as_u64()),
        (400, Some(1003)),
        "a name is required"
    );
    let (s, _) = post(&http, &base, "login", json!({"nickname": "x".repeat(5000)})).await;
    assert_eq!(s, 413, "body over the limit");
    let (s, r) = post(&http, &base, "send", json!({"userId": "ABCDEF0123456789", "secureKey": "k", "sessionId": "NoSuchSession12", "text": "x"})).await;
    assert_eq!((s, r["error"]["code"].as_u64()), (404, Some(2001)));
    let (s, r) = post(
        &http,
        &base,
        "join",
        json!({"userId": "ABCDEF0123456789", "secureKey": "k"}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_u64()),
        (401, Some(8209)),
        "join without login"
    );
    // HTML in text is data: it comes back verbatim in JSON, never interpreted.
    let c = Flex::start(&server, "<b>Pat</b>").await;
    let (s, r) = c
        .call(
            "send",
            json!({"text": "<script>alert(1)</script>", "transcriptPosition": 1}),
        )
        .await;
    assert_eq!(s, 200);
    let events = r["events"].as_array().unwrap();
    assert_eq!(events[0]["nickname"], "<b>Pat</b>");
    assert!(events
        .iter()
        .any(|e| e["text"] == "<script>alert(1)</script>"));
    server.stop().await;
}
