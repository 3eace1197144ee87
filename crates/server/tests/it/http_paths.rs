//! Every HTTP door answers with and without a trailing slash (GMS accepts both forms, and
//! clients written against real GMS deployments send the slash), and a path no door
//! serves gets 404 with a coded JSON body.

use reqwest::Method;
use serde_json::Value;

use crate::common::TestServer;
use crate::contacts::admin_get;

/// Every route the server declares, with a method that reaches its handler. Parameters
/// name things that need not exist: a handler's own refusal (401, 400, a coded 404) shows
/// the route was found.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/basic"),
    ("POST", "/basic/v1/documents"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/counters"),
    ("GET", "/Counters"),
    ("GET", "/web/demo.html"),
    ("POST", "/agent/v1/login"),
    ("POST", "/agent/v1/logout"),
    ("GET", "/agent/v1/interactions/abc"),
    ("GET", "/agent/v1/ws"),
    ("GET", "/admin/v1/agents"),
    ("GET", "/admin/v1/agents/sam"),
    ("PUT", "/admin/v1/agents/zoe"),
    ("GET", "/admin/v1/contacts"),
    ("GET", "/admin/v1/contacts/c-1"),
    ("GET", "/admin/v1/contacts/c-1/history"),
    ("GET", "/admin/v1/interactions"),
    ("GET", "/admin/v1/interactions/abc"),
    ("GET", "/admin/v1/drain"),
    ("GET", "/admin/v1/masking-rules"),
    ("POST", "/admin/v1/masking-rules/reorder"),
    ("POST", "/admin/v1/masking-rules/test"),
    ("GET", "/admin/v1/masking-rules/mr-1"),
    ("POST", "/admin/v1/masking-rules/mr-1/enable"),
    ("POST", "/admin/v1/masking-rules/mr-1/disable"),
    ("POST", "/esp/Message"),
    ("POST", "/flex/v1/login"),
    ("POST", "/flex/v1/join"),
    ("POST", "/flex/v1/send"),
    ("POST", "/flex/v1/notify"),
    ("POST", "/flex/v1/refresh"),
    ("POST", "/flex/v1/logout"),
    ("POST", "/flex/v1/file/limits"),
    ("POST", "/flex/v1/file/upload"),
    ("POST", "/flex/v1/file/download"),
    ("POST", "/flex/v1/file/delete"),
    ("POST", "/genesys/2/chat/customer-support"),
    ("POST", "/genesys/2/chat/customer-support/c1/send"),
    ("POST", "/genesys/2/chat/customer-support/c1/file"),
    ("POST", "/genesys/2/chat/customer-support/c1/file/limits"),
    (
        "POST",
        "/genesys/2/chat/customer-support/c1/file/f1/download",
    ),
    ("POST", "/genesys/2/chat/customer-support/c1/file/f1/delete"),
];

/// Status and body (JSON, or `Null` when the body is not JSON).
async fn call(server: &TestServer, method: &str, path: &str) -> (u16, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let resp = reqwest::Client::new()
        .request(method, format!("http://{}{path}", server.addr))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Whether a reply is the router's own 404 (no route matched), not a handler's refusal.
fn no_route(reply: &(u16, Value)) -> bool {
    reply.0 == 404
        && (reply.1.is_null()
            || reply.1["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no such path")))
}

#[tokio::test]
async fn every_route_answers_with_and_without_a_trailing_slash() {
    let server = TestServer::start(|_| {}).await;
    let mut missing = Vec::new();
    for (method, path) in ROUTES {
        let plain = call(&server, method, path).await;
        assert!(!no_route(&plain), "{method} {path}: no route: {plain:?}");
        let slashed = if *path == "/" {
            "/".to_owned()
        } else {
            format!("{path}/")
        };
        let reply = call(&server, method, &slashed).await;
        if no_route(&reply) {
            missing.push(format!("{method} {slashed}"));
        } else {
            assert_eq!(reply.0, plain.0, "{method} {slashed} answers unlike {path}");
        }
    }
    assert!(
        missing.is_empty(),
        "these paths answer 404 with a trailing slash: {missing:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_query_string_survives_the_trailing_slash() {
    let server = crate::contacts::start().await;
    let (s, r) = call(&server, "GET", "/readyz/?probe=1").await;
    assert_eq!((s, r["status"].as_str()), (200, Some("ready")), "{r}");
    // The slash is trimmed, the query kept: the bad `limit` reaches the handler.
    for path in [
        "/admin/v1/interactions?limit=x",
        "/admin/v1/interactions/?limit=x",
    ] {
        let (s, r) = admin_get(&server, path).await;
        assert_eq!(
            (s, r["code"].as_str()),
            (400, Some("invalid-field")),
            "{path}: {r}"
        );
    }
    let (s, r) = admin_get(&server, "/admin/v1/interactions/?limit=5").await;
    assert_eq!(s, 200, "{r}");
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_path_is_a_coded_404() {
    let server = TestServer::start(|_| {}).await;
    for path in ["/nope", "/nope/", "/admin/v2/agents", "/genesys/2/chat"] {
        let (s, r) = call(&server, "GET", path).await;
        assert_eq!(
            (s, r["code"].as_str()),
            (404, Some("not-found")),
            "{path}: {r}"
        );
        assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    server.stop().await;
}
