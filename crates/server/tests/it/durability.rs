//! Transcripts survive: auto-save modes, restart and restoration, SIGKILL under traffic,
//! and the interaction record written at close.

use std::collections::BTreeMap;
use std::time::Duration;

use parley_proto::basic::ServerFrame;
use parley_store::{InteractionStore, SessionState};
use serde_json::json;

use crate::basic_resume::reconnect;
use crate::common::process::ServerProcess;
use crate::common::{error_code, Chat, Client, TestServer, API_KEY};

async fn open_store(dir: &std::path::Path) -> parley_store::AnyStore {
    parley_store::open(&format!("sqlite://{}", dir.join("parley.db").display()))
        .await
        .expect("open store")
}

#[tokio::test]
async fn after_a_restart_the_session_is_restored_with_parties_shown_leaving_and_returning() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let mut chat = Chat::start(&server).await;
    let acked = chat.customer.say(&chat.session, "my card is lost").await;
    let (cu, ck) = (
        chat.customer.user_id.clone(),
        chat.customer.secure_key.clone(),
    );
    server.stop().await;

    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let (mut customer, info) = reconnect(server.addr, "Pat", &cu, &ck, &chat.session, acked).await;
    let restored: Vec<_> = info
        .events
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.nickname.as_str(),
                e.reason.as_ref().map(|r| r.code),
            )
        })
        .collect();
    assert_eq!(
        restored,
        vec![
            ("partyLeft", "Pat", Some(8)),
            ("partyLeft", "Alex", Some(8)),
            ("newParty", "Pat", None)
        ],
        "normalised: present parties marked removed (8), the returning one joins again"
    );
    assert!(
        info.events.iter().all(|e| e.event_id > acked),
        "ids continue, none reused"
    );
    // The agent comes back too and the conversation goes on.
    let mut agent = Client::connect(server.addr).await;
    let r = agent
        .call(json!({"type": "register", "nickname": "Alex", "partyType": "AGENT", "clientVersion": 106,
                     "credentials": {"apiKey": API_KEY}, "resume": {"userId": chat.agent.user_id, "secureKey": chat.agent.secure_key}}))
        .await;
    assert!(matches!(r, ServerFrame::Registered { .. }));
    let r = agent
        .call(json!({"type": "resume", "sessionId": chat.session, "lastEventId": 0}))
        .await;
    let all = crate::common::SessionInfo::from(r);
    assert!(all
        .events
        .iter()
        .any(|e| e.text.as_deref() == Some("my card is lost")));
    customer
        .event_where(|e| e.kind == "newParty" && e.nickname == "Alex")
        .await;
    agent.say(&chat.session, "found it").await;
    customer
        .event_where(|e| e.text.as_deref() == Some("found it"))
        .await;
    let counters = server.get_json("/counters").await.1;
    assert_eq!(counters["sessions-restored"], 1);
    server.stop().await;
}

#[tokio::test]
async fn without_auto_save_nothing_is_restored_but_the_final_transcript_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), |c| {
        c.settings.transcript_auto_save = parley_server::config::AutoSave::Off;
    })
    .await;
    let mut chat = Chat::start(&server).await;
    chat.customer.say(&chat.session, "hello").await;
    chat.agent
        .call(json!({"type": "release", "sessionId": chat.session, "afterAction": "ForceClose"}))
        .await;
    chat.customer
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    let mut other = Chat::start(&server).await;
    other.customer.say(&other.session, "unsaved").await;
    let (cu, ck) = (
        other.customer.user_id.clone(),
        other.customer.secure_key.clone(),
    );
    server.stop().await;

    let store = open_store(dir.path()).await;
    let closed = store
        .interaction(&chat.session.parse().unwrap())
        .await
        .unwrap()
        .expect("interaction record");
    assert_eq!(closed.state, SessionState::Closed);
    let transcript = closed.transcript.expect("final transcript");
    assert!(transcript.iter().any(
        |e| matches!(&e.body, parley_core::EventBody::Message { text, .. } if text == "hello")
    ));
    let end = closed.end.expect("end reasons");
    assert_eq!(end.ended_by, parley_core::session::EndedBy::Agent);
    assert_eq!(end.reason, parley_core::session::EndedReason::Force);
    assert_eq!(end.agent, parley_core::session::EndedAgent::Present);

    let server = TestServer::start_in(dir.path(), |c| {
        c.settings.transcript_auto_save = parley_server::config::AutoSave::Off;
    })
    .await;
    let mut c = Client::connect(server.addr).await;
    c.call(json!({"type": "register", "nickname": "Pat", "partyType": "CLIENT", "resume": {"userId": cu, "secureKey": ck}}))
        .await;
    let r = c
        .call(json!({"type": "resume", "sessionId": other.session, "lastEventId": 0}))
        .await;
    assert_eq!(error_code(&r), 2001, "auto-save 0: no restoration");
    server.stop().await;
}

#[tokio::test]
async fn auto_save_2_tells_basic_clients_about_each_save() {
    let server = TestServer::start(|c| {
        c.settings.transcript_auto_save = parley_server::config::AutoSave::SaveAndNotify;
    })
    .await;
    let mut chat = Chat::start(&server).await;
    let id = chat.customer.say(&chat.session, "saved?").await;
    let f = chat
        .agent
        .recv_where(|f| matches!(f, ServerFrame::TranscriptSaved { last_event_id, .. } if *last_event_id >= id))
        .await;
    match f {
        ServerFrame::TranscriptSaved { result, .. } => assert_eq!(result, "save"),
        _ => unreachable!(),
    }
    server.stop().await;
}

#[tokio::test]
async fn the_interaction_record_keeps_end_reasons_when_a_customer_leaves_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let mut chat = Chat::start(&server).await;
    chat.customer
        .call(json!({"type": "release", "sessionId": chat.session}))
        .await;
    chat.agent
        .call(json!({"type": "release", "sessionId": chat.session, "afterAction": "ForceClose"}))
        .await;
    chat.agent
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    server.stop().await;
    let store = open_store(dir.path()).await;
    let rec = store
        .interaction(&chat.session.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let end = rec.end.unwrap();
    assert_eq!(end.ended_by, parley_core::session::EndedBy::Client);
    assert_eq!(end.reason, parley_core::session::EndedReason::Quit);
    assert_eq!(
        rec.user_data.get("EmailAddress").map(String::as_str),
        Some("pat@example.com")
    );
}

/// The acceptance test for durability: SIGKILL the server while messages are in flight,
/// start it again, and find every acknowledged message in the restored session, once.
#[tokio::test]
async fn every_acknowledged_message_survives_sigkill_under_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[settings]\ntranscript-auto-save = 1\nsession-restoration-mode = \"simple\"\n\n[security]\napi-keys = [\"{API_KEY}\"]\n\n[rate-limits]\nmessages-per-customer = 0\n"
    );
    let mut proc = ServerProcess::start(&config, dir.path(), &[]).await;
    let chat = Chat::start_at(proc.addr).await;
    let Chat {
        mut customer,
        agent,
        session,
    } = chat;
    // Pipeline sends without waiting for each ack, so messages are in flight at the kill
    // (faster than a customer may send by default: the config lifts that limit).
    let total = 400u64;
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut req_text = BTreeMap::new();
    for i in 0..total {
        let text = format!("msg-{i}");
        let id = customer
            .send(json!({"type": "message", "sessionId": session, "text": text, "clientMessageId": format!("m{i}")}))
            .await;
        req_text.insert(id, text);
    }
    // Collect acks until half are in, then kill without warning.
    while acked.len() < (total / 2) as usize {
        match customer.next().await {
            ServerFrame::Ack {
                request_id: Some(r),
                event_id,
                ..
            } => {
                acked.insert(event_id, req_text[&r].clone());
            }
            _ => continue,
        }
    }
    proc.kill9();
    drop(agent);
    assert!(!acked.is_empty());

    let proc2 = ServerProcess::start(&config, dir.path(), &[]).await;
    let (_c, info) = reconnect(
        proc2.addr,
        "Pat",
        &customer.user_id,
        &customer.secure_key,
        &session,
        0,
    )
    .await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in info.events.iter().filter(|e| e.kind == "message") {
        *counts.entry(e.text.clone().unwrap()).or_default() += 1;
    }
    for (id, text) in &acked {
        assert_eq!(
            counts.get(text),
            Some(&1),
            "acked message {text} (event {id}) lost or doubled"
        );
    }
    assert!(counts.values().all(|n| *n == 1), "no message stored twice");
    let max_acked = *acked.keys().max().unwrap();
    let restored_min = info
        .events
        .iter()
        .filter(|e| e.kind == "partyLeft")
        .map(|e| e.event_id)
        .min()
        .unwrap();
    assert!(restored_min > max_acked, "restoration events get new ids");
    let _ = Duration::from_secs(0);
}
