//! Listeners of their own in a cluster: two `parley serve` processes on one PostgreSQL
//! database with `webapi` and `esp` moved off the default listener. A request reaching B
//! for a chat A holds is forwarded to A's default listener (its advertise URL), which
//! answers forwarded requests for every door.

use serde_json::json;

use super::{https_client, TestCert, TlsProcess, Wss};
use crate::common::process::ServerProcess;
use crate::common::{Client, API_KEY};
use crate::gms::{post_form, service_url_at, Gms};

const ESP_KEY: &str = "esp-listeners-key-0123456789abcdef0123456789";

#[tokio::test]
async fn forwarding_reaches_doors_moved_to_listeners_of_their_own() {
    let Some(url) = crate::common::postgres_database("tls_listeners").await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return;
    };
    let config = format!(
        "[security]\napi-keys = [\"{API_KEY}\"]\nesp-api-keys = [\"{ESP_KEY}\"]\n\
         [server]\nstore-url = \"{url}\"\n[settings]\nsession-lease-timeout = 60\n\
         [listeners.webapi]\nlisten = \"127.0.0.1:0\"\n\
         [listeners.esp]\nlisten = \"127.0.0.1:0\"\n"
    );
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let a = ServerProcess::start(&config, dirs[0].path(), &[]).await;
    let b = ServerProcess::start(&config, dirs[1].path(), &[]).await;
    let (a_web, b_web, b_esp) = (
        a.port("webapi").await,
        b.port("webapi").await,
        b.port("esp").await,
    );

    // A GMS chat on A's webapi listener, its agent on A's default listener.
    let (s, r) = Gms::request_at(a_web, &[("nickname", "Ada")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let mut gms = Gms::from_reply_at(a_web, &r);
    let mut agent = Client::connect(a.addr).await;
    agent.register("Alex", "AGENT", 106).await;
    agent.join(&gms.chat_id, "ALL", json!({})).await;

    // GMS through B's webapi listener, ESP through B's esp listener: both forwarded.
    gms.base = service_url_at(b_web);
    let (s, r) = gms.op("send", &[("message", "through B")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    agent
        .event_where(|e| e.text.as_deref() == Some("through B"))
        .await;
    let r = reqwest::Client::new()
        .post(format!("http://{b_esp}/esp/Message"))
        .bearer_auth(ESP_KEY)
        .json(&json!({"interactionId": gms.chat_id,
            "parameters": {"MessageText": "from the workflow", "Nickname": "Bot"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    agent
        .event_where(|e| e.text.as_deref() == Some("from the workflow"))
        .await;

    // Without the signed header, the default listener still has no ESP door.
    let r = reqwest::Client::new()
        .post(format!("http://{}/esp/Message", a.addr))
        .bearer_auth(ESP_KEY)
        .json(&json!({"interactionId": gms.chat_id, "parameters": {"MessageText": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // A forged forwarding header gets the channel's refusal, not a door.
    let r = reqwest::Client::new()
        .post(format!("http://{}/esp/Message", a.addr))
        .header(parley_server::cluster::HEADER, "forged")
        .bearer_auth(ESP_KEY)
        .json(&json!({"interactionId": gms.chat_id, "parameters": {"MessageText": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

/// Instances whose certificates come from a company's own CA forward to each other over
/// HTTPS (GMS) and WSS (basic protocol) when `[cluster] ca-file` names that CA; an
/// instance without it refuses the peer's certificate and forwards nothing.
#[tokio::test]
async fn forwarding_over_tls_trusts_the_private_ca_of_ca_file() {
    let Some(url) = crate::common::postgres_database("tls_private_ca").await else {
        eprintln!("skipped: PARLEY_TEST_POSTGRES_URL unset");
        return;
    };
    let cert = TestCert::from_private_ca();
    let files = tempfile::tempdir().unwrap();
    let (crt, key) = cert.write(files.path(), "server");
    let ca = files.path().join("ca.pem");
    std::fs::write(&ca, cert.ca_pem.as_ref().unwrap()).unwrap();
    let base = format!(
        "[security]\napi-keys = [\"{API_KEY}\"]\n[server]\nstore-url = \"{url}\"\n\
         [settings]\nsession-lease-timeout = 60\n{}",
        super::tls_section(&crt, &key)
    );
    let with_ca = format!(
        "{base}[cluster]\nca-file = {:?}\n",
        ca.display().to_string()
    );
    let dirs = [(); 3].map(|_| tempfile::tempdir().unwrap());
    let a = TlsProcess::start(&with_ca, dirs[0].path(), &cert, 0).await;
    let b = TlsProcess::start(&with_ca, dirs[1].path(), &cert, 0).await;
    let c = TlsProcess::start(&base, dirs[2].path(), &cert, 0).await;
    let https = |addr| service_url_at(addr).replacen("http://", "https://", 1);

    // A GMS chat on A.
    let (s, r) = post_form(&https_client(&cert), &https(a.addr), &[("nickname", "Ada")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let mut gms = Gms::from_reply_at(a.addr, &r);
    gms.http = https_client(&cert);

    // Through B, forwarded to A over HTTPS.
    gms.base = https(b.addr);
    let (s, r) = gms.op("send", &[("message", "through B")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    // An agent connecting to B: its WebSocket is piped to A over WSS.
    let mut agent = Wss::connect(b.addr, &[&cert]).await;
    let r = agent
        .call(
            json!({"type": "register", "nickname": "Alex", "partyType": "AGENT",
            "clientVersion": 106, "credentials": {"apiKey": API_KEY}}),
        )
        .await;
    assert_eq!(r["type"], "registered", "{r}");
    let r = agent
        .call(
            json!({"type": "join", "sessionId": gms.chat_id, "visibility": "ALL", "userData": {}}),
        )
        .await;
    assert_eq!(r["type"], "sessionInfo", "{r}");
    super::say(&mut agent, &gms.chat_id, "hello through B").await;
    gms.base = https(a.addr);
    let (s, r) = gms.op("refresh", &[("transcriptPosition", "1")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let texts: Vec<&str> = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"through B") && texts.contains(&"hello through B"),
        "{texts:?}"
    );

    // C does not trust the private CA: it cannot reach A, and says so rather than
    // answering for a chat it does not hold.
    gms.base = https(c.addr);
    let (s, r) = gms.op("send", &[("message", "through C")]).await;
    assert_ne!(r["statusCode"].as_i64(), Some(0), "{s} {r}");
    assert_eq!(s, 503, "{r}");
    let log = c.output();
    assert!(
        log.contains("could not forward") && log.contains("UnknownIssuer"),
        "C logs why it could not forward: {log}"
    );
}
