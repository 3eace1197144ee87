//! Who sees what: monitoring (INT), coaching (VIP), direct messages, client versions.

use std::time::Duration;

use serde_json::json;

use crate::common::{Chat, TestServer};

const QUIET: Duration = Duration::from_millis(250);

#[tokio::test]
async fn a_monitor_is_invisible_to_the_customer_and_its_lines_stay_internal() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let mut sup = server.client().await;
    sup.register("Sue", "SUPERVISOR", 106).await;
    let info = sup.join(&chat.session, "INT", json!({})).await;
    assert_eq!(
        info.events.len(),
        3,
        "the monitor sees the transcript so far and its own join"
    );
    chat.agent
        .event_where(|e| e.kind == "newParty" && e.nickname == "Sue")
        .await;
    // Even asking for ALL, a monitor's line is internal.
    sup.call(
        json!({"type": "message", "sessionId": chat.session, "text": "psst", "visibility": "ALL"}),
    )
    .await;
    let m = chat.agent.event_where(|e| e.kind == "message").await;
    assert_eq!(m.visibility, parley_proto::basic::Visibility::Int);
    chat.agent.say(&chat.session, "visible to all").await;
    let seen = chat.customer.drain_events(QUIET).await;
    assert!(
        seen.iter().all(|e| e.nickname != "Sue"),
        "customer saw the monitor: {seen:?}"
    );
    assert!(seen
        .iter()
        .any(|e| e.text.as_deref() == Some("visible to all")));
    server.stop().await;
}

#[tokio::test]
async fn vip_lines_reach_supervisors_and_coaches_only() {
    // A second customer joins by the chat's id below (the Genesys behaviour).
    let server = TestServer::start(|c| c.security.customer_join_by_chat_id = true).await;
    let mut chat = Chat::start(&server).await;
    let mut coach = server.client().await;
    coach.register("Coach", "AGENT", 106).await;
    coach.join(&chat.session, "VIP", json!({})).await;
    let mut sup = server.client().await;
    sup.register("Sue", "SUPERVISOR", 106).await;
    sup.join(&chat.session, "INT", json!({})).await;
    sup.call(json!({"type": "message", "sessionId": chat.session, "text": "vip only", "visibility": "VIP"}))
        .await;
    coach
        .event_where(|e| e.text.as_deref() == Some("vip only"))
        .await;
    // Coaching lines (INT) reach the agent but never the customer.
    coach
        .call(json!({"type": "message", "sessionId": chat.session, "text": "offer the refund", "visibility": "INT"}))
        .await;
    chat.agent
        .event_where(|e| e.text.as_deref() == Some("offer the refund"))
        .await;
    let agent_saw = chat.agent.drain_events(QUIET).await;
    assert!(agent_saw
        .iter()
        .all(|e| e.text.as_deref() != Some("vip only")));
    let customer_saw = chat.customer.drain_events(QUIET).await;
    assert!(customer_saw
        .iter()
        .all(|e| e.text.as_deref() != Some("vip only")
            && e.text.as_deref() != Some("offer the refund")));
    // And in a later join's transcript, the customer side still never sees them.
    let mut again = server.client().await;
    again.register("Pat2", "CLIENT", 106).await;
    let info = again.join(&chat.session, "ALL", json!({})).await;
    assert!(
        info.events.iter().all(|e| e.kind != "message"),
        "{:?}",
        info.events
    );
    server.stop().await;
}

#[tokio::test]
async fn a_customer_cannot_send_internal_lines() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let r = chat
        .customer
        .call(
            json!({"type": "message", "sessionId": chat.session, "text": "x", "visibility": "INT"}),
        )
        .await;
    assert_eq!(crate::common::error_code(&r), 1010);
    server.stop().await;
}

#[tokio::test]
async fn direct_messages_reach_exactly_sender_and_receiver_live_and_on_join() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let mut sup = server.client().await;
    sup.register("Sue", "SUPERVISOR", 106).await;
    sup.join(&chat.session, "INT", json!({})).await;
    let customer_id = chat.customer.user_id.clone();
    let r = chat
        .agent
        .call(json!({"type": "message", "sessionId": chat.session, "text": "just for you", "receiverId": customer_id}))
        .await;
    assert!(
        matches!(r, parley_proto::basic::ServerFrame::Ack { .. }),
        "{r:?}"
    );
    let got = chat
        .customer
        .event_where(|e| e.text.as_deref() == Some("just for you"))
        .await;
    assert_eq!(got.receiver_id.as_deref(), Some(customer_id.as_str()));
    chat.agent
        .event_where(|e| e.text.as_deref() == Some("just for you"))
        .await;
    chat.agent
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "USER_CUSTOM", "text": "direct notice", "receiverId": customer_id}))
        .await;
    chat.customer
        .event_where(|e| e.text.as_deref() == Some("direct notice"))
        .await;
    let sup_saw = sup.drain_events(QUIET).await;
    assert!(
        sup_saw.iter().all(|e| e.receiver_id.is_none()),
        "supervisor saw a direct event"
    );
    let mut late = server.client().await;
    late.register("Sam", "SUPERVISOR", 106).await;
    let info = late.join(&chat.session, "INT", json!({})).await;
    assert!(info.events.iter().all(|e| e.receiver_id.is_none()));
    // An unknown receiver is refused.
    let r = chat
        .agent
        .call(json!({"type": "message", "sessionId": chat.session, "text": "x", "receiverId": "NOSUCHUSER00000"}))
        .await;
    assert_eq!(crate::common::error_code(&r), 2005);
    server.stop().await;
}

#[tokio::test]
async fn old_clients_get_no_attributes_newer_than_their_version() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let mut v101 = server.client().await;
    v101.register("Old", "AGENT", 101).await;
    let info = v101.join(&chat.session, "ALL", json!({})).await;
    assert_eq!(info.monitored, None, "monitored needs 105");
    let mut v106 = server.client().await;
    v106.register("New", "SUPERVISOR", 106).await;
    let info = v106.join(&chat.session, "INT", json!({})).await;
    assert_eq!(info.monitored, Some(true));
    chat.agent
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "USER_CUSTOM", "text": "c", "userData": {"k": "v"}}))
        .await;
    let old = v101.event_where(|e| e.text.as_deref() == Some("c")).await;
    assert_eq!(old.user_data, None, "notice user data needs 104");
    chat.agent
        .call(json!({"type": "release", "sessionId": chat.session}))
        .await;
    let left = v101.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(left.event_attributes, None, "eventAttributes need 106");
    let left = v106.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(
        left.event_attributes.unwrap()["GCTI_SYSTEM"]["quit-reason-code"],
        "0"
    );
    server.stop().await;
}
