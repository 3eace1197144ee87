//! Any instance answers any client: two `parley serve` processes on one PostgreSQL
//! database, a chat living on A, and its clients reaching B (as behind a plain load
//! balancer). B forwards every HTTP request (GMS v2, flex, files) and pipes every
//! basic-protocol connection to A over the signed instance-to-instance channel. The
//! lease is long, so B can answer only by forwarding (it never takes the chat over);
//! the tests that kill A use a short one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use parley_core::UnixMillis;
use parley_proto::basic::ServerFrame;
use parley_server::cluster::sign;
use parley_store::InstanceId;
use serde_json::{json, Value};

use crate::common::process::ServerProcess;
use crate::common::{Client, API_KEY};
use crate::gms::{post_form, service_url_at, Gms};

/// The key workflows present at the ESP port.
const ESP_KEY: &str = "esp-forward-key-0123456789abcdef0123456789";

/// Two instances on one fresh database, and what they need kept alive.
struct Pair {
    a: ServerProcess,
    b: ServerProcess,
    url: String,
    _dirs: [tempfile::TempDir; 2],
}

/// Two instances on a fresh database, with `lease_s` session leases and `settings` more
/// lines of `[settings]`.
async fn cluster(name: &str, lease_s: u64, settings: &str) -> Option<Pair> {
    let Some(url) = crate::common::postgres_database(name).await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return None;
    };
    let config = format!(
        "[security]\napi-keys = [\"{API_KEY}\"]\nesp-api-keys = [\"{ESP_KEY}\"]\n\
         [server]\nstore-url = \"{url}\"\n\
         [settings]\nsession-lease-timeout = {lease_s}\n{settings}\n"
    );
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    // Forwarded requests are logged (with the original client) at debug.
    let log = [("RUST_LOG", "info,parley_server::forward=debug")];
    let a = ServerProcess::start(&config, dirs[0].path(), &log).await;
    let b = ServerProcess::start(&config, dirs[1].path(), &log).await;
    Some(Pair {
        a,
        b,
        url,
        _dirs: dirs,
    })
}

async fn counters(addr: SocketAddr) -> Value {
    crate::common::get_json(addr, "/counters").await.1
}

/// An agent on `addr` (basic protocol, API key) in `session`.
async fn agent_on(addr: SocketAddr, session: &str) -> Client {
    let mut agent = Client::connect(addr).await;
    agent.register("Alex", "AGENT", 106).await;
    agent.join(session, "ALL", json!({})).await;
    agent
}

/// The customer's message texts of a GMS refresh from position 1, through `gms.base`.
async fn gms_lines(gms: &Gms) -> Vec<String> {
    let (s, r) = gms.op("refresh", &[("transcriptPosition", "1")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    r["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["type"] == "Message")
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_gms_chat_on_a_is_served_through_b() {
    let Some(Pair { a, b, _dirs, .. }) = cluster("fwd_gms", 60, "").await else {
        return;
    };
    let (s, r) = Gms::request_at(a.addr, &[("nickname", "Ada")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let mut gms = Gms::from_reply_at(a.addr, &r);
    let mut agent = agent_on(a.addr, &gms.chat_id).await;
    gms.op("send", &[("message", "on A")]).await;

    gms.base = service_url_at(b.addr);
    let (s, r) = gms.op("send", &[("message", "through B")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    // Trailing-slash forms, as real GMS clients write them.
    let url = format!("{}/{}/send/", gms.base, gms.chat_id);
    let mut pairs = gms.auth();
    pairs.push(("message", "through B with a slash"));
    let (s, r) = post_form(&gms.http, &url, &pairs).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    // The agent on A sees the lines live.
    agent
        .event_where(|e| e.text.as_deref() == Some("through B with a slash"))
        .await;
    agent.say(&gms.chat_id, "hello from A").await;
    // A workflow's post (ESP) through B.
    let r = reqwest::Client::new()
        .post(format!("http://{}/esp/Message", b.addr))
        .bearer_auth(ESP_KEY)
        .json(&json!({"interactionId": gms.chat_id,
            "parameters": {"MessageText": "from the workflow", "Nickname": "Bot"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    agent
        .event_where(|e| e.text.as_deref() == Some("from the workflow"))
        .await;
    // A file, uploaded and downloaded through B.
    let form = reqwest::multipart::Form::new()
        .text("userId", gms.user_id.clone())
        .text("secureKey", gms.secure_key.clone())
        .text("alias", gms.alias.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"card 1234".to_vec())
                .file_name("card.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let r = gms
        .http
        .post(gms.url("file/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (status, body["statusCode"].as_i64()),
        (200, Some(0)),
        "{body}"
    );
    let file_id = body["userData"]["file-id"]
        .as_str()
        .expect("file-id")
        .to_owned();
    let r = gms
        .http
        .post(gms.url(&format!("file/{file_id}/download/")))
        .form(&gms.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"card 1234");

    // Refresh through B: every line once, the agent's included.
    let lines = gms_lines(&gms).await;
    assert_eq!(
        lines,
        [
            "on A",
            "through B",
            "through B with a slash",
            "hello from A",
            "from the workflow"
        ],
        "every line once, in order"
    );
    // And through A the same: B never took the chat over.
    let on_a = gms_lines(&Gms {
        base: service_url_at(a.addr),
        http: reqwest::Client::new(),
        ..gms_clone(&gms)
    })
    .await;
    assert_eq!(on_a, lines);
    let cb = counters(b.addr).await;
    assert_eq!(cb["sessions"], 0, "B holds nothing: {cb}");
    // send, send/, ESP, file upload, download, refresh.
    assert!(cb["forwarded-requests"].as_u64() >= Some(6), "{cb}");
    assert_eq!(counters(a.addr).await["sessions-restored"], 0);
}

fn gms_clone(g: &Gms) -> Gms {
    Gms {
        http: g.http.clone(),
        base: g.base.clone(),
        user_id: g.user_id.clone(),
        secure_key: g.secure_key.clone(),
        chat_id: g.chat_id.clone(),
        alias: g.alias.clone(),
        next: g.next,
    }
}

#[tokio::test]
async fn a_flex_chat_on_a_is_served_through_b() {
    // B is at its sessions limit (it holds one chat): it restores nothing, but still
    // forwards to the live owner of a chat.
    let limited = "limits-control-enabled = true\nlimit-for-sessions = 1";
    let Some(Pair { a, b, _dirs, .. }) = cluster("fwd_flex", 60, limited).await else {
        return;
    };
    let (s, r) = Gms::request_at(b.addr, &[("nickname", "Bea")]).await;
    assert_eq!(s, 200, "{r}");
    let (_, ready) = crate::common::get_json(b.addr, "/readyz").await;
    assert_eq!(ready["status"], "limited", "{ready}");
    let http = reqwest::Client::new();
    let on = |addr: SocketAddr| format!("http://{addr}");
    let (_, login) =
        crate::flex::post(&http, &on(a.addr), "login", json!({"nickname": "Flo"})).await;
    let auth = json!({"userId": login["userId"], "secureKey": login["secureKey"]});
    let (s, joined) = crate::flex::post(&http, &on(a.addr), "join", auth.clone()).await;
    assert_eq!(s, 200, "{joined}");
    let session = joined["sessionId"].as_str().unwrap().to_owned();
    let mut agent = agent_on(a.addr, &session).await;
    let mut body = auth.clone();
    body["sessionId"] = json!(session);
    let with = |extra: Value| {
        let mut b = body.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for text in ["one", "two"] {
        let (s, r) =
            crate::flex::post(&http, &on(b.addr), "send", with(json!({"text": text}))).await;
        assert_eq!(s, 200, "send through B: {r}");
    }
    agent
        .event_where(|e| e.text.as_deref() == Some("two"))
        .await;
    agent.say(&session, "from A").await;
    let (s, r) = crate::flex::post(
        &http,
        &on(b.addr),
        "refresh",
        with(json!({"transcriptPosition": 1})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let lines: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(lines, ["one", "two", "from A"], "{r}");
    assert_eq!(counters(b.addr).await["sessions"], 1, "only its own chat");
    assert!(counters(b.addr).await["forwarded-requests"].as_u64() >= Some(3));
}

/// Registers on `addr` with the identity `(user, key)` and resumes `session` from
/// `last`; returns the client, its `sessionInfo` and every frame before it.
async fn resume_on(
    addr: SocketAddr,
    party_type: &str,
    user: &str,
    key: &str,
    session: &str,
    last: u64,
) -> (Client, ServerFrame) {
    let mut c = Client::connect(addr).await;
    let mut register = json!({"type": "register", "nickname": "Cleo", "partyType": party_type,
        "clientVersion": 106, "resume": {"userId": user, "secureKey": key}});
    if party_type != "CLIENT" {
        register["credentials"] = json!({"apiKey": API_KEY});
    }
    let r = c.call(register).await;
    assert!(matches!(r, ServerFrame::Registered { .. }), "{r:?}");
    c.user_id = user.to_owned();
    c.secure_key = key.to_owned();
    let info = c
        .call(json!({"type": "resume", "sessionId": session, "lastEventId": last}))
        .await;
    (c, info)
}

#[tokio::test]
async fn a_basic_client_whose_chat_is_on_a_resumes_through_b() {
    let Some(Pair { a, b, _dirs, .. }) = cluster("fwd_basic", 60, "").await else {
        return;
    };
    let mut customer = Client::connect(a.addr).await;
    customer.register("Cleo", "CLIENT", 106).await;
    let info = customer.create(json!({})).await;
    let session = info.session_id.clone();
    let mut agent = agent_on(a.addr, &session).await;
    customer.say(&session, "before").await;
    let (user, key) = (customer.user_id.clone(), customer.secure_key.clone());
    customer.close().await;

    // The customer comes back through B: it resumes, gets what it missed, and chats.
    let (mut c, info) = resume_on(b.addr, "CLIENT", &user, &key, &session, 0).await;
    let ServerFrame::SessionInfo { events, .. } = &info else {
        panic!("resume through B: {info:?}");
    };
    assert!(
        events.iter().any(|e| e.text.as_deref() == Some("before")),
        "{events:?}"
    );
    let ack = c.say(&session, "through B").await;
    assert!(ack > 0);
    agent
        .event_where(|e| e.text.as_deref() == Some("through B"))
        .await;
    agent.say(&session, "live from A").await;
    c.event_where(|e| e.text.as_deref() == Some("live from A"))
        .await;
    // One registration reply only: the owner's answer to the replayed one is not relayed.
    c.drain_events(Duration::from_millis(300)).await;
    assert!(
        !c.backlog()
            .iter()
            .any(|f| matches!(f, ServerFrame::Registered { .. })),
        "{:?}",
        c.backlog()
    );
    assert_eq!(counters(b.addr).await["sessions"], 0);
    assert_eq!(counters(b.addr).await["forwarded-connections"], 1);

    // An agent whose connection lands on B joins a chat living on A.
    let mut customer2 = Client::connect(a.addr).await;
    customer2.register("Dan", "CLIENT", 106).await;
    let s2 = customer2.create(json!({})).await.session_id;
    let mut agent_b = agent_on(b.addr, &s2).await;
    agent_b.say(&s2, "agent through B").await;
    customer2
        .event_where(|e| e.text.as_deref() == Some("agent through B"))
        .await;
    customer2.say(&s2, "customer on A").await;
    agent_b
        .event_where(|e| e.text.as_deref() == Some("customer on A"))
        .await;
    assert_eq!(counters(b.addr).await["sessions"], 0);
}

/// The fields of a forwarded request to sign by hand.
struct Forge<'a> {
    key: &'a [u8],
    from: InstanceId,
    to: InstanceId,
    at: UnixMillis,
    nonce: [u8; 16],
}

fn wall_now() -> UnixMillis {
    UnixMillis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

/// POSTs a GMS `send` to `addr` carrying the forwarding header `header`.
async fn send_with_header(
    gms: &Gms,
    addr: SocketAddr,
    text: &str,
    header: Option<String>,
) -> (u16, Value) {
    let path = format!(
        "/genesys/2/chat/{}/{}/send",
        crate::gms::SERVICE,
        gms.chat_id
    );
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(gms.auth())
        .append_pair("message", text)
        .finish();
    let mut req = gms
        .http
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone());
    if let Some(h) = header {
        req = req.header(sign::HEADER, h);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn forge(f: &Forge<'_>, gms: &Gms, text: &str) -> String {
    let path = format!(
        "/genesys/2/chat/{}/{}/send",
        crate::gms::SERVICE,
        gms.chat_id
    );
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(gms.auth())
        .append_pair("message", text)
        .finish();
    sign::sign(
        f.key,
        &sign::Request {
            method: "POST",
            path_and_query: &path,
            body: body.as_bytes(),
        },
        &f.from,
        &f.to,
        f.at,
        f.nonce,
        "203.0.113.9:4444",
    )
}

#[track_caller]
fn assert_refused(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], 1012, "{body}");
    assert_eq!(body["error"]["name"], "FORWARD_REFUSED", "{body}");
}

#[tokio::test]
async fn forged_stale_replayed_and_misdirected_forwards_are_refused() {
    let Some(Pair { a, b, url, _dirs }) = cluster("fwd_bad", 60, "").await else {
        return;
    };
    let (s, r) = Gms::request_at(a.addr, &[("nickname", "Ada")]).await;
    assert_eq!(s, 200, "{r}");
    let gms = Gms::from_reply_at(a.addr, &r);
    let id_a = InstanceId(gms.alias.clone());
    let (_, rb) = Gms::request_at(b.addr, &[("nickname", "Bob")]).await;
    let id_b = InstanceId(rb["alias"].as_str().unwrap().to_owned());
    // The cluster secret, as any holder of the database can read it.
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    let secret: String = sqlx::query_scalar("SELECT secret FROM cluster_secret")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let good = |nonce: u8| Forge {
        key: secret.as_bytes(),
        from: id_b.clone(),
        to: id_a.clone(),
        at: wall_now(),
        nonce: [nonce; 16],
    };

    // Forged: signed with another key, or garbage.
    let forged = forge(
        &Forge {
            key: b"not the cluster secret at all!!",
            ..good(1)
        },
        &gms,
        "forged",
    );
    let (s, r) = send_with_header(&gms, a.addr, "forged", Some(forged)).await;
    assert_refused(s, &r);
    let (s, r) = send_with_header(&gms, a.addr, "junk", Some("v1;from=x;to=y".into())).await;
    assert_refused(s, &r);
    // Stale: a minute old.
    let stale = forge(
        &Forge {
            at: UnixMillis(wall_now().0 - 60_000),
            ..good(2)
        },
        &gms,
        "stale",
    );
    let (s, r) = send_with_header(&gms, a.addr, "stale", Some(stale)).await;
    assert_refused(s, &r);
    // Misdirected: signed for A, sent to B.
    let misdirected = forge(&good(3), &gms, "misdirected");
    let (s, r) = send_with_header(&gms, b.addr, "misdirected", Some(misdirected)).await;
    assert_refused(s, &r);
    // Altered body under a good signature.
    let altered = forge(&good(4), &gms, "original");
    let (s, r) = send_with_header(&gms, a.addr, "altered", Some(altered)).await;
    assert_refused(s, &r);
    // Replayed: the first is served, the same request again is refused.
    let once = forge(&good(5), &gms, "once");
    let (s, r) = send_with_header(&gms, a.addr, "once", Some(once.clone())).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let (s, r) = send_with_header(&gms, a.addr, "once", Some(once)).await;
    assert_refused(s, &r);

    // Nothing refused was written.
    assert_eq!(gms_lines(&gms).await, ["once"]);
    assert!(counters(a.addr).await["forward-refused"].as_u64() >= Some(5));
    // A forwarded request is answered with the original client's address in the log.
    assert!(
        a.wait_for_log("203.0.113.9").await,
        "the owner logs the client:\n{}",
        a.output()
    );
}

#[tokio::test]
async fn a_client_header_on_a_single_node_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("[security]\napi-keys = [\"{API_KEY}\"]\n");
    let a = ServerProcess::start(&config, dir.path(), &[]).await;
    let (s, r) = Gms::request_at(a.addr, &[("nickname", "Ada")]).await;
    assert_eq!(s, 200, "{r}");
    let gms = Gms::from_reply_at(a.addr, &r);
    let (s, r) = send_with_header(&gms, a.addr, "x", Some("v1;anything".into())).await;
    assert_refused(s, &r);
    assert_eq!(gms_lines(&gms).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_owner_killed_while_a_client_sends_through_b() {
    let Some(Pair {
        mut a, b, _dirs, ..
    }) = cluster("fwd_kill", 2, "").await
    else {
        return;
    };
    let (s, r) = Gms::request_at(a.addr, &[("nickname", "Ada")]).await;
    assert_eq!(s, 200, "{r}");
    let mut gms = Gms::from_reply_at(a.addr, &r);
    gms.base = service_url_at(b.addr);
    let mut sent = Vec::new();
    let mut refused = 0;
    let t0 = Instant::now();
    for i in 0..12 {
        if i == 4 {
            a.kill9();
        }
        let text = format!("line {i}");
        loop {
            let (s, r) = gms.op("send", &[("message", &text)]).await;
            if s == 200 && r["statusCode"].as_i64() == Some(0) {
                break;
            }
            assert_eq!(s, 503, "only 503 while the lease lapses: {r}");
            refused += 1;
            assert!(t0.elapsed() < Duration::from_secs(30), "never served again");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent.push(text);
    }
    assert!(refused > 0, "B answered 503 until A's lease lapsed");
    assert_eq!(gms_lines(&gms).await, sent, "nothing lost or doubled");
    assert_eq!(
        counters(b.addr).await["sessions"],
        1,
        "B holds the chat now"
    );
}

/// The owner dies while a basic client is piped to it through B: the client's connection
/// closes, it reconnects to B and resumes, refused while A's lease lapses, then served
/// by B with nothing lost.
#[tokio::test]
async fn a_piped_basic_client_follows_its_chat_when_the_owner_dies() {
    let Some(Pair {
        mut a, b, _dirs, ..
    }) = cluster("fwd_ws_kill", 2, "ws-ping-interval = 1").await
    else {
        return;
    };
    let mut customer = Client::connect(a.addr).await;
    customer.register("Cleo", "CLIENT", 106).await;
    let session = customer.create(json!({})).await.session_id;
    let (user, key) = (customer.user_id.clone(), customer.secure_key.clone());
    customer.close().await;
    let (mut c, info) = resume_on(b.addr, "CLIENT", &user, &key, &session, 0).await;
    assert!(matches!(info, ServerFrame::SessionInfo { .. }), "{info:?}");
    c.say(&session, "before the crash").await;
    // The pipe answers the owner's pings: idle for several ping periods, it stays open.
    c.idle(Duration::from_millis(3_500)).await;
    c.say(&session, "still piped").await;
    a.kill9();
    // The pipe's far side is gone: the client's side closes too.
    c.closed().await;
    let t0 = Instant::now();
    let mut c = loop {
        let (c, info) = resume_on(b.addr, "CLIENT", &user, &key, &session, 0).await;
        match info {
            ServerFrame::SessionInfo { .. } => break c,
            ServerFrame::Error { code, .. } => {
                assert_eq!(code, parley_proto::ErrorCode::Unavailable, "{code:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "never resumed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    c.say(&session, "after the crash").await;
    assert_eq!(
        counters(b.addr).await["sessions"],
        1,
        "B holds the chat now"
    );
    let (user2, key2) = (user.clone(), key.clone());
    let (_c2, info) = resume_on(b.addr, "CLIENT", &user2, &key2, &session, 0).await;
    let ServerFrame::SessionInfo { events, .. } = info else {
        panic!("{info:?}");
    };
    let lines: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "message")
        .filter_map(|e| e.text.as_deref())
        .collect();
    assert_eq!(
        lines,
        ["before the crash", "still piped", "after the crash"]
    );
}
