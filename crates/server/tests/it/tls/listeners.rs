//! Doors on listeners of their own (`[listeners.<port-id>]`), each with its own
//! certificate: ESP moved off the default listener is served on its own and nowhere else;
//! the ui listener serves the pages, the desktop's doors and `/basic`.

use serde_json::{json, Value};

use super::{
    customer_with_chat, https_client, tls_connect, tls_section, TestCert, TlsProcess, Wss,
};

const ESP_KEY: &str = "esp-key-0123456789abcdef0123456789abcdef";

async fn post_esp(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    chat: &str,
) -> (u16, Value) {
    let resp = client
        .post(format!("https://{addr}/esp/Message"))
        .bearer_auth(ESP_KEY)
        .json(&json!({"interactionId": chat, "parameters": {"MessageText": "from a workflow"}}))
        .send()
        .await
        .expect("https post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn esp_on_its_own_listener_is_served_there_only_with_its_own_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (main, esp) = (TestCert::new(), TestCert::new());
    let (cert, key) = main.write(dir.path(), "main");
    let (esp_cert, esp_key) = esp.write(dir.path(), "esp");
    let config = format!(
        "{}\n[security]\nesp-api-keys = [{ESP_KEY:?}]\n\n[listeners.esp]\nlisten = \
         \"127.0.0.1:0\"\ncert-file = {:?}\nkey-file = {:?}\n",
        tls_section(&cert, &key),
        esp_cert.display().to_string(),
        esp_key.display().to_string(),
    );
    let server = TlsProcess::start(&config, dir.path(), &main, 1).await;
    let esp_addr = server.port("esp");
    assert_ne!(esp_addr, server.addr);

    // Each listener shows its own certificate.
    assert_eq!(tls_connect(server.addr, &[&main, &esp]).await.1, main.der);
    assert_eq!(tls_connect(esp_addr, &[&main, &esp]).await.1, esp.der);

    // A customer's chat on the default listener (the basic protocol stays there).
    let mut ws = Wss::connect(server.addr, &[&main]).await;
    let chat = customer_with_chat(&mut ws).await;

    // ESP: 404 on the default listener, served on its own.
    let (status, body) = post_esp(&https_client(&main), server.addr, &chat).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "not-found", "{body}");
    let (status, body) = post_esp(&https_client(&esp), esp_addr, &chat).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "ok", "{body}");

    // The ESP listener serves nothing else; health stays on the default one.
    let resp = https_client(&esp)
        .get(format!("https://{esp_addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let resp = https_client(&main)
        .get(format!("https://{}/healthz", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // The startup log names each listener and its doors.
    let out = server.output();
    assert!(out.contains("doors=default, webapi, health, ui"), "{out}");
    assert!(out.contains("doors=esp"), "{out}");
}

#[test]
fn listeners_are_checked_when_the_configuration_loads() {
    use parley_server::config::Config;
    for (toml, want) in [
        (
            "[listeners.espp]\nlisten = \"127.0.0.1:9001\"\n",
            "[listeners.espp]: unknown port id; port ids are webapi, esp, health, ui; did you mean [listeners.esp]?",
        ),
        (
            "[listeners.default]\nlisten = \"127.0.0.1:9001\"\n",
            "[listeners.default]: the default listener is [server] listen",
        ),
        (
            "[listeners.esp]\ncert-file = \"a.pem\"\nkey-file = \"b.pem\"\n",
            "[listeners.esp] listen: missing",
        ),
        (
            "[listeners.esp]\nlisten = \"127.0.0.1:8080\"\n",
            "[listeners.esp] listen = \"127.0.0.1:8080\": is the address of [server] listen",
        ),
        (
            "[listeners.ui]\nlisten = \"127.0.0.1:9001\"\nkey-file = \"b.pem\"\n",
            "[listeners.ui] cert-file: missing; key-file is set",
        ),
    ] {
        let err = Config::from_toml_str(toml).expect_err(toml).to_string();
        assert!(err.contains(want), "{toml}:\n{err}");
    }
    let c = Config::from_toml_str(
        "[tls]\ncert-file = \"a.pem\"\nkey-file = \"b.pem\"\n\
         [listeners.health]\nlisten = \"127.0.0.1:0\"\n\
         [listeners.esp]\nlisten = \"127.0.0.1:0\"\ncert-file = \"c.pem\"\nkey-file = \"d.pem\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let plans = c.listener_plans();
    let names: Vec<_> = plans.iter().map(|p| p.port.as_str()).collect();
    assert_eq!(names, ["default", "esp", "health"]);
    let certs: Vec<_> = plans
        .iter()
        .map(|p| p.tls.as_ref().map(|t| t.cert.display().to_string()))
        .collect();
    // A listener without files of its own uses [tls]'s.
    assert_eq!(
        certs,
        [
            Some("a.pem".into()),
            Some("c.pem".into()),
            Some("a.pem".into())
        ]
    );
}

#[tokio::test]
async fn the_ui_listener_serves_the_pages_and_the_desktop_s_sockets_in_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[listeners.ui]\nlisten = \"127.0.0.1:0\"\n";
    let server = crate::common::process::ServerProcess::start(config, dir.path(), &[]).await;
    let ui = server.port("ui").await;
    let status = |addr, path: &'static str| async move {
        reqwest::get(format!("http://{addr}{path}"))
            .await
            .expect("http get")
            .status()
            .as_u16()
    };
    // The pages and the desktop's doors are on the ui listener only.
    assert_eq!(status(ui, "/web/desktop.html").await, 200);
    assert_eq!(status(server.addr, "/web/desktop.html").await, 404);
    let login = reqwest::Client::new()
        .post(format!("http://{}/agent/v1/login", server.addr))
        .json(&json!({"login": "nobody", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 404);
    // Health stays on the default listener.
    assert_eq!(status(ui, "/healthz").await, 404);
    assert_eq!(status(server.addr, "/healthz").await, 200);
    // The desktop speaks the basic protocol to its own address; so do other clients to
    // the default listener.
    for addr in [ui, server.addr] {
        let mut c = crate::common::Client::connect(addr).await;
        c.register("Carla", "CLIENT", 106).await;
    }
}
