//! Contact identification at chat creation (the seed's "Matching Contact Attributes"),
//! end to end through the GMS v2 front door and the admin API: each row of the search
//! order, narrowing, ambiguity, creation, the "Speve" case, and the contact history.

use std::time::Duration;

use parley_server::config::{AgentConfig, Config, Role, Secret};
use serde_json::{json, Value};

use crate::common::{TestServer, WAIT};
use crate::gms::Gms;

/// The admin key of the test servers.
pub const ADMIN_KEY: &str = "admin-key-0123456789abcdef0123456789abcdef";

/// Password of the file supervisor `sam`.
pub const SAM_PASSWORD: &str = "sam's long passphrase";

/// A test server with an admin key, queues `default` and `sales`, and supervisor `sam`
/// in the file.
pub async fn start() -> TestServer {
    TestServer::start(configure).await
}

pub fn configure(c: &mut Config) {
    c.security.admin_api_keys = vec![Secret::new(ADMIN_KEY)];
    c.queues.insert("default".into(), Default::default());
    c.queues.insert("sales".into(), Default::default());
    c.agents.insert(
        "sam".into(),
        AgentConfig {
            password_hash: Secret::new(crate::desk::hash(SAM_PASSWORD)),
            nickname: "Sam".into(),
            role: Role::Supervisor,
            queues: vec!["default".into()],
            capacity: 2,
        },
    );
    c.routing.login_max_failures = 3;
}

/// An admin API call with `key` (none: no header); status and JSON body.
pub async fn admin_call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("http://{}{path}", server.addr));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("admin request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `GET path` on the admin API with the right key.
pub async fn admin_get(server: &TestServer, path: &str) -> (u16, Value) {
    admin_call(server, reqwest::Method::GET, path, Some(ADMIN_KEY), None).await
}

/// Starts a GMS chat with `user_data` (as `userData[...]`) and returns it.
async fn chat(server: &TestServer, user_data: &[(&str, &str)]) -> Gms {
    let keys: Vec<String> = user_data
        .iter()
        .map(|(k, _)| format!("userData[{k}]"))
        .collect();
    let mut pairs: Vec<(&str, &str)> = vec![("nickname", "Customer")];
    pairs.extend(
        keys.iter()
            .map(String::as_str)
            .zip(user_data.iter().map(|p| p.1)),
    );
    let (s, r) = Gms::request(server, &pairs).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    Gms::from_reply(server, &r)
}

/// The interaction record of a chat, as the admin API shows it.
async fn interaction(server: &TestServer, id: &str) -> Value {
    let (s, r) = admin_get(server, &format!("/admin/v1/interactions/{id}")).await;
    assert_eq!(s, 200, "{r}");
    r
}

/// The `ContactID` a chat was identified as (`None`: no contact).
/// The link is written in the background (with the interaction properties, a few
/// milliseconds later), so this waits for it to agree with the user data.
async fn contact_of(server: &TestServer, chat: &Gms) -> Option<String> {
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let r = interaction(server, &chat.chat_id).await;
        let from_user_data = r["userData"]["ContactID"].as_str().map(str::to_owned);
        let linked = r["contactId"].as_str().map(str::to_owned);
        if from_user_data == linked {
            return linked;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "user data and link never agreed: {r}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// How many contacts the server has.
async fn contact_count(server: &TestServer) -> usize {
    let (s, r) = admin_get(server, "/admin/v1/contacts?limit=500").await;
    assert_eq!(s, 200, "{r}");
    r["contacts"].as_array().map_or(0, Vec::len)
}

/// Steve's record: created by his first chat (an unknown email creates a contact).
async fn steve(server: &TestServer) -> String {
    let first = chat(
        server,
        &[
            ("EmailAddress", "steve@apple.example"),
            ("PhoneNumber", "+1 (555) 654-6303"),
            ("FirstName", "Steve"),
            ("LastName", "Jobs"),
        ],
    )
    .await;
    contact_of(server, &first)
        .await
        .expect("a contact for a new email")
}

#[tokio::test]
async fn each_search_order_finds_the_stored_contact() {
    let server = start().await;
    let id = steve(&server).await;
    let (s, c) = admin_get(&server, &format!("/admin/v1/contacts/{id}")).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        c["attributes"],
        json!({"EmailAddress": "steve@apple.example", "PhoneNumber": "+1 (555) 654-6303",
               "FirstName": "Steve", "LastName": "Jobs"}),
        "the new contact is made of the user data"
    );

    // Order 0: email, compared case-insensitively.
    let by_email = chat(&server, &[("EmailAddress", " STEVE@apple.example ")]).await;
    assert_eq!(contact_of(&server, &by_email).await, Some(id.clone()));
    let r = interaction(&server, &by_email.chat_id).await;
    assert_eq!(
        r["userData"]["FirstName"], "Steve",
        "stored attributes merged: {r}"
    );
    assert_eq!(
        r["userData"]["EmailAddress"], " STEVE@apple.example ",
        "{r}"
    );

    // Order 1: phone, whatever the separators.
    let by_phone = chat(
        &server,
        &[("PhoneNumber", "+15556546303"), ("Title", "CEO")],
    )
    .await;
    assert_eq!(contact_of(&server, &by_phone).await, Some(id.clone()));

    // Order 2: first and last name together.
    let by_name = chat(&server, &[("FirstName", "steve"), ("LastName", "JOBS")]).await;
    assert_eq!(contact_of(&server, &by_name).await, Some(id.clone()));
    assert_eq!(contact_count(&server).await, 1, "nobody new");
    server.stop().await;
}

#[tokio::test]
async fn several_matches_are_narrowed_and_the_rest_is_ambiguous() {
    let server = start().await;
    let mut ids = Vec::new();
    for (email, first) in [("ann@lee.example", "Ann"), ("bob@lee.example", "Bob")] {
        let c = chat(
            &server,
            &[
                ("EmailAddress", email),
                ("PhoneNumber", "777"),
                ("FirstName", first),
                ("LastName", "Lee"),
            ],
        )
        .await;
        ids.push(contact_of(&server, &c).await.expect("created"));
    }
    assert_ne!(ids[0], ids[1]);

    // The phone matches both; the first and last name narrow to Bob.
    let bob = chat(
        &server,
        &[
            ("PhoneNumber", "777"),
            ("FirstName", "Bob"),
            ("LastName", "lee"),
        ],
    )
    .await;
    assert_eq!(contact_of(&server, &bob).await, Some(ids[1].clone()));

    // The phone matches both, and one name alone narrows nothing (names count only as
    // a pair): nobody is chosen, nobody created.
    for name in [("LastName", "Lee"), ("FirstName", "Bob")] {
        let either = chat(&server, &[("PhoneNumber", "777"), name]).await;
        assert_eq!(contact_of(&server, &either).await, None, "{name:?}");
        let r = interaction(&server, &either.chat_id).await;
        assert_eq!(
            r["userData"],
            json!({"PhoneNumber": "777", name.0: name.1}),
            "{r}"
        );
    }

    // Narrowed to none: somebody new.
    let carl = chat(
        &server,
        &[
            ("PhoneNumber", "777"),
            ("FirstName", "Carl"),
            ("LastName", "Lee"),
        ],
    )
    .await;
    let carl_id = contact_of(&server, &carl).await.expect("a new contact");
    assert!(!ids.contains(&carl_id));
    assert_eq!(contact_count(&server).await, 3);
    server.stop().await;
}

#[tokio::test]
async fn chats_without_identifying_attributes_get_no_contact() {
    let server = start().await;
    let anonymous = chat(
        &server,
        &[("Product", "Cards"), ("email_address", "x@y.example")],
    )
    .await;
    assert_eq!(contact_of(&server, &anonymous).await, None);
    // A customer cannot name a contact itself.
    let steve_id = steve(&server).await;
    let claimed = chat(&server, &[("ContactID", steve_id.as_str())]).await;
    assert_eq!(contact_of(&server, &claimed).await, None);
    assert_eq!(contact_count(&server).await, 1);
    server.stop().await;
}

#[tokio::test]
async fn speve_keeps_his_typo_and_the_record_keeps_steve() {
    let server = start().await;
    let id = steve(&server).await;
    let speve = chat(
        &server,
        &[
            ("EmailAddress", "steve@apple.example"),
            ("FirstName", "Speve"),
        ],
    )
    .await;
    assert_eq!(contact_of(&server, &speve).await, Some(id.clone()));
    let r = interaction(&server, &speve.chat_id).await;
    assert_eq!(r["userData"]["FirstName"], "Speve", "user data wins: {r}");
    assert_eq!(
        r["userData"]["LastName"], "Jobs",
        "stored attributes fill in: {r}"
    );
    let (_, c) = admin_get(&server, &format!("/admin/v1/contacts/{id}")).await;
    assert_eq!(
        c["attributes"]["FirstName"], "Steve",
        "the record is unchanged: {c}"
    );
    server.stop().await;
}

#[tokio::test]
async fn contact_history_lists_finished_chats_with_their_transcripts() {
    let server = start().await;
    let id = steve(&server).await;
    let c = chat(&server, &[("EmailAddress", "steve@apple.example")]).await;
    let (s, r) = c.op("send", &[("message", "My order is late")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let (s, r) = c.op("disconnect", &[]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");

    let path = format!("/admin/v1/contacts/{id}/history");
    let deadline = tokio::time::Instant::now() + WAIT;
    let entry = loop {
        let (s, h) = admin_get(&server, &path).await;
        assert_eq!(s, 200, "{h}");
        let found = h["interactions"]
            .as_array()
            .and_then(|all| all.iter().find(|i| i["id"] == c.chat_id.as_str()).cloned());
        if let Some(e) = found.filter(|e| e["state"] == "closed") {
            assert_eq!(h["interactions"].as_array().map(Vec::len), Some(2), "{h}");
            assert_eq!(
                h["interactions"][0]["id"],
                c.chat_id.as_str(),
                "newest first"
            );
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "never closed: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(entry["contactId"], id.as_str());
    assert!(entry["end"]["closedAt"].as_i64().is_some(), "{entry}");
    let lines: Vec<&Value> = entry["transcript"]
        .as_array()
        .expect("final transcript")
        .iter()
        .filter(|e| e["type"] == "message")
        .collect();
    assert_eq!(lines.len(), 1, "{entry}");
    assert_eq!(lines[0]["text"], "My order is late");
    assert_eq!(lines[0]["nickname"], "Customer");
    assert_eq!(lines[0]["partyType"], "CLIENT");
    let text = entry.to_string();
    assert!(!text.contains("keyHash"), "no key digests: {text}");

    // The interaction listing finds it too, without the transcript.
    let (s, l) = admin_get(&server, "/admin/v1/interactions?state=closed&queue=default").await;
    assert_eq!(s, 200, "{l}");
    let listed = l["interactions"].as_array().expect("list");
    assert!(listed.iter().any(|i| i["id"] == c.chat_id.as_str()), "{l}");
    assert!(listed.iter().all(|i| i.get("transcript").is_none()), "{l}");
    server.stop().await;
}

#[tokio::test]
async fn the_desktop_view_shows_user_data_record_and_history() {
    let server = start().await;
    let id = steve(&server).await;
    let old = chat(&server, &[("EmailAddress", "steve@apple.example")]).await;
    let _ = old.op("send", &[("message", "Where is my refund?")]).await;
    let _ = old.op("disconnect", &[]).await;
    let speve = chat(
        &server,
        &[
            ("EmailAddress", "steve@apple.example"),
            ("FirstName", "Speve"),
        ],
    )
    .await;
    let (status, body) = crate::desk::login(server.addr, "sam", SAM_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let url = format!(
        "http://{}/agent/v1/interactions/{}",
        server.addr, speve.chat_id
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    let view = loop {
        let resp = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("view");
        assert_eq!(resp.status().as_u16(), 200);
        let v: Value = resp.json().await.expect("json");
        // The old chat's close is committed asynchronously.
        let closed = v["history"].as_array().is_some_and(|h| {
            h.iter()
                .any(|e| e["id"] == old.chat_id.as_str() && !e["closedAt"].is_null())
        });
        if closed {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        view["interaction"]["userData"]["FirstName"], "Speve",
        "{view}"
    );
    assert_eq!(view["interaction"]["userData"]["ContactID"], id.as_str());
    assert!(view["interaction"]["properties"].is_object(), "{view}");
    assert_eq!(view["contact"]["id"], id.as_str());
    assert_eq!(view["contact"]["attributes"]["FirstName"], "Steve");
    let history = view["history"].as_array().expect("history");
    assert_eq!(
        history.len(),
        2,
        "steve's first chat and the old one: {view}"
    );
    assert_eq!(history[0]["id"], old.chat_id.as_str(), "newest first");
    assert_eq!(
        history[0]["transcript"],
        json!([{"at": history[0]["transcript"][0]["at"], "nickname": "Customer",
                "partyType": "CLIENT", "text": "Where is my refund?"}]),
        "messages only: {view}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_failing_contact_store_does_not_refuse_the_chat() {
    use sqlx::Connection;
    let server = start().await;
    let url = format!("sqlite://{}", server.data_dir.join("parley.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database");
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    sqlx::query(&rename("contacts", "contacts_away"))
        .execute(&mut db)
        .await
        .expect("break the contacts table");
    let c = chat(&server, &[("EmailAddress", "kim@example.test")]).await;
    assert_eq!(
        contact_of(&server, &c).await,
        None,
        "the chat goes on without one"
    );
    let r = interaction(&server, &c.chat_id).await;
    assert_eq!(
        r["userData"],
        json!({"EmailAddress": "kim@example.test"}),
        "{r}"
    );

    sqlx::query(&rename("contacts_away", "contacts"))
        .execute(&mut db)
        .await
        .expect("mend it");
    let again = chat(&server, &[("EmailAddress", "kim@example.test")]).await;
    assert!(
        contact_of(&server, &again).await.is_some(),
        "identified once it works"
    );
    db.close().await.expect("close");
    server.stop().await;
}
