//! Listeners of their own in a cluster: two `parley serve` processes on one PostgreSQL
//! database with `webapi` and `esp` moved off the default listener. A request reaching B
//! for a chat A holds is forwarded to A's default listener (its advertise URL), which
//! answers forwarded requests for every door.

use serde_json::json;

use crate::common::process::ServerProcess;
use crate::common::{Client, API_KEY};
use crate::gms::{service_url_at, Gms};

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
