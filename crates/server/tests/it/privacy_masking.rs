//! Masking sensitive data in live chats against a real server (issue 13): the seed's
//! unmask example over the basic protocol with the `pii-cleanup` positions a version-106
//! client gets, typing previews, flex, the transcripts stored while the chat goes on and
//! at its end, rules from the database, and the log.

use parley_core::mask::{ApplyArea, ApplyConfig, TypingPreview};
use parley_proto::basic::{ServerFrame, WireEvent};
use serde_json::{json, Value};

use crate::common::process::ServerProcess;
use crate::common::{Client, TestServer, API_KEY};
use crate::contacts::{admin_call, admin_get, configure, ADMIN_KEY};
use crate::flex::Flex;

const CARD: &str = "4111 1111 1111 1111";
const MASKED: &str = "**** **** **** ****";

fn said() -> String {
    format!("my card is {CARD}, thanks")
}
fn said_masked() -> String {
    format!("my card is {MASKED}, thanks")
}

async fn start(area: ApplyArea) -> TestServer {
    TestServer::start(move |c| {
        configure(c);
        c.transcript_cleanup.apply_area = area;
        c.transcript_cleanup.unmask_live_dialog = true;
        c.transcript_cleanup.typing_preview = TypingPreview::Any;
    })
    .await
}

async fn staff(
    server: &TestServer,
    nick: &str,
    kind: &str,
    visibility: &str,
    session: &str,
) -> Client {
    let mut c = server.client().await;
    c.register(nick, kind, 106).await;
    c.join(session, visibility, json!({})).await;
    c
}

/// The next message event `client` receives with `id`.
async fn message(client: &mut Client, id: u64) -> WireEvent {
    client
        .event_where(|e| e.kind == "message" && e.event_id == id)
        .await
}

fn pii(e: &WireEvent) -> Option<&Value> {
    e.event_attributes
        .as_ref()?
        .get("GCTI_SYSTEM")?
        .get("pii-cleanup")
}

/// The sqlite events of `session` as stored (the JSON payloads).
async fn stored_payloads(server: &TestServer, session: &str) -> Vec<String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", server.data_dir.join("parley.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.expect("open");
    sqlx::query_scalar("SELECT payload FROM events WHERE session_id = ? ORDER BY event_id")
        .bind(session)
        .fetch_all(&mut db)
        .await
        .expect("events")
}

#[tokio::test]
async fn the_seeds_unmask_example_over_the_basic_protocol() {
    let server = start(ApplyArea::Always).await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let session = customer.create(json!({})).await.session_id;

    // 1. Before any agent: masked for everyone, the customer too.
    let m1 = customer.say(&session, &said()).await;
    assert_eq!(message(&mut customer, m1).await.text, Some(said_masked()));
    // 2. The agent's join reply shows it masked.
    let mut a1 = server.client().await;
    a1.register("Alex", "AGENT", 106).await;
    let info = a1.join(&session, "ALL", json!({})).await;
    let texts: Vec<_> = info.events.iter().filter_map(|e| e.text.clone()).collect();
    assert_eq!(texts, [said_masked()]);
    let mut monitor = staff(&server, "Sue", "SUPERVISOR", "INT", &session).await;
    // 3. Sent with the active agent present: clear for it and the customer, masked for
    //    the monitor, with the positions.
    let m3 = customer.say(&session, &said()).await;
    assert_eq!(message(&mut customer, m3).await.text, Some(said()));
    let to_agent = message(&mut a1, m3).await;
    assert_eq!(to_agent.text, Some(said()));
    assert!(pii(&to_agent).is_none(), "nothing masked, nothing reported");
    let to_monitor = message(&mut monitor, m3).await;
    assert_eq!(to_monitor.text, Some(said_masked()));
    assert_eq!(
        pii(&to_monitor),
        Some(&json!({"rule-0001": {
            "id": "GCTI_CreditCards", "name": "GCTI_CreditCards",
            "description": "Credit card",
            "positions": {"11-29": {"replaced": "digits"}}}}))
    );
    // 4. A second agent sees every earlier message masked.
    let mut a2 = server.client().await;
    a2.register("Bea", "AGENT", 106).await;
    let info = a2.join(&session, "ALL", json!({})).await;
    let texts: Vec<_> = info.events.iter().filter_map(|e| e.text.clone()).collect();
    assert_eq!(texts, [said_masked(), said_masked()]);
    // 5. Sent with both present: clear for both and the customer.
    let m5 = customer.say(&session, &said()).await;
    for c in [&mut customer, &mut a1, &mut a2] {
        assert_eq!(message(c, m5).await.text, Some(said()));
    }
    assert_eq!(message(&mut monitor, m5).await.text, Some(said_masked()));

    // Typing previews (typing-preview = any): digits masked for the agents.
    customer
        .call(json!({"type": "notify", "sessionId": session, "noticeType": "TYPING_STARTED", "text": "4111 22"}))
        .await;
    let t = a1
        .event_where(|e| e.notice_type.as_deref() == Some("TYPING_STARTED"))
        .await;
    assert_eq!(t.text.as_deref(), Some("**** **"));

    // The transcript stored while the chat goes on holds no card number.
    let stored = stored_payloads(&server, &session).await;
    assert!(stored.iter().any(|p| p.contains(MASKED)), "{stored:?}");
    assert!(stored.iter().all(|p| !p.contains(CARD)), "{stored:?}");

    // Nor does the final record, the admin API's interaction or the contact history.
    a1.call(json!({"type": "release", "sessionId": session, "afterAction": "ForceClose"}))
        .await;
    customer
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    let (s, record) = admin_get(&server, &format!("/admin/v1/interactions/{session}")).await;
    assert_eq!(s, 200, "{record}");
    let dump = record.to_string();
    assert!(dump.contains(MASKED) && !dump.contains(CARD), "{record}");
    server.stop().await;
}

#[tokio::test]
async fn history_all_delivers_in_clear_and_stores_masked() {
    let server = start(ApplyArea::HistoryAll).await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let session = customer.create(json!({})).await.session_id;
    let id = customer.say(&session, &said()).await;
    assert_eq!(message(&mut customer, id).await.text, Some(said()));
    let mut monitor = server.client().await;
    monitor.register("Sue", "SUPERVISOR", 106).await;
    let info = monitor.join(&session, "INT", json!({})).await;
    assert!(info.events.iter().any(|e| e.text == Some(said())));
    let stored = stored_payloads(&server, &session).await;
    assert!(stored.iter().all(|p| !p.contains(CARD)), "{stored:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_flex_customer_gets_the_masked_text_with_its_positions() {
    let server = start(ApplyArea::Always).await;
    let mut c = Flex::start(&server, "Pat").await;
    c.refresh(0).await;
    let (s, r) = c.call("send", json!({"text": said()})).await;
    assert_eq!(s, 200, "{r}");
    let events = c.refresh(2000).await;
    let m = events
        .iter()
        .find(|e| e["kind"] == "message")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(m["text"], json!(said_masked()));
    assert_eq!(
        m["eventAttributes"]["GCTI_SYSTEM"]["pii-cleanup"]["rule-0001"]["positions"],
        json!({"11-29": {"replaced": "digits"}})
    );
    server.stop().await;
}

#[tokio::test]
async fn a_tenants_stored_rules_mask_its_chats() {
    let server = TestServer::start(|c| {
        configure(c);
        c.transcript_cleanup.apply_area = ApplyArea::Always;
        c.transcript_cleanup.apply_config = ApplyConfig::Ucs;
    })
    .await;
    let (s, r) = admin_call(
        &server,
        reqwest::Method::POST,
        "/admin/v1/masking-rules",
        Some(ADMIN_KEY),
        Some(json!({"tenant": "1", "name": "Accounts", "regex": "ACCT-\\d{8}", "spec": "all"})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let session = customer.create(json!({})).await.session_id;
    let id = customer
        .say(&session, &format!("account ACCT-12345678, card {CARD}"))
        .await;
    let e = message(&mut customer, id).await;
    // Only the stored rule applies (ucs): the card stays, the account is masked whole.
    assert_eq!(e.text, Some(format!("account *************, card {CARD}")));
    assert_eq!(pii(&e).expect("positions")["rule-0001"]["name"], "Accounts");
    server.stop().await;
}

/// The log shows message text only after masking, at trace level, as much as
/// `message-log-print-size` allows, and `[truncated from size=x]` at 0.
#[tokio::test]
async fn the_log_shows_messages_only_masked() {
    for (print_size, expected) in [
        (0, "[truncated from size=38]".to_owned()),
        (100, said_masked()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "[settings]\nmessage-log-print-size = {print_size}\n\n[security]\napi-keys = [\"{API_KEY}\"]\n\n[transcript-cleanup]\napply-area = \"always\"\nunmask-live-dialog = true\n"
        );
        let proc = ServerProcess::start(&config, dir.path(), &[("RUST_LOG", "trace")]).await;
        let mut customer = Client::connect(proc.addr).await;
        customer.register("Pat", "CLIENT", 106).await;
        let session = customer.create(json!({})).await.session_id;
        let mut agent = Client::connect(proc.addr).await;
        agent.register("Alex", "AGENT", 106).await;
        agent.join(&session, "ALL", json!({})).await;
        // In clear for the agent, never in the log.
        let id = customer.say(&session, &said()).await;
        assert_eq!(message(&mut agent, id).await.text, Some(said()));
        assert!(
            proc.wait_for_log(&expected).await,
            "print size {print_size}:\n{}",
            proc.output()
        );
        assert!(!proc.output().contains(CARD), "{}", proc.output());
    }
}
