//! `[rate-limits]` through a real server: a flooding customer is throttled (HTTP 429 with
//! `Retry-After`, an error frame on a WebSocket that stays usable) while the others go
//! on; session and login floods from one address stop at their limits without touching
//! other addresses.

use std::net::SocketAddr;

use parley_proto::basic::ServerFrame;
use serde_json::{json, Value};

use crate::common::{Chat, TestServer};
use crate::gms::{assert_error, Gms};

/// The error code of a reply frame, 0 for an acknowledgement.
fn code_of(f: &ServerFrame) -> u16 {
    match f {
        ServerFrame::Error { code, .. } => code.number(),
        _ => 0,
    }
}

/// A GMS `send`: status, `Retry-After`, body.
async fn gms_send(c: &Gms, text: &str) -> (u16, Option<u64>, Value) {
    let mut pairs = c.auth();
    pairs.push(("message", text));
    let r = reqwest::Client::new()
        .post(c.url("send"))
        .form(&pairs)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_flooding_gms_customer_is_throttled_and_another_goes_on() {
    let server = TestServer::start(|c| {
        c.rate_limits.messages_per_customer = 30;
        c.rate_limits.message_burst_per_customer = 30;
    })
    .await;
    let flood = Gms::start(&server, "Flo").await;
    let calm = Gms::start(&server, "Cal").await;
    let mut refused = 0;
    for i in 0..100 {
        let (s, retry, body) = gms_send(&flood, &format!("x{i}")).await;
        match s {
            200 => assert!(refused == 0, "a send got through after the bucket ran dry"),
            429 => {
                assert_error(s, &body, 429, 1014);
                assert!(retry.is_some_and(|r| r >= 1), "Retry-After: {retry:?}");
                refused += 1;
            }
            other => panic!("send {i}: {other} {body}"),
        }
    }
    // The burst (30), maybe a token refilled meanwhile, then refusals.
    assert!((60..=70).contains(&refused), "refused {refused} of 100");
    let (s, _, body) = gms_send(&calm, "still here").await;
    assert_eq!(s, 200, "{body}");
    let counters = server.get_json("/counters").await.1;
    assert!(counters["rate-limited"].as_u64() >= Some(60), "{counters}");
    server.stop().await;
}

#[tokio::test]
async fn a_throttled_websocket_gets_an_error_frame_and_stays_usable() {
    let server = TestServer::start(|c| c.rate_limits.messages_per_customer = 3).await;
    let mut chat = Chat::start(&server).await;
    let mut codes = Vec::new();
    for i in 0..5 {
        let r = chat
            .customer
            .call(json!({"type": "message", "sessionId": chat.session, "text": format!("m{i}")}))
            .await;
        codes.push(code_of(&r));
    }
    assert_eq!(codes, [0, 0, 0, 1014, 1014], "acks, then RATE_LIMITED");
    let r = chat
        .customer
        .call(json!({"type": "message", "sessionId": chat.session, "text": "again"}))
        .await;
    let ServerFrame::Error { retry_after_ms, .. } = r else {
        panic!("still limited: {r:?}")
    };
    assert!(
        retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 20_000),
        "the error says when to try again (3 a minute: within 20 s): {retry_after_ms:?}"
    );
    // Typing has its own bucket, and the connection still works.
    let r = chat
        .customer
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "TYPING_STARTED"}))
        .await;
    assert_eq!(code_of(&r), 0, "{r:?}");
    // Staff are not limited by the customers' buckets.
    for i in 0..5 {
        chat.agent.say(&chat.session, &format!("a{i}")).await;
    }
    server.stop().await;
}

/// A flex login from `xff` (through the trusted proxy 127.0.0.1): the status.
async fn flex_login(addr: SocketAddr, xff: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{addr}/flex/v1/login"))
        .header("x-forwarded-for", xff)
        .json(&json!({"nickname": "Pat"}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

#[tokio::test]
async fn session_and_login_floods_stop_at_their_limits_per_address() {
    let server = TestServer::start(|c| {
        c.web.trusted_proxies = vec!["127.0.0.1".into()];
        c.rate_limits.sessions_per_address = 3;
        c.rate_limits.logins_per_address = 5;
    })
    .await;
    let addr = server.addr;
    let mut logins = Vec::new();
    for _ in 0..8 {
        logins.push(flex_login(addr, "203.0.113.5").await);
    }
    assert_eq!(logins, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(
        flex_login(addr, "203.0.113.6").await,
        200,
        "another address"
    );

    // GMS chats from one address (without a proxy header: the peer itself).
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(Gms::request(&server, &[("nickname", "Sam")]).await.0);
    }
    assert_eq!(created, [200, 200, 200, 429, 429]);
    // The basic protocol counts against the same address and answers with an error frame.
    let mut c = server.client().await;
    c.register("Sam", "CLIENT", 106).await;
    let r = c
        .call(json!({"type": "createSession", "userData": {}}))
        .await;
    assert_eq!(code_of(&r), 1014, "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn requests_per_address_guard_every_door() {
    let server = TestServer::start(|c| c.rate_limits.requests_per_address = 10).await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let r = http
            .get(format!("http://{}/healthz", server.addr))
            .send()
            .await
            .expect("healthz");
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            let body: Value = r.json().await.expect("json");
            assert_eq!(body["error"]["name"], "RATE_LIMITED", "{body}");
            statuses.push(429);
        } else {
            statuses.push(r.status().as_u16());
        }
    }
    // The burst of 10 (less what the start-up's readiness polls took), then refusals.
    assert!(statuses[..5].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    server.stop().await;
}
