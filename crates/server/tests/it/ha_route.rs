//! Cluster-wide routing (docs/ha.md, "Cluster-wide routing"): real `parley` processes on
//! one PostgreSQL database, one logical queue across them. The first instance started
//! takes the routing lease and leads; the others reach its router over the routing bus.
//!
//! The desktop connection (routing, offers, accept) is always on another instance than
//! the chat's. The agent's basic-protocol chat connection (the WebSocket it joins the
//! chat with) goes to the agent's own instance, which pipes it to the chat's owner
//! (docs/ha.md, "Any instance answers any client").

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::process::ServerProcess;
use crate::common::API_KEY;
use crate::desk::{self, Desk};
use crate::gms::Gms;

fn config(url: &str, extra: &str) -> String {
    format!(
        "[server]\nstore-url = \"{url}\"\n[settings]\nsession-lease-timeout = 2\n\
         [security]\napi-keys = [\"{API_KEY}\"]\n\
         [routing]\nagent-disconnect-timeout = 60\n\
         [queues.default]\n\
         [agents.anna]\npassword-hash = \"{hash}\"\nnickname = \"Anna\"\n\
         queues = [\"default\"]\ncapacity = 1\n\
         [agents.bob]\npassword-hash = \"{hash}\"\nnickname = \"Bob\"\n\
         queues = [\"default\"]\ncapacity = 1\n{extra}",
        hash = desk::hash(desk::PASSWORD)
    )
}

/// `n` instances on a fresh database, started one after another (the first leads).
async fn cluster(prefix: &str, n: usize) -> Option<(Vec<ServerProcess>, Vec<tempfile::TempDir>)> {
    cluster_with(prefix, n, "").await
}

/// [`cluster`] with more configuration.
async fn cluster_with(
    prefix: &str,
    n: usize,
    extra: &str,
) -> Option<(Vec<ServerProcess>, Vec<tempfile::TempDir>)> {
    let Some(url) = crate::common::postgres_database(prefix).await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return None;
    };
    let config = config(&url, extra);
    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..n {
        let dir = tempfile::tempdir().unwrap();
        servers.push(start(&config, dir.path()).await);
        dirs.push(dir);
    }
    Some((servers, dirs))
}

async fn start(config: &str, dir: &Path) -> ServerProcess {
    ServerProcess::start(config, dir, &[]).await
}

async fn customer(addr: SocketAddr, nickname: &str) -> Gms {
    let (s, r) = Gms::request_at(addr, &[("nickname", nickname)]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    Gms::from_reply_at(addr, &r)
}

/// Waits until the store shows the chat in routing (its properties are written in the
/// background, a few milliseconds after the router takes it).
async fn routed(url_of: &str, chat: &str, state: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url_of).await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let props: Option<String> =
            sqlx::query_scalar("SELECT properties::text FROM interactions WHERE id = $1")
                .bind(chat)
                .fetch_optional(&mut conn)
                .await
                .expect("read properties");
        let props: Value = props
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or(Value::Null);
        if props["RoutingState"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "{chat} never {state}: {props}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The database URL a running instance uses (from its config file).
fn url_in(dir: &Path) -> String {
    let config = std::fs::read_to_string(dir.join("parley.toml")).expect("config");
    config
        .lines()
        .find_map(|l| l.strip_prefix("store-url = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("store-url")
        .to_owned()
}

/// The done-when: a customer on instance A, an agent whose desktop is on
/// instance B, the router on a third instance L. The offer arrives on B, the agent
/// accepts there, joins the chat and talks with the customer, and closes it.
#[tokio::test]
async fn an_agent_on_one_instance_handles_a_chat_owned_by_another() {
    let Some((servers, _dirs)) = cluster("route_cross", 3).await else {
        return;
    };
    let (a, b) = (servers[1].addr, servers[2].addr);
    let token = desk::token(b, "anna").await;
    let mut d = Desk::open(b, &token).await;
    d.ok(json!({"type": "ready"})).await;
    let mut gms = customer(a, "Ada").await;
    let offer = d.offer().await;
    assert_eq!(offer["interactionId"], gms.chat_id.as_str(), "{offer}");
    d.accept(&gms.chat_id).await;
    // The chat connection goes to the agent's own instance B, which pipes it to A.
    let mut agent = desk::agent_client(b, &token, "AGENT").await;
    agent.join(&gms.chat_id, "ALL", json!({})).await;
    let (s, r) = gms.op("send", &[("message", "hello from Ada")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    agent
        .event_where(|e| e.kind == "message" && e.text.as_deref() == Some("hello from Ada"))
        .await;
    assert!(agent.say(&gms.chat_id, "hello from Anna").await > 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gms
        .refresh()
        .await
        .iter()
        .any(|m| m["text"] == "hello from Anna")
    {
        assert!(Instant::now() < deadline, "Ada never reads Anna's line");
    }
    agent
        .call(
            json!({"type": "release", "sessionId": gms.chat_id, "afterAction": "CloseIfNoAgents"}),
        )
        .await;
    // Marked done once the leader has seen her leave (her release reaches it from A,
    // her request from B).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = d
            .call(json!({"type": "markDone", "interactionId": gms.chat_id}))
            .await;
        if reply["type"] == "ok" {
            break;
        }
        assert!(Instant::now() < deadline, "markDone refused: {reply}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, r) = gms.op("refresh", &[]).await;
        if r["chatEnded"] == json!(true) || s != 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the chat never ends: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.close().await;
}

/// Two chats wait, the older on A; A is killed; an agent on B set ready is offered the
/// older one first. With `leader_dies`, A is the routing leader (started first): B takes
/// the lease over and rebuilds the queue from the store.
async fn older_chat_first_after_a_death(prefix: &str, leader_dies: bool) {
    let Some((mut servers, dirs)) = cluster(prefix, if leader_dies { 2 } else { 3 }).await else {
        return;
    };
    let (ia, ib) = if leader_dies { (0, 1) } else { (1, 2) };
    let url = url_in(dirs[0].path());
    let older = customer(servers[ia].addr, "Older").await;
    routed(&url, &older.chat_id, "queued").await;
    let newer = customer(servers[ib].addr, "Newer").await;
    routed(&url, &newer.chat_id, "queued").await;
    servers[ia].kill9();
    let b = servers[ib].addr;
    let token = desk::token(b, "anna").await;
    let mut d = Desk::open(b, &token).await;
    d.ok(json!({"type": "ready"})).await;
    let offer = d.offer().await;
    assert_eq!(
        offer["interactionId"],
        older.chat_id.as_str(),
        "the older chat is first in line: {offer}"
    );
    d.close().await;
}

#[tokio::test]
async fn a_waiting_chat_keeps_its_place_when_its_instance_dies() {
    older_chat_first_after_a_death("route_place", false).await;
}

#[tokio::test]
async fn a_waiting_chat_keeps_its_place_when_the_routing_leader_dies() {
    older_chat_first_after_a_death("route_leader", true).await;
}

/// Anna (capacity 1) handles a chat of the leader A on her desktop on B; A dies. The new
/// leader B gives the chat back to her (her desktop gets a fresh `welcome` listing it)
/// and she is not offered a second chat; Bob, ready later, is.
#[tokio::test]
async fn agent_load_survives_a_leader_change() {
    let Some((mut servers, dirs)) = cluster("route_load", 2).await else {
        return;
    };
    let url = url_in(dirs[0].path());
    let (a, b) = (servers[0].addr, servers[1].addr);
    let token = desk::token(b, "anna").await;
    let mut d = Desk::open(b, &token).await;
    d.ok(json!({"type": "ready"})).await;
    let first = customer(a, "First").await;
    let offer = d.offer().await;
    assert_eq!(offer["interactionId"], first.chat_id.as_str(), "{offer}");
    d.accept(&first.chat_id).await;
    // The routing state is in the store (written a few milliseconds after the accept).
    routed(&url, &first.chat_id, "handled").await;
    servers[0].kill9();
    let welcome = d.recv_where(|f| f["type"] == "welcome").await;
    let chats = welcome["chats"].as_array().cloned().unwrap_or_default();
    assert!(
        chats
            .iter()
            .any(|c| c["interactionId"] == first.chat_id.as_str()),
        "the new leader's welcome lists anna's chat: {welcome}"
    );
    let second = customer(b, "Second").await;
    let offered = d
        .gets_within(Duration::from_secs(3), |f| f["type"] == "offer")
        .await;
    assert!(!offered, "anna, at capacity, is offered nothing");
    let bob = desk::token(b, "bob").await;
    let mut e = Desk::open(b, &bob).await;
    e.ok(json!({"type": "ready"})).await;
    let offer = e.offer().await;
    assert_eq!(offer["interactionId"], second.chat_id.as_str(), "{offer}");
    d.close().await;
    e.close().await;
}

/// Anna's desktop is on B, which dies: the leader takes her desktop as disconnected
/// (B's liveness lease lapses), withdraws her offer, and the chat goes to Bob on A.
#[tokio::test]
async fn desktops_of_a_dead_instance_are_disconnected() {
    let Some((mut servers, _dirs)) = cluster("route_dead_desk", 3).await else {
        return;
    };
    let (l, a, b) = (servers[0].addr, servers[1].addr, servers[2].addr);
    let anna = desk::token(b, "anna").await;
    let mut d = Desk::open(b, &anna).await;
    d.ok(json!({"type": "ready"})).await;
    servers[2].kill9();
    let bob = desk::token(a, "bob").await;
    let mut e = Desk::open(a, &bob).await;
    e.ok(json!({"type": "ready"})).await;
    let chat = customer(l, "Cy").await;
    let offer = e.offer().await;
    assert_eq!(offer["interactionId"], chat.chat_id.as_str(), "{offer}");
    e.close().await;
}

/// Offer latency, from the customer's request to the offer on a desktop: the desktop on
/// the leader's instance, or on another one. Prints the numbers (docs/ha.md); run with
/// `cargo test -p parley-server --test it offer_latency -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement"]
async fn offer_latency() {
    let cara = format!(
        "[agents.cara]\npassword-hash = \"{}\"\nqueues = [\"default\"]\ncapacity = 100\n",
        desk::hash(desk::PASSWORD)
    );
    let Some((servers, _dirs)) = cluster_with("route_latency", 2, &cara).await else {
        return;
    };
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_config = config("", &cara).replace("[server]\nstore-url = \"\"\n", "");
    let sqlite = start(&sqlite_config, sqlite_dir.path()).await;
    for (name, desk_at, chat_at) in [
        ("single SQLite instance", sqlite.addr, sqlite.addr),
        ("same instance", servers[0].addr, servers[0].addr),
        ("across instances", servers[1].addr, servers[0].addr),
    ] {
        let token = desk::token(desk_at, "cara").await;
        let mut d = Desk::open(desk_at, &token).await;
        let mut samples = Vec::new();
        let mut chats = Vec::new();
        d.ok(json!({"type": "ready"})).await;
        for _ in 0..20 {
            let t0 = Instant::now();
            let chat = customer(chat_at, "Lat").await;
            let id = chat.chat_id.clone();
            d.recv_where(|f| f["type"] == "offer" && f["interactionId"] == id.as_str())
                .await;
            samples.push(t0.elapsed());
            chats.push(chat);
        }
        for chat in chats {
            let _ = chat.op("disconnect", &[]).await;
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "offer latency, desktop {name}: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms ({} runs)",
            ms(samples[samples.len() / 2]),
            ms(samples[samples.len() * 9 / 10]),
            ms(samples[samples.len() - 1]),
            samples.len()
        );
        d.close().await;
    }
}
