//! What the process logs for operators: the periodic KPI counter log of
//! `[health-service]`, JSON lines with request and connection ids, one line per request
//! without query strings, failed logins with the client's real address, and the health
//! listener serving the counters.

use serde_json::Value;

use crate::common::process::ServerProcess;
use crate::common::Client;
use crate::desk;

/// The JSON log lines of the output (stdout's `parley listening …` lines are not logs).
fn json_lines(proc: &ServerProcess) -> Vec<Value> {
    proc.output()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The counters of each `KPI counters` line.
fn kpi_lines(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l["fields"]["message"] == "KPI counters")
        .map(|l| {
            let text = l["fields"]["counters"].as_str().expect("counters field");
            serde_json::from_str(text).expect("counters are JSON")
        })
        .collect()
}

#[tokio::test]
async fn the_counter_log_prints_every_counter_each_period_when_told_always() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[health-service]\nlog-output-timeout = 1\nlog-output-proviso = \"always\"\nlog-output-content = \"all\"\n";
    let proc = ServerProcess::start(config, dir.path(), &[]).await;
    let mut c = Client::connect(proc.addr).await;
    c.register("Kip", "CLIENT", 106).await;
    c.create(serde_json::json!({})).await;
    assert!(
        proc.wait_for_log("\"sessions-created\":1").await,
        "a print shows the chat:\n{}",
        proc.output()
    );
    let log = proc.output();
    let line = log
        .lines()
        .find(|l| l.contains("KPI counters") && l.contains("\"sessions-created\":1"))
        .unwrap();
    // content = all: zeros too, and the groups.
    assert!(line.contains("\"store-failures\":0"), "{line}");
    assert!(line.contains("\"routing\":{"), "{line}");
    // always: a print every period even when nothing changed (at least two in all).
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    while proc.output().matches("KPI counters").count() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "prints keep coming:\n{}",
            proc.output()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn json_logs_carry_ids_one_line_per_request_the_counter_log_and_failed_logins() {
    let dir = tempfile::tempdir().unwrap();
    let hash = desk::hash(desk::PASSWORD);
    let config = format!(
        "[server]\nlog-format = \"json\"\n\n\
         [web]\ntrusted-proxies = [\"127.0.0.1\"]\n\n\
         [health-service]\nlog-output-timeout = 1\nlog-output-proviso = \"update\"\nlog-output-content = \"set\"\n\n\
         [listeners.health]\nlisten = \"127.0.0.1:0\"\n\n\
         [agents.anna]\npassword-hash = \"{hash}\"\nnickname = \"Anna\"\nqueues = [\"default\"]\n"
    );
    let proc = ServerProcess::start(&config, dir.path(), &[]).await;
    let health = proc.port("health").await;
    let http = reqwest::Client::new();

    // The counters and /metrics are on the health listener, not the default one.
    for path in ["/Counters", "/metrics"] {
        let on_health = http
            .get(format!("http://{health}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(on_health.status(), 200, "{path}");
        let on_default = http
            .get(format!("http://{}{path}", proc.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(on_default.status(), 404, "{path}");
    }

    // A request whose query string carries a secret, and its id in the response.
    let resp = http
        .get(format!(
            "http://{health}/Counters?content=set&secureKey=sk-very-secret-42"
        ))
        .send()
        .await
        .unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    // A failed login from a client behind the trusted proxy.
    let (status, _) = {
        let r = http
            .post(format!("http://{}/agent/v1/login", proc.addr))
            .header("X-Forwarded-For", "203.0.113.77")
            .json(&serde_json::json!({"login": "anna", "password": "wrong-password-x"}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 401);
    // A chat over the basic protocol: its connection's lines carry its upgrade's id.
    let mut c = Client::connect(proc.addr).await;
    c.register("Kip", "CLIENT", 106).await;
    c.create(serde_json::json!({})).await;
    assert!(
        proc.wait_for_log("agent login failed").await,
        "{}",
        proc.output()
    );
    assert!(
        proc.wait_for_log("\\\"sessions-created\\\":1").await,
        "{}",
        proc.output()
    );

    let lines = json_lines(&proc);
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    let log = proc.output();
    assert!(
        !log.contains("sk-very-secret-42"),
        "no query string is logged:\n{log}"
    );
    assert!(!log.contains("wrong-password-x"), "no password is logged");

    // One line per request: method, route template, status, duration, in its span.
    let line = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request" && l["span"]["id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("a line for request {request_id}:\n{log}"));
    assert_eq!(line["fields"]["method"], "GET");
    assert_eq!(line["fields"]["route"], "/Counters");
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["duration_ms"].is_number());

    // The failed login names the client the proxy forwarded for.
    let failed = lines
        .iter()
        .find(|l| l["fields"]["message"] == "agent login failed")
        .unwrap();
    assert_eq!(failed["fields"]["client"], "203.0.113.77");
    assert_eq!(failed["level"], "WARN");

    // The WebSocket connection's lines are inside its upgrade request's span.
    let opened = lines
        .iter()
        .find(|l| l["fields"]["message"] == "connection opened")
        .unwrap_or_else(|| panic!("connection opened:\n{log}"));
    let spans = opened["spans"].as_array().expect("spans");
    assert!(
        spans
            .iter()
            .any(|s| s["name"] == "request" && s["id"].is_string()),
        "{opened}"
    );
    assert!(spans.iter().any(|s| s["name"] == "conn"), "{opened}");

    // The counter log: content = set shows no zeros.
    let kpis = kpi_lines(&lines);
    let with_chat = kpis
        .iter()
        .find(|k| k["sessions-created"] == 1)
        .unwrap_or_else(|| panic!("{log}"));
    assert!(with_chat.get("store-failures").is_none(), "{with_chat}");
    assert!(with_chat["logins-failed"] == 1, "{with_chat}");
}
