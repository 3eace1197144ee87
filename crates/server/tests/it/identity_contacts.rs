//! What verified visitor identity changes for contacts and agents: an unverified visitor
//! who claims a stored customer's email address (or identifier) gets none of that
//! customer's attributes or history, on any door; the verified customer does; customers
//! cannot mark themselves verified later; desktops show verified / unverified.

use std::time::Duration;

use parley_server::config::{IdentityConfig, IdentityMode, QueueConfig, Role, Secret};
use serde_json::{json, Value};

use crate::common::{TestServer, WAIT};
use crate::contacts::{admin_get, SAM_PASSWORD};
use crate::desk::{add_agent, token, Desk};
use crate::gms::Gms;
use crate::identity::{configure, recorded_user_data, sign, Door, DOORS, SECRET};

const EMAIL: &str = "victoria@example.test";
const PHONE: &str = "+1 555 0100 77";
const ACCOUNT: &str = "acct-victoria";

/// The contact id a chat is linked to, once the background link agrees with the user
/// data (`None`: no contact).
async fn contact_of(server: &TestServer, chat_id: &str) -> Option<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (s, r) = admin_get(server, &format!("/admin/v1/interactions/{chat_id}")).await;
        assert_eq!(s, 200, "{r}");
        let from_user_data = r["userData"]["ContactID"].as_str().map(str::to_owned);
        let linked = r["contactId"].as_str().map(str::to_owned);
        if from_user_data == linked {
            return linked;
        }
        assert!(tokio::time::Instant::now() < deadline, "{r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn contact_count(server: &TestServer) -> usize {
    let (s, r) = admin_get(server, "/admin/v1/contacts?limit=500").await;
    assert_eq!(s, 200, "{r}");
    r["contacts"].as_array().map_or(0, Vec::len)
}

/// The agent desktop's view of a chat (`GET /agent/v1/interactions/{id}`), as `sam`.
async fn desktop_view(server: &TestServer, chat_id: &str) -> Value {
    let (status, body) = crate::desk::login(server.addr, "sam", SAM_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let resp = reqwest::Client::new()
        .get(format!(
            "http://{}/agent/v1/interactions/{chat_id}",
            server.addr
        ))
        .bearer_auth(body["token"].as_str().expect("token"))
        .send()
        .await
        .expect("view");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("json")
}

/// Victoria's first, verified chat: it creates her contact with her phone number and
/// leaves a line in her history. Returns her contact id and that chat's id.
async fn victoria(server: &TestServer) -> (String, String) {
    let hash = sign(ACCOUNT);
    let keys = [
        ("userData[Identifier]", ACCOUNT),
        ("userData[IdentifierHash]", hash.as_str()),
        ("userData[EmailAddress]", EMAIL),
        ("userData[PhoneNumber]", PHONE),
        ("userData[FirstName]", "Victoria"),
        ("nickname", "Victoria"),
    ];
    let (s, r) = Gms::request(server, &keys).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let chat = Gms::from_reply(server, &r);
    let contact = contact_of(server, &chat.chat_id).await.expect("a contact");
    let (s, r) = chat
        .op("send", &[("message", "my card ends in 4242")])
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = chat.op("disconnect", &[]).await;
    assert_eq!(s, 200, "{r}");
    (contact, chat.chat_id)
}

#[tokio::test]
async fn an_unverified_claim_of_a_stored_email_pulls_up_nothing() {
    let server = TestServer::start(|c| configure(c, IdentityMode::Optional)).await;
    let (victoria_id, first_chat) = victoria(&server).await;
    assert_eq!(contact_count(&server).await, 1);
    let wrong = sign("acct-mallory");
    for door in DOORS {
        for claim in [
            vec![("EmailAddress", EMAIL)],
            vec![
                ("EmailAddress", EMAIL),
                ("Identifier", ACCOUNT),
                ("IdentifierHash", wrong.as_str()),
            ],
            vec![("PhoneNumber", PHONE), ("ContactID", victoria_id.as_str())],
        ] {
            let case = format!("{door:?} {claim:?}");
            let chat = door
                .start(&server, &claim)
                .await
                .expect("optional: chat goes on");
            // Nothing of Victoria's record the claim did not itself contain (her id is
            // removed from the claim too).
            let said = |v: &str| {
                claim
                    .iter()
                    .any(|(k, c)| *k != "ContactID" && c.contains(v))
            };
            for secret in ["555 0100", "Victoria", "4242", victoria_id.as_str()] {
                if said(secret) {
                    continue;
                }
                assert!(
                    !chat.reply.contains(secret),
                    "{case}: {secret} shown: {}",
                    chat.reply
                );
            }
            assert_eq!(contact_of(&server, &chat.chat_id).await, None, "{case}");
            let got = recorded_user_data(&server, &chat.chat_id).await;
            assert_eq!(got["ParleyIdentityVerified"], "false", "{case}: {got}");
            for key in ["FirstName", "Identifier", "ContactID"] {
                assert!(got.get(key).is_none(), "{case}: {key}: {got}");
            }
            let view = desktop_view(&server, &chat.chat_id).await;
            assert_eq!(
                view["interaction"]["identity"], "unverified",
                "{case}: {view}"
            );
            assert!(view["contact"].is_null(), "{case}: {view}");
            assert_eq!(view["history"], json!([]), "{case}: {view}");
        }
    }
    assert_eq!(contact_count(&server).await, 1, "no contact made of claims");

    // Victoria herself, verified, on each door: her record and her history.
    for door in DOORS {
        let hash = sign(ACCOUNT);
        let chat = door
            .start(
                &server,
                &[("Identifier", ACCOUNT), ("IdentifierHash", &hash)],
            )
            .await
            .expect("verified");
        assert_eq!(
            contact_of(&server, &chat.chat_id).await.as_deref(),
            Some(victoria_id.as_str()),
            "{door:?}"
        );
        let got = recorded_user_data(&server, &chat.chat_id).await;
        assert_eq!(
            got["PhoneNumber"], PHONE,
            "{door:?}: stored attributes: {got}"
        );
        let deadline = tokio::time::Instant::now() + WAIT;
        let view = loop {
            let v = desktop_view(&server, &chat.chat_id).await;
            let closed = v["history"].as_array().is_some_and(|h| {
                h.iter()
                    .any(|e| e["id"] == first_chat.as_str() && !e["closedAt"].is_null())
            });
            if closed {
                break v;
            }
            assert!(tokio::time::Instant::now() < deadline, "{v}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(view["interaction"]["identity"], "verified", "{view}");
        assert_eq!(view["contact"]["id"], victoria_id.as_str(), "{view}");
        assert_eq!(
            view["contact"]["attributes"]["Identifier"], ACCOUNT,
            "{view}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_customer_cannot_mark_itself_verified_later() {
    let server = TestServer::start(|c| configure(c, IdentityMode::Optional)).await;
    let (s, r) = Gms::request(&server, &[("nickname", "Mallory")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let chat = Gms::from_reply(&server, &r);
    let hash = sign(ACCOUNT);
    let (s, r) = chat
        .op(
            "updateData",
            &[
                ("userData[ParleyIdentityVerified]", "true"),
                ("userData[Identifier]", ACCOUNT),
                ("userData[IdentifierHash]", &hash),
                ("userData[Basket]", "3 items"),
            ],
        )
        .await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let deadline = tokio::time::Instant::now() + WAIT;
    let got = loop {
        let got = recorded_user_data(&server, &chat.chat_id).await;
        if got.get("Basket").is_some() {
            break got;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(got["ParleyIdentityVerified"], "false", "{got}");
    for key in ["Identifier", "IdentifierHash"] {
        assert!(got.get(key).is_none(), "{key}: {got}");
    }
    let view = desktop_view(&server, &chat.chat_id).await;
    assert_eq!(view["interaction"]["identity"], "unverified", "{view}");
    server.stop().await;
}

#[tokio::test]
async fn desktops_are_told_who_is_verified() {
    let server = TestServer::start(|c| {
        crate::desk::center(c, QueueConfig::default());
        add_agent(c, "anna", Role::Agent, 4);
        c.rate_limits.sessions_per_address = 0;
        c.identity.insert(
            "1".into(),
            IdentityConfig {
                mode: IdentityMode::Optional,
                secret: Some(Secret::new(SECRET)),
                accept_hash: true,
                token_max_age_s: 3600,
            },
        );
        // Tenant 2 does not check identities.
        c.endpoints
            .insert("2".into(), [("default".into(), "default".into())].into());
    })
    .await;
    let anna_token = token(server.addr, "anna").await;
    let mut anna = Desk::open(server.addr, &anna_token).await;
    anna.ok(json!({"type": "ready"})).await;
    let hash = sign(ACCOUNT);
    let cases = [
        (
            Door::Basic,
            vec![("Identifier", ACCOUNT), ("IdentifierHash", hash.as_str())],
            json!("verified"),
        ),
        (
            Door::Flex,
            vec![("Identifier", ACCOUNT)],
            json!("unverified"),
        ),
        (
            Door::Gms,
            vec![("EmailAddress", EMAIL)],
            json!("unverified"),
        ),
    ];
    for (door, user_data, shown) in cases {
        let chat = door.start(&server, &user_data).await.expect("chat");
        let offer = anna.offer().await;
        assert_eq!(offer["interactionId"], chat.chat_id.as_str(), "{offer}");
        assert_eq!(offer["identity"], shown, "{door:?}: {offer}");
        let assigned = anna.accept(&chat.chat_id).await;
        assert_eq!(assigned["identity"], shown, "{door:?}: {assigned}");
    }
    // A chat of tenant 2: identities are not checked, and the desktop says nothing.
    let mut c = server.client().await;
    c.register("Two", "CLIENT", 106).await;
    let reply = c
        .call(json!({"type": "createSession", "endpoint": "2:default",
                     "userData": {"Identifier": ACCOUNT}}))
        .await;
    let chat = crate::common::SessionInfo::from(reply).session_id;
    let offer = anna.offer().await;
    assert_eq!(offer["interactionId"], chat.as_str(), "{offer}");
    assert_eq!(offer["identity"], Value::Null, "{offer}");
    let assigned = anna.accept(&chat).await;
    assert_eq!(assigned["identity"], Value::Null, "{assigned}");
    server.stop().await;
}
