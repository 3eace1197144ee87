//! `/Counters` as the seed describes it (every combination of `metadata`, `content` and
//! `reset`, invalid values), `/metrics` parsed as Prometheus text with histograms that
//! move when chats happen, the token, and what counts as a request error.

use std::collections::BTreeSet;

use parley_server::config::{QueueConfig, Secret};
use prometheus_parse::{Scrape, Value as Prom};
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::desk::{self, agent_client, token, Desk};

/// A customer's new chat over the basic protocol; returns the client and the session id.
async fn chat(server: &TestServer) -> (crate::common::Client, String) {
    let mut c = server.client().await;
    c.register("Kip", "CLIENT", 106).await;
    let info = c.create(json!({"FirstName": "Kip"})).await;
    (c, info.session_id)
}

/// The names of the numeric values of a `/Counters` body, `group.name` inside a group
/// (the instance's state — `draining`, `limits` — is not a counter).
fn counter_names(body: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (k, v) in body.as_object().expect("object") {
        match v {
            Value::Number(_) => {
                names.insert(k.clone());
            }
            Value::Object(group) if k != "limits" => {
                for (n, v) in group {
                    assert!(v.is_number(), "{k}.{n} is a number");
                    names.insert(format!("{k}.{n}"));
                }
            }
            _ => {}
        }
    }
    names
}

#[tokio::test]
async fn counters_follow_every_parameter_of_the_seed() {
    let server = TestServer::start(|_| {}).await;
    let (_c, _) = chat(&server).await;

    // content=all (the default): every counter, zeros included, and the instance's state.
    let (status, all) = server.get_json("/Counters").await;
    assert_eq!(status, 200);
    assert_eq!(all["sessions-created"], 1, "{all}");
    assert_eq!(all["store-failures"], 0, "zeros are shown: {all}");
    assert_eq!(all["draining"], false);
    assert!(all["limits"].is_object());
    assert!(
        all["process-memory"].as_u64().is_some_and(|m| m > 0),
        "{all}"
    );
    // The lower-case path and a trailing slash are the same door.
    let lower = server.get_json("/counters/?content=all").await.1;
    assert_eq!(counter_names(&lower), counter_names(&all));

    // metadata=true: every counter, with its kind and description; content is ignored.
    for q in [
        "metadata=true",
        "metadata=yes&content=set",
        "metadata=TRUE&content=new",
    ] {
        let (status, meta) = server.get_json(&format!("/Counters?{q}")).await;
        assert_eq!(status, 200);
        let list = meta["counters"]
            .as_array()
            .unwrap_or_else(|| panic!("{q}: {meta}"));
        let names: BTreeSet<String> = list
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect();
        assert_eq!(
            names,
            counter_names(&all),
            "{q}: every counter is described"
        );
        assert!(list.iter().all(|c| {
            c["description"].as_str().is_some_and(|d| !d.is_empty())
                && (c["kind"] == "cumulative" || c["kind"] == "gauge")
        }));
        let created = list
            .iter()
            .find(|c| c["name"] == "sessions-created")
            .unwrap();
        assert_eq!(created["kind"], "cumulative");
        let mem = list.iter().find(|c| c["name"] == "process-memory").unwrap();
        assert_eq!(
            mem["kind"], "gauge",
            "process memory is the one that is not cumulative"
        );
    }

    // content=set: the counters that are not zero, nothing else.
    let set = server.get_json("/Counters?content=set").await.1;
    assert_eq!(set["sessions-created"], 1, "{set}");
    assert_eq!(set["sessions"], 1, "{set}");
    assert!(
        set.get("store-failures").is_none() && set.get("draining").is_none(),
        "{set}"
    );
    assert!(counter_names(&set).is_subset(&counter_names(&all)));
    assert!(set
        .as_object()
        .unwrap()
        .values()
        .all(|v| v.as_u64() != Some(0) && !v.is_boolean()));

    // content=new: what changed since the previous request (so the first shows the chat,
    // the next does not, until another chat is created).
    let first = server.get_json("/Counters?content=new").await.1;
    assert_eq!(
        first.get("sessions-created"),
        None,
        "all and set already saw it: {first}"
    );
    let (_c2, _) = chat(&server).await;
    let new = server.get_json("/Counters?content=new").await.1;
    assert_eq!(new["sessions-created"], 2, "{new}");
    assert_eq!(new["sessions"], 2, "{new}");
    assert!(new.get("store-failures").is_none(), "{new}");
    let again = server.get_json("/Counters?content=new").await.1;
    assert!(again.get("sessions-created").is_none(), "{again}");

    // Invalid values take the defaults: content=all, no metadata, no reset.
    let odd = server
        .get_json("/Counters?content=everything&metadata=maybe&reset=perhaps")
        .await
        .1;
    assert_eq!(odd["sessions-created"], 2, "nothing was reset: {odd}");
    assert_eq!(odd["store-failures"], 0);
    assert_eq!(odd["draining"], false);

    // reset=true resets first, then the rest applies: cumulative counters start again,
    // gauges (live sessions) stay.
    let after = server.get_json("/Counters?reset=true&content=set").await.1;
    assert!(after.get("sessions-created").is_none(), "{after}");
    assert_eq!(after["sessions"], 2, "{after}");
    let (_c3, _) = chat(&server).await;
    let meta = server.get_json("/Counters?metadata=true&reset=yes").await.1;
    assert!(
        meta["counters"].is_array(),
        "reset with metadata answers the metadata"
    );
    let all = server.get_json("/Counters").await.1;
    assert_eq!(
        all["sessions-created"], 0,
        "the metadata request reset them: {all}"
    );
    assert_eq!(all["sessions"], 3);
    let (_c4, _) = chat(&server).await;
    assert_eq!(
        server.get_json("/Counters?reset=false").await.1["sessions-created"],
        1
    );
    // Prometheus' counters are not reset: they count since the start.
    let text = metrics_text(server.addr, None).await;
    assert_eq!(
        sample(&scrape(&text), "parley_sessions_created_total", &[]),
        4.0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_path_no_door_serves_is_not_a_request_error() {
    let server = TestServer::start(|_| {}).await;
    let before = server.get_json("/Counters").await.1["request-errors"].clone();
    for path in ["/favicon.ico", "/robots.txt", "/wp-login.php"] {
        let status = reqwest::get(format!("http://{}{path}", server.addr))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(
        server.get_json("/Counters").await.1["request-errors"],
        before
    );
    // A refused request to a customer door still counts.
    let status = reqwest::Client::new()
        .post(format!(
            "http://{}/genesys/2/chat/customer-support/c-nope/refresh",
            server.addr
        ))
        .form(&[("secureKey", "not-a-key"), ("userId", "nobody")])
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_client_error(), "{status}");
    let after = server.get_json("/Counters").await.1["request-errors"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before.as_u64().unwrap() + 1);
    // The 404s show in /metrics under one route label, not one per path.
    let s = scrape(&metrics_text(server.addr, None).await);
    let unmatched = histogram_count(
        &s,
        "parley_http_request_duration_seconds",
        &[("route", "unmatched"), ("status", "404")],
    );
    assert_eq!(unmatched, 3.0);
    server.stop().await;
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_the_histograms_move_with_chats() {
    let server = TestServer::start(|c| desk::center(c, QueueConfig::default())).await;
    let before = scrape(&metrics_text(server.addr, None).await);
    let delivered_before = histogram_count(&before, "parley_delivery_latency_seconds", &[]);
    assert_eq!(
        histogram_count(&before, "parley_queue_wait_seconds", &[]),
        0.0
    );

    let anna = token(server.addr, "anna").await;
    let mut desk = Desk::open(server.addr, &anna).await;
    desk.ok(json!({"type": "ready"})).await;
    desk.recv_where(|f| f["type"] == "status" && f["status"] == "ready")
        .await;
    let (mut customer, s) = chat(&server).await;
    assert_eq!(desk.offer().await["interactionId"], s);
    desk.accept(&s).await;
    let mut agent = agent_client(server.addr, &anna, "AGENT").await;
    agent.join(&s, "ALL", json!({})).await;
    agent.say(&s, "Hello").await;
    customer
        .event_where(|e| e.text.as_deref() == Some("Hello"))
        .await;

    let after = scrape(&metrics_text(server.addr, None).await);
    assert!(histogram_count(&after, "parley_delivery_latency_seconds", &[]) > delivered_before);
    assert!(histogram_count(&after, "parley_commit_duration_seconds", &[]) > 0.0);
    assert!(histogram_count(&after, "parley_commit_batch_size", &[]) > 0.0);
    assert_eq!(
        histogram_count(&after, "parley_queue_wait_seconds", &[]),
        1.0
    );
    assert_eq!(
        histogram_count(&after, "parley_offer_to_accept_seconds", &[]),
        1.0
    );
    // HTTP requests by route template and status.
    assert_eq!(
        histogram_count(
            &after,
            "parley_http_request_duration_seconds",
            &[
                ("route", "/agent/v1/login"),
                ("status", "200"),
                ("method", "POST")
            ]
        ),
        1.0
    );
    // The KPI counters and gauges, under their Prometheus names.
    assert_eq!(sample(&after, "parley_sessions_created_total", &[]), 1.0);
    assert_eq!(sample(&after, "parley_sessions", &[]), 1.0);
    assert!(sample(&after, "parley_events_total", &[]) >= 3.0);
    assert!(after
        .docs
        .get("parley_sessions_created_total")
        .is_some_and(|d| !d.is_empty()));
    // Chats per tenant, queue and stage, published by the router (at most once a second).
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let s = scrape(&metrics_text(server.addr, None).await);
        let labels = [("tenant", "1"), ("queue", "default"), ("stage", "handled")];
        if s.samples
            .iter()
            .any(|x| x.metric == "parley_chats" && has(x, &labels) && value(x) == 1.0)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no handled chat in parley_chats"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn the_token_guards_the_counters_and_metrics_but_not_health_checks() {
    let server =
        TestServer::start(|c| c.health_service.token = Some(Secret::new("kpi-token-0123"))).await;
    let http = reqwest::Client::new();
    for path in ["/Counters", "/counters?content=set", "/metrics"] {
        let url = format!("http://{}{path}", server.addr);
        assert_eq!(http.get(&url).send().await.unwrap().status(), 401, "{path}");
        let wrong = http.get(&url).bearer_auth("nope").send().await.unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let right = http
            .get(&url)
            .bearer_auth("kpi-token-0123")
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200, "{path}");
    }
    assert_eq!(server.get_json("/healthz").await.0, 200);
    assert_eq!(server.get_json("/readyz").await.0, 200);
    assert!(metrics_text(server.addr, Some("kpi-token-0123"))
        .await
        .contains("# TYPE"));
    server.stop().await;
}

/// `/metrics`' body (asserting 200).
pub async fn metrics_text(addr: std::net::SocketAddr, token: Option<&str>) -> String {
    let mut req = reqwest::Client::new().get(format!("http://{addr}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("metrics");
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    resp.text().await.expect("text")
}

/// The text, parsed by a Prometheus text-format parser.
pub fn scrape(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text")
}

fn has(s: &prometheus_parse::Sample, labels: &[(&str, &str)]) -> bool {
    labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
}

fn value(s: &prometheus_parse::Sample) -> f64 {
    match &s.value {
        Prom::Counter(v) | Prom::Gauge(v) | Prom::Untyped(v) => *v,
        other => panic!("not a plain value: {other:?}"),
    }
}

/// The value of the sample `metric` with `labels`.
pub fn sample(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found = s
        .samples
        .iter()
        .find(|x| x.metric == metric && has(x, labels));
    value(found.unwrap_or_else(|| panic!("no {metric} {labels:?}")))
}

/// How many observations the histogram `metric` with `labels` holds (its `+Inf` bucket),
/// summed over the series that match; 0 when there is none.
pub fn histogram_count(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == metric && has(x, labels))
        .map(|x| match &x.value {
            Prom::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count),
            other => panic!("{metric} is not a histogram: {other:?}"),
        })
        .sum()
}
