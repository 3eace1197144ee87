//! A whole chat over the basic protocol: create, join, talk, notices, leave and close.

use parley_proto::basic::ServerFrame;
use serde_json::json;

use crate::common::{error_code, Chat, TestServer};

#[tokio::test]
async fn health_endpoints_answer() {
    let server = TestServer::start(|_| {}).await;
    assert_eq!(server.get_json("/healthz").await.0, 200);
    let (status, body) = server.get_json("/readyz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    let (status, counters) = server.get_json("/counters").await;
    assert_eq!(status, 200);
    assert_eq!(counters["sessions"], 0);
    server.stop().await;
}

#[tokio::test]
async fn customer_and_agent_exchange_messages_in_order() {
    let server = TestServer::start(|_| {}).await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer
        .create(json!({"EmailAddress": "pat@example.com"}))
        .await;
    assert_eq!(info.events.len(), 1, "the creator sees its own join");
    assert_eq!(info.events[0].kind, "newParty");
    assert_eq!(info.events[0].event_id, 1);
    assert_eq!(info.events[0].user_id, customer.user_id);
    assert_eq!(info.password, None, "no password unless enforced or chosen");

    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", 106).await;
    let joined = agent.join(&info.session_id, "ALL", json!({})).await;
    let kinds: Vec<_> = joined
        .events
        .iter()
        .map(|e| (e.event_id, e.nickname.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![(1, "Pat"), (2, "Alex")],
        "the joiner gets the whole transcript"
    );
    assert_eq!(joined.parties.len(), 2);
    customer
        .event_where(|e| e.kind == "newParty" && e.nickname == "Alex")
        .await;

    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(customer.say(&info.session_id, &format!("hello {i}")).await);
        ids.push(agent.say(&info.session_id, &format!("reply {i}")).await);
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "acked ids increase: {ids:?}"
    );
    let at_agent: Vec<_> = agent
        .drain_events(std::time::Duration::from_millis(200))
        .await
        .into_iter()
        .filter(|e| e.kind == "message")
        .map(|e| (e.event_id, e.text.unwrap_or_default()))
        .collect();
    assert_eq!(
        at_agent.len(),
        10,
        "every message reaches the agent exactly once"
    );
    assert!(at_agent.windows(2).all(|w| w[0].0 < w[1].0), "in order");
    assert_eq!(at_agent[0].1, "hello 0");
    let counters = server.get_json("/counters").await.1;
    assert_eq!(counters["sessions"], 1);
    assert_eq!(counters["sessions-created"], 1);
    server.stop().await;
}

#[tokio::test]
async fn events_carry_time_shift_utc_time_and_sender() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    chat.agent.say(&chat.session, "hi").await;
    let e = chat.customer.event_where(|e| e.kind == "message").await;
    assert_eq!(e.nickname, "Alex");
    assert_eq!(e.party_type, parley_proto::basic::PartyType::Agent);
    assert!(e.utc_time > 1_600_000_000_000);
    assert!(e.time_shift < 60);
    assert_eq!(e.client_message_id, None);
    server.stop().await;
}

#[tokio::test]
async fn close_if_no_agents_release_ends_the_session_for_everyone() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let reply = chat
        .agent
        .call(
            json!({"type": "release", "sessionId": chat.session, "afterAction": "CloseIfNoAgents"}),
        )
        .await;
    assert!(matches!(reply, ServerFrame::Released { .. }), "{reply:?}");
    let left = chat
        .customer
        .event_where(|e| e.kind == "partyLeft" && e.nickname == "Alex")
        .await;
    assert_eq!(left.reason.as_ref().map(|r| r.code), Some(1));
    let removed = chat
        .customer
        .event_where(|e| e.kind == "partyLeft" && e.nickname == "Pat")
        .await;
    assert_eq!(
        removed.reason.as_ref().map(|r| r.code),
        Some(4),
        "removed by the closer"
    );
    let over = chat
        .customer
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    match over {
        ServerFrame::SessionOver { end, .. } => {
            assert_eq!(
                (end.ended_by.as_str(), end.reason.as_str()),
                ("AGENT", "FORCE")
            );
        }
        _ => unreachable!(),
    }
    // The session is gone: a new message is refused.
    let r = chat
        .customer
        .call(json!({"type": "message", "sessionId": chat.session, "text": "x"}))
        .await;
    assert_eq!(error_code(&r), 2002);
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_release_leaves_the_session_open_until_the_last_visible_party_leaves() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    chat.customer
        .call(json!({"type": "release", "sessionId": chat.session}))
        .await;
    let left = chat.agent.event_where(|e| e.kind == "partyLeft").await;
    assert_eq!(left.reason.as_ref().map(|r| r.code), Some(0));
    // Still open: the agent can write (to the transcript).
    chat.agent.say(&chat.session, "anything else?").await;
    chat.agent
        .call(json!({"type": "release", "sessionId": chat.session}))
        .await;
    let counters = loop {
        let c = server.get_json("/counters").await.1;
        if c["sessions"] == 0 {
            break c;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(counters["sessions-closed"], 1);
    server.stop().await;
}

#[tokio::test]
async fn bots_are_marked_and_never_count_as_agents() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let mut bot = server.client().await;
    bot.register("HelperBot", "AGENT", 106).await;
    bot.join(
        &chat.session,
        "ALL",
        json!({"GCTI_Chat_SetPartyStyle": "BOT"}),
    )
    .await;
    let joined = chat
        .customer
        .event_where(|e| e.kind == "newParty" && e.nickname == "HelperBot")
        .await;
    let ud = joined.user_data.clone().unwrap();
    assert_eq!(
        ud.get("GCTI_Chat_PartyStyle").map(String::as_str),
        Some("BOT")
    );
    assert_eq!(
        joined.event_attributes.as_ref().unwrap()["GCTI_SYSTEM"]["party-info"]["style"],
        "BOT"
    );
    bot.say(&chat.session, "I am a bot").await;
    let m = chat.customer.event_where(|e| e.kind == "message").await;
    assert_eq!(
        m.event_attributes.unwrap()["GCTI_SYSTEM"]["party-info"]["style"],
        "BOT"
    );
    // The human agent leaves asking to close if no agents remain: the bot does not count.
    chat.agent
        .call(
            json!({"type": "release", "sessionId": chat.session, "afterAction": "CloseIfNoAgents"}),
        )
        .await;
    chat.customer
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn nickname_changes_are_recorded_and_hidden_from_old_clients() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let mut old = server.client().await;
    old.register("Legacy", "SUPERVISOR", 101).await;
    old.join(&chat.session, "INT", json!({})).await;
    for nick in ["Patricia", "Trish"] {
        let r = chat
            .customer
            .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "USER_UPDATE_NICK", "text": nick}))
            .await;
        assert!(matches!(r, ServerFrame::Ack { .. }), "{r:?}");
        let n = chat
            .agent
            .event_where(|e| e.notice_type.as_deref() == Some("USER_UPDATE_NICK"))
            .await;
        assert_eq!(n.text.as_deref(), Some(nick));
    }
    chat.customer.say(&chat.session, "it's me").await;
    let m = chat.agent.event_where(|e| e.kind == "message").await;
    assert_eq!(m.nickname, "Trish", "events show the current nickname");
    let seen_by_old = old
        .drain_events(std::time::Duration::from_millis(200))
        .await;
    assert!(
        seen_by_old
            .iter()
            .all(|e| e.notice_type.as_deref() != Some("USER_UPDATE_NICK")),
        "ClientVersion 101 never receives USER_UPDATE_NICK"
    );
    assert!(seen_by_old.iter().any(|e| e.kind == "message"));
    // A later joiner sees the original nickname recorded on the first change only.
    let mut late = server.client().await;
    late.register("Sam", "AGENT", 106).await;
    let info = late.join(&chat.session, "ALL", json!({})).await;
    let first = &info.events[0];
    assert_eq!(
        first
            .user_data
            .as_ref()
            .unwrap()
            .get("GCTI_Original_Nickname")
            .map(String::as_str),
        Some("Pat")
    );
    server.stop().await;
}

#[tokio::test]
async fn typing_notices_are_live_only_and_carry_the_preview() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    chat.customer
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "TYPING_STARTED", "text": "my order num"}))
        .await;
    let t = chat
        .agent
        .event_where(|e| e.notice_type.as_deref() == Some("TYPING_STARTED"))
        .await;
    assert_eq!(t.text.as_deref(), Some("my order num"));
    let mut late = server.client().await;
    late.register("Sam", "AGENT", 106).await;
    let info = late.join(&chat.session, "ALL", json!({})).await;
    assert!(
        info.events.iter().all(|e| e.notice_type.is_none()),
        "typing is not part of the transcript: {:?}",
        info.events
    );
    assert!(info.last_event_id > t.event_id, "but it consumed an id");
    server.stop().await;
}

#[tokio::test]
async fn read_confirm_reaches_the_others_with_its_event_id() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let mut v103 = server.client().await;
    v103.register("Old", "SUPERVISOR", 103).await;
    v103.join(&chat.session, "INT", json!({})).await;
    let id = chat.agent.say(&chat.session, "hello").await;
    let r = chat
        .customer
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "SYS_COMMAND", "text": "read-confirm", "userData": {"last-event-id": id.to_string()}}))
        .await;
    assert!(matches!(r, ServerFrame::Ack { .. }), "{r:?}");
    let n = chat
        .agent
        .event_where(|e| e.text.as_deref() == Some("read-confirm"))
        .await;
    assert_eq!(
        n.user_data
            .unwrap()
            .get("last-event-id")
            .map(String::as_str),
        Some(id.to_string().as_str())
    );
    let bad = chat
        .customer
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "SYS_COMMAND", "text": "read-confirm", "userData": {"last-event-id": "99999"}}))
        .await;
    assert_eq!(
        error_code(&bad),
        1003,
        "a read-confirm for a future event is refused"
    );
    let old_events = v103
        .drain_events(std::time::Duration::from_millis(200))
        .await;
    assert!(old_events
        .iter()
        .all(|e| e.notice_type.as_deref() != Some("SYS_COMMAND")));
    server.stop().await;
}

#[tokio::test]
async fn a_retried_send_is_stored_once() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let frame = json!({"type": "message", "sessionId": chat.session, "text": "pay now", "clientMessageId": "c-1"});
    let first = chat.customer.call(frame.clone()).await;
    let second = chat.customer.call(frame).await;
    match (first, second) {
        (
            ServerFrame::Ack {
                event_id: a,
                duplicate: false,
                ..
            },
            ServerFrame::Ack {
                event_id: b,
                duplicate: true,
                ..
            },
        ) => assert_eq!(a, b),
        other => panic!("{other:?}"),
    }
    let msgs: Vec<_> = chat
        .agent
        .drain_events(std::time::Duration::from_millis(200))
        .await
        .into_iter()
        .filter(|e| e.kind == "message")
        .collect();
    assert_eq!(msgs.len(), 1);
    // The sender sees its own id on its own event; others do not.
    assert_eq!(msgs[0].client_message_id, None);
    let own = chat.customer.event_where(|e| e.kind == "message").await;
    assert_eq!(own.client_message_id.as_deref(), Some("c-1"));
    server.stop().await;
}

#[tokio::test]
async fn session_password_is_required_on_every_later_join() {
    let server = TestServer::start(|c| c.settings.session_password_enforce = true).await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer.create(json!({})).await;
    let password = info
        .password
        .clone()
        .expect("the creator is told the password");
    assert_eq!(password.len(), 32, "128 bits as hex");
    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", 106).await;
    let r = agent
        .call(json!({"type": "join", "sessionId": info.session_id}))
        .await;
    assert_eq!(error_code(&r), 2004);
    let r = agent
        .call(json!({"type": "join", "sessionId": info.session_id, "userData": {"GCTI_Chat_SessionPassword": "wrong"}}))
        .await;
    assert_eq!(error_code(&r), 2004);
    let joined = agent
        .join(
            &info.session_id,
            "ALL",
            json!({"GCTI_Chat_SessionPassword": password}),
        )
        .await;
    assert_eq!(joined.password, None, "only the creator is told");
    for e in &joined.events {
        let ud = e.user_data.clone().unwrap_or_default();
        assert!(
            !ud.values().any(|v| v == &password),
            "password leaked in {e:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_creator_may_choose_the_session_password() {
    let server = TestServer::start(|_| {}).await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer
        .create(json!({"GCTI_Chat_SessionPassword": "letmein-123"}))
        .await;
    assert_eq!(info.password.as_deref(), Some("letmein-123"));
    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", 106).await;
    let r = agent
        .call(json!({"type": "join", "sessionId": info.session_id}))
        .await;
    assert_eq!(error_code(&r), 2004);
    agent
        .join(
            &info.session_id,
            "ALL",
            json!({"GCTI_Chat_SessionPassword": "letmein-123"}),
        )
        .await;
    server.stop().await;
}
