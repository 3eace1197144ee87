//! Test helpers for the contact center: a config with queues, agents and a supervisor
//! (cheap argon2 hashes), agent login, the desktop WebSocket, and agents' basic clients.

use std::net::SocketAddr;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use futures::{SinkExt, StreamExt};
use parley_server::config::{AgentConfig, Config, QueueConfig, Role, Secret};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use parley_proto::basic::ServerFrame;

use crate::common::{Client, WAIT};

/// Every test agent's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// An argon2id hash of `password` with small parameters (a debug build verifies the
/// default ones slowly; the parameters travel in the PHC string).
pub fn hash(password: &str) -> String {
    let params = argon2::Params::new(256, 1, 1, None).expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

/// Adds agent `login` with `capacity` on the `default` queue.
pub fn add_agent(c: &mut Config, login: &str, role: Role, capacity: u32) {
    c.agents.insert(
        login.to_owned(),
        AgentConfig {
            password_hash: Secret::new(hash(PASSWORD)),
            nickname: format!("{}{}", login[..1].to_uppercase(), &login[1..]),
            role,
            queues: vec!["default".into(), "sales".into()],
            capacity,
        },
    );
}

/// The contact-center test config: queues `default` (tweakable) and `sales`, agents
/// `anna` and `bob` (capacity 1 each), supervisor `sam`.
pub fn center(c: &mut Config, default: QueueConfig) {
    c.queues.insert("default".into(), default);
    c.queues.insert("sales".into(), QueueConfig::default());
    add_agent(c, "anna", Role::Agent, 1);
    add_agent(c, "bob", Role::Agent, 1);
    add_agent(c, "sam", Role::Supervisor, 2);
    c.routing.agent_disconnect_timeout_s = 1;
}

/// `POST /agent/v1/login`: status and body.
pub async fn login(addr: SocketAddr, login: &str, password: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/agent/v1/login"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .expect("login request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A token for `login` (panics unless the login works).
pub async fn token(addr: SocketAddr, who: &str) -> String {
    let (status, body) = login(addr, who, PASSWORD).await;
    assert_eq!(status, 200, "login of {who}: {body}");
    body["token"].as_str().expect("token").to_owned()
}

/// A desktop WebSocket.
pub struct Desk {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    backlog: Vec<Value>,
    /// The `welcome` frame.
    pub welcome: Value,
}

impl Desk {
    /// Connects and says hello; panics unless welcomed.
    pub async fn open(addr: SocketAddr, token: &str) -> Desk {
        let mut d = Desk::connect(addr).await;
        d.send(json!({"type": "hello", "token": token})).await;
        d.welcome = d.recv_where(|f| f["type"] == "welcome").await;
        d
    }

    /// Connects without saying hello.
    pub async fn connect(addr: SocketAddr) -> Desk {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/agent/v1/ws"))
            .await
            .expect("desktop websocket");
        Desk {
            ws,
            next_id: 1,
            backlog: Vec::new(),
            welcome: Value::Null,
        }
    }

    /// Sends a frame with a fresh `requestId`.
    pub async fn send(&mut self, mut frame: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        frame["requestId"] = json!(id);
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("desk send");
        id
    }

    /// Sends a request and returns its `ok` or `error` reply.
    pub async fn call(&mut self, frame: Value) -> Value {
        let id = self.send(frame).await;
        self.recv_where(|f| f["requestId"] == json!(id)).await
    }

    /// Sends a request that must be applied.
    pub async fn ok(&mut self, frame: Value) {
        let reply = self.call(frame.clone()).await;
        assert_eq!(reply["type"], "ok", "{frame} refused: {reply}");
    }

    /// The next frame matching `pred` (others are kept for later calls).
    pub async fn recv_where(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("no matching desktop frame; backlog: {:?}", self.backlog)
                });
            let Some(Ok(Message::Text(t))) = msg else {
                panic!("desktop socket closed; backlog: {:?}", self.backlog);
            };
            let v: Value = serde_json::from_str(&t).expect("json frame");
            if pred(&v) {
                return v;
            }
            self.backlog.push(v);
        }
    }

    /// The next offer.
    pub async fn offer(&mut self) -> Value {
        self.recv_where(|f| f["type"] == "offer").await
    }

    /// Whether a frame matching `pred` arrives within `quiet`.
    pub async fn gets_within(&mut self, quiet: Duration, pred: impl Fn(&Value) -> bool) -> bool {
        if self.backlog.iter().any(&pred) {
            return true;
        }
        let deadline = tokio::time::Instant::now() + quiet;
        while let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout_at(deadline, self.ws.next()).await
        {
            let v: Value = serde_json::from_str(&t).expect("json frame");
            if pred(&v) {
                return true;
            }
            self.backlog.push(v);
        }
        false
    }

    /// Accepts the offer of `id`, waits for `assigned`.
    pub async fn accept(&mut self, id: &str) -> Value {
        self.ok(json!({"type": "accept", "interactionId": id}))
            .await;
        self.recv_where(|f| f["type"] == "assigned" && f["interactionId"] == id)
            .await
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// A basic client registered with an agent token.
pub async fn agent_client(addr: SocketAddr, token: &str, party_type: &str) -> Client {
    let mut c = Client::connect(addr).await;
    match c
        .call(
            json!({"type": "register", "nickname": "ignored", "partyType": party_type,
                     "clientVersion": 106, "credentials": {"agentToken": token}}),
        )
        .await
    {
        ServerFrame::Registered {
            user_id,
            secure_key,
            ..
        } => {
            c.user_id = user_id;
            c.secure_key = secure_key;
        }
        other => panic!("agent register failed: {other:?}"),
    }
    c
}
