//! The session password (the seed's "Enhancing security when joining a chat session",
//! issue 13): only a basic creator may choose it (a flex or GMS customer's
//! `GCTI_Chat_SessionPassword` is ignored), and the agents and supervisors a chat is
//! routed to get it in their desktop frames (`offer`, `assigned`, `welcome`), so they can
//! join with `session-password-enforce = true`, while nobody else is shown it.

use parley_server::config::{Config, QueueConfig, Secret};
use serde_json::{json, Value};

use crate::common::{error_code, Client, TestServer};
use crate::contacts::{admin_get, ADMIN_KEY};
use crate::desk::{self, agent_client, token, Desk};
use crate::flex::post;
use crate::gms::Gms;

const CHOSEN: &str = "letmein-123";

fn center(c: &mut Config, enforce: bool) {
    desk::center(c, QueueConfig::default());
    c.security.admin_api_keys = vec![Secret::new(ADMIN_KEY)];
    c.settings.session_password_enforce = enforce;
}

/// A flex customer who starts a chat with `user_data`: the `join` reply.
async fn flex_chat(server: &TestServer, user_data: Value) -> Value {
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let (s, login) = post(&http, &base, "login", json!({"nickname": "Pat"})).await;
    assert_eq!(s, 200, "{login}");
    let (s, joined) = post(
        &http,
        &base,
        "join",
        json!({"userId": login["userId"], "secureKey": login["secureKey"],
               "userData": user_data}),
    )
    .await;
    assert_eq!(s, 200, "{joined}");
    joined
}

/// A GMS customer who starts a chat with `userData[GCTI_Chat_SessionPassword]`.
async fn gms_chat(server: &TestServer) -> Gms {
    let (s, r) = Gms::request(
        server,
        &[
            ("nickname", "Pat"),
            ("userData[GCTI_Chat_SessionPassword]", CHOSEN),
        ],
    )
    .await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert!(!r.to_string().contains(CHOSEN), "{r}");
    Gms::from_reply(server, &r)
}

/// An agent on an API key (not routed) who asks to join `session` with `user_data`:
/// the error code, or 0 when it joined.
async fn agent_joins(server: &TestServer, session: &str, user_data: Value) -> u16 {
    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", 106).await;
    let r = agent
        .call(json!({"type": "join", "sessionId": session, "userData": user_data}))
        .await;
    match r {
        parley_proto::basic::ServerFrame::SessionInfo { .. } => 0,
        other => error_code(&other),
    }
}

/// The interaction's `ChatServerSessionPassword`, once its properties are written.
async fn interaction_password(server: &TestServer, session: &str) -> Option<String> {
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let (s, r) = admin_get(server, &format!("/admin/v1/interactions/{session}")).await;
        assert_eq!(s, 200, "{r}");
        if r["properties"]["SubmittedAt"].is_string() {
            return r["properties"]["ChatServerSessionPassword"]
                .as_str()
                .map(str::to_owned);
        }
        assert!(tokio::time::Instant::now() < deadline, "{r}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_flex_or_gms_customer_cannot_choose_the_session_password() {
    // Not enforced: the chosen password is ignored, so the chat has none.
    let server = TestServer::start(|c| center(c, false)).await;
    let joined = flex_chat(&server, json!({"GCTI_Chat_SessionPassword": CHOSEN})).await;
    assert!(joined.get("sessionPassword").is_none(), "{joined}");
    assert!(!joined.to_string().contains(CHOSEN), "{joined}");
    let session = joined["sessionId"].as_str().expect("session");
    assert_eq!(interaction_password(&server, session).await, None);
    assert_eq!(agent_joins(&server, session, json!({})).await, 0);

    let gms = gms_chat(&server).await;
    assert_eq!(interaction_password(&server, &gms.chat_id).await, None);
    assert_eq!(agent_joins(&server, &gms.chat_id, json!({})).await, 0);
    server.stop().await;

    // Enforced: the server's password, never the customer's.
    let server = TestServer::start(|c| center(c, true)).await;
    let joined = flex_chat(&server, json!({"GCTI_Chat_SessionPassword": CHOSEN})).await;
    let generated = joined["sessionPassword"]
        .as_str()
        .expect("the creator is told the password")
        .to_owned();
    assert_eq!(generated.len(), 32, "{joined}");
    let session = joined["sessionId"].as_str().expect("session");
    assert_eq!(
        interaction_password(&server, session).await.as_deref(),
        Some(generated.as_str())
    );
    let chosen = json!({"GCTI_Chat_SessionPassword": CHOSEN});
    assert_eq!(agent_joins(&server, session, chosen.clone()).await, 2004);
    let right = json!({"GCTI_Chat_SessionPassword": generated});
    assert_eq!(agent_joins(&server, session, right).await, 0);

    let gms = gms_chat(&server).await;
    let generated = interaction_password(&server, &gms.chat_id)
        .await
        .expect("enforced: generated");
    assert_ne!(generated, CHOSEN);
    assert_eq!(agent_joins(&server, &gms.chat_id, chosen).await, 2004);
    let right = json!({"GCTI_Chat_SessionPassword": generated});
    assert_eq!(agent_joins(&server, &gms.chat_id, right).await, 0);
    server.stop().await;
}

/// A logged-in, ready desktop.
async fn ready(server: &TestServer, who: &str) -> (Desk, String) {
    let t = token(server.addr, who).await;
    let mut d = Desk::open(server.addr, &t).await;
    d.ok(json!({"type": "ready"})).await;
    (d, t)
}

#[tokio::test]
async fn with_enforcement_the_routed_agent_and_supervisor_get_the_password_and_join() {
    let server = TestServer::start(|c| center(c, true)).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let sam_token = token(server.addr, "sam").await;
    let mut watcher = Desk::open(server.addr, &sam_token).await;
    watcher.ok(json!({"type": "watch"})).await;

    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer.create(json!({"FirstName": "Pat"})).await;
    let password = info.password.clone().expect("enforced");
    let s = info.session_id.clone();

    // The offer and the assignment carry it; the agent joins with it.
    let offer = anna.offer().await;
    assert_eq!(offer["interactionId"], s.as_str());
    assert_eq!(offer["sessionPassword"], password.as_str(), "{offer}");
    let assigned = anna.accept(&s).await;
    assert_eq!(assigned["sessionPassword"], password.as_str(), "{assigned}");
    let mut a = agent_client(server.addr, &anna_token, "AGENT").await;
    let r = a.call(json!({"type": "join", "sessionId": s})).await;
    assert_eq!(
        error_code(&r),
        2004,
        "the routing grant alone is not enough"
    );
    a.join(&s, "ALL", json!({"GCTI_Chat_SessionPassword": password}))
        .await;

    // A desktop that connects again is welcomed with it.
    let again = Desk::open(server.addr, &anna_token).await;
    let chats = again.welcome["chats"].as_array().expect("chats");
    let held = chats
        .iter()
        .find(|c| c["interactionId"] == s.as_str())
        .expect("the held chat");
    assert_eq!(held["sessionPassword"], password.as_str(), "{held}");

    // A supervisor who monitors gets it with the grant, and joins silently.
    let mut sam = Desk::open(server.addr, &sam_token).await;
    sam.ok(json!({"type": "supervise", "interactionId": s, "mode": "monitor"}))
        .await;
    let grant = sam
        .recv_where(|f| f["type"] == "assigned" && f["interactionId"] == s.as_str())
        .await;
    assert_eq!(grant["visibility"], "INT");
    assert_eq!(grant["sessionPassword"], password.as_str(), "{grant}");
    let mut monitor = agent_client(server.addr, &sam_token, "SUPERVISOR").await;
    monitor
        .join(&s, "INT", json!({"GCTI_Chat_SessionPassword": password}))
        .await;

    // Nobody else is shown it: not the supervisors' overview, not the customer's
    // events (it knows it as the creator), not the other parties' join events.
    let overview = watcher
        .recv_where(|f| {
            f["type"] == "overview"
                && f["sessions"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|x| x["state"] == "handled"))
        })
        .await;
    assert!(!overview.to_string().contains(&password), "{overview}");
    a.say(&s, "Hello Pat").await;
    customer
        .event_where(|e| e.text.as_deref() == Some("Hello Pat"))
        .await;
    for e in customer
        .drain_events(std::time::Duration::from_millis(200))
        .await
    {
        assert!(!format!("{e:?}").contains(&password), "{e:?}");
    }
    assert!(
        !format!("{:?}", customer.backlog()).contains(&password),
        "the customer's frames"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_basic_customers_chosen_password_reaches_the_routed_agent() {
    let server = TestServer::start(|c| center(c, false)).await;
    let (mut anna, anna_token) = ready(&server, "anna").await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer
        .create(json!({"GCTI_Chat_SessionPassword": CHOSEN}))
        .await;
    assert_eq!(info.password.as_deref(), Some(CHOSEN));
    let s = info.session_id;
    let offer = anna.offer().await;
    assert_eq!(offer["sessionPassword"], CHOSEN, "{offer}");
    let assigned = anna.accept(&s).await;
    assert_eq!(assigned["sessionPassword"], CHOSEN, "{assigned}");
    let mut a = agent_client(server.addr, &anna_token, "AGENT").await;
    a.join(&s, "ALL", json!({"GCTI_Chat_SessionPassword": CHOSEN}))
        .await;

    // A chat without a password: no `sessionPassword` at all.
    let (mut bob, _) = ready(&server, "bob").await;
    let mut other = Client::connect(server.addr).await;
    other.register("Kim", "CLIENT", 106).await;
    let plain = other.create(json!({})).await;
    let offer = bob.offer().await;
    assert_eq!(offer["interactionId"], plain.session_id.as_str());
    assert!(offer.get("sessionPassword").is_none(), "{offer}");
    server.stop().await;
}
