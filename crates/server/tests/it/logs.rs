//! What the process logs: connection counts, cut message text, and never a secret.

use parley_proto::basic::ServerFrame;
use serde_json::json;

use crate::common::process::ServerProcess;
use crate::common::API_KEY;

#[tokio::test]
async fn logs_show_counts_and_cut_text_but_never_secrets_or_hidden_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[settings]\nmessage-log-print-size = 5\nsession-password-enforce = true\n\n[security]\napi-keys = [\"{API_KEY}\"]\n"
    );
    // Message text is logged at trace level (after masking).
    let proc = ServerProcess::start(
        &config,
        dir.path(),
        &[("RUST_LOG", "debug,parley_server::actor=trace")],
    )
    .await;
    let mut customer = crate::common::Client::connect(proc.addr).await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer
        .create(json!({"EmailAddress": "pat.secret@example.com"}))
        .await;
    let password = info.password.clone().unwrap();
    let mut agent = crate::common::Client::connect(proc.addr).await;
    agent.register("Alex", "AGENT", 106).await;
    agent
        .join(
            &info.session_id,
            "ALL",
            json!({"GCTI_Chat_SessionPassword": password}),
        )
        .await;
    customer.say(&info.session_id, "supersecretmessage").await;
    agent
        .call(json!({"type": "release", "sessionId": info.session_id, "afterAction": "ForceClose"}))
        .await;
    customer
        .recv_where(|f| matches!(f, ServerFrame::SessionOver { .. }))
        .await;
    let secrets = [
        password.clone(),
        customer.secure_key.clone(),
        agent.secure_key.clone(),
        API_KEY.to_owned(),
    ];
    customer.close().await;
    agent.close().await;
    // Wait until the server has logged the closed connections.
    proc.wait_for_log("conns=0").await;
    let log = proc.output();
    assert!(
        log.contains("conns=1"),
        "connection counts are logged:\n{log}"
    );
    assert!(log.contains("conns=0"));
    assert!(
        log.contains("sessions=0"),
        "live sessions logged when one is deleted"
    );
    assert!(
        log.contains("super[truncated from size=18]"),
        "message text is cut:\n{log}"
    );
    assert!(!log.contains("supersecretmessage"));
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret appears in the log"
        );
    }
    assert!(
        !log.contains("pat.secret@example.com"),
        "hide-attached-data"
    );
}

#[tokio::test]
async fn agent_passwords_and_tokens_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let hash = crate::desk::hash(crate::desk::PASSWORD);
    let config = format!(
        "[agents.anna]\npassword-hash = \"{hash}\"\nnickname = \"Anna\"\n\n[webhooks]\nurls = [\"http://127.0.0.1:9/hook?token=hooksecret\"]\nsecret = \"webhook-secret-0123456789abcdef0123456789\"\n"
    );
    let proc = ServerProcess::start(&config, dir.path(), &[("RUST_LOG", "debug")]).await;
    let (status, _) = crate::desk::login(proc.addr, "anna", "wrong-password-xyz").await;
    assert_eq!(status, 401);
    let token = crate::desk::token(proc.addr, "anna").await;
    let mut desk = crate::desk::Desk::open(proc.addr, &token).await;
    desk.ok(json!({"type": "ready"})).await;
    let agent = crate::desk::agent_client(proc.addr, &token, "AGENT").await;
    let mut customer = crate::common::Client::connect(proc.addr).await;
    customer.register("Pat", "CLIENT", 106).await;
    customer.create(json!({})).await;
    desk.offer().await;
    agent.close().await;
    desk.close().await;
    customer.close().await;
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    while !proc.output().contains("desktop disconnected") && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let log = proc.output();
    assert!(log.contains("agent logged in"), "{log}");
    for secret in [
        token.as_str(),
        crate::desk::PASSWORD,
        "wrong-password-xyz",
        hash.as_str(),
        "webhook-secret-0123456789abcdef0123456789",
        "hooksecret",
    ] {
        assert!(
            !log.contains(secret),
            "a secret appears in the log: {secret}"
        );
    }
}

/// `RUST_LOG=trace`, every crate included: the keys of every door, agents' passwords and
/// tokens, customers' secure keys and session passwords, and the text of every message
/// (from a customer, an agent, a GMS client and a workflow) stay out of the log.
#[tokio::test]
async fn trace_level_shows_no_secret_and_no_message_text() {
    const ESP_KEY: &str = "esp-trace-key-0123456789abcdef0123456789";
    const ADMIN_KEY: &str = "admin-trace-key-0123456789abcdef01234567";
    let dir = tempfile::tempdir().unwrap();
    let hash = crate::desk::hash(crate::desk::PASSWORD);
    let config = format!(
        "[security]\napi-keys = [\"{API_KEY}\"]\nesp-api-keys = [\"{ESP_KEY}\"]\nadmin-api-keys = [\"{ADMIN_KEY}\"]\n\n[agents.anna]\npassword-hash = \"{hash}\"\nnickname = \"Anna\"\n"
    );
    let proc = ServerProcess::start(&config, dir.path(), &[("RUST_LOG", "trace")]).await;
    let http = reqwest::Client::new();

    // The basic protocol: a customer, an agent by API key, one by login token.
    let mut customer = crate::common::Client::connect(proc.addr).await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer.create(json!({})).await;
    customer
        .say(&info.session_id, "tracetextfromcustomer")
        .await;
    let mut agent = crate::common::Client::connect(proc.addr).await;
    agent.register("Alex", "AGENT", 106).await;
    agent
        .join(
            &info.session_id,
            "ALL",
            json!({"GCTI_Chat_SessionPassword": info.password.clone().unwrap_or_default()}),
        )
        .await;
    agent.say(&info.session_id, "tracetextfromagent").await;
    let token = crate::desk::token(proc.addr, "anna").await;
    let desk_agent = crate::desk::agent_client(proc.addr, &token, "AGENT").await;

    // GMS: a chat with a first message, then a send with the secure key.
    let root = crate::gms::service_url_at(proc.addr);
    let (status, chat) = crate::gms::post_form(
        &http,
        &root,
        &[("nickname", "Gus"), ("text", "tracetextfromgmsfirst")],
    )
    .await;
    assert_eq!(status, 200, "{chat}");
    let (chat_id, user_id, secure_key) = (
        chat["chatId"].as_str().unwrap().to_owned(),
        chat["userId"].as_str().unwrap().to_owned(),
        chat["secureKey"].as_str().unwrap().to_owned(),
    );
    let (status, _) = crate::gms::post_form(
        &http,
        &format!("{root}/{chat_id}/send"),
        &[
            ("userId", &user_id),
            ("secureKey", &secure_key),
            ("message", "tracetextfromgmssend"),
        ],
    )
    .await;
    assert_eq!(status, 200);

    // A workflow's message over ESP, and an admin request.
    let r = http
        .post(format!("http://{}/esp/Message", proc.addr))
        .bearer_auth(ESP_KEY)
        .json(&json!({"interactionId": info.session_id,
            "parameters": {"MessageText": "tracetextfromworkflow"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = http
        .get(format!("http://{}/admin/v1/agents", proc.addr))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    let secrets = [
        API_KEY.to_owned(),
        ESP_KEY.to_owned(),
        ADMIN_KEY.to_owned(),
        token.clone(),
        crate::desk::PASSWORD.to_owned(),
        hash.clone(),
        customer.secure_key.clone(),
        agent.secure_key.clone(),
        secure_key.clone(),
        info.password.clone().unwrap_or_default(),
    ];
    customer.close().await;
    agent.close().await;
    desk_agent.close().await;
    proc.wait_for_log("conns=0").await;
    let log = proc.output();
    assert!(
        log.contains("DEBUG"),
        "RUST_LOG=trace opened the log:\n{}",
        &log[..log.len().min(2000)]
    );
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let at = log.find(secret.as_str());
        assert!(
            at.is_none(),
            "a secret appears in the trace log: {}",
            around(&log, at)
        );
    }
    for text in [
        "tracetextfromcustomer",
        "tracetextfromagent",
        "tracetextfromgmsfirst",
        "tracetextfromgmssend",
        "tracetextfromworkflow",
    ] {
        let at = log.find(text);
        assert!(
            at.is_none(),
            "message text appears in the trace log: {}",
            around(&log, at)
        );
    }
}

/// The log line around a byte offset, for a failure message.
fn around(log: &str, at: Option<usize>) -> &str {
    let Some(at) = at else { return "" };
    let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
    &log[start..end]
}
