//! A chat survives restarts, crashes and failover on every transport: the seed's "Run a
//! Test" (Deploying High-Availability Chat Server) played with real processes. A customer
//! and an agent chat, the server is killed with SIGKILL (or stopped), and the customer's
//! next request, of whatever kind, goes on without an extra call: the session is restored,
//! the customer re-admitted, the transcript shows the parties leaving (quit reason 8) and
//! coming back, and every acknowledged line is there exactly once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::process::ServerProcess;
use crate::common::{Client, API_KEY};
use crate::gms::{post_form, Gms};

/// How many lines the customer sends before the crash.
const LINES: usize = 20;

fn config(extra: &str) -> String {
    format!("[security]\napi-keys = [\"{API_KEY}\"]\n{extra}")
}

/// An agent (basic protocol, API key) that joins `session` on the server at `addr`.
async fn agent_joins(addr: SocketAddr, session: &str) -> Client {
    let mut agent = Client::connect(addr).await;
    agent.register("Alex", "AGENT", 106).await;
    agent.join(session, "ALL", json!({})).await;
    agent
}

/// A GMS v2 customer on `addr` who has sent `LINES` acknowledged lines to an agent.
async fn gms_chat(addr: SocketAddr) -> (Gms, Client) {
    let (s, r) = Gms::request_at(
        addr,
        &[("nickname", "Ada"), ("emailAddress", "ada@example.org")],
    )
    .await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let gms = Gms::from_reply_at(addr, &r);
    let agent = agent_joins(addr, &gms.chat_id).await;
    for i in 0..LINES {
        let (s, r) = gms.op("send", &[("message", &format!("line {i}"))]).await;
        assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    }
    (gms, agent)
}

/// The customer's next request after a restart: a send, retried while the session moves
/// (a refused attempt must store nothing). Returns how long it took.
pub(crate) async fn send_until_accepted(gms: &Gms, text: &str, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let (s, r) = gms.op("send", &[("message", text)]).await;
        if s == 200 && r["statusCode"].as_i64() == Some(0) {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < within, "send never accepted: {s} {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every line, from position 1, checked: each acknowledged line once and in order, the
/// customer shown leaving (reason 8) and joining again, and the chat not ended.
async fn check_gms_transcript(gms: &Gms, last_line: &str) {
    let (s, r) = gms.op("refresh", &[("transcriptPosition", "1")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert_eq!(r["chatEnded"], json!(false), "the chat goes on: {r}");
    let messages = r["messages"].as_array().expect("messages");
    let texts: Vec<&str> = messages
        .iter()
        .filter(|m| m["type"] == "Message")
        .filter_map(|m| m["text"].as_str())
        .collect();
    let mut want: Vec<String> = (0..LINES).map(|i| format!("line {i}")).collect();
    want.push(last_line.to_owned());
    assert_eq!(texts, want, "every acknowledged line once, in order");
    let indexes: Vec<u64> = messages
        .iter()
        .filter_map(|m| m["index"].as_u64())
        .collect();
    assert!(
        indexes.windows(2).all(|w| w[0] < w[1]),
        "indexes strictly increase: {indexes:?}"
    );
    let ada: Vec<(&str, Option<&str>)> = messages
        .iter()
        .filter(|m| m["from"]["nickname"] == "Ada")
        .filter(|m| m["type"] != "Message")
        .map(|m| {
            (
                m["type"].as_str().unwrap_or_default(),
                m["eventAttributes"]["GCTI_SYSTEM"]["quit-reason-code"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        ada,
        vec![
            ("ParticipantJoined", None),
            ("ParticipantLeft", Some("8")),
            ("ParticipantJoined", None)
        ],
        "the customer is shown leaving at the crash and coming back: {messages:?}"
    );
}

/// After the crash the agent comes back and sees the customer's new line.
async fn agent_sees_line_after_resume(addr: SocketAddr, agent: &Client, session: &str, line: &str) {
    let (mut agent, info) = crate::basic_resume::reconnect_as(
        addr,
        "AGENT",
        "Alex",
        &agent.user_id,
        &agent.secure_key,
        session,
        0,
    )
    .await;
    let mut seen = info
        .events
        .iter()
        .any(|e| e.kind == "message" && e.text.as_deref() == Some(line));
    if !seen {
        seen = agent
            .event_where(|e| e.kind == "message" && e.text.as_deref() == Some(line))
            .await
            .text
            .is_some();
    }
    assert!(seen, "the agent sees the line sent after the crash");
    let reply = agent.say(session, "still here").await;
    assert!(reply > 0);
}

#[tokio::test]
async fn a_gms_chat_survives_sigkill_of_a_single_sqlite_instance() {
    let dir = tempfile::tempdir().unwrap();
    let config = config("");
    let mut a = ServerProcess::start(&config, dir.path(), &[]).await;
    let (mut gms, agent) = gms_chat(a.addr).await;
    a.kill9();

    let b = ServerProcess::start(&config, dir.path(), &[]).await;
    gms.base = crate::gms::service_url_at(b.addr);
    send_until_accepted(&gms, "after the crash", Duration::from_secs(10)).await;
    check_gms_transcript(&gms, "after the crash").await;
    agent_sees_line_after_resume(b.addr, &agent, &gms.chat_id, "after the crash").await;
}

#[tokio::test]
async fn a_gms_chat_survives_a_graceful_restart_and_trailing_slashes_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = config("");
    let mut a = ServerProcess::start(&config, dir.path(), &[]).await;
    let (mut gms, agent) = gms_chat(a.addr).await;
    assert!(a.terminate().success(), "SIGTERM exits cleanly");

    let b = ServerProcess::start(&config, dir.path(), &[]).await;
    gms.base = crate::gms::service_url_at(b.addr);
    // The first request after the restart is a refresh, with GMS's trailing slash.
    let mut pairs = gms.auth();
    pairs.push(("transcriptPosition", "1"));
    let (s, r) = post_form(&gms.http, &format!("{}/", gms.url("refresh")), &pairs).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert_eq!(
        r["chatEnded"],
        json!(false),
        "a refresh re-admits the customer: {r}"
    );
    send_until_accepted(&gms, "after the restart", Duration::from_secs(5)).await;
    check_gms_transcript(&gms, "after the restart").await;
    agent_sees_line_after_resume(b.addr, &agent, &gms.chat_id, "after the restart").await;
}

/// Flex: the customer's refresh from the position it holds, right after a SIGKILL and
/// restart, continues without a gap or a repeat, and its send works without a new join.
#[tokio::test]
async fn a_flex_chat_continues_from_the_clients_position_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let config = config("");
    let mut a = ServerProcess::start(&config, dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let flex = |addr: SocketAddr, op: &str| format!("http://{addr}/flex/v1/{op}");
    let post = |url: String, body: Value| {
        let http = http.clone();
        async move {
            let r = http.post(url).json(&body).send().await.expect("http");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let (_, login) = post(flex(a.addr, "login"), json!({"nickname": "Flo"})).await;
    let (user, key) = (login["userId"].clone(), login["secureKey"].clone());
    let (_, joined) = post(
        flex(a.addr, "join"),
        json!({"userId": user, "secureKey": key}),
    )
    .await;
    let session = joined["sessionId"].clone();
    let auth = json!({"userId": user, "secureKey": key, "sessionId": session});
    let with = |extra: Value| {
        let mut b = auth.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let agent = agent_joins(a.addr, session.as_str().unwrap()).await;
    for i in 0..LINES {
        let (s, r) = post(
            flex(a.addr, "send"),
            with(json!({"text": format!("line {i}")})),
        )
        .await;
        assert_eq!(s, 200, "{r}");
    }
    let (_, r) = post(
        flex(a.addr, "refresh"),
        with(json!({"transcriptPosition": 1})),
    )
    .await;
    let held = r["nextPosition"].as_u64().expect("nextPosition");
    a.kill9();

    let b = ServerProcess::start(&config, dir.path(), &[]).await;
    let (s, r) = post(
        flex(b.addr, "refresh"),
        with(json!({"transcriptPosition": held})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["chatEnded"],
        json!(false),
        "the customer is re-admitted: {r}"
    );
    let (s, r) = post(
        flex(b.addr, "send"),
        with(json!({"text": "after the crash"})),
    )
    .await;
    assert_eq!(s, 200, "send without a new join: {r}");
    let (_, r) = post(
        flex(b.addr, "refresh"),
        with(json!({"transcriptPosition": held})),
    )
    .await;
    let events = r["events"].as_array().expect("events");
    assert!(
        events.iter().all(|e| e["eventId"].as_u64() >= Some(held)),
        "nothing before the held position is repeated"
    );
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["nickname"] == "Flo")
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default(),
                e["text"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("partyLeft", ""),
            ("newParty", ""),
            ("message", "after the crash")
        ],
        "{events:?}"
    );
    // And from the start, every line once.
    let (_, r) = post(
        flex(b.addr, "refresh"),
        with(json!({"transcriptPosition": 1})),
    )
    .await;
    let lines: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(lines.len(), LINES + 1, "{lines:?}");
    drop(agent);
}

/// The seed's "Run a Test" across two instances on one PostgreSQL database: the GMS
/// customer's instance dies, and its next send and refresh go to the other one, which
/// takes the session over once the lease lapses.
#[tokio::test]
async fn a_gms_chat_fails_over_to_another_instance_on_postgres() {
    let Some(url) = crate::common::postgres_database("ha_failover").await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return;
    };
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let config = config(&format!(
        "[server]\nstore-url = \"{url}\"\n[settings]\nsession-lease-timeout = 2\n"
    ));
    let mut a = ServerProcess::start(&config, dir_a.path(), &[]).await;
    let b = ServerProcess::start(&config, dir_b.path(), &[]).await;
    let (mut gms, agent) = gms_chat(a.addr).await;
    a.kill9();

    gms.base = crate::gms::service_url_at(b.addr);
    let took = send_until_accepted(&gms, "on B", Duration::from_secs(20)).await;
    assert!(took < Duration::from_secs(10), "failover took {took:?}");
    check_gms_transcript(&gms, "on B").await;
    agent_sees_line_after_resume(b.addr, &agent, &gms.chat_id, "on B").await;
}

/// SIGHUP must not end the process (its default action would).
#[tokio::test]
async fn sighup_does_not_end_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = ServerProcess::start(&config(""), dir.path(), &[]).await;
    p.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(p.running(), "still running after SIGHUP");
    let (status, _) = crate::common::get_json(p.addr, "/healthz").await;
    assert_eq!(status, 200);
}

/// A GMS send whose reply was lost (a crash, a timeout) and that the client retries with
/// the same `clientMessageId` (Parley's extension) is stored once, across a restart too.
#[tokio::test]
async fn a_retried_gms_send_with_a_client_message_id_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = config("");
    let mut a = ServerProcess::start(&config, dir.path(), &[]).await;
    let (mut gms, _agent) = gms_chat(a.addr).await;
    let once = [("message", "pay now"), ("clientMessageId", "m-42")];
    let (s, r) = gms.op("send", &once).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    a.kill9();
    let b = ServerProcess::start(&config, dir.path(), &[]).await;
    gms.base = crate::gms::service_url_at(b.addr);
    let (s, r) = gms.op("send", &once).await;
    assert_eq!(
        (s, r["statusCode"].as_i64()),
        (200, Some(0)),
        "the retry is accepted: {r}"
    );
    let (_, r) = gms.op("refresh", &[("transcriptPosition", "1")]).await;
    let n = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"] == "pay now")
        .count();
    assert_eq!(n, 1, "stored once");
}
