//! The seed's "Run a Test" with a routed chat and the agent desktop: a GMS v2 customer's
//! chat is offered to a directory agent, who accepts it on the desktop and chats over the
//! basic protocol with its login token; the instance is killed with SIGKILL; the customer
//! goes on (on the restarted instance, or on another instance of the cluster), the
//! agent's desktop reconnects with the same token and gets the chat back (login tokens
//! live in the store; routing gives a handled chat back to its agent), the agent resumes
//! it, and the transcript shows both leaving (quit reason 8) and coming back, with every
//! acknowledged line once.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use parley_proto::basic::ServerFrame;
use serde_json::{json, Value};

use crate::common::process::ServerProcess;
use crate::common::{Client, SessionInfo, API_KEY};
use crate::desk::{self, Desk};
use crate::gms::Gms;
use crate::ha::send_until_accepted;

/// Lines the customer sends before the crash.
const LINES: usize = 20;

fn config(extra: &str) -> String {
    format!(
        "[security]\napi-keys = [\"{API_KEY}\"]\n\
         [routing]\nagent-disconnect-timeout = 60\n\
         [queues.default]\n\
         [agents.anna]\npassword-hash = \"{}\"\nnickname = \"Anna\"\n\
         queues = [\"default\"]\ncapacity = 2\n{extra}",
        desk::hash(desk::PASSWORD)
    )
}

/// A GMS customer routed to anna, who accepted on her desktop and joined over the basic
/// protocol; `LINES` lines from the customer and one from anna, all acknowledged.
struct Routed {
    gms: Gms,
    token: String,
    agent: Client,
}

async fn routed_chat(addr: SocketAddr) -> Routed {
    let token = desk::token(addr, "anna").await;
    let mut d = Desk::open(addr, &token).await;
    d.ok(json!({"type": "ready"})).await;
    let (s, r) = Gms::request_at(addr, &[("nickname", "Ada")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let gms = Gms::from_reply_at(addr, &r);
    let offer = d.offer().await;
    assert_eq!(offer["interactionId"], gms.chat_id.as_str(), "{offer}");
    d.accept(&gms.chat_id).await;
    let mut agent = desk::agent_client(addr, &token, "AGENT").await;
    agent.join(&gms.chat_id, "ALL", json!({})).await;
    for i in 0..LINES {
        let (s, r) = gms.op("send", &[("message", &format!("line {i}"))]).await;
        assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    }
    assert!(agent.say(&gms.chat_id, "hello from anna").await > 0);
    d.close().await;
    Routed { gms, token, agent }
}

/// The desktop connects to `addr` with the same token and is given the chat back: in
/// its `welcome`, or by an `assigned` as soon as routing has it again.
async fn desktop_gets_chat_back(addr: SocketAddr, token: &str, chat: &str) -> Desk {
    let mut d = Desk::open(addr, token).await;
    let in_welcome = d.welcome["chats"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["interactionId"] == chat));
    if !in_welcome {
        d.recv_where(|f| f["type"] == "assigned" && f["interactionId"] == chat)
            .await;
    }
    d
}

/// The agent's basic connection comes back with its token and party identity and
/// resumes the chat: it sees `line`, and says something the customer then reads.
async fn agent_resumes(addr: SocketAddr, before: &Client, token: &str, chat: &str, line: &str) {
    let mut agent = Client::connect(addr).await;
    let reply = agent
        .call(
            json!({"type": "register", "nickname": "ignored", "partyType": "AGENT",
                     "clientVersion": 106, "credentials": {"agentToken": token},
                     "resume": {"userId": before.user_id, "secureKey": before.secure_key}}),
        )
        .await;
    let ServerFrame::Registered { user_id, .. } = reply else {
        panic!("the agent's token is refused after the crash: {reply:?}");
    };
    assert_eq!(user_id, before.user_id, "same party");
    let info = SessionInfo::from(
        agent
            .call(json!({"type": "resume", "sessionId": chat, "lastEventId": 0}))
            .await,
    );
    let seen = info
        .events
        .iter()
        .any(|e| e.kind == "message" && e.text.as_deref() == Some(line));
    if !seen {
        agent
            .event_where(|e| e.kind == "message" && e.text.as_deref() == Some(line))
            .await;
    }
    assert!(agent.say(chat, "anna is back").await > 0);
}

/// Every line once and in order; the customer and anna each shown leaving with quit
/// reason 8 and joining again.
async fn check_transcript(gms: &Gms, after_crash: &str) {
    let (s, r) = gms.op("refresh", &[("transcriptPosition", "1")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert_eq!(r["chatEnded"], json!(false), "{r}");
    let messages = r["messages"].as_array().expect("messages");
    let texts: Vec<&str> = messages
        .iter()
        .filter(|m| m["type"] == "Message")
        .filter_map(|m| m["text"].as_str())
        .collect();
    let mut want: Vec<String> = (0..LINES).map(|i| format!("line {i}")).collect();
    want.push("hello from anna".into());
    want.push(after_crash.into());
    want.push("anna is back".into());
    assert_eq!(texts, want, "every acknowledged line once, in order");
    for who in ["Ada", "Anna"] {
        let seen: Vec<(&str, Option<&str>)> = messages
            .iter()
            .filter(|m| m["from"]["nickname"] == who && m["type"] != "Message")
            .map(|m| {
                (
                    m["type"].as_str().unwrap_or_default(),
                    m["eventAttributes"]["GCTI_SYSTEM"]["quit-reason-code"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("ParticipantJoined", None),
                ("ParticipantLeft", Some("8")),
                ("ParticipantJoined", None)
            ],
            "{who} is shown leaving at the crash and coming back: {messages:?}"
        );
    }
}

/// The customer's next send on `next` is accepted; anna's desktop and basic connection
/// come back there; the transcript is whole.
async fn carry_on(next: SocketAddr, mut routed: Routed) {
    routed.gms.base = crate::gms::service_url_at(next);
    send_until_accepted(&routed.gms, "after the crash", Duration::from_secs(30)).await;
    let chat = routed.gms.chat_id.clone();
    let d = desktop_gets_chat_back(next, &routed.token, &chat).await;
    agent_resumes(next, &routed.agent, &routed.token, &chat, "after the crash").await;
    let mut gms = routed.gms;
    let lines = gms.refresh().await;
    let texts: Vec<&Value> = lines.iter().map(|m| &m["text"]).collect();
    assert!(
        texts.iter().any(|t| **t == json!("anna is back")) || {
            // The refresh may run before anna's line is visible: once more.
            let again = gms.refresh().await;
            again.iter().any(|m| m["text"] == "anna is back")
        },
        "the customer reads anna's line after the crash"
    );
    check_transcript(&gms, "after the crash").await;
    let (status, body) = interaction(next, &routed.token, &chat).await;
    assert_eq!(status, 200, "anna may still read her interaction: {body}");
    d.close().await;
}

async fn interaction(addr: SocketAddr, token: &str, id: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/agent/v1/interactions/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("interaction request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn start(config: &str, dir: &Path) -> ServerProcess {
    ServerProcess::start(config, dir, &[]).await
}

#[tokio::test]
async fn a_routed_chat_and_its_agents_desktop_survive_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let config = config("");
    let mut first = start(&config, dir.path()).await;
    let routed = routed_chat(first.addr).await;
    first.kill9();
    let second = start(&config, dir.path()).await;
    carry_on(second.addr, routed).await;
}

/// The seed's "Run a Test" across two instances on one PostgreSQL database: the
/// instance holding the chat dies; the customer, the agent's desktop and its chat
/// connection all go on on the other one.
#[tokio::test]
async fn a_routed_chat_and_its_agents_desktop_fail_over_on_postgres() {
    let Some(url) = crate::common::postgres_database("ha_desk").await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return;
    };
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let config = config(&format!(
        "[server]\nstore-url = \"{url}\"\n[settings]\nsession-lease-timeout = 2\n"
    ));
    let mut a = start(&config, dir_a.path()).await;
    let b = start(&config, dir_b.path()).await;
    let routed = routed_chat(a.addr).await;
    a.kill9();
    carry_on(b.addr, routed).await;
}
