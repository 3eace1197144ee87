//! Retention and erasure through a real server, on SQLite and on PostgreSQL: the
//! background purge (a 1-second interval, 1-second periods, batches of one chat) removes
//! transcripts, files and records tenant by tenant as `[retention]` and
//! `[tenant-retention.<tenant>]` say, and `POST /admin/v1/contacts/{id}/erase` removes a
//! contact with everything of it, refusing while a chat of it goes on, and leaves an
//! audit record. What is left is checked table by table in the database itself.

use std::collections::BTreeMap;
use std::time::Duration;

use parley_server::config::{Config, TenantRetention};
use parley_store::conformance::{Inspect, CONTACT_TABLES, SESSION_TABLES};
use parley_store::AnyStore;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::contacts::{admin_call, admin_get, configure, ADMIN_KEY};
use crate::gms::{post_form, Gms};

/// How long the purge may take to get to a chat before the test fails (it runs every
/// second; this only bounds a broken purge).
const PURGE_WAIT: Duration = Duration::from_secs(60);

/// The file every chat uploads.
const FILE: &[u8] = b"card number 4111 1111 1111 1111";

/// Tenant 1 (service `customer-support`) keeps transcripts and files one second and its
/// records forever; tenant 0 (`keep`) keeps everything; tenant 2 (`brief`) keeps records
/// one second.
fn retention(c: &mut Config) {
    configure(c);
    for (tenant, service) in [("0", "keep"), ("2", "brief")] {
        let endpoints = BTreeMap::from([("default".to_owned(), "default".to_owned())]);
        c.endpoints.insert(tenant.into(), endpoints);
        c.gms_chat_services
            .insert(service.into(), format!("{tenant}:default"));
    }
    c.retention.transcripts_s = 1;
    c.retention.files_s = 1;
    c.retention.purge_interval_s = 1;
    c.retention.purge_batch = 1;
    c.retention.purge_pause_ms = 0;
    let keep = TenantRetention {
        transcripts_s: Some(0),
        files_s: Some(0),
        interactions_s: None,
    };
    let brief = TenantRetention {
        interactions_s: Some(1),
        ..TenantRetention::default()
    };
    c.tenant_retention.insert("0".into(), keep);
    c.tenant_retention.insert("2".into(), brief);
}

/// A GMS chat on `service` with `email`, a line and a file; not yet ended.
async fn chat(server: &TestServer, service: &str, email: &str) -> Gms {
    let url = format!("http://{}/genesys/2/chat/{service}", server.addr);
    let pairs = [("nickname", "Steve"), ("userData[EmailAddress]", email)];
    let (s, r) = post_form(&reqwest::Client::new(), &url, &pairs).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let mut gms = Gms::from_reply(server, &r);
    gms.base = url;
    let (s, r) = gms.op("send", &[("message", "my card is 4111")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let form = reqwest::multipart::Form::new()
        .text("userId", gms.user_id.clone())
        .text("secureKey", gms.secure_key.clone())
        .text("alias", gms.alias.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(FILE.to_vec())
                .file_name("card.txt")
                .mime_str("text/plain")
                .expect("mime"),
        );
    let r = gms
        .http
        .post(gms.url("file"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    gms
}

/// Polls the admin API's record of `id` until `done` holds for it (`None`: no record).
async fn record_until(
    server: &TestServer,
    id: &str,
    what: &str,
    done: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + PURGE_WAIT;
    loop {
        let (s, r) = admin_get(server, &format!("/admin/v1/interactions/{id}")).await;
        let record = (s == 200).then_some(r);
        if done(record.as_ref()) {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id}: never {what}: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ends a chat and waits for its record to say so, linked to its contact.
async fn end(server: &TestServer, gms: &Gms) -> Value {
    let (s, r) = gms.op("disconnect", &[]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    record_until(server, &gms.chat_id, "closed and linked", |r| {
        r.is_some_and(|r| r["state"] == "closed" && r["contactId"].is_string())
    })
    .await
    .expect("a record")
}

/// The rows each table holds of a session.
async fn session_rows(store: &AnyStore, id: &str) -> BTreeMap<&'static str, i64> {
    let mut rows = BTreeMap::new();
    for (table, column) in SESSION_TABLES {
        rows.insert(table, store.rows(table, column, id).await);
    }
    rows
}

/// Panics unless nothing of the contact and of its chats is left: not through the admin
/// API, not in any table.
async fn assert_erased(server: &TestServer, db: &AnyStore, contact: &str, chats: &[&Gms]) {
    for gms in chats {
        let path = format!("/admin/v1/interactions/{}", gms.chat_id);
        assert_eq!(admin_get(server, &path).await.0, 404, "{path}");
        let rows = session_rows(db, &gms.chat_id).await;
        assert!(rows.values().all(|n| *n == 0), "{}: {rows:?}", gms.chat_id);
    }
    for (table, column) in CONTACT_TABLES {
        assert_eq!(db.rows(table, column, contact).await, 0, "{table}");
    }
    for path in [
        format!("/admin/v1/contacts/{contact}"),
        format!("/admin/v1/contacts/{contact}/history"),
    ] {
        assert_eq!(admin_get(server, &path).await.0, 404, "{path}");
    }
}

async fn erase(server: &TestServer, contact: &str, body: Option<Value>) -> (u16, Value) {
    let path = format!("/admin/v1/contacts/{contact}/erase");
    admin_call(server, Method::POST, &path, Some(ADMIN_KEY), body).await
}

async fn scenario(store_url: Option<String>) {
    let server = TestServer::start(|c| {
        retention(c);
        c.server.store_url.clone_from(&store_url);
    })
    .await;
    let url = store_url
        .unwrap_or_else(|| format!("sqlite://{}", server.data_dir.join("parley.db").display()));
    let db = parley_store::open(&url)
        .await
        .expect("open the server's store");

    // Tenant 0 first (it keeps everything), then tenant 2 (records go), then Steve's two
    // chats in tenant 1 (transcripts and files go). Each pass visits tenants in order.
    let kept = chat(&server, "keep", "bob@example.test").await;
    end(&server, &kept).await;
    let brief = chat(&server, "brief", "carl@example.test").await;
    end(&server, &brief).await;
    let first = chat(&server, "customer-support", "steve@apple.example").await;
    let steve = end(&server, &first).await["contactId"]
        .as_str()
        .expect("contact")
        .to_owned();
    let second = chat(&server, "customer-support", "steve@apple.example").await;
    end(&server, &second).await;

    // The purge gets to both of Steve's chats, one batch each.
    for gms in [&first, &second] {
        let r = record_until(&server, &gms.chat_id, "purged", |r| {
            r.is_some_and(|r| r["transcriptPurgedAt"].is_i64() && r["filesPurgedAt"].is_i64())
        })
        .await
        .expect("record kept");
        assert_eq!(r["transcript"], Value::Null, "{r}");
        assert_eq!(r["userData"]["EmailAddress"], "steve@apple.example");
        assert_eq!(r["contactId"], steve.as_str(), "the record stays linked");
        let rows = session_rows(&db, &gms.chat_id).await;
        assert_eq!((rows["events"], rows["documents"]), (0, 0), "{rows:?}");
        assert_eq!((rows["interactions"], rows["sessions"]), (1, 1), "{rows:?}");
    }
    // Tenant 2's record is gone whole; tenant 0 (visited before 1 in the pass that purged
    // Steve's second chat, closed after it) keeps everything.
    record_until(&server, &brief.chat_id, "removed", |r| r.is_none()).await;
    let rows = session_rows(&db, &brief.chat_id).await;
    assert!(rows.values().all(|n| *n == 0), "{rows:?}");
    let (s, r) = admin_get(&server, &format!("/admin/v1/interactions/{}", kept.chat_id)).await;
    assert_eq!(s, 200, "{r}");
    assert!(
        r["transcript"].as_array().is_some_and(|t| !t.is_empty()),
        "{r}"
    );
    assert_eq!(
        (r["transcriptPurgedAt"].clone(), r["filesPurgedAt"].clone()),
        (Value::Null, Value::Null)
    );
    let rows = session_rows(&db, &kept.chat_id).await;
    assert_eq!(rows["documents"], 1, "{rows:?}");
    assert!(rows["events"] > 0, "{rows:?}");

    let c = server.get_json("/counters").await.1;
    assert!(c["purged-transcripts"].as_u64() >= Some(2), "{c}");
    assert!(c["purged-files"].as_u64() >= Some(2), "{c}");
    assert!(c["purged-interactions"].as_u64() >= Some(1), "{c}");
    let bytes = u64::try_from(FILE.len()).expect("len");
    assert!(c["purged-file-bytes"].as_u64() >= Some(2 * bytes), "{c}");

    // Erasure of Steve, whose transcripts and files the purge already took.
    let (s, r) = erase(
        &server,
        &steve,
        Some(json!({"reference": "GDPR request 17"})),
    )
    .await;
    assert_eq!((s, r["result"].as_str()), (200, Some("erased")), "{r}");
    let erasure = r["erasure"].clone();
    assert_eq!(erasure["contactId"], steve.as_str());
    assert_eq!(erasure["tenant"], "1");
    assert_eq!(erasure["reference"], "GDPR request 17");
    let counts = |e: &Value| {
        ["interactions", "transcriptEvents", "files", "fileBytes"].map(|k| e[k].as_u64())
    };
    assert_eq!(
        counts(&erasure),
        [Some(2), Some(0), Some(0), Some(0)],
        "{erasure}"
    );
    assert!(
        erasure["erasedBy"]
            .as_str()
            .is_some_and(|b| b.starts_with("key-sha256:")),
        "{erasure}"
    );
    assert_erased(&server, &db, &steve, &[&first, &second]).await;

    // Dana (tenant 0, which keeps everything): refused while a chat of hers goes on, then
    // everything of both chats goes.
    let done = chat(&server, "keep", "dana@example.test").await;
    let dana = end(&server, &done).await["contactId"]
        .as_str()
        .expect("contact")
        .to_owned();
    let live = chat(&server, "keep", "dana@example.test").await;
    record_until(&server, &live.chat_id, "linked", |r| {
        r.is_some_and(|r| r["contactId"] == dana.as_str())
    })
    .await;
    let (s, r) = erase(&server, &dana, None).await;
    assert_eq!(
        (s, r["code"].as_str()),
        (409, Some("live-interactions")),
        "{r}"
    );
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains(&live.chat_id)),
        "{r}"
    );
    assert_eq!(
        admin_get(&server, &format!("/admin/v1/contacts/{dana}"))
            .await
            .0,
        200
    );
    assert_eq!(session_rows(&db, &done.chat_id).await["documents"], 1);
    end(&server, &live).await;
    let (s, r) = erase(&server, &dana, None).await;
    assert_eq!((s, r["result"].as_str()), (200, Some("erased")), "{r}");
    let dana_erasure = r["erasure"].clone();
    let [interactions, events, files, file_bytes] = counts(&dana_erasure);
    assert_eq!((interactions, files), (Some(2), Some(2)), "{dana_erasure}");
    assert_eq!(file_bytes, Some(2 * bytes), "{dana_erasure}");
    assert!(events > Some(0), "{dana_erasure}");
    assert_eq!(dana_erasure["reference"], Value::Null);
    let text = dana_erasure.to_string() + &erasure.to_string();
    assert!(
        !text.contains("@example") && !text.contains("4111"),
        "{text}"
    );
    assert_erased(&server, &db, &dana, &[&done, &live]).await;
    // Bob (tenant 0 too) is untouched.
    let rows = session_rows(&db, &kept.chat_id).await;
    assert_eq!(
        (rows["contact_interactions"], rows["documents"]),
        (1, 1),
        "{rows:?}"
    );

    // Again: the same record, marked as such; the audit reads back.
    let (s, r) = erase(&server, &steve, None).await;
    assert_eq!(
        (s, r["result"].as_str()),
        (200, Some("already-erased")),
        "{r}"
    );
    assert_eq!(r["erasure"], erasure);
    let (s, r) = admin_get(&server, &format!("/admin/v1/erasures/{steve}")).await;
    assert_eq!((s, &r), (200, &erasure));
    let (s, r) = admin_get(&server, "/admin/v1/erasures?tenant=1").await;
    assert_eq!((s, r["erasures"].clone()), (200, json!([erasure])));
    let (s, r) = admin_get(&server, "/admin/v1/erasures").await;
    assert_eq!(s, 200);
    assert_eq!(r["erasures"][0], dana_erasure, "newest first: {r}");
    let (s, r) = erase(&server, "c-never-was", None).await;
    assert_eq!((s, r["code"].as_str()), (404, Some("not-found")), "{r}");
    let c = server.get_json("/counters").await.1;
    assert_eq!(c["contacts-erased"], 2, "{c}");

    db.close().await;
    server.stop().await;
}

#[tokio::test]
async fn purge_and_erasure_on_sqlite() {
    scenario(None).await;
}

#[tokio::test]
async fn purge_and_erasure_on_postgres() {
    let Some(url) = crate::common::postgres_database("retention").await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return;
    };
    scenario(Some(url)).await;
}
