//! The GMS Chat API v2 facade (`/genesys/2/chat/{serviceName}`) end to end: request chat
//! (form-urlencoded and multipart), send, refresh, typing, pushUrl, updateNickname,
//! customNotice, readReceipt, updateData, disconnect, and every error envelope, against a
//! real server with an agent on the basic protocol. See `docs/gms-v2.md`.

use parley_store::InteractionStore;
use serde_json::{json, Value};

use crate::common::{Client, TestServer};

/// The service every test server maps by default (`[gms-chat-services]`).
pub const SERVICE: &str = "customer-support";

/// POSTs an urlencoded form; returns status and JSON body (`Null` when not JSON).
pub async fn post_form(http: &reqwest::Client, url: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let r = http.post(url).form(pairs).send().await.expect("http");
    let status = r.status().as_u16();
    let json = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    assert!(json, "every v2 reply is JSON (status {status})");
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The service root of `service` on `server`.
pub fn service_url(server: &TestServer, service: &str) -> String {
    format!("http://{}/genesys/2/chat/{service}", server.addr)
}

/// The default service root on the server at `addr`.
pub fn service_url_at(addr: std::net::SocketAddr) -> String {
    format!("http://{addr}/genesys/2/chat/{SERVICE}")
}

/// Asserts a v2 error envelope: the HTTP status, `statusCode` 1 and `errors[0].code`.
#[track_caller]
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: u64) {
    assert_eq!(
        (
            status,
            body["statusCode"].as_i64(),
            body["errors"][0]["code"].as_u64()
        ),
        (want_status, Some(1), Some(want_code)),
        "error envelope: {body}"
    );
    let e = &body["errors"][0];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        e["advice"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body.get("chatId").is_none() && body.get("messages").is_none());
}

/// A GMS v2 customer.
pub struct Gms {
    pub http: reqwest::Client,
    /// `http://addr/genesys/2/chat/{service}`.
    pub base: String,
    pub user_id: String,
    pub secure_key: String,
    pub chat_id: String,
    pub alias: String,
    /// The `nextPosition` of the last reply that had one.
    pub next: u64,
}

impl Gms {
    /// Requests a chat with `pairs`; returns status and body.
    pub async fn request(server: &TestServer, pairs: &[(&str, &str)]) -> (u16, Value) {
        Gms::request_at(server.addr, pairs).await
    }

    /// Requests a chat from the server at `addr`.
    pub async fn request_at(addr: std::net::SocketAddr, pairs: &[(&str, &str)]) -> (u16, Value) {
        post_form(&reqwest::Client::new(), &service_url_at(addr), pairs).await
    }

    /// The customer a successful request-chat reply describes.
    pub fn from_reply(server: &TestServer, r: &Value) -> Gms {
        Gms::from_reply_at(server.addr, r)
    }

    /// The customer a successful request-chat reply of the server at `addr` describes.
    pub fn from_reply_at(addr: std::net::SocketAddr, r: &Value) -> Gms {
        let s = |k: &str| {
            r[k].as_str()
                .unwrap_or_else(|| panic!("`{k}` missing: {r}"))
                .to_owned()
        };
        Gms {
            http: reqwest::Client::new(),
            base: service_url_at(addr),
            user_id: s("userId"),
            secure_key: s("secureKey"),
            chat_id: s("chatId"),
            alias: s("alias"),
            next: r["nextPosition"].as_u64().expect("nextPosition"),
        }
    }

    /// Requests a chat as `nickname` and checks it succeeded.
    pub async fn start(server: &TestServer, nickname: &str) -> Gms {
        let (s, r) = Gms::request(
            server,
            &[("nickname", nickname), ("emailAddress", "pat@example.com")],
        )
        .await;
        assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
        Gms::from_reply(server, &r)
    }

    /// The URL of operation `op` (`send`, `file/limits`, ...) of this chat.
    pub fn url(&self, op: &str) -> String {
        format!("{}/{}/{op}", self.base, self.chat_id)
    }

    /// The auth parameters every operation carries.
    pub fn auth(&self) -> Vec<(&str, &str)> {
        vec![
            ("userId", self.user_id.as_str()),
            ("secureKey", self.secure_key.as_str()),
            ("alias", self.alias.as_str()),
        ]
    }

    /// POSTs operation `op` with the auth parameters and `extra`.
    pub async fn op(&self, op: &str, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut pairs = self.auth();
        pairs.extend_from_slice(extra);
        post_form(&self.http, &self.url(op), &pairs).await
    }

    /// Refreshes from the last `nextPosition`; advances it; returns `messages`.
    pub async fn refresh(&mut self) -> Vec<Value> {
        let pos = self.next.to_string();
        let (s, r) = self.op("refresh", &[("transcriptPosition", &pos)]).await;
        assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
        self.next = r["nextPosition"].as_u64().expect("nextPosition");
        r["messages"].as_array().cloned().expect("messages")
    }
}

/// An agent (basic protocol) who joins `chat_id`.
pub async fn agent_joins(
    server: &TestServer,
    chat_id: &str,
) -> (Client, crate::common::SessionInfo) {
    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", 106).await;
    let info = agent.join(chat_id, "ALL", json!({})).await;
    (agent, info)
}

fn is_hex16(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The request-chat reply shape shared by the urlencoded and multipart tests.
#[track_caller]
fn assert_request_chat_reply(status: u16, r: &Value, nickname: &str) {
    assert_eq!((status, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert!(r.get("errors").is_none(), "{r}");
    assert!(
        r["alias"].as_str().is_some_and(|a| !a.is_empty()),
        "alias: {r}"
    );
    assert!(
        r["userId"].as_str().is_some_and(is_hex16),
        "userId is 16 hex digits: {r}"
    );
    assert!(
        r["secureKey"].as_str().is_some_and(|k| k.len() >= 16),
        "secureKey: {r}"
    );
    assert!(
        r["chatId"].as_str().is_some_and(|c| !c.is_empty()),
        "chatId: {r}"
    );
    assert_eq!(r["chatEnded"], json!(false), "{r}");
    let m = &r["messages"][0];
    assert_eq!(m["type"], "ParticipantJoined", "{r}");
    assert_eq!(
        m["from"],
        json!({"nickname": nickname, "participantId": 1, "type": "Client"}),
        "{r}"
    );
    assert_eq!(m["index"], json!(1), "{r}");
    let t = m["utcTime"].as_i64().expect("utcTime is an integer");
    assert!((now_ms() - t).abs() < 60_000, "utcTime is epoch ms: {t}");
    let last = r["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .get("index")
        .and_then(Value::as_u64)
        .unwrap();
    assert_eq!(r["nextPosition"].as_u64(), Some(last + 1), "{r}");
}

#[tokio::test]
async fn request_chat_with_a_form_returns_the_v2_envelope_and_the_user_data_reaches_the_agent() {
    let server = TestServer::start(|_| {}).await;
    let (s, r) = Gms::request(
        &server,
        &[
            ("nickname", "Pat"),
            ("subject", "Lost card"),
            ("emailAddress", "pat@example.com"),
            ("userData[TimeZone]", "-480"),
            ("userData[Product]", "Cards"),
        ],
    )
    .await;
    assert_request_chat_reply(s, &r, "Pat");
    assert_eq!(r["messages"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["nextPosition"], json!(2));
    let c = Gms::from_reply(&server, &r);
    let (_agent, info) = agent_joins(&server, &c.chat_id).await;
    let joined = &info.events[0];
    assert_eq!(
        (joined.kind.as_str(), joined.nickname.as_str()),
        ("newParty", "Pat")
    );
    let data = joined.user_data.clone().unwrap_or_default();
    for (k, v) in [
        ("TimeZone", "-480"),
        ("Product", "Cards"),
        ("EmailAddress", "pat@example.com"),
    ] {
        assert_eq!(
            data.get(k).map(String::as_str),
            Some(v),
            "user data {k} reaches the agent: {data:?}"
        );
    }
    // The alias is stable: every reply names the same instance.
    let (_, again) = c.op("refresh", &[]).await;
    assert_eq!(again["alias"], json!(c.alias));
    server.stop().await;
}

#[tokio::test]
async fn request_chat_with_first_and_last_name_and_a_first_message() {
    let server = TestServer::start(|_| {}).await;
    let (s, r) = Gms::request(
        &server,
        &[
            ("firstName", "Pat"),
            ("lastName", "Lee"),
            ("text", "Hello, I need help"),
        ],
    )
    .await;
    assert_request_chat_reply(s, &r, "Pat Lee");
    let msgs = r["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "the first message is in the reply: {r}");
    assert_eq!(msgs[1]["type"], "Message");
    assert_eq!(msgs[1]["index"], json!(2));
    assert_eq!(msgs[1]["text"], "Hello, I need help");
    assert_eq!(
        msgs[1]["from"],
        json!({"nickname": "Pat Lee", "participantId": 1, "type": "Client"})
    );
    assert_eq!(r["nextPosition"], json!(3));
    let c = Gms::from_reply(&server, &r);
    let (_agent, info) = agent_joins(&server, &c.chat_id).await;
    let data = info.events[0].user_data.clone().unwrap_or_default();
    assert_eq!(data.get("FirstName").map(String::as_str), Some("Pat"));
    assert_eq!(data.get("LastName").map(String::as_str), Some("Lee"));
    assert!(info
        .events
        .iter()
        .any(|e| e.kind == "message" && e.text.as_deref() == Some("Hello, I need help")));
    server.stop().await;
}

#[tokio::test]
async fn request_chat_accepts_multipart_form_data() {
    let server = TestServer::start(|_| {}).await;
    let form = reqwest::multipart::Form::new()
        .text("nickname", "Sam")
        .text("subject", "Multipart")
        .text("userData[TimeZone]", "60");
    let resp = reqwest::Client::new()
        .post(service_url(&server, SERVICE))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    let r: Value = resp.json().await.unwrap();
    assert_request_chat_reply(s, &r, "Sam");
    let c = Gms::from_reply(&server, &r);
    let (_agent, info) = agent_joins(&server, &c.chat_id).await;
    assert_eq!(
        info.events[0]
            .user_data
            .as_ref()
            .and_then(|d| d.get("TimeZone"))
            .map(String::as_str),
        Some("60")
    );
    // Files go to the /file operation only.
    let form = reqwest::multipart::Form::new()
        .text("nickname", "Sam")
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
        );
    let resp = reqwest::Client::new()
        .post(service_url(&server, SERVICE))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    let r: Value = resp.json().await.unwrap();
    assert_error(s, &r, 400, 1003);
    server.stop().await;
}

#[tokio::test]
async fn an_agent_reply_comes_back_in_refresh_and_send_returns_the_transcript() {
    let server = TestServer::start(|_| {}).await;
    let mut c = Gms::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.chat_id).await;
    let reply_id = agent.say(&c.chat_id, "Hi Pat, how can I help?").await;

    let msgs = c.refresh().await;
    let kinds: Vec<_> = msgs.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ParticipantJoined", "Message"], "{msgs:?}");
    assert_eq!(
        msgs[0]["from"],
        json!({"nickname": "Alex", "participantId": 2, "type": "Agent"})
    );
    assert_eq!(msgs[1]["index"], json!(reply_id));
    assert_eq!(msgs[1]["text"], "Hi Pat, how can I help?");
    assert_eq!(
        msgs[1]["from"],
        json!({"nickname": "Alex", "participantId": 2, "type": "Agent"})
    );
    assert_eq!(c.next, reply_id + 1, "nextPosition follows the last index");
    let (_, r) = c.op("refresh", &[("transcriptPosition", "1")]).await;
    assert_eq!(r["chatEnded"], json!(false));
    assert_eq!(
        r["messages"].as_array().unwrap().len(),
        3,
        "position 1 is everything: {r}"
    );
    // Position 0: no events, just where the transcript ends.
    let (_, r) = c.op("refresh", &[("transcriptPosition", "0")]).await;
    assert_eq!(r["messages"], json!([]), "{r}");
    assert_eq!(r["nextPosition"], json!(reply_id + 1));
    // No position: a refresh is from 1.
    let (_, r) = c.op("refresh", &[]).await;
    assert_eq!(r["messages"].as_array().unwrap().len(), 3, "{r}");

    // Send without a position: just the envelope.
    let (s, r) = c.op("send", &[("message", "my card is lost")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert!(r.get("messages").is_none(), "{r}");
    agent
        .event_where(|e| e.text.as_deref() == Some("my card is lost"))
        .await;
    // Send with a position: the events since it, its own message included.
    let pos = c.next.to_string();
    let (s, r) = c
        .op(
            "send",
            &[
                ("message", "it was stolen"),
                ("messageType", "urgent"),
                ("transcriptPosition", &pos),
            ],
        )
        .await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let msgs = r["messages"].as_array().unwrap();
    let texts: Vec<_> = msgs.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts, [json!("my card is lost"), json!("it was stolen")]);
    assert_eq!(msgs[1]["messageType"], "urgent");
    assert_eq!(
        msgs[1]["from"],
        json!({"nickname": "Pat", "participantId": 1, "type": "Client"})
    );
    assert_eq!(
        r["nextPosition"].as_u64(),
        Some(msgs[1]["index"].as_u64().unwrap() + 1)
    );
    assert_eq!(r["chatEnded"], json!(false));
    let seen = agent
        .event_where(|e| e.text.as_deref() == Some("it was stolen"))
        .await;
    assert_eq!(seen.message_type.as_deref(), Some("urgent"));
    // A refresh that also sends (`message` on refresh, as some clients do).
    let (s, r) = c
        .op(
            "refresh",
            &[("message", "anyone?"), ("transcriptPosition", "0")],
        )
        .await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    agent
        .event_where(|e| e.text.as_deref() == Some("anyone?"))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn typing_push_url_nickname_custom_notice_and_read_receipt_reach_the_agent() {
    let server = TestServer::start(|_| {}).await;
    let mut c = Gms::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.chat_id).await;
    let notice = |t: &'static str| {
        move |e: &parley_proto::basic::WireEvent| {
            e.kind == "notice" && e.notice_type.as_deref() == Some(t)
        }
    };

    let (s, r) = c.op("startTyping", &[("message", "my card i")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let e = agent.event_where(notice("TYPING_STARTED")).await;
    assert_eq!(e.text.as_deref(), Some("my card i"), "typing preview");
    assert_eq!(e.nickname, "Pat");
    let (s, _) = c.op("stopTyping", &[("message", "my card is")]).await;
    assert_eq!(s, 200);
    let e = agent.event_where(notice("TYPING_STOPPED")).await;
    assert_eq!(e.text.as_deref(), Some("my card is"));

    let (s, r) = c
        .op(
            "pushUrl",
            &[("pushUrl", "https://example.com/help?a=1&b=2")],
        )
        .await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let e = agent.event_where(notice("USER_PUSHED_URL")).await;
    assert_eq!(e.text.as_deref(), Some("https://example.com/help?a=1&b=2"));

    let (s, r) = c.op("updateNickname", &[("nickname", "Patty")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let e = agent.event_where(notice("USER_UPDATE_NICK")).await;
    assert_eq!(e.text.as_deref(), Some("Patty"));

    let (s, r) = c.op("customNotice", &[("message", "cobrowse:start")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let e = agent.event_where(notice("USER_CUSTOM")).await;
    assert_eq!(e.text.as_deref(), Some("cobrowse:start"));

    let msgs = c.refresh().await;
    let find = |t: &str| {
        msgs.iter()
            .find(|m| m["type"] == t)
            .unwrap_or_else(|| panic!("no {t} in {msgs:?}"))
            .clone()
    };
    let url = find("PushUrl");
    assert_eq!(url["text"], "https://example.com/help?a=1&b=2");
    assert_eq!(url["from"]["type"], "Client");
    let nick = find("NicknameUpdated");
    assert_eq!(nick["text"], "Patty");
    assert_eq!(
        nick["from"],
        json!({"nickname": "Patty", "participantId": 1, "type": "Client"})
    );
    assert_eq!(find("CustomNotice")["text"], "cobrowse:start");
    let indexes: Vec<u64> = msgs.iter().map(|m| m["index"].as_u64().unwrap()).collect();
    assert!(indexes.windows(2).all(|w| w[0] < w[1]), "{indexes:?}");

    // Read receipt: transcriptPosition is the last event read.
    let read = agent.say(&c.chat_id, "what happened?").await;
    let pos = read.to_string();
    let (s, r) = c.op("readReceipt", &[("transcriptPosition", &pos)]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let e = agent
        .event_where(|e| e.kind == "notice" && e.notice_type.as_deref() == Some("SYS_COMMAND"))
        .await;
    assert_eq!(e.text.as_deref(), Some("read-confirm"));
    assert_eq!(
        e.user_data
            .as_ref()
            .and_then(|d| d.get("last-event-id"))
            .map(String::as_str),
        Some(pos.as_str()),
        "{e:?}"
    );
    let (s, r) = c.op("readReceipt", &[]).await;
    assert_error(s, &r, 400, 1003);
    let (s, r) = c
        .op("readReceipt", &[("transcriptPosition", "999999")])
        .await;
    assert_error(s, &r, 400, 1003);
    server.stop().await;
}

#[tokio::test]
async fn update_data_merges_into_the_interaction_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let (s, r) = Gms::request(
        &server,
        &[
            ("nickname", "Pat"),
            ("subject", "Lost card"),
            ("emailAddress", "pat@example.com"),
            ("userData[TimeZone]", "-480"),
            ("userData[Product]", "Cards"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let c = Gms::from_reply(&server, &r);
    let (s, r) = c
        .op(
            "updateData",
            &[("userData[Product]", "Loans"), ("userData[OrderId]", "42")],
        )
        .await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let (s, r) = c.op("updateData", &[("userData[]", "x")]).await;
    assert_error(s, &r, 400, 1003);
    server.stop().await;

    let store = parley_store::open(&format!(
        "sqlite://{}",
        dir.path().join("parley.db").display()
    ))
    .await
    .expect("open store");
    let rec = store
        .interaction(&c.chat_id.parse().unwrap())
        .await
        .unwrap()
        .expect("interaction record");
    assert_eq!(rec.subject.as_deref(), Some("Lost card"));
    let got: Vec<(&str, &str)> = rec
        .user_data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for want in [
        ("EmailAddress", "pat@example.com"),
        ("OrderId", "42"),
        ("Product", "Loans"),
        ("TimeZone", "-480"),
    ] {
        assert!(
            got.contains(&want),
            "updateData merges (new keys added, existing replaced, others kept): {got:?}"
        );
    }
}

#[tokio::test]
async fn disconnect_ends_the_chat_for_the_customer_and_the_agent_sees_it_leave() {
    let server = TestServer::start(|_| {}).await;
    let c = Gms::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.chat_id).await;
    let (s, r) = c.op("disconnect", &[]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert_eq!(r["chatEnded"], json!(true), "{r}");
    let left = agent.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(left.nickname, "Pat");
    assert_eq!(left.reason.map(|r| r.code), Some(0), "quit");
    // Still readable, and ended.
    let (s, r) = c.op("refresh", &[("transcriptPosition", "1")]).await;
    assert_eq!((s, r["chatEnded"].as_bool()), (200, Some(true)), "{r}");
    let (s, r) = c.op("send", &[("message", "wait")]).await;
    assert_error(s, &r, 401, 8209);
    server.stop().await;
}

#[tokio::test]
async fn every_bad_request_gets_a_v2_error_envelope_with_its_http_status() {
    let server = TestServer::start(|_| {}).await;
    let http = reqwest::Client::new();
    // Unknown service, at the root and on an operation.
    let (s, r) = post_form(
        &http,
        &service_url(&server, "no-such-service"),
        &[("nickname", "Pat")],
    )
    .await;
    assert_error(s, &r, 404, 2001);
    let c = Gms::start(&server, "Pat").await;
    let url = format!(
        "{}/{}/send",
        service_url(&server, "no-such-service"),
        c.chat_id
    );
    let mut pairs = c.auth();
    pairs.push(("message", "hi"));
    let (s, r) = post_form(&http, &url, &pairs).await;
    assert_error(s, &r, 404, 2001);
    // No name.
    let (s, r) = Gms::request(&server, &[("subject", "x")]).await;
    assert_error(s, &r, 400, 1003);
    // Malformed form.
    let (s, r) = Gms::request(&server, &[("nickname", "Pat"), ("userData[]", "x")]).await;
    assert_error(s, &r, 400, 1003);
    // Too many parameters.
    let names: Vec<String> = (0..300).map(|i| format!("userData[k{i}]")).collect();
    let mut many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    many.push(("nickname", "Pat"));
    let (s, r) = Gms::request(&server, &many).await;
    assert_error(s, &r, 422, 1011);
    // Missing userId.
    let (s, r) = post_form(
        &http,
        &c.url("send"),
        &[("secureKey", c.secure_key.as_str()), ("message", "hi")],
    )
    .await;
    assert_error(s, &r, 400, 1003);
    // Unknown chat id (well formed).
    let other = format!("{}/0000000000000000/send", c.base);
    let (s, r) = post_form(&http, &other, &pairs).await;
    assert_error(s, &r, 404, 2001);
    // Unknown operation.
    let (s, r) = c.op("frobnicate", &[]).await;
    assert_error(s, &r, 400, 1003);
    // A position that is not a number.
    let (s, r) = c.op("refresh", &[("transcriptPosition", "abc")]).await;
    assert_error(s, &r, 400, 1003);
    // send needs `message`.
    let (s, r) = c.op("send", &[]).await;
    assert_error(s, &r, 400, 1003);

    // A wrong secure key: 8210, and the real customer stays (tests/it/security.rs has
    // the Genesys option that removes it).
    let (mut agent, _) = agent_joins(&server, &c.chat_id).await;
    let (s, r) = post_form(
        &http,
        &c.url("send"),
        &[
            ("userId", c.user_id.as_str()),
            ("secureKey", "0123456789abcdef"),
            ("message", "hijack"),
        ],
    )
    .await;
    assert_error(s, &r, 401, 8210);
    let (s, r) = c.op("send", &[("message", "me again")]).await;
    assert_eq!(s, 200, "{r}");
    agent
        .event_where(|e| e.text.as_deref() == Some("me again"))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn html_in_nicknames_and_messages_comes_back_verbatim_as_json_strings() {
    let server = TestServer::start(|_| {}).await;
    let (s, r) = Gms::request(&server, &[("nickname", "<b>Pat</b>\"&'")]).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["messages"][0]["from"]["nickname"], "<b>Pat</b>\"&'");
    let c = Gms::from_reply(&server, &r);
    let script = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (s, r) = c
        .op("send", &[("message", script), ("transcriptPosition", "1")])
        .await;
    assert_eq!(s, 200, "{r}");
    let m = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "Message")
        .cloned()
        .expect("message");
    assert_eq!(m["text"], script);
    assert_eq!(m["from"]["nickname"], "<b>Pat</b>\"&'");
    server.stop().await;
}

#[tokio::test]
async fn a_refused_first_message_leaves_no_orphan_chat_behind() {
    let server = TestServer::start(|_| {}).await;
    let long = "x".repeat(20_000);
    let (s, r) = Gms::request(&server, &[("nickname", "Pat"), ("text", &long)]).await;
    assert_error(s, &r, 422, 1011);
    let counters = server.get_json("/counters").await.1;
    assert_eq!(
        counters["sessions-created"],
        json!(0),
        "BUG: request chat refused the first message (`text`) after creating the chat: \
         the customer never learns its chatId/userId/secureKey, yet the chat exists and \
         is queued for an agent: {counters}"
    );
    server.stop().await;
}

#[tokio::test]
async fn agent_notices_a_supervisor_and_the_agent_leaving_map_to_v2_types() {
    let server = TestServer::start(|_| {}).await;
    let mut c = Gms::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.chat_id).await;
    let sid = c.chat_id.clone();
    let notify = |t: &str, text: &str| json!({"type": "notify", "sessionId": sid, "noticeType": t, "text": text});
    agent.call(notify("TYPING_STARTED", "checking")).await;
    agent
        .call(notify("USER_PUSHED_URL", "https://example.com/faq"))
        .await;
    agent.call(notify("USER_CUSTOM", "survey")).await;
    let mut sup = server.client().await;
    sup.register("Sue", "SUPERVISOR", 106).await;
    sup.join(&c.chat_id, "ALL", json!({})).await;
    agent
        .call(json!({"type": "release", "sessionId": c.chat_id, "afterAction": "KeepAlive", "text": "bye"}))
        .await;

    let msgs = c.refresh().await;
    let view: Vec<(String, String, u64, String)> = msgs
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap().to_owned(),
                m["from"]["nickname"].as_str().unwrap().to_owned(),
                m["from"]["participantId"].as_u64().unwrap(),
                m["from"]["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |t: &str, n: &str, id: u64, k: &str| (t.to_owned(), n.to_owned(), id, k.to_owned());
    assert_eq!(
        view,
        vec![
            row("ParticipantJoined", "Alex", 2, "Agent"),
            row("TypingStarted", "Alex", 2, "Agent"),
            row("PushUrl", "Alex", 2, "Agent"),
            row("CustomNotice", "Alex", 2, "Agent"),
            row("ParticipantJoined", "Sue", 3, "Agent"),
            row("ParticipantLeft", "Alex", 2, "Agent"),
        ],
        "supervisors show as Agent: {msgs:?}"
    );
    assert_eq!(msgs[1]["text"], "checking");
    assert_eq!(msgs[2]["text"], "https://example.com/faq");
    assert_eq!(msgs[3]["text"], "survey");
    let left = &msgs[5];
    assert_eq!(left["text"], "bye");
    assert_eq!(
        left["eventAttributes"]["GCTI_SYSTEM"]["quit-reason-code"], "0",
        "{left}"
    );
    // The supervisor closes the chat: the customer's chat has ended.
    sup.call(json!({"type": "release", "sessionId": c.chat_id, "afterAction": "ForceClose"}))
        .await;
    let pos = c.next.to_string();
    let (s, r) = c.op("refresh", &[("transcriptPosition", &pos)]).await;
    assert_eq!(
        (s, r["chatEnded"].as_bool()),
        (200, Some(true)),
        "BUG: once staff close the chat, the customer's refresh must answer statusCode 0 with \
         chatEnded true (and the events it has not seen yet); it gets an error instead: {r}"
    );
    server.stop().await;
}

/// Real GMS v2 clients address the service and chat URLs with a trailing slash; GMS
/// accepts both forms, and so does Parley.
#[tokio::test]
async fn every_v2_path_also_answers_with_a_trailing_slash() {
    let server = TestServer::start(|_| {}).await;
    let http = reqwest::Client::new();
    let root = service_url(&server, SERVICE);
    let (s, r) = post_form(&http, &format!("{root}/"), &[("nickname", "Pat")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let mut gms = Gms::from_reply(&server, &r);
    let mut pairs = gms.auth();
    pairs.push(("message", "hello"));
    let (s, r) = post_form(&http, &format!("{}/", gms.url("send")), &pairs).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let (s, r) = post_form(&http, &format!("{}/", gms.url("file/limits")), &gms.auth()).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let texts: Vec<Value> = gms.refresh().await;
    assert!(texts.iter().any(|m| m["text"] == "hello"));
}
