//! The masking rules of the admin API against a real server, on SQLite and PostgreSQL:
//! authentication, rules created, tested, reordered, disabled, changed and deleted, a
//! regex that does not compile refused naming the rule, and which rules apply to a
//! tenant (`apply-config = "mix"`: stored ones when it has any, else the built-in ones).

use std::collections::BTreeMap;

use parley_core::mask::{ApplyArea, ApplyConfig};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::contacts::{admin_call, configure, ADMIN_KEY};

const CARD: &str = "card 4111 1111 1111 1111, account ACCT-12345678";

async fn start(store_url: Option<String>) -> TestServer {
    TestServer::start(move |c| {
        configure(c);
        c.server.store_url.clone_from(&store_url);
        c.transcript_cleanup.apply_area = ApplyArea::Always;
        c.transcript_cleanup.apply_config = ApplyConfig::Mix;
        c.endpoints.insert(
            "acme".into(),
            BTreeMap::from([("default".to_owned(), "default".to_owned())]),
        );
    })
    .await
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    admin_call(server, method, path, Some(ADMIN_KEY), body).await
}

async fn create(server: &TestServer, body: Value) -> (u16, Value) {
    call(server, Method::POST, "/admin/v1/masking-rules", Some(body)).await
}

async fn test(server: &TestServer, body: Value) -> Value {
    let (s, r) = call(
        server,
        Method::POST,
        "/admin/v1/masking-rules/test",
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    r
}

async fn list(server: &TestServer, tenant: &str) -> Value {
    let path = format!("/admin/v1/masking-rules?tenant={tenant}");
    let (s, r) = call(server, Method::GET, &path, None).await;
    assert_eq!(s, 200, "{r}");
    r
}

fn names(listing: &Value) -> Vec<&str> {
    listing["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect()
}

#[track_caller]
fn refused(got: (u16, Value), status: u16, code: &str) -> String {
    assert_eq!(
        (got.0, got.1["code"].as_str()),
        (status, Some(code)),
        "{}",
        got.1
    );
    got.1["message"].as_str().unwrap_or_default().to_owned()
}

async fn scenario(store_url: Option<String>) {
    let server = start(store_url).await;

    // Every route needs the admin key.
    for (method, path) in [
        (Method::GET, "/admin/v1/masking-rules?tenant=1"),
        (Method::POST, "/admin/v1/masking-rules"),
        (Method::POST, "/admin/v1/masking-rules/reorder"),
        (Method::POST, "/admin/v1/masking-rules/test"),
        (Method::GET, "/admin/v1/masking-rules/mr-1"),
        (Method::PUT, "/admin/v1/masking-rules/mr-1"),
        (Method::DELETE, "/admin/v1/masking-rules/mr-1"),
        (Method::POST, "/admin/v1/masking-rules/mr-1/enable"),
        (Method::POST, "/admin/v1/masking-rules/mr-1/disable"),
    ] {
        for key in [None, Some("wrong-key")] {
            let got = admin_call(&server, method.clone(), path, key, Some(json!({}))).await;
            refused(got, 401, "unauthorized");
        }
    }

    // No stored rules: the built-in ones apply.
    let listing = list(&server, "1").await;
    assert_eq!(listing["applyConfig"], "mix");
    assert_eq!(listing["applied"], "config");
    assert!(names(&listing).is_empty());
    let built_in: Vec<&str> = listing["configRules"]
        .as_array()
        .expect("configRules")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        built_in,
        ["GCTI_CreditCards", "GCTI_SSN", "GCTI_PhoneNANPA"]
    );
    let r = test(&server, json!({"tenant": "1", "text": CARD})).await;
    assert_eq!(r["text"], "card **** **** **** ****, account ACCT-12345678");
    assert_eq!(r["rules"], "config");
    assert_eq!(
        r["hits"],
        json!([{"ruleId": "GCTI_CreditCards", "name": "GCTI_CreditCards",
                "description": "Credit card", "start": 5, "end": 23, "position": "5-23",
                "replaced": "digits"}])
    );

    // Rules are created after the tenant's last one.
    let (s, accounts) = create(
        &server,
        json!({"tenant": "1", "name": "Accounts", "description": "Account number",
               "regex": r"\bACCT-\d{8}\b", "spec": "all"}),
    )
    .await;
    assert_eq!(s, 201, "{accounts}");
    let accounts_id = accounts["id"].as_str().expect("id").to_owned();
    assert!(accounts_id.starts_with("mr-"), "{accounts}");
    assert_eq!(
        (
            &accounts["position"],
            &accounts["enabled"],
            &accounts["spec"]
        ),
        (&json!(1), &json!(true), &json!("all"))
    );
    let (s, cards) = create(
        &server,
        json!({"tenant": "1", "name": "Cards", "regex": r"\d{4}",
               "spec": "digits,keep-last=2"}),
    )
    .await;
    assert_eq!((s, &cards["position"]), (201, &json!(2)), "{cards}");
    let cards_id = cards["id"].as_str().expect("id").to_owned();

    // Refusals: a regex that does not compile names the rule; names are unique per
    // tenant; specs, names, tenants and fields are checked.
    let message = refused(
        create(
            &server,
            json!({"tenant": "1", "name": "Broken", "regex": "(?<=x\\d+"}),
        )
        .await,
        400,
        "invalid-rule",
    );
    assert!(message.starts_with("rule Broken: "), "{message}");
    refused(
        create(
            &server,
            json!({"tenant": "1", "name": "Accounts", "regex": "x"}),
        )
        .await,
        409,
        "name-taken",
    );
    for bad in [
        json!({"tenant": "1", "name": "S", "regex": "x", "spec": "most"}),
        json!({"tenant": "1", "name": "has space", "regex": "x"}),
        json!({"tenant": "nowhere", "name": "T", "regex": "x"}),
        json!({"tenant": "1", "name": "T", "regex": "x", "description": "a\u{7}b"}),
    ] {
        refused(create(&server, bad).await, 400, "invalid-field");
    }
    refused(
        create(
            &server,
            json!({"tenant": "1", "name": "T", "regex": "x", "order": 1}),
        )
        .await,
        400,
        "bad-request",
    );
    let message = refused(
        create(&server, json!({"tenant": "1", "name": "E", "regex": "  "})).await,
        400,
        "invalid-rule",
    );
    assert!(message.contains("rule E"), "{message}");

    // Stored rules now apply to tenant 1 instead of the built-in ones; not to acme.
    let r = test(&server, json!({"tenant": "1", "text": CARD})).await;
    assert_eq!(r["rules"], "stored");
    assert_eq!(r["text"], "card **11 **11 **11 **11, account *************");
    let rules: Vec<&str> = r["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["name"].as_str().expect("name"))
        .collect();
    assert_eq!(rules, ["Accounts", "Cards", "Cards", "Cards", "Cards"]);
    assert_eq!(list(&server, "1").await["applied"], "stored");
    assert_eq!(list(&server, "acme").await["applied"], "config");

    // One stored rule, or a draft, alone.
    let r = test(&server, json!({"ruleId": cards_id, "text": CARD})).await;
    assert_eq!(r["text"], "card **11 **11 **11 **11, account ACCT-**34**78");
    let r = test(
        &server,
        json!({"text": "ref AB-123", "rule": {"regex": r"AB-\d+", "spec": "all"}}),
    )
    .await;
    assert_eq!(
        (r["text"].as_str(), r["rules"].as_str()),
        (Some("ref ******"), Some("request"))
    );
    assert_eq!(r["hits"][0]["name"], "draft");
    let message = refused(
        call(
            &server,
            Method::POST,
            "/admin/v1/masking-rules/test",
            Some(json!({"text": "x", "rule": {"name": "Try", "regex": "(("}})),
        )
        .await,
        400,
        "invalid-rule",
    );
    assert!(message.starts_with("rule Try: "), "{message}");
    refused(
        call(
            &server,
            Method::POST,
            "/admin/v1/masking-rules/test",
            Some(json!({"text": "x", "tenant": "acme", "ruleId": cards_id})),
        )
        .await,
        404,
        "not-found",
    );

    // Reorder: the order asked for, or nothing.
    let (s, r) = call(
        &server,
        Method::POST,
        "/admin/v1/masking-rules/reorder",
        Some(json!({"tenant": "1", "ids": [cards_id, accounts_id]})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(names(&r), ["Cards", "Accounts"]);
    let r = test(&server, json!({"tenant": "1", "text": CARD})).await;
    assert_eq!(r["text"], "card **11 **11 **11 **11, account ACCT-**34**78");
    refused(
        call(
            &server,
            Method::POST,
            "/admin/v1/masking-rules/reorder",
            Some(json!({"tenant": "1", "ids": [cards_id]})),
        )
        .await,
        400,
        "invalid-field",
    );
    assert_eq!(names(&list(&server, "1").await), ["Cards", "Accounts"]);

    // Disable and enable.
    let path = format!("/admin/v1/masking-rules/{cards_id}/disable");
    let (s, r) = call(&server, Method::POST, &path, None).await;
    assert_eq!((s, &r["enabled"]), (200, &json!(false)), "{r}");
    let r = test(&server, json!({"tenant": "1", "text": CARD})).await;
    assert_eq!(r["text"], "card 4111 1111 1111 1111, account *************");
    let path = format!("/admin/v1/masking-rules/{cards_id}/enable");
    let (s, r) = call(&server, Method::POST, &path, None).await;
    assert_eq!((s, &r["enabled"]), (200, &json!(true)), "{r}");

    // Changes: omitted fields stay, a null spec returns to default-spec, a bad regex
    // changes nothing.
    let path = format!("/admin/v1/masking-rules/{cards_id}");
    let (s, r) = call(
        &server,
        Method::PUT,
        &path,
        Some(json!({"name": "Digits", "regex": r"\d{4}(?= )", "spec": null})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (&r["name"], &r["spec"], &r["position"], &r["tenant"]),
        (&json!("Digits"), &Value::Null, &json!(1), &json!("1"))
    );
    let message = refused(
        call(&server, Method::PUT, &path, Some(json!({"regex": "[z-a]"}))).await,
        400,
        "invalid-rule",
    );
    assert!(message.starts_with("rule Digits: "), "{message}");
    refused(
        call(
            &server,
            Method::PUT,
            &path,
            Some(json!({"name": "Accounts"})),
        )
        .await,
        409,
        "name-taken",
    );
    let (s, r) = call(&server, Method::GET, &path, None).await;
    assert_eq!((s, &r["regex"]), (200, &json!(r"\d{4}(?= )")), "{r}");

    // Deleting every stored rule brings the built-in ones back.
    for id in [&cards_id, &accounts_id] {
        let path = format!("/admin/v1/masking-rules/{id}");
        let (s, _) = call(&server, Method::DELETE, &path, None).await;
        assert_eq!(s, 204);
        refused(
            call(&server, Method::DELETE, &path, None).await,
            404,
            "not-found",
        );
        refused(
            call(&server, Method::GET, &path, None).await,
            404,
            "not-found",
        );
    }
    assert_eq!(list(&server, "1").await["applied"], "config");
    let r = test(&server, json!({"tenant": "1", "text": CARD})).await;
    assert_eq!(r["text"], "card **** **** **** ****, account ACCT-12345678");
    refused(
        call(&server, Method::GET, "/admin/v1/masking-rules", None).await,
        400,
        "invalid-field",
    );
    server.stop().await;
}

#[tokio::test]
async fn masking_rules_on_sqlite() {
    scenario(None).await;
}

#[tokio::test]
async fn masking_rules_on_postgres() {
    let Some(url) = crate::common::postgres_database("masking").await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return;
    };
    scenario(Some(url)).await;
}
