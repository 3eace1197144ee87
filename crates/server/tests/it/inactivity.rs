//! Inactivity control against a real server (docs/inactivity.md): an idle chat is alerted
//! and closed with the configured texts, as `IDLE_CONTROL_*` notices for a client of
//! version 103 and as plain messages for an older one; a workflow's
//! `IdleControlConfigure` changes the timers of one chat only; a running timer keeps its
//! deadline across a restart.

use std::time::Duration;

use parley_core::session::{EndedBy, EndedReason};
use parley_core::{EventBody, NoticeType};
use parley_proto::basic::{ServerFrame, WireEvent};
use parley_server::config::{Config, Secret};
use parley_store::{InteractionRecord, InteractionStore, SessionState};
use serde_json::{json, Value};

use crate::common::{Client, TestServer, WAIT};

const ESP_KEY: &str = "esp-idle-key-0123456789abcdef0123456789";

/// Inactivity control on with short timers and texts of its own; no built-in strategy
/// (its greetings would be lines of their own).
fn idle_config(alert_s: u64, close_s: u64) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.routing.enabled = false;
        c.security.esp_api_keys = vec![Secret::new(ESP_KEY)];
        let i = &mut c.inactivity_control;
        i.enabled = true;
        i.timeout_alert_s = alert_s;
        i.timeout_close_s = close_s;
        i.message_alert = "Are you still there?".into();
        i.message_close = "Closed for inactivity.".into();
    }
}

/// A customer of `customer_version` creates a chat, an agent of `agent_version` joins.
async fn chat(
    server: &TestServer,
    customer_version: u16,
    agent_version: u16,
) -> (Client, Client, String) {
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", customer_version).await;
    let session = customer.create(json!({})).await.session_id;
    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", agent_version).await;
    agent.join(&session, "ALL", json!({})).await;
    customer
        .event_where(|e| e.kind == "newParty" && e.nickname == "Alex")
        .await;
    (customer, agent, session)
}

fn notice_is(e: &WireEvent, name: &str) -> bool {
    e.kind == "notice" && e.notice_type.as_deref() == Some(name)
}

async fn esp(server: &TestServer, method: &str, session: &str, params: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("http://{}/esp/{method}", server.addr))
        .bearer_auth(ESP_KEY)
        .json(&json!({"interactionId": session, "parameters": params}))
        .send()
        .await
        .expect("http post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn record(server: &TestServer, session: &str) -> InteractionRecord {
    parley_store::open(&format!(
        "sqlite://{}",
        server.data_dir.join("parley.db").display()
    ))
    .await
    .expect("open store")
    .interaction(&session.parse().expect("session id"))
    .await
    .expect("store")
    .expect("interaction record")
}

/// Polls the interaction record until its chat is closed.
async fn closed_record(server: &TestServer, session: &str) -> InteractionRecord {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = record(server, session).await;
        if r.state == SessionState::Closed && r.end.is_some() {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never closed: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_idle_chat_is_alerted_then_closed_with_the_configured_texts() {
    let server = TestServer::start(idle_config(1, 1)).await;
    // The customer's client knows idle control (103); the agent's is older (102).
    let (mut customer, mut agent, session) = chat(&server, 103, 102).await;

    let alert = customer
        .event_where(|e| notice_is(e, "IDLE_CONTROL_ALERT"))
        .await;
    assert_eq!(alert.text.as_deref(), Some("Are you still there?"));
    assert_eq!(alert.party_type, parley_proto::basic::PartyType::System);
    let expire = alert.idle_time_expire.expect("idleTimeExpire");
    assert_eq!(
        expire,
        alert.utc_time + 1_000,
        "the close is due timeout-close later"
    );
    assert_eq!(alert.user_data, None, "internal data stays on the server");

    let close = customer
        .event_where(|e| notice_is(e, "IDLE_CONTROL_CLOSE"))
        .await;
    assert_eq!(close.text.as_deref(), Some("Closed for inactivity."));
    assert!(close.utc_time >= expire);
    let left = customer
        .event_where(|e| e.kind == "partyLeft" && e.nickname == "Pat")
        .await;
    assert_eq!(left.reason.map(|r| r.code), Some(7));
    match customer
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await
    {
        ServerFrame::SessionOver { end, .. } => {
            assert_eq!(
                (end.ended_by.as_str(), end.reason.as_str()),
                ("SYSTEM", "INACTIVE")
            );
        }
        _ => unreachable!(),
    }

    // The older client gets the same texts as plain messages, and no notice.
    let old_alert = agent
        .event_where(|e| e.text.as_deref() == Some("Are you still there?"))
        .await;
    assert_eq!(old_alert.kind, "message");
    assert_eq!(old_alert.idle_time_expire, None);
    let old_close = agent
        .event_where(|e| e.text.as_deref() == Some("Closed for inactivity."))
        .await;
    assert_eq!(old_close.kind, "message");

    let r = closed_record(&server, &session).await;
    let end = r.end.expect("end");
    assert_eq!(
        (end.ended_by, end.reason),
        (EndedBy::System, EndedReason::Inactive)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_workflow_changes_the_timers_of_one_chat_only() {
    // The configured timers are long: only the configured chat may close.
    let server = TestServer::start(idle_config(3600, 3600)).await;
    let (mut fast, _fast_agent, fast_session) = chat(&server, 106, 106).await;
    let (mut slow, mut slow_agent, slow_session) = chat(&server, 106, 106).await;

    let (status, body) = esp(
        &server,
        "IdleControlConfigure",
        &fast_session,
        json!({"timeout-alert": "1", "timeout-close": "1", "message-close": "Workflow says bye."}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let set = fast.event_where(|e| notice_is(e, "IDLE_CONTROL_SET")).await;
    assert_eq!(set.idle_time_expire, Some(set.utc_time + 1_000));
    fast.event_where(|e| notice_is(e, "IDLE_CONTROL_ALERT"))
        .await;
    let close = fast
        .event_where(|e| notice_is(e, "IDLE_CONTROL_CLOSE"))
        .await;
    assert_eq!(close.text.as_deref(), Some("Workflow says bye."));
    closed_record(&server, &fast_session).await;

    // The other chat is untouched: still open, no idle notice.
    slow_agent.say(&slow_session, "still going").await;
    let seen = slow.drain_events(Duration::from_millis(200)).await;
    assert!(
        seen.iter()
            .all(|e| !e.notice_type.as_deref().unwrap_or("").starts_with("IDLE")),
        "{seen:?}"
    );
    assert_eq!(
        record(&server, &slow_session).await.state,
        SessionState::Alive
    );

    // The parameters are checked, and a refusal names the one at fault.
    let (status, body) = esp(
        &server,
        "IdleControlConfigure",
        &slow_session,
        json!({"timeout-close": "0"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("timeout-close"), "{body}");
    let (status, _) = esp(&server, "IdleControlConfigure", &slow_session, json!({})).await;
    assert_eq!(status, 400, "at least one parameter");
    server.stop().await;
}

#[tokio::test]
async fn a_running_close_timer_keeps_its_deadline_across_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_in(dir.path(), idle_config(1, 4)).await;
    let (mut customer, _agent, session) = chat(&server, 106, 106).await;
    let alert = customer
        .event_where(|e| notice_is(e, "IDLE_CONTROL_ALERT"))
        .await;
    let expire = alert.idle_time_expire.expect("idleTimeExpire");
    let (user, key, last) = (
        customer.user_id.clone(),
        customer.secure_key.clone(),
        alert.event_id,
    );
    server.stop().await;

    let server = TestServer::start_in(dir.path(), idle_config(1, 4)).await;
    // The customer comes back: the session is restored from the store. Whether it closes
    // before or after the customer is back, it closes at the stored deadline, without a
    // new first alert (a timer that restarted would alert again first).
    let mut c = server.client().await;
    let register = json!({"type": "register", "nickname": "Pat", "partyType": "CLIENT",
        "clientVersion": 106, "resume": {"userId": user, "secureKey": key}});
    c.call(register).await;
    c.call(json!({"type": "resume", "sessionId": session, "lastEventId": last}))
        .await;
    let r = closed_record(&server, &session).await;
    let end = r.end.expect("end");
    assert_eq!(
        (end.ended_by, end.reason),
        (EndedBy::System, EndedReason::Inactive)
    );
    let events = r.transcript.expect("final transcript");
    let idle: Vec<(NoticeType, i64)> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Notice { notice_type, .. }
                if matches!(
                    notice_type,
                    NoticeType::IdleControlAlert | NoticeType::IdleControlClose
                ) =>
            {
                Some((*notice_type, e.at.0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(idle.len(), 2, "one alert, one close: {idle:?}");
    assert_eq!(idle[0].0, NoticeType::IdleControlAlert);
    assert_eq!(idle[1].0, NoticeType::IdleControlClose);
    assert!(idle[1].1 >= expire, "not before the stored deadline");
    server.stop().await;
}
