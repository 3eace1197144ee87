//! Reconnecting: a client that comes back with its credentials and last event id gets
//! exactly the events it missed, none twice.

use std::time::Duration;

use parley_proto::basic::ServerFrame;
use serde_json::json;

use crate::common::{Chat, Client, SessionInfo, TestServer};

/// Reconnects as the same user and resumes `session` after `last`.
pub async fn reconnect(
    addr: std::net::SocketAddr,
    nickname: &str,
    user_id: &str,
    key: &str,
    session: &str,
    last: u64,
) -> (Client, SessionInfo) {
    reconnect_as(addr, "CLIENT", nickname, user_id, key, session, last).await
}

/// Reconnects as the same user of `party_type` (staff present the API key) and resumes
/// `session` after `last`.
pub async fn reconnect_as(
    addr: std::net::SocketAddr,
    party_type: &str,
    nickname: &str,
    user_id: &str,
    key: &str,
    session: &str,
    last: u64,
) -> (Client, SessionInfo) {
    let mut c = Client::connect(addr).await;
    let mut register = json!({"type": "register", "nickname": nickname, "partyType": party_type, "clientVersion": 106, "resume": {"userId": user_id, "secureKey": key}});
    if party_type != "CLIENT" {
        register["credentials"] = json!({"apiKey": crate::common::API_KEY});
    }
    let r = c.call(register).await;
    match r {
        ServerFrame::Registered {
            user_id: u,
            secure_key,
            ..
        } => {
            assert_eq!(u, user_id, "same identity");
            c.user_id = u;
            c.secure_key = secure_key;
        }
        other => panic!("{other:?}"),
    }
    let info = SessionInfo::from(
        c.call(json!({"type": "resume", "sessionId": session, "lastEventId": last}))
            .await,
    );
    (c, info)
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let first = chat.agent.say(&chat.session, "before the drop").await;
    let seen = chat.customer.event_where(|e| e.event_id == first).await;
    let (user, key) = (
        chat.customer.user_id.clone(),
        chat.customer.secure_key.clone(),
    );
    chat.customer.close().await;
    let mut missed = Vec::new();
    for i in 0..3 {
        missed.push(
            chat.agent
                .say(&chat.session, &format!("while away {i}"))
                .await,
        );
    }
    let (mut customer, info) = reconnect(
        server.addr,
        "Pat",
        &user,
        &key,
        &chat.session,
        seen.event_id,
    )
    .await;
    let got: Vec<u64> = info.events.iter().map(|e| e.event_id).collect();
    assert_eq!(got, missed, "exactly the missed events, in order");
    let next = chat.agent.say(&chat.session, "welcome back").await;
    let live = customer.event_where(|e| e.kind == "message").await;
    assert_eq!(
        live.event_id, next,
        "live delivery continues with no repeat"
    );
    // The party never left: no leave/join events were produced by the drop.
    let agent_saw = chat.agent.drain_events(Duration::from_millis(200)).await;
    assert!(agent_saw.iter().all(|e| e.kind != "partyLeft"));
    server.stop().await;
}

#[tokio::test]
async fn a_party_that_does_not_come_back_is_removed_after_the_reconnect_timeout() {
    let server = TestServer::start(|c| c.settings.basic_reconnect_timeout_s = 1).await;
    let mut chat = Chat::start(&server).await;
    chat.customer.close().await;
    let left = chat.agent.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(left.reason.as_ref().map(|r| r.code), Some(3), "DISCONNECT");
    server.stop().await;
}

#[tokio::test]
async fn resume_from_zero_replays_the_whole_visible_transcript() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    chat.agent.say(&chat.session, "one").await;
    chat.customer.say(&chat.session, "two").await;
    let (user, key) = (
        chat.customer.user_id.clone(),
        chat.customer.secure_key.clone(),
    );
    let (_c, info) = reconnect(server.addr, "Pat", &user, &key, &chat.session, 0).await;
    let texts: Vec<_> = info.events.iter().filter_map(|e| e.text.clone()).collect();
    assert_eq!(texts, vec!["one", "two"]);
    let ids: Vec<_> = info.events.iter().map(|e| e.event_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    server.stop().await;
}
