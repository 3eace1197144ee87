//! Safe on the open internet, through a real server: the client's address behind a
//! trusted proxy (and spoofed headers ignored from anyone else), origin checks on
//! WebSockets and HTTP, chats closed to strangers who know only their id, and a wrong
//! secure key that does not end the real customer's chat.

use std::net::SocketAddr;

use futures::StreamExt;
use parley_server::config::QueueConfig;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::common::TestServer;
use crate::desk::{center, PASSWORD};
use crate::flex::{post, Flex};

/// `POST /agent/v1/login` with extra headers: the status.
async fn login_as(addr: SocketAddr, login: &str, password: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/agent/v1/login"))
        .json(&json!({"login": login, "password": password}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("login request").status().as_u16()
}

/// A wrong password for made-up agent `nobody{i}`, sent with one header: must be 401.
async fn guess(addr: SocketAddr, i: usize, header: (&str, &str)) {
    let s = login_as(addr, &format!("nobody{i}"), "guess", &[header]).await;
    assert_eq!(s, 401, "failure {i}");
}

/// Anna's login with her right password, sent with one header: the status.
async fn anna(addr: SocketAddr, header: (&str, &str)) -> u16 {
    login_as(addr, "anna", PASSWORD, &[header]).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_lock_out_only_that_client() {
    let server = TestServer::start(|c| {
        center(c, QueueConfig::default());
        c.web.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let guesser = ("x-forwarded-for", "203.0.113.66");
    for i in 0..5 {
        guess(server.addr, i, guesser).await;
    }
    assert_eq!(
        anna(server.addr, guesser).await,
        429,
        "the guesser is locked out"
    );
    let other = ("x-forwarded-for", "198.51.100.7, 127.0.0.1");
    assert_eq!(
        anna(server.addr, other).await,
        200,
        "another client behind the proxy"
    );
    let rfc7239 = ("forwarded", "for=\"[2001:db8::7]:4711\"");
    assert_eq!(anna(server.addr, rfc7239).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let server = TestServer::start(|c| center(c, QueueConfig::default())).await;
    // Each failure claims another address: all count against the real peer.
    for i in 0..5 {
        guess(
            server.addr,
            i,
            ("x-forwarded-for", &format!("203.0.113.{i}")),
        )
        .await;
    }
    let made_up = ("x-forwarded-for", "198.51.100.7");
    assert_eq!(
        anna(server.addr, made_up).await,
        429,
        "a made-up address does not escape the lockout"
    );
    server.stop().await;
}

/// A WebSocket upgrade of `/basic` with `origin`: the HTTP status of the answer.
async fn ws_status(addr: SocketAddr, origin: Option<&str>) -> u16 {
    let mut req = format!("ws://{addr}/basic")
        .into_client_request()
        .expect("req");
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(o).expect("origin"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, resp)) => {
            let _ = ws.close(None).await;
            while ws.next().await.is_some() {}
            resp.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("websocket: {e}"),
    }
}

/// A flex login from `origin`: status and body.
async fn flex_login_from(addr: SocketAddr, origin: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/flex/v1/login"))
        .json(&json!({"nickname": "Pat"}));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let r = req.send().await.expect("flex login");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn pages_from_other_origins_are_refused_on_websockets_and_http() {
    let server = TestServer::start(|c| {
        c.web.cors_allowed_origins = vec!["https://shop.example".into()];
    })
    .await;
    let addr = server.addr;
    let own = format!("http://{addr}");
    assert_eq!(ws_status(addr, Some("https://evil.example")).await, 403);
    assert_eq!(ws_status(addr, Some("null")).await, 403);
    assert_eq!(ws_status(addr, Some("https://shop.example")).await, 101);
    assert_eq!(ws_status(addr, Some(&own)).await, 101, "Parley's own pages");
    assert_eq!(ws_status(addr, None).await, 101, "not a browser");

    let (s, body) = flex_login_from(addr, Some("https://evil.example")).await;
    assert_eq!(s, 403);
    assert_eq!(body["error"]["code"], 1013, "{body}");
    assert_eq!(body["error"]["name"], "ORIGIN_NOT_ALLOWED");
    assert_eq!(
        flex_login_from(addr, Some("https://shop.example")).await.0,
        200
    );
    assert_eq!(flex_login_from(addr, None).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn any_origin_is_allowed_with_a_star() {
    let server = TestServer::start(|_| {}).await;
    assert_eq!(
        ws_status(server.addr, Some("https://evil.example")).await,
        101
    );
    server.stop().await;
}

/// A second flex customer logs in and asks to join `session` with `user_data`.
async fn stranger_joins(server: &TestServer, session: &str, user_data: Value) -> (u16, Value) {
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let (s, login) = post(&http, &base, "login", json!({"nickname": "Eve"})).await;
    assert_eq!(s, 200, "{login}");
    post(
        &http,
        &base,
        "join",
        json!({
            "userId": login["userId"],
            "secureKey": login["secureKey"],
            "sessionId": session,
            "userData": user_data,
        }),
    )
    .await
}

#[tokio::test]
async fn a_chat_id_alone_does_not_open_a_strangers_chat() {
    let server = TestServer::start(|_| {}).await;
    let mut pat = Flex::start(&server, "Pat").await;
    let (s, r) = pat
        .call("send", json!({"text": "my card is on file"}))
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, body) = stranger_joins(&server, &pat.session, json!({})).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["name"], "NOT_ALLOWED", "{body}");
    assert!(body.get("events").is_none_or(Value::is_null), "{body}");
    // Pat's chat shows nobody else.
    let events = pat.refresh(0).await;
    assert!(events.iter().all(|e| e["nickname"] != "Eve"), "{events:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_genesys_join_by_id_is_an_option() {
    let server = TestServer::start(|c| c.security.customer_join_by_chat_id = true).await;
    let pat = Flex::start(&server, "Pat").await;
    let (s, body) = stranger_joins(&server, &pat.session, json!({})).await;
    assert_eq!(s, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_session_password_opens_the_chat_to_a_second_customer() {
    let server = TestServer::start(|c| c.settings.session_password_enforce = true).await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let (_, login) = post(&http, &base, "login", json!({"nickname": "Pat"})).await;
    let (s, created) = post(
        &http,
        &base,
        "join",
        json!({"userId": login["userId"], "secureKey": login["secureKey"]}),
    )
    .await;
    assert_eq!(s, 200, "{created}");
    let session = created["sessionId"]
        .as_str()
        .expect("session id")
        .to_owned();
    let password = created["sessionPassword"]
        .as_str()
        .expect("password")
        .to_owned();
    let (s, _) = stranger_joins(&server, &session, json!({})).await;
    assert_eq!(s, 403);
    let (s, body) = stranger_joins(
        &server,
        &session,
        json!({"GCTI_Chat_SessionPassword": password}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_secure_key_leaves_the_real_customer_in_the_chat() {
    let server = TestServer::start(|_| {}).await;
    let mut pat = Flex::start(&server, "Pat").await;
    let forged = json!({
        "userId": pat.user_id,
        "secureKey": "not-the-key",
        "sessionId": pat.session,
        "text": "bye",
    });
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    for _ in 0..3 {
        let (s, body) = post(&http, &base, "send", forged.clone()).await;
        assert_eq!(s, 401, "{body}");
        assert_eq!(body["error"]["name"], "BAD_SECURE_KEY");
    }
    let (s, body) = pat.call("send", json!({"text": "still here"})).await;
    assert_eq!(s, 200, "the real customer goes on: {body}");
    let events = pat.refresh(0).await;
    assert!(
        events.iter().all(|e| e["kind"] != "partyLeft"),
        "nobody left: {events:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_genesys_reaction_to_a_wrong_key_is_an_option() {
    let server = TestServer::start(|c| c.security.bad_secure_key_removes_party = true).await;
    let pat = Flex::start(&server, "Pat").await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let forged = json!({
        "userId": pat.user_id,
        "secureKey": "not-the-key",
        "sessionId": pat.session,
        "text": "bye",
    });
    assert_eq!(post(&http, &base, "send", forged).await.0, 401);
    let (s, body) = pat.call("send", json!({"text": "still here?"})).await;
    assert_ne!(s, 200, "removed, as Genesys does: {body}");
    server.stop().await;
}

#[tokio::test]
async fn a_chat_holds_a_bounded_transcript_and_still_ends() {
    let server = TestServer::start(|c| {
        c.settings.max_transcript_size_bytes = 65536;
        c.rate_limits.messages_per_customer = 0;
    })
    .await;
    let mut chat = crate::common::Chat::start(&server).await;
    let big = "x".repeat(16 * 1024);
    let mut refused = 0;
    for _ in 0..6 {
        let r = chat
            .customer
            .call(json!({"type": "message", "sessionId": chat.session, "text": big}))
            .await;
        if let parley_proto::basic::ServerFrame::Error { code, .. } = r {
            assert_eq!(code.number(), 1011);
            refused += 1;
        }
    }
    assert_eq!(refused, 2, "4 × 16 KiB fit in 64 KiB, then no more");
    // The agent still closes the chat.
    let r = chat
        .agent
        .call(json!({"type": "release", "sessionId": chat.session, "afterAction": "ForceClose"}))
        .await;
    assert!(
        matches!(r, parley_proto::basic::ServerFrame::Released { .. }),
        "{r:?}"
    );
    server.stop().await;
}
