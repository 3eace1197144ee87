//! Test fixtures: an in-process server on 127.0.0.1:0 and a WebSocket client that speaks
//! the basic protocol.

#![allow(dead_code)]

pub mod process;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use parley_proto::basic::{ServerFrame, WireEvent};
use parley_server::config::{Config, Secret};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The API key test agents register with.
pub const API_KEY: &str = "test-api-key-0123456789abcdef0123456789";

/// How long a test waits for a frame before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A Parley server running inside the test process.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// A configuration for tests: temp data dir, a known API key, short timeouts.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut c = Config::default();
    c.server.data_dir = data_dir.to_path_buf();
    c.security.api_keys = vec![Secret::new(API_KEY)];
    c.settings.shutdown_timeout_s = 5;
    c
}

impl TestServer {
    /// Starts a server with the default test configuration, changed by `tweak`.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = TestServer::start_in(dir.path(), tweak).await;
        s._dir = Some(dir);
        s
    }

    /// Starts a server on an existing data directory (to test restarts).
    pub async fn start_in(
        data_dir: &std::path::Path,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        let mut config = test_config(data_dir);
        tweak(&mut config);
        config.validate().expect("test config is valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(parley_server::run(config, listener, async move {
            let _ = rx.await;
        }));
        let server = TestServer {
            addr,
            data_dir: data_dir.to_path_buf(),
            stop: Some(stop),
            task: Some(task),
            _dir: None,
        };
        wait_ready(addr).await;
        server
    }

    /// Graceful shutdown; returns once `run` has returned.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server ran cleanly");
        }
    }

    /// Waits until `run` returns by itself (a drained instance), without asking it to.
    pub async fn finished(mut self) {
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server ran cleanly");
        }
    }

    /// A WebSocket client connected to `/basic`.
    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// GET a path, returning status and JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        get_json(self.addr, path).await
    }
}

/// GET a path on `addr`.
pub async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("http get");
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Polls `/readyz` until it answers 200 (never a sleep-and-hope).
pub async fn wait_ready(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(r) = reqwest::get(format!("http://{addr}/readyz")).await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A basic-protocol client.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Frames received but not yet taken by a `recv_*` call.
    backlog: Vec<ServerFrame>,
    pub user_id: String,
    pub secure_key: String,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/basic"))
            .await
            .expect("websocket connect");
        Client {
            ws,
            next_id: 1,
            backlog: Vec::new(),
            user_id: String::new(),
            secure_key: String::new(),
        }
    }

    /// Waits until the server closes the connection (frames before are dropped); the
    /// close code, if the server sent one.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for the connection to close");
            match msg {
                Some(Ok(Message::Close(c))) => return c.map(|c| u16::from(c.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Keeps reading for `how_long` (answering pings; frames are kept for later).
    pub async fn idle(&mut self, how_long: Duration) {
        let until = tokio::time::Instant::now() + how_long;
        while let Ok(msg) = tokio::time::timeout_at(until, self.ws.next()).await {
            match msg {
                Some(Ok(Message::Text(t))) => {
                    self.backlog.push(serde_json::from_str(&t).expect("frame"));
                }
                Some(Ok(Message::Close(c))) => panic!("connection closed by server: {c:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("websocket error: {e}"),
                None => panic!("connection closed"),
            }
        }
    }

    /// The frames received but not taken yet.
    pub fn backlog(&self) -> &[ServerFrame] {
        &self.backlog
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::Text(text.into().into()))
            .await
            .expect("send");
    }

    /// Sends a frame built as JSON, adding a fresh `requestId`; returns that id.
    pub async fn send(&mut self, mut frame: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        frame["requestId"] = json!(id);
        self.send_text(frame.to_string()).await;
        id
    }

    /// The next frame from the socket (backlog first).
    pub async fn next(&mut self) -> ServerFrame {
        if !self.backlog.is_empty() {
            return self.backlog.remove(0);
        }
        self.read().await
    }

    async fn read(&mut self) -> ServerFrame {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection closed")
                .expect("websocket error");
            match msg {
                Message::Text(t) => {
                    return serde_json::from_str(&t)
                        .unwrap_or_else(|e| panic!("bad frame {t}: {e}"))
                }
                Message::Close(c) => panic!("connection closed by server: {c:?}"),
                _ => continue,
            }
        }
    }

    /// Waits for the first frame matching `pred`, keeping the others for later.
    pub async fn recv_where(&mut self, pred: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        loop {
            let f = self.read().await;
            if pred(&f) {
                return f;
            }
            self.backlog.push(f);
        }
    }

    /// Waits for the reply to request `id` (any frame carrying that request id).
    pub async fn reply(&mut self, id: u64) -> ServerFrame {
        self.recv_where(|f| request_id(f) == Some(id)).await
    }

    /// Sends a frame and waits for its reply.
    pub async fn call(&mut self, frame: Value) -> ServerFrame {
        let id = self.send(frame).await;
        self.reply(id).await
    }

    /// Waits for the next live event of a session matching `pred`.
    pub async fn event_where(&mut self, pred: impl Fn(&WireEvent) -> bool) -> WireEvent {
        match self
            .recv_where(|f| matches!(f, ServerFrame::Event { event, .. } if pred(event)))
            .await
        {
            ServerFrame::Event { event, .. } => *event,
            _ => unreachable!(),
        }
    }

    /// Live events received so far (drains the socket for `quiet` first).
    pub async fn drain_events(&mut self, quiet: Duration) -> Vec<WireEvent> {
        while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(quiet, self.ws.next()).await
        {
            self.backlog.push(serde_json::from_str(&t).expect("frame"));
        }
        let (events, rest): (Vec<_>, Vec<_>) = self
            .backlog
            .drain(..)
            .partition(|f| matches!(f, ServerFrame::Event { .. }));
        self.backlog = rest;
        events
            .into_iter()
            .map(|f| match f {
                ServerFrame::Event { event, .. } => *event,
                _ => unreachable!(),
            })
            .collect()
    }

    /// Registers; panics unless the server accepts.
    pub async fn register(&mut self, nickname: &str, party_type: &str, version: u16) {
        let mut frame = json!({"type": "register", "nickname": nickname, "partyType": party_type, "clientVersion": version});
        if party_type != "CLIENT" {
            frame["credentials"] = json!({"apiKey": API_KEY});
        }
        match self.call(frame).await {
            ServerFrame::Registered {
                user_id,
                secure_key,
                ..
            } => {
                self.user_id = user_id;
                self.secure_key = secure_key;
            }
            other => panic!("register failed: {other:?}"),
        }
    }

    /// Creates a session; returns its `sessionInfo`.
    pub async fn create(&mut self, user_data: Value) -> SessionInfo {
        SessionInfo::from(
            self.call(json!({"type": "createSession", "userData": user_data}))
                .await,
        )
    }

    /// Joins a session; returns its `sessionInfo`.
    pub async fn join(&mut self, session: &str, visibility: &str, user_data: Value) -> SessionInfo {
        SessionInfo::from(
            self.call(json!({"type": "join", "sessionId": session, "visibility": visibility, "userData": user_data}))
                .await,
        )
    }

    /// Sends a message; returns the acked event id.
    pub async fn say(&mut self, session: &str, text: &str) -> u64 {
        match self
            .call(json!({"type": "message", "sessionId": session, "text": text}))
            .await
        {
            ServerFrame::Ack { event_id, .. } => event_id,
            other => panic!("message not acked: {other:?}"),
        }
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The useful parts of a `sessionInfo`.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session_id: String,
    pub last_event_id: u64,
    pub password: Option<String>,
    pub events: Vec<WireEvent>,
    pub parties: Vec<parley_proto::basic::WireParty>,
    pub monitored: Option<bool>,
}

impl From<ServerFrame> for SessionInfo {
    fn from(f: ServerFrame) -> Self {
        match f {
            ServerFrame::SessionInfo {
                session_id,
                last_event_id,
                session_password,
                events,
                parties,
                monitored,
                ..
            } => SessionInfo {
                session_id,
                last_event_id,
                password: session_password,
                events,
                parties,
                monitored,
            },
            other => panic!("expected sessionInfo, got {other:?}"),
        }
    }
}

/// The request id a frame answers, if any.
pub fn request_id(f: &ServerFrame) -> Option<u64> {
    match f {
        ServerFrame::Registered { request_id, .. }
        | ServerFrame::SessionInfo { request_id, .. }
        | ServerFrame::Ack { request_id, .. }
        | ServerFrame::Released { request_id, .. }
        | ServerFrame::Error { request_id, .. } => *request_id,
        _ => None,
    }
}

/// The error code of an error frame.
pub fn error_code(f: &ServerFrame) -> u16 {
    match f {
        ServerFrame::Error { code, .. } => code.number(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A customer with a session and an agent joined to it.
pub struct Chat {
    pub customer: Client,
    pub agent: Client,
    pub session: String,
}

impl Chat {
    pub async fn start(server: &TestServer) -> Chat {
        Chat::start_at(server.addr).await
    }

    pub async fn start_at(addr: SocketAddr) -> Chat {
        let mut customer = Client::connect(addr).await;
        customer.register("Pat", "CLIENT", 106).await;
        let info = customer
            .create(json!({"EmailAddress": "pat@example.com"}))
            .await;
        let mut agent = Client::connect(addr).await;
        agent.register("Alex", "AGENT", 106).await;
        agent.join(&info.session_id, "ALL", json!({})).await;
        // The customer sees the agent arrive.
        customer
            .event_where(|e| e.kind == "newParty" && e.nickname == "Alex")
            .await;
        Chat {
            customer,
            agent,
            session: info.session_id,
        }
    }
}

/// A fresh, empty PostgreSQL database on the server `PARLEY_TEST_POSTGRES_URL` names, for
/// tests that run several instances on one database (each test its own, so no other
/// test's sessions are orphans to adopt). `None` when the variable is unset.
///
/// The name carries the test process's id: databases of test runs that have ended are
/// dropped here, so runs do not pile databases up (the servers a test starts may still
/// use its own until the process ends, so a run cannot drop its own).
pub async fn postgres_database(prefix: &str) -> Option<String> {
    use sqlx::Connection;
    let url = std::env::var("PARLEY_TEST_POSTGRES_URL").ok()?;
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .expect("connect to PARLEY_TEST_POSTGRES_URL");
    let old: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'parley\\_it\\_%'")
            .fetch_all(&mut conn)
            .await
            .expect("list test databases");
    for db in old {
        let pid = db.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let ended = pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists());
        if ended {
            // Another ended run's: best effort (a concurrent run may be dropping it too).
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
    let name = format!(
        "parley_it_{}_{prefix}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let (server, _) = url.rsplit_once('/').expect("a database URL");
    Some(format!("{server}/{name}"))
}
