//! The admin API against a real server: authentication, validation errors, agents
//! created, changed and deleted (file agents refused), and logins against agents the API
//! created, with their failure limit.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::contacts::{admin_call, admin_get, start, ADMIN_KEY, SAM_PASSWORD};

/// Every route, with a method that reaches its handler.
const ROUTES: [(&str, &str); 12] = [
    ("GET", "/admin/v1/agents"),
    ("GET", "/admin/v1/agents/sam"),
    ("PUT", "/admin/v1/agents/zoe"),
    ("DELETE", "/admin/v1/agents/zoe"),
    ("GET", "/admin/v1/contacts?q=x"),
    ("GET", "/admin/v1/contacts/c-1"),
    ("GET", "/admin/v1/contacts/c-1/history"),
    ("POST", "/admin/v1/contacts/c-1/erase"),
    ("GET", "/admin/v1/erasures"),
    ("GET", "/admin/v1/erasures/c-1"),
    ("GET", "/admin/v1/interactions"),
    ("GET", "/admin/v1/interactions/abc"),
];

async fn call(server: &TestServer, method: &str, path: &str, key: Option<&str>) -> (u16, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    admin_call(server, method, path, key, Some(json!({"password": "x"}))).await
}

async fn put(server: &TestServer, login: &str, body: Value) -> (u16, Value) {
    let path = format!("/admin/v1/agents/{login}");
    admin_call(server, Method::PUT, &path, Some(ADMIN_KEY), Some(body)).await
}

async fn delete(server: &TestServer, login: &str) -> (u16, Value) {
    let path = format!("/admin/v1/agents/{login}");
    admin_call(server, Method::DELETE, &path, Some(ADMIN_KEY), None).await
}

#[track_caller]
fn assert_refused(got: (u16, Value), status: u16, code: &str) {
    assert_eq!(
        (got.0, got.1["code"].as_str()),
        (status, Some(code)),
        "{}",
        got.1
    );
    assert!(got.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn every_route_needs_an_admin_key() {
    let server = start().await;
    for (method, path) in ROUTES {
        for key in [None, Some("wrong-key"), Some("")] {
            let got = call(&server, method, path, key).await;
            assert_refused(got, 401, "unauthorized");
        }
    }
    let (s, _) = admin_get(&server, "/admin/v1/agents").await;
    assert_eq!(s, 200, "the right key works");
    server.stop().await;

    // No admin keys configured: everything is refused.
    let server = TestServer::start(|c| c.security.admin_api_keys.clear()).await;
    for (method, path) in ROUTES {
        assert_refused(
            call(&server, method, path, Some(ADMIN_KEY)).await,
            401,
            "unauthorized",
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn agents_are_created_changed_listed_and_deleted() {
    let server = start().await;
    let body = json!({"nickname": "Zoe", "role": "agent", "queues": ["sales", "default", "sales"],
                      "capacity": 4, "password": "zoe's password"});
    let (s, zoe) = put(&server, "zoe", body).await;
    assert_eq!(s, 201, "{zoe}");
    assert_eq!(zoe["queues"], json!(["sales", "default"]), "deduplicated");
    assert_eq!(
        (
            zoe["login"].as_str(),
            zoe["source"].as_str(),
            zoe["capacity"].as_u64()
        ),
        (Some("zoe"), Some("admin"), Some(4))
    );
    let (s, read) = admin_get(&server, "/admin/v1/agents/zoe").await;
    assert_eq!((s, &read), (200, &zoe));

    // Omitted fields keep their values; the password too.
    let (s, changed) = put(&server, "zoe", json!({"role": "supervisor", "capacity": 1})).await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["role"], "supervisor");
    assert_eq!(changed["nickname"], "Zoe");
    assert_eq!(changed["createdAt"], zoe["createdAt"]);
    let (status, _) = crate::desk::login(server.addr, "zoe", "zoe's password").await;
    assert_eq!(status, 200, "the password was kept");

    let (s, all) = admin_get(&server, "/admin/v1/agents").await;
    assert_eq!(s, 200);
    let logins: Vec<&str> = all["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["login"].as_str())
        .collect();
    assert_eq!(logins, ["sam", "zoe"]);
    let text = all.to_string();
    assert!(
        !text.contains("argon2") && !text.to_lowercase().contains("hash"),
        "{text}"
    );

    // A hash works as well as a password.
    let hash = crate::desk::hash("kim's password");
    let (s, _) = put(&server, "kim", json!({"passwordHash": hash})).await;
    assert_eq!(s, 201);
    let (status, body) = crate::desk::login(server.addr, "kim", "kim's password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["agent"]["queues"],
        json!(["default"]),
        "defaults: {body}"
    );

    assert_eq!(delete(&server, "zoe").await.0, 204);
    assert_refused(
        admin_get(&server, "/admin/v1/agents/zoe").await,
        404,
        "not-found",
    );
    assert_refused(delete(&server, "zoe").await, 404, "not-found");
    let (status, _) = crate::desk::login(server.addr, "zoe", "zoe's password").await;
    assert_eq!(status, 401, "a deleted agent cannot log in");
    server.stop().await;
}

#[tokio::test]
async fn file_agents_are_read_only() {
    let server = start().await;
    let (s, sam) = admin_get(&server, "/admin/v1/agents/sam").await;
    assert_eq!(s, 200, "{sam}");
    assert_eq!(
        (sam["source"].as_str(), sam["role"].as_str()),
        (Some("config"), Some("supervisor"))
    );
    assert!(sam.get("passwordHash").is_none() && !sam.to_string().contains("argon2"));
    assert_refused(
        put(&server, "sam", json!({"capacity": 5})).await,
        409,
        "config-owned",
    );
    assert_refused(delete(&server, "sam").await, 409, "config-owned");
    let (status, _) = crate::desk::login(server.addr, "sam", SAM_PASSWORD).await;
    assert_eq!(status, 200, "sam is unchanged");
    server.stop().await;
}

#[tokio::test]
async fn invalid_requests_are_refused_with_stable_codes() {
    let server = start().await;
    let ok = |extra: Value| {
        let mut body = json!({"password": "pw"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    for (body, code) in [
        (ok(json!({"capacity": 0})), "invalid-field"),
        (ok(json!({"capacity": 101})), "invalid-field"),
        (ok(json!({"role": "boss"})), "invalid-field"),
        (ok(json!({"queues": ["nowhere"]})), "unknown-queue"),
        (ok(json!({"queues": ["bad queue"]})), "invalid-field"),
        (ok(json!({"nickname": "a\u{7}b"})), "invalid-field"),
        (
            ok(json!({"passwordHash": "$argon2id$v=19$nope"})),
            "invalid-field",
        ),
        (json!({"passwordHash": "plain"}), "invalid-field"),
        (json!({"nickname": "No password"}), "invalid-field"),
        (ok(json!({"password": ""})), "invalid-field"),
        (ok(json!({"isAdmin": true})), "bad-request"),
        (ok(json!({"capacity": "many"})), "bad-request"),
    ] {
        assert_refused(put(&server, "newbie", body.clone()).await, 400, code);
    }
    assert_refused(
        put(&server, "bad%20login", ok(json!({}))).await,
        400,
        "invalid-field",
    );
    let huge = ok(json!({"nickname": "x".repeat(64 * 1024)}));
    assert_refused(put(&server, "newbie", huge).await, 413, "payload-too-large");
    let raw = reqwest::Client::new()
        .put(format!("http://{}/admin/v1/agents/newbie", server.addr))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("put");
    let status = raw.status().as_u16();
    assert_refused(
        (status, raw.json().await.unwrap_or(Value::Null)),
        400,
        "bad-request",
    );
    assert_refused(
        admin_get(&server, "/admin/v1/agents/newbie").await,
        404,
        "not-found",
    );

    for (path, code) in [
        ("/admin/v1/interactions?state=open", "invalid-field"),
        ("/admin/v1/interactions?since=yesterday", "invalid-field"),
        ("/admin/v1/interactions?limit=0", "invalid-field"),
        ("/admin/v1/interactions?limit=501", "invalid-field"),
        ("/admin/v1/interactions?colour=red", "bad-request"),
        ("/admin/v1/contacts?limit=x", "invalid-field"),
    ] {
        assert_refused(admin_get(&server, path).await, 400, code);
    }
    for path in [
        "/admin/v1/interactions/nope",
        "/admin/v1/contacts/nope",
        "/admin/v1/contacts/nope/history",
        "/admin/v1/contacts/not%20an%20id",
    ] {
        assert_refused(admin_get(&server, path).await, 404, "not-found");
    }
    server.stop().await;
}

#[tokio::test]
async fn logins_of_admin_agents_work_and_failures_are_limited() {
    let server = start().await;
    let (s, _) = put(&server, "ada", json!({"password": "ada's password"})).await;
    assert_eq!(s, 201);
    let (status, body) = crate::desk::login(server.addr, "ada", "ada's password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["agent"]["nickname"], "ada",
        "the login when no nickname"
    );
    assert!(body["token"].as_str().is_some_and(|t| t.len() >= 32));

    // Unknown login and wrong password look alike.
    for (who, pw) in [("ada", "wrong"), ("nobody", "ada's password")] {
        let (status, body) = crate::desk::login(server.addr, who, pw).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("bad-credentials"))
        );
    }
    // A third failure from this address reaches the limit (3): then even the right
    // password is refused, with a retry delay.
    let _ = crate::desk::login(server.addr, "ada", "wrong again").await;
    let (status, body) = crate::desk::login(server.addr, "ada", "ada's password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate-limited")),
        "{body}"
    );
    assert!(
        body["retryAfter"]
            .as_u64()
            .is_some_and(|s| (1..=300).contains(&s)),
        "{body}"
    );
    server.stop().await;
}
