//! A live chat keeps only a window of its saved messages in memory
//! (`transcript-memory-events`); every reader that starts before the window — a GMS
//! refresh from the first position, a staff member joining, a basic resume, the final
//! transcript, a session restored after a restart — still gets every line, in order,
//! read back from the store.

use serde_json::{json, Value};

use crate::basic_resume::reconnect_as;
use crate::common::TestServer;
use crate::contacts::admin_get;
use crate::gms::{agent_joins, Gms};

/// The smallest window the configuration allows, so most of a chat leaves memory.
fn small_window(c: &mut parley_server::config::Config) {
    c.security.admin_api_keys = vec![parley_server::config::Secret::new(
        crate::contacts::ADMIN_KEY,
    )];
    c.settings.transcript_memory_events = 16;
    c.rate_limits.messages_per_customer = 0;
}

/// The texts of the messages among GMS `messages`.
fn gms_texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["type"] == "Message")
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

/// The texts of the message events a basic client got.
fn basic_texts(events: &[parley_proto::basic::WireEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == "message")
        .filter_map(|e| e.text.clone())
        .collect()
}

/// A GMS customer and a basic agent take turns: `n` lines each, `c0 a0 c1 a1 ...`.
async fn converse(
    customer: &Gms,
    agent: &mut crate::common::Client,
    chat: &str,
    n: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..n {
        let c = format!("c{i}");
        let (s, r) = customer.op("send", &[("message", &c)]).await;
        assert_eq!(s, 200, "{r}");
        lines.push(c);
        let a = format!("a{i}");
        agent.say(chat, &a).await;
        lines.push(a);
    }
    lines
}

#[tokio::test]
async fn every_reader_gets_every_line_of_a_chat_longer_than_its_memory_window() {
    let server = TestServer::start(small_window).await;
    let mut customer = Gms::start(&server, "Pat").await;
    let (s, r) = customer.op("updateNickname", &[("nickname", "Zed")]).await;
    assert_eq!(s, 200, "{r}");
    let (mut agent, _) = agent_joins(&server, &customer.chat_id).await;
    let chat = customer.chat_id.clone();
    let lines = converse(&customer, &mut agent, &chat, 50).await;

    // A GMS refresh from the first position (a reloaded page) gets every line.
    customer.next = 1;
    let all = customer.refresh().await;
    assert_eq!(gms_texts(&all), lines, "GMS refresh from position 1");
    // A refresh from the middle gets the rest only.
    let middle = all
        .iter()
        .find(|m| m["text"] == "c25")
        .and_then(|m| m["index"].as_u64())
        .expect("c25 has an index");
    customer.next = middle;
    assert_eq!(gms_texts(&customer.refresh().await), lines[50..].to_vec());

    // A supervisor who joins sees the whole conversation.
    let mut sup = server.client().await;
    sup.register("Sam", "SUPERVISOR", 106).await;
    let info = sup.join(&chat, "INT", json!({})).await;
    assert_eq!(basic_texts(&info.events), lines, "supervisor's join");

    // The agent's connection drops; it resumes from the start on a new one.
    let (user, key) = (agent.user_id.clone(), agent.secure_key.clone());
    drop(agent);
    let (mut agent, info) = reconnect_as(server.addr, "AGENT", "Alex", &user, &key, &chat, 0).await;
    assert_eq!(basic_texts(&info.events), lines, "agent's resume from 0");

    // The final transcript holds every line, and the customer's original nickname.
    let r = agent
        .call(json!({"type": "release", "sessionId": chat, "afterAction": "ForceClose"}))
        .await;
    assert!(
        matches!(r, parley_proto::basic::ServerFrame::Released { .. }),
        "{r:?}"
    );
    let record = final_record(&server, &chat).await;
    let transcript = record["transcript"].as_array().expect("transcript");
    let texts: Vec<String> = transcript
        .iter()
        .filter(|e| e["type"] == "message")
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts, lines, "final transcript");
    let ids: Vec<u64> = transcript.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
    let join = &transcript[0];
    assert_eq!(join["type"], "newParty", "{join}");
    assert_eq!(join["userData"]["GCTI_Original_Nickname"], "Pat", "{join}");

    // A refresh after the end reads the record: still every line.
    customer.next = 1;
    assert_eq!(gms_texts(&customer.refresh().await), lines);
    server.stop().await;
}

#[tokio::test]
async fn a_chat_restored_after_a_restart_reads_its_older_lines_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), small_window).await;
    let mut customer = Gms::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &customer.chat_id).await;
    let chat = customer.chat_id.clone();
    let lines = converse(&customer, &mut agent, &chat, 40).await;
    server.stop().await;

    let server = TestServer::start_in(dir.path(), small_window).await;
    customer.base = crate::gms::service_url(&server, crate::gms::SERVICE);
    customer.next = 1;
    assert_eq!(gms_texts(&customer.refresh().await), lines, "after restart");
    // The conversation goes on, and the whole of it is still there.
    let (s, r) = customer.op("send", &[("message", "back")]).await;
    assert_eq!(s, 200, "{r}");
    customer.next = 1;
    let mut want = lines.clone();
    want.push("back".into());
    assert_eq!(gms_texts(&customer.refresh().await), want);
    server.stop().await;
}

/// The interaction record once the close is saved.
async fn final_record(server: &TestServer, chat: &str) -> Value {
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let (s, r) = admin_get(server, &format!("/admin/v1/interactions/{chat}")).await;
        assert_eq!(s, 200, "{r}");
        if r["transcript"].is_array() {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "never closed: {r}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
