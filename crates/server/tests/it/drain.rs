//! Draining an instance for an upgrade: new sessions are refused with a coded error
//! (HTTP 503 + `Retry-After`), `/readyz` says "draining" so a load balancer looks
//! elsewhere, current chats go on, and an instance with no session left exits.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::process::ServerProcess;
use crate::common::{error_code, get_json, Chat, Client, TestServer, API_KEY};
use crate::gms::service_url_at;

const ADMIN_KEY: &str = "admin-key-for-the-drain-tests-0123456789";

async fn drain(addr: std::net::SocketAddr, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(format!("http://{addr}/admin/v1/drain"));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let r = req.send().await.expect("http");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_draining_instance_refuses_new_chats_and_current_ones_go_on() {
    let server = TestServer::start(|c| {
        c.security.admin_api_keys = vec![parley_server::config::Secret::new(ADMIN_KEY)];
    })
    .await;
    let mut chat = Chat::start(&server).await;

    let (s, _) = drain(server.addr, None).await;
    assert_eq!(s, 401, "draining needs the admin key");
    let (s, _) = drain(server.addr, Some("not-the-key")).await;
    assert_eq!(s, 401);
    let (s, body) = drain(server.addr, Some(ADMIN_KEY)).await;
    assert_eq!(
        (s, body["draining"].clone(), body["sessions"].clone()),
        (200, json!(true), json!(1))
    );

    let (s, body) = get_json(server.addr, "/readyz").await;
    assert_eq!((s, body["status"].as_str()), (503, Some("draining")));
    let (_, counters) = get_json(server.addr, "/counters").await;
    assert_eq!(counters["draining"], json!(true));

    // New chats: a GMS customer gets 503 with Retry-After and the stable code.
    let r = reqwest::Client::new()
        .post(service_url_at(server.addr))
        .form(&[("nickname", "Late")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_some(), "Retry-After");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], json!(2006), "{body}");
    // ... and a basic customer's createSession the same code.
    let mut late = Client::connect(server.addr).await;
    late.register("Late", "CLIENT", 106).await;
    let refused = late
        .call(json!({"type": "createSession", "userData": {}}))
        .await;
    assert_eq!(error_code(&refused), 2006);

    // The current chat goes on.
    chat.customer.say(&chat.session, "still chatting").await;
    chat.agent
        .event_where(|e| e.text.as_deref() == Some("still chatting"))
        .await;
    server.stop().await;
}

/// `parley drain` against a running process: it answers with the drain status, and the
/// process, with no session, exits cleanly.
#[tokio::test]
async fn parley_drain_stops_an_idle_instance() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        format!("[security]\napi-keys = [\"{API_KEY}\"]\nadmin-api-keys = [\"{ADMIN_KEY}\"]\n");
    let mut p = ServerProcess::start(&config, dir.path(), &[]).await;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.args(["drain", "--url", &format!("http://{}", p.addr)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("parley drain");
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{ADMIN_KEY}").unwrap();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["draining"], json!(true));
    let t0 = std::time::Instant::now();
    while p.running() {
        assert!(t0.elapsed() < Duration::from_secs(10), "still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A draining instance with a chat going on stops by itself once that chat has ended,
/// and not before.
#[tokio::test]
async fn a_draining_instance_stops_when_its_last_chat_ends() {
    let server = TestServer::start(|c| {
        c.security.admin_api_keys = vec![parley_server::config::Secret::new(ADMIN_KEY)];
    })
    .await;
    let mut chat = Chat::start(&server).await;
    let (s, body) = drain(server.addr, Some(ADMIN_KEY)).await;
    assert_eq!((s, body["sessions"].clone()), (200, json!(1)));
    // Still serving the chat well after the drain watcher's first looks.
    tokio::time::sleep(Duration::from_millis(600)).await;
    chat.customer.say(&chat.session, "last words").await;
    chat.agent
        .event_where(|e| e.text.as_deref() == Some("last words"))
        .await;
    let (s, body) = get_json(server.addr, "/admin/v1/drain").await;
    assert_eq!(s, 401, "the drain status needs the admin key too: {body}");

    let released = chat
        .agent
        .call(json!({"type": "release", "sessionId": chat.session, "afterAction": "ForceClose"}))
        .await;
    assert!(
        matches!(released, parley_proto::basic::ServerFrame::Released { .. }),
        "{released:?}"
    );
    tokio::time::timeout(Duration::from_secs(30), server.finished())
        .await
        .expect("the drained instance stops once its last chat ended");
}
