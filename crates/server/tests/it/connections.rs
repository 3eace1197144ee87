//! The listener's limits: idle sockets, slow headers and idle keep-alive connections are
//! closed by their timeouts; at `max-connections` the longest-idle connection makes room
//! so `/healthz` still answers; a registered WebSocket outlives all of these timeouts.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{get_json, Chat, TestServer};

/// How long a test waits for the server to close a connection before failing: far more
/// than the 1 s timeouts these tests configure.
const CLOSE_WAIT: Duration = Duration::from_secs(20);

/// Reads until the server closes `tcp` (EOF or reset), discarding what arrives; false if
/// it is still open after `CLOSE_WAIT`.
async fn closed_by_server(tcp: &mut TcpStream) -> bool {
    let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

async fn counter(addr: SocketAddr, name: &str) -> u64 {
    let (status, body) = get_json(addr, "/counters").await;
    assert_eq!(status, 200);
    body[name]
        .as_u64()
        .unwrap_or_else(|| panic!("/counters has no {name}: {body}"))
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_user_register_timeout() {
    let server = TestServer::start(|c| c.settings.user_register_timeout_s = 1).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    assert!(
        closed_by_server(&mut tcp).await,
        "an idle socket stays open"
    );
    assert!(counter(server.addr, "connections-timed-out").await >= 1);
    server.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_closed_after_request_header_timeout() {
    // The register and idle timeouts are far away: only the header deadline can close it.
    let server = TestServer::start(|c| {
        c.settings.user_register_timeout_s = 600;
        c.settings.http_idle_timeout_s = 600;
        c.settings.request_header_timeout_s = 1;
    })
    .await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let head = b"GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Slow: ";
    let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
    let mut buf = [0u8; 1024];
    let mut sent = 0usize;
    let closed = loop {
        if tokio::time::Instant::now() > deadline {
            break false;
        }
        let byte = head.get(sent).copied().unwrap_or(b'a');
        if tcp.write_all(&[byte]).await.is_err() {
            break true;
        }
        sent += 1;
        match tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(_)) => panic!("the server answered headers that never ended"),
            Err(_) => {}
        }
    };
    assert!(closed, "a slowloris client kept its connection");
    assert!(counter(server.addr, "connections-timed-out").await >= 1);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_http_idle_timeout() {
    let server = TestServer::start(|c| {
        c.settings.user_register_timeout_s = 600;
        c.settings.request_header_timeout_s = 600;
        c.settings.http_idle_timeout_s = 1;
    })
    .await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: parley\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(CLOSE_WAIT, tcp.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        closed_by_server(&mut tcp).await,
        "an idle keep-alive connection stays open"
    );
    server.stop().await;
}

#[tokio::test]
async fn at_max_connections_the_longest_idle_connection_makes_room_for_healthz() {
    let server = TestServer::start(|c| {
        c.settings.max_connections = 50;
        c.settings.user_register_timeout_s = 600;
    })
    .await;
    let shed_before = counter(server.addr, "connections-shed").await;
    let mut idle = Vec::new();
    for _ in 0..49 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // All 49 accepted (the counters request is the 50th): the first is the longest idle.
    let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
    while counter(server.addr, "conns").await < 50 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never accepted them"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    idle.push(TcpStream::connect(server.addr).await.unwrap());
    let (status, _) = get_json(server.addr, "/healthz").await;
    assert_eq!(status, 200, "/healthz answers at the connection cap");
    assert!(
        closed_by_server(&mut idle[0]).await,
        "the longest idle connection was not the one closed"
    );
    assert!(counter(server.addr, "connections-shed").await > shed_before);
    server.stop().await;
}

#[tokio::test]
async fn a_registered_websocket_outlives_the_connection_timeouts() {
    let server = TestServer::start(|c| {
        c.settings.user_register_timeout_s = 1;
        c.settings.request_header_timeout_s = 1;
        c.settings.http_idle_timeout_s = 1;
    })
    .await;
    let mut chat = Chat::start(&server).await;
    // Idle, both parties, for twice every timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    chat.customer.say(&chat.session, "still here?").await;
    chat.agent
        .event_where(|e| e.kind == "message" && e.text.as_deref() == Some("still here?"))
        .await;
    chat.agent
        .call(json!({"type": "message", "sessionId": chat.session, "text": "yes"}))
        .await;
    assert_eq!(counter(server.addr, "connections-timed-out").await, 0);
    server.stop().await;
}
