//! Routing through real desktops and chats: the built-in strategy wired to sessions
//! (offers, accept, reject, no answer, capacity, longest idle, re-queue on disconnect,
//! transfer, conference, supervision, maximum wait, greeting) and the desktop's rules.

use std::time::Duration;

use parley_proto::basic::{PartyType, ServerFrame};
use parley_server::config::{MaxWaitAction, QueueConfig};
use serde_json::json;

use crate::common::{Client, TestServer};
use crate::desk::{self, agent_client, token, Desk};

/// A customer's new chat; returns the client and the session id.
async fn customer(server: &TestServer, name: &str) -> (Client, String) {
    let mut c = server.client().await;
    c.register(name, "CLIENT", 106).await;
    let info = c.create(json!({"FirstName": name})).await;
    (c, info.session_id)
}

/// A logged-in, ready agent's desktop.
async fn ready(server: &TestServer, who: &str) -> (Desk, String) {
    let t = token(server.addr, who).await;
    let mut d = Desk::open(server.addr, &t).await;
    d.ok(json!({"type": "ready"})).await;
    d.recv_where(|f| f["type"] == "status" && f["status"] == "ready")
        .await;
    (d, t)
}

/// The agent takes its next offer (which must be `s`), accepts it and joins the chat
/// over the basic protocol; returns the agent's chat client.
async fn take(server: &TestServer, desk: &mut Desk, token: &str, s: &str) -> Client {
    assert_eq!(desk.offer().await["interactionId"], s);
    desk.accept(s).await;
    let mut a = agent_client(server.addr, token, "AGENT").await;
    a.join(s, "ALL", json!({})).await;
    a
}

async fn start(queue: QueueConfig) -> TestServer {
    TestServer::start(|c| desk::center(c, queue)).await
}

fn quick() -> QueueConfig {
    QueueConfig {
        offer_timeout_s: 1,
        ..QueueConfig::default()
    }
}

#[tokio::test]
async fn longest_idle_agent_gets_the_offer_and_capacity_holds() {
    let server = start(QueueConfig::default()).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let (mut bob, _) = ready(&server, "bob").await;

    // anna became ready first: she has waited longest.
    let (mut c1, s1) = customer(&server, "Ann").await;
    let offer = anna.offer().await;
    assert_eq!(offer["interactionId"], s1.as_str());
    assert_eq!(offer["kind"], "queue");
    assert_eq!(offer["userData"]["FirstName"], "Ann");
    assert!(offer["timeoutMs"].as_u64().unwrap() > 0);
    let chat = anna.accept(&s1).await;
    assert_eq!(chat["visibility"], "ALL");

    // anna joins over the basic protocol, as herself, and the chat flows both ways.
    let mut a = agent_client(server.addr, &anna_token, "AGENT").await;
    a.join(&s1, "ALL", json!({})).await;
    let joined = c1
        .event_where(|e| e.kind == "newParty" && e.party_type == PartyType::Agent)
        .await;
    assert_eq!(joined.nickname, "Anna");
    a.say(&s1, "Hello, how can I help?").await;
    c1.event_where(|e| e.text.as_deref() == Some("Hello, how can I help?"))
        .await;
    c1.say(&s1, "My order is late").await;
    a.event_where(|e| e.text.as_deref() == Some("My order is late"))
        .await;

    // anna is full (capacity 1): the next chat goes to bob, the third waits.
    let (_c2, s2) = customer(&server, "Ben").await;
    assert_eq!(bob.offer().await["interactionId"], s2.as_str());
    bob.accept(&s2).await;
    let (_c3, s3) = customer(&server, "Cid").await;
    let mut both = [&mut anna, &mut bob];
    for d in &mut both {
        assert!(
            !d.gets_within(Duration::from_millis(300), |f| f["type"] == "offer"
                && f["interactionId"] == s3.as_str())
                .await
        );
    }
    // A supervisor sees it waiting.
    let sam_token = token(server.addr, "sam").await;
    let mut sam = Desk::open(server.addr, &sam_token).await;
    sam.ok(json!({"type": "watch"})).await;
    let ov = sam
        .recv_where(|f| {
            f["type"] == "overview"
                && f["queues"].as_array().is_some_and(|q| {
                    q.iter()
                        .any(|q| q["name"] == "default" && q["waiting"] == 1)
                })
        })
        .await;
    let states: Vec<_> = ov["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].clone())
        .collect();
    assert!(
        states.contains(&json!("waiting")) && states.contains(&json!("handled")),
        "{ov}"
    );

    // `/counters` shows the same: two chats handled, one waiting; anna, bob and sam
    // logged in, anna and bob ready (published with the overview, so at once here).
    let (status, counters) = server.get_json("/counters").await;
    assert_eq!(status, 200);
    assert_eq!(
        counters["routing"],
        json!({"waiting": 1, "offered": 0, "handled": 2, "wrap-up": 0,
               "agents-logged-in": 3, "agents-ready": 2}),
        "{counters}"
    );
    assert_eq!(counters["webhooks"]["delivered"], 0, "{counters}");
    assert_eq!(counters["sessions"], 3, "{counters}");
    server.stop().await;
}

#[tokio::test]
async fn rejected_offer_goes_to_the_next_agent() {
    let server = start(QueueConfig::default()).await;
    let (mut anna, _) = ready(&server, "anna").await;
    let (mut bob, _) = ready(&server, "bob").await;
    let (_c, s) = customer(&server, "Ann").await;
    assert_eq!(anna.offer().await["interactionId"], s.as_str());
    anna.ok(json!({"type": "reject", "interactionId": s})).await;
    assert_eq!(bob.offer().await["interactionId"], s.as_str());
    // Accepting an offer one does not have is refused, naming the state.
    let r = anna
        .call(json!({"type": "accept", "interactionId": s}))
        .await;
    assert_eq!(r["code"], "invalid-state", "{r}");
    server.stop().await;
}

#[tokio::test]
async fn unanswered_offer_moves_on_and_sets_the_agent_not_ready() {
    let server = start(quick()).await;
    let (mut anna, _) = ready(&server, "anna").await;
    let (mut bob, _) = ready(&server, "bob").await;
    let (_c, s) = customer(&server, "Ann").await;
    assert_eq!(anna.offer().await["interactionId"], s.as_str());
    anna.recv_where(|f| f["type"] == "offerWithdrawn" && f["interactionId"] == s.as_str())
        .await;
    anna.recv_where(|f| f["type"] == "status" && f["reason"] == "no answer")
        .await;
    assert_eq!(bob.offer().await["interactionId"], s.as_str());
    server.stop().await;
}

#[tokio::test]
async fn a_disconnected_agents_chat_is_requeued_after_the_grace_period() {
    let server = start(QueueConfig::default()).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let (mut c, s) = customer(&server, "Ann").await;
    let _agent = take(&server, &mut anna, &anna_token, &s).await;
    let (mut bob, _) = ready(&server, "bob").await;
    anna.close().await;
    // After agent-disconnect-timeout (1 s) the chat goes to bob, and anna's party is
    // taken out of the session.
    assert_eq!(bob.offer().await["interactionId"], s.as_str());
    c.event_where(|e| e.kind == "partyLeft" && e.nickname == "Anna")
        .await;
    // anna comes back: not ready ("disconnected"), without the chat.
    let anna = Desk::open(server.addr, &anna_token).await;
    assert_eq!(anna.welcome["status"]["status"], "notReady");
    assert_eq!(anna.welcome["status"]["reason"], "disconnected");
    assert_eq!(anna.welcome["chats"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn transfer_to_an_agent_and_conference() {
    let server = start(QueueConfig::default()).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let (mut c, s) = customer(&server, "Ann").await;
    let _agent = take(&server, &mut anna, &anna_token, &s).await;
    let (mut bob, bob_token) = ready(&server, "bob").await;

    anna.ok(json!({"type": "transfer", "interactionId": s, "toAgent": "bob"}))
        .await;
    let offer = bob.offer().await;
    assert_eq!(offer["kind"], "transfer");
    assert_eq!(offer["from"], "anna");
    bob.accept(&s).await;
    let mut b = agent_client(server.addr, &bob_token, "AGENT").await;
    b.join(&s, "ALL", json!({})).await;
    // anna is taken out once bob has the chat.
    anna.recv_where(|f| f["type"] == "chatRemoved" && f["interactionId"] == s.as_str())
        .await;
    c.event_where(|e| e.kind == "partyLeft" && e.nickname == "Anna")
        .await;
    b.say(&s, "Bob here").await;
    c.event_where(|e| e.text.as_deref() == Some("Bob here"))
        .await;

    // bob invites anna (capacity free again after she marks the chat done).
    anna.ok(json!({"type": "markDone", "interactionId": s}))
        .await;
    bob.ok(json!({"type": "conference", "interactionId": s, "invitee": "anna"}))
        .await;
    // (anna went not ready? no: she is ready and has capacity again.)
    let offer = anna.offer().await;
    assert_eq!(offer["kind"], "conference");
    anna.accept(&s).await;
    let mut a2 = agent_client(server.addr, &anna_token, "AGENT").await;
    a2.join(&s, "ALL", json!({})).await;
    c.event_where(|e| e.kind == "newParty" && e.nickname == "Anna")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn transfer_to_a_queue_and_release_then_mark_done_stops_the_interaction() {
    let server = start(QueueConfig::default()).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let (mut c, s) = customer(&server, "Ann").await;
    let _agent = take(&server, &mut anna, &anna_token, &s).await;
    anna.ok(json!({"type": "transfer", "interactionId": s, "toQueue": "sales"}))
        .await;
    c.event_where(|e| e.kind == "partyLeft" && e.nickname == "Anna")
        .await;
    let (mut bob, bob_token) = ready(&server, "bob").await;
    let offer = bob.offer().await;
    assert_eq!(offer["queue"], "sales");
    bob.accept(&s).await;
    let mut b = agent_client(server.addr, &bob_token, "AGENT").await;
    b.join(&s, "ALL", json!({})).await;
    // Mark done while still in the chat is refused.
    let r = bob
        .call(json!({"type": "markDone", "interactionId": s}))
        .await;
    assert_eq!(r["code"], "invalid-state", "{r}");
    match b
        .call(json!({"type": "release", "sessionId": s, "afterAction": "ForceClose"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }
    c.recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    bob.ok(json!({"type": "markDone", "interactionId": s}))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn greeting_and_max_wait_reach_the_customer_from_an_external_party() {
    let server = start(QueueConfig {
        greeting: "Welcome! An agent will be with you shortly.".into(),
        max_wait_s: 1,
        max_wait_message: "Sorry, everyone is busy. Please try again later.".into(),
        max_wait_action: MaxWaitAction::Close,
        ..QueueConfig::default()
    })
    .await;
    let (mut c, _s) = customer(&server, "Ann").await;
    let greeting = c
        .event_where(|e| e.text.as_deref() == Some("Welcome! An agent will be with you shortly."))
        .await;
    assert_eq!(greeting.party_type, PartyType::External);
    assert_eq!(greeting.nickname, "System");
    c.event_where(|e| {
        e.text.as_deref() == Some("Sorry, everyone is busy. Please try again later.")
    })
    .await;
    c.recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn coaching_lines_reach_the_agent_never_the_customer() {
    let server = start(QueueConfig::default()).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let (mut c, s) = customer(&server, "Ann").await;
    let mut a = take(&server, &mut anna, &anna_token, &s).await;

    // Agents may not supervise.
    let r = anna
        .call(json!({"type": "supervise", "interactionId": s, "mode": "coach"}))
        .await;
    assert_eq!(r["code"], "not-allowed");

    let sam_token = token(server.addr, "sam").await;
    let mut sam = Desk::open(server.addr, &sam_token).await;
    sam.ok(json!({"type": "supervise", "interactionId": s, "mode": "coach"}))
        .await;
    let grant = sam.recv_where(|f| f["type"] == "assigned").await;
    assert_eq!(grant["visibility"], "VIP");
    let mut coach = agent_client(server.addr, &sam_token, "SUPERVISOR").await;
    // Whatever visibility the client asks for, the grant's applies.
    coach.join(&s, "ALL", json!({})).await;
    coach.say(&s, "Offer a refund").await;
    a.event_where(|e| e.text.as_deref() == Some("Offer a refund"))
        .await;
    a.say(&s, "We will refund you").await;
    c.event_where(|e| e.text.as_deref() == Some("We will refund you"))
        .await;
    let seen = c.drain_events(Duration::from_millis(300)).await;
    assert!(
        seen.iter()
            .all(|e| e.text.as_deref() != Some("Offer a refund") && e.nickname != "Sam"),
        "the customer saw the coach: {seen:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn agents_join_only_what_routing_gave_them() {
    let server = start(QueueConfig::default()).await;
    let anna_token = token(server.addr, "anna").await;
    let (_c, s) = customer(&server, "Ann").await;
    let mut a = agent_client(server.addr, &anna_token, "AGENT").await;
    let r = a
        .call(json!({"type": "join", "sessionId": s, "visibility": "ALL"}))
        .await;
    assert_eq!(crate::common::error_code(&r), 1010, "{r:?}");
    // An agent token does not make a SUPERVISOR.
    let mut bad = Client::connect(server.addr).await;
    let r = bad
        .call(
            json!({"type": "register", "nickname": "x", "partyType": "SUPERVISOR",
                     "clientVersion": 106, "credentials": {"agentToken": anna_token}}),
        )
        .await;
    assert!(matches!(r, ServerFrame::Error { .. }), "{r:?}");
    // A desktop must say hello with a valid token first.
    let mut d = Desk::connect(server.addr).await;
    let r = d.call(json!({"type": "hello", "token": "nope"})).await;
    assert_eq!(r["code"], "unauthorized");
    let (status, body) = desk::login(server.addr, "anna", "wrong").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("bad-credentials"))
    );
    server.stop().await;
}

/// Reads interaction `id` as `token` until `done` holds for its properties (they are
/// written behind routing); the last body read.
async fn properties_until(
    server: &TestServer,
    id: &str,
    token: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let (_, body) = read_interaction(server, id, Some(token)).await;
        if done(&body["interaction"]["properties"]) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} never happened: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /agent/v1/interactions/{id}` as `token` (none: no header).
async fn read_interaction(
    server: &TestServer,
    id: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req =
        reqwest::Client::new().get(format!("http://{}/agent/v1/interactions/{id}", server.addr));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("get interaction");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn agents_read_only_their_interactions_and_properties_follow_routing() {
    let server = start(QueueConfig::default()).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let bob_token = token(server.addr, "bob").await;
    let sam_token = token(server.addr, "sam").await;
    let (mut c, s) = customer(&server, "Ann").await;
    anna.offer().await;
    let (status, _) = read_interaction(&server, &s, None).await;
    assert_eq!(status, 401);
    let (status, body) = read_interaction(&server, &s, Some(&bob_token)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("not-allowed")));
    // Offered is enough to read what the chat is about.
    let (status, body) = read_interaction(&server, &s, Some(&anna_token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["interaction"]["userData"]["FirstName"], "Ann");
    anna.accept(&s).await;
    let (status, body) = read_interaction(&server, &s, Some(&sam_token)).await;
    assert_eq!(status, 200, "{body}");
    // The properties workflows rely on are written as routing moves (asynchronously).
    let body = properties_until(&server, &s, &sam_token, "RoutingState handled", |p| {
        p["RoutingState"] == "handled"
    })
    .await;
    let props = &body["interaction"]["properties"];
    assert_eq!(props["ChatServerAppName"], "Parley");
    assert_eq!(props["IsOnline"], "1");
    assert_eq!(props["Agent"], "anna");
    assert_eq!(props["Queue"], "default");
    match c
        .call(json!({"type": "release", "sessionId": s, "afterAction": "ForceClose"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }
    properties_until(&server, &s, &sam_token, "IsOnline 0", |p| {
        p["IsOnline"] == "0"
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_abandoned_chat_is_stopped_as_stop_abandoned_interaction_says() {
    let server = TestServer::start(|c| {
        desk::center(c, QueueConfig::default());
        c.settings.stop_abandoned_interaction = parley_core::routing::StopAbandoned::NoAnswer;
    })
    .await;
    let sam_token = token(server.addr, "sam").await;
    let (mut c, s) = customer(&server, "Ann").await;
    match c
        .call(json!({"type": "release", "sessionId": s, "afterAction": "ForceClose"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }
    let body = properties_until(&server, &s, &sam_token, "stop", |p| {
        p["RoutingState"] == "stopped"
    })
    .await;
    let props = &body["interaction"]["properties"];
    assert_eq!(props["StopReason"], "stop-abandoned-interaction");
    assert_eq!(props["IsOnline"], "0");
    server.stop().await;
}

/// Polls `/counters` until its routing gauges equal `want` (they are published at most
/// once a second).
async fn routing_gauges_become(server: &TestServer, want: serde_json::Value) {
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let (_, counters) = server.get_json("/counters").await;
        if counters["routing"] == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "routing gauges never became {want}: {counters}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_chat_answered_outside_routing_leaves_its_queue_at_the_end() {
    // `stop-abandoned-interaction = never` (the default): an unanswered chat stays queued
    // offline, but one that an API-key agent answered does not.
    let server = start(QueueConfig::default()).await;
    let sam_token = token(server.addr, "sam").await;

    let (mut answered, s1) = customer(&server, "Ann").await;
    let mut ext = server.client().await;
    ext.register("Outside", "AGENT", 106).await;
    ext.join(&s1, "ALL", json!({})).await;
    ext.say(&s1, "Hello from outside routing").await;
    answered
        .event_where(|e| e.text.as_deref() == Some("Hello from outside routing"))
        .await;
    match ext
        .call(json!({"type": "release", "sessionId": s1, "afterAction": "ForceClose"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }

    let (mut abandoned, s2) = customer(&server, "Ben").await;
    match abandoned
        .call(json!({"type": "release", "sessionId": s2, "afterAction": "ForceClose"}))
        .await
    {
        ServerFrame::Released { .. } => {}
        other => panic!("release: {other:?}"),
    }

    routing_gauges_become(
        &server,
        json!({"waiting": 1, "offered": 0, "handled": 0, "wrap-up": 0,
               "agents-logged-in": 0, "agents-ready": 0}),
    )
    .await;
    let one = properties_until(&server, &s1, &sam_token, "stop", |p| {
        p["RoutingState"] == "stopped"
    })
    .await;
    assert_eq!(
        one["interaction"]["properties"]["StopReason"], "done",
        "{one}"
    );
    let two = properties_until(&server, &s2, &sam_token, "IsOnline 0", |p| {
        p["IsOnline"] == "0"
    })
    .await;
    assert_eq!(
        two["interaction"]["properties"]["RoutingState"], "queued",
        "{two}"
    );
    server.stop().await;
}

/// A waiting customer sees the greeting before its place in the queue, every time: the
/// strategy's notices to one chat are posted in the order routing emits them.
#[tokio::test]
async fn the_greeting_comes_before_the_first_position_notice() {
    let server = start(QueueConfig {
        greeting: "Welcome!".into(),
        position_notices: true,
        ..QueueConfig::default()
    })
    .await;
    for name in ["Ann", "Ben", "Cy", "Di", "Ed"] {
        let (mut c, _s) = customer(&server, name).await;
        let first = c
            .event_where(|e| e.kind == "message" && e.nickname == "System")
            .await;
        assert_eq!(
            first.text.as_deref(),
            Some("Welcome!"),
            "{name}: the greeting first"
        );
        let second = c
            .event_where(|e| e.kind == "message" && e.nickname == "System")
            .await;
        assert!(
            second.text.as_deref().is_some_and(|t| t.contains("number")),
            "{name}: then the position: {second:?}"
        );
    }
    server.stop().await;
}

/// Chats waiting in a queue when the server restarts are still waiting after it, in the
/// same order, and are offered to the first agent who becomes ready, first in line
/// first. Nobody needs to come back to them first: the restarted server adopts the
/// sessions its previous life held, and routing puts the waiting ones back in line.
#[tokio::test]
async fn chats_waiting_across_a_restart_are_offered_afterwards_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_in(dir.path(), |c| desk::center(c, QueueConfig::default())).await;
    let (c1, s1) = customer(&server, "Ann").await;
    let (c2, s2) = customer(&server, "Ben").await;
    // Both are queued (their properties say so) before the restart.
    let sam_token = token(server.addr, "sam").await;
    for s in [&s1, &s2] {
        properties_until(&server, s, &sam_token, "queued", |p| {
            p["RoutingState"] == "queued"
        })
        .await;
    }
    drop((c1, c2));
    server.stop().await;

    let server =
        TestServer::start_in(dir.path(), |c| desk::center(c, QueueConfig::default())).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let first = anna.offer().await;
    assert_eq!(first["interactionId"], s1.as_str(), "first in line first");
    anna.accept(&s1).await;
    let mut a = agent_client(server.addr, &anna_token, "AGENT").await;
    a.join(&s1, "ALL", json!({})).await;
    let (mut bob, _) = ready(&server, "bob").await;
    assert_eq!(bob.offer().await["interactionId"], s2.as_str());
    server.stop().await;
}
