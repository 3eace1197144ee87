//! Verified visitor identity (`[identity.<tenant>]`, docs/security.md) end to end: each
//! mode (off, optional, required) with a good hash, a good token, a wrong hash, no
//! signature, an expired token and a forged token, on the basic protocol, flex and GMS
//! v2. The contact consequences (an unverified claim of a stored customer's email pulls
//! up nothing) and what agents see are in `identity_contacts.rs`.

use hmac::{Hmac, Mac};
use jsonwebtoken::{EncodingKey, Header};
use parley_proto::basic::ServerFrame;
use parley_server::config::{Config, IdentityConfig, IdentityMode, Secret};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::TestServer;
use crate::contacts::admin_get;
use crate::flex::post;
use crate::gms::Gms;

/// The secret of tenant 1 in these tests.
pub const SECRET: &str = "identity-test-secret-0123456789abcdef";

/// The test config of `crate::contacts` (admin key, queues, supervisor `sam`), no
/// per-address limits (the matrix starts many chats from one address), and tenant 1
/// checking identities in `mode`.
pub fn configure(c: &mut Config, mode: IdentityMode) {
    crate::contacts::configure(c);
    c.rate_limits.sessions_per_address = 0;
    c.rate_limits.logins_per_address = 0;
    c.identity.insert(
        "1".into(),
        IdentityConfig {
            mode,
            secret: Some(Secret::new(SECRET)),
            accept_hash: true,
            token_max_age_s: 3600,
        },
    );
}

/// Hex HMAC-SHA256 of `identifier` under `secret`, as a website computes it.
pub fn sign_with(secret: &str, identifier: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(identifier.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// [`sign_with`] the test secret.
pub fn sign(identifier: &str) -> String {
    sign_with(SECRET, identifier)
}

/// An HS256 token for `identifier` expiring `exp_in` seconds from now (negative: past).
pub fn token_with(secret: &str, identifier: &str, exp_in: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let exp = i64::try_from(now).expect("now") + exp_in;
    jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": identifier, "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

/// How a chat is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    Basic,
    Flex,
    Gms,
}

pub const DOORS: [Door; 3] = [Door::Basic, Door::Flex, Door::Gms];

/// A started chat: its id and the customer's own reply, as text (to look for what the
/// customer must not see).
pub struct Started {
    pub chat_id: String,
    pub reply: String,
}

impl Door {
    /// Starts a customer chat with `user_data`: the chat, or the refusal's error code
    /// (checking the HTTP status of a refusal is 403 on flex and GMS).
    pub async fn start(
        self,
        server: &TestServer,
        user_data: &[(&str, &str)],
    ) -> Result<Started, u64> {
        let ud: serde_json::Map<String, Value> = user_data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        match self {
            Door::Basic => {
                let mut c = server.client().await;
                c.register("Visitor", "CLIENT", 106).await;
                let reply = c
                    .call(json!({"type": "createSession", "userData": ud}))
                    .await;
                match reply {
                    ServerFrame::SessionInfo { ref session_id, .. } => Ok(Started {
                        chat_id: session_id.clone(),
                        reply: format!("{reply:?}"),
                    }),
                    ServerFrame::Error { code, .. } => Err(u64::from(code.number())),
                    other => panic!("createSession: {other:?}"),
                }
            }
            Door::Flex => {
                let http = reqwest::Client::new();
                let base = format!("http://{}", server.addr);
                let (s, login) = post(&http, &base, "login", json!({"nickname": "Visitor"})).await;
                assert_eq!(s, 200, "{login}");
                let body = json!({"userId": login["userId"], "secureKey": login["secureKey"],
                                  "userData": ud});
                let (s, r) = post(&http, &base, "join", body).await;
                match s {
                    200 => Ok(Started {
                        chat_id: r["sessionId"].as_str().expect("sessionId").to_owned(),
                        reply: r.to_string(),
                    }),
                    _ => {
                        assert_eq!(s, 403, "{r}");
                        Err(r["error"]["code"].as_u64().expect("code"))
                    }
                }
            }
            Door::Gms => {
                let keys: Vec<String> = user_data
                    .iter()
                    .map(|(k, _)| format!("userData[{k}]"))
                    .collect();
                let mut pairs: Vec<(&str, &str)> = vec![("nickname", "Visitor")];
                pairs.extend(
                    keys.iter()
                        .map(String::as_str)
                        .zip(user_data.iter().map(|p| p.1)),
                );
                let (s, r) = Gms::request(server, &pairs).await;
                match s {
                    200 => Ok(Started {
                        chat_id: Gms::from_reply(server, &r).chat_id,
                        reply: r.to_string(),
                    }),
                    _ => {
                        crate::gms::assert_error(s, &r, 403, 1015);
                        Err(1015)
                    }
                }
            }
        }
    }
}

/// The user data a chat's interaction record carries.
pub async fn recorded_user_data(server: &TestServer, chat_id: &str) -> Value {
    let (s, r) = admin_get(server, &format!("/admin/v1/interactions/{chat_id}")).await;
    assert_eq!(s, 200, "{r}");
    r["userData"].clone()
}

/// What a visitor presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    Hash,
    Token,
    WrongHash,
    Missing,
    Expired,
    Forged,
}

const PROOFS: [Proof; 6] = [
    Proof::Hash,
    Proof::Token,
    Proof::WrongHash,
    Proof::Missing,
    Proof::Expired,
    Proof::Forged,
];

impl Proof {
    fn good(self) -> bool {
        matches!(self, Proof::Hash | Proof::Token)
    }

    /// The user data presenting this proof of `identifier`.
    fn user_data(self, identifier: &str) -> Vec<(&'static str, String)> {
        let id = ("Identifier", identifier.to_owned());
        match self {
            Proof::Hash => vec![id, ("IdentifierHash", sign(identifier))],
            Proof::Token => vec![("IdentityToken", token_with(SECRET, identifier, 600))],
            Proof::WrongHash => vec![id, ("IdentifierHash", sign("somebody-else"))],
            Proof::Missing => vec![id],
            Proof::Expired => vec![("IdentityToken", token_with(SECRET, identifier, -60))],
            Proof::Forged => vec![(
                "IdentityToken",
                token_with("not-the-tenant-secret-0123456789abcdef", identifier, 600),
            )],
        }
    }
}

/// Every door and every proof against a server in `mode`; returns the counters after.
async fn matrix(mode: IdentityMode) -> Value {
    let server = TestServer::start(|c| configure(c, mode)).await;
    for door in DOORS {
        for proof in PROOFS {
            let identifier = format!("acct-{door:?}-{proof:?}");
            let mut ud = proof.user_data(&identifier);
            ud.push(("Product", "cards".to_owned()));
            let pairs: Vec<(&str, &str)> = ud.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let case = format!("{mode:?} {door:?} {proof:?}");
            let started = door.start(&server, &pairs).await;
            if mode == IdentityMode::Required && !proof.good() {
                assert_eq!(started.err(), Some(1015), "{case}: refused");
                continue;
            }
            let started = started.unwrap_or_else(|code| panic!("{case}: refused with {code}"));
            let got = recorded_user_data(&server, &started.chat_id).await;
            assert_eq!(got["Product"], "cards", "{case}: {got}");
            for never in ["IdentifierHash", "IdentityToken"] {
                assert!(got.get(never).is_none(), "{case}: {never} kept: {got}");
                assert!(
                    !started.reply.contains(never),
                    "{case}: {never} echoed: {}",
                    started.reply
                );
            }
            let verified = got.get("ParleyIdentityVerified").and_then(Value::as_str);
            match mode {
                IdentityMode::Off => {
                    assert_eq!(verified, None, "{case}: {got}");
                    let sent = pairs.iter().any(|(k, _)| *k == "Identifier");
                    assert_eq!(got.get("Identifier").is_some(), sent, "{case}: {got}");
                }
                _ if proof.good() => {
                    assert_eq!(verified, Some("true"), "{case}: {got}");
                    assert_eq!(got["Identifier"], identifier.as_str(), "{case}: {got}");
                }
                _ => {
                    assert_eq!(verified, Some("false"), "{case}: {got}");
                    assert!(got.get("Identifier").is_none(), "{case}: {got}");
                    assert!(got.get("ContactID").is_none(), "{case}: {got}");
                }
            }
        }
    }
    let (_, counters) = server.get_json("/counters").await;
    server.stop().await;
    counters
}

fn identity_counters(c: &Value) -> [u64; 4] {
    ["verified", "missing", "failed", "refused"]
        .map(|k| c[format!("identity-{k}")].as_u64().unwrap_or(u64::MAX))
}

#[tokio::test]
async fn off_checks_nothing_and_keeps_signatures_out_of_the_record() {
    let counters = matrix(IdentityMode::Off).await;
    assert_eq!(identity_counters(&counters), [0, 0, 0, 0], "{counters}");
}

#[tokio::test]
async fn optional_lets_everyone_chat_and_marks_who_is_verified() {
    let counters = matrix(IdentityMode::Optional).await;
    // Per door: 2 verified, 1 missing, 3 failed (wrong hash, expired, forged).
    assert_eq!(identity_counters(&counters), [6, 3, 9, 0], "{counters}");
}

#[tokio::test]
async fn required_refuses_every_chat_without_a_valid_signature() {
    let counters = matrix(IdentityMode::Required).await;
    assert_eq!(identity_counters(&counters), [6, 3, 9, 12], "{counters}");
}

#[tokio::test]
async fn tokens_only_and_other_tenants() {
    let server = TestServer::start(|c| {
        configure(c, IdentityMode::Required);
        if let Some(i) = c.identity.get_mut("1") {
            i.accept_hash = false;
        }
        c.endpoints
            .insert("2".into(), [("default".into(), "default".into())].into());
        c.gms_chat_services
            .insert("tenant-two".into(), "2:default".into());
    })
    .await;
    let id = "acct-7";
    let hash = sign(id);
    for door in DOORS {
        let by_hash = door
            .start(&server, &[("Identifier", id), ("IdentifierHash", &hash)])
            .await;
        assert_eq!(
            by_hash.err(),
            Some(1015),
            "{door:?}: hashes are not accepted"
        );
        let token = token_with(SECRET, id, 600);
        let by_token = door.start(&server, &[("IdentityToken", &token)]).await;
        assert!(by_token.is_ok(), "{door:?}: tokens are");
        // A token that lives longer than token-max-age is refused.
        let long = token_with(SECRET, id, 3700);
        let too_long = door.start(&server, &[("IdentityToken", &long)]).await;
        assert_eq!(too_long.err(), Some(1015), "{door:?}");
    }
    // Tenant 2 does not check: its chats start as before.
    let url = crate::gms::service_url(&server, "tenant-two");
    let (s, r) = crate::gms::post_form(&reqwest::Client::new(), &url, &[("nickname", "Two")]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let got = recorded_user_data(&server, r["chatId"].as_str().expect("chatId")).await;
    assert!(got.get("ParleyIdentityVerified").is_none(), "{got}");
    server.stop().await;
}

#[tokio::test]
async fn the_secret_hashes_and_tokens_never_reach_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!("[identity.1]\nmode = \"optional\"\nsecret = \"{SECRET}\"\n");
    let proc = crate::common::process::ServerProcess::start(
        &config,
        dir.path(),
        &[("RUST_LOG", "parley_server=trace,tower_http=trace")],
    )
    .await;
    let good = sign("acct-log");
    let wrong = sign("acct-other");
    let token = token_with(SECRET, "acct-log", 600);
    for user_data in [
        json!({"Identifier": "acct-log", "IdentifierHash": good}),
        json!({"Identifier": "acct-log", "IdentifierHash": wrong}),
        json!({"IdentityToken": token}),
    ] {
        let mut c = crate::common::Client::connect(proc.addr).await;
        c.register("Pat", "CLIENT", 106).await;
        c.create(user_data).await;
        c.close().await;
    }
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    while !proc.output().contains("visitor identity not verified")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let log = proc.output();
    assert!(
        log.contains("reason=BadHash"),
        "failures are logged with their reason:\n{log}"
    );
    for secret in [SECRET, good.as_str(), wrong.as_str(), token.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    // The token's signature alone (its header and claims are not secret).
    let signature = token.rsplit('.').next().expect("signature");
    assert!(
        !log.contains(signature),
        "token signature in the log:\n{log}"
    );
}

#[tokio::test]
async fn proofs_sent_when_joining_an_existing_chat_are_dropped_too() {
    let server = TestServer::start(|c| configure(c, IdentityMode::Off)).await;
    let mut customer = server.client().await;
    customer.register("Pat", "CLIENT", 106).await;
    let info = customer.create(json!({})).await;
    let mut agent = server.client().await;
    agent.register("Alex", "AGENT", 106).await;
    let hash = sign("acct-9");
    let joined = agent
        .join(
            &info.session_id,
            "ALL",
            json!({"IdentifierHash": hash, "IdentityToken": "a.b.c", "Desk": "7"}),
        )
        .await;
    let event = joined
        .events
        .iter()
        .find(|e| e.kind == "newParty" && e.nickname == "Alex")
        .expect("the agent's newParty");
    let ud = event.user_data.clone().unwrap_or_default();
    assert_eq!(ud.get("Desk").map(String::as_str), Some("7"), "{ud:?}");
    assert!(
        !ud.contains_key("IdentifierHash") && !ud.contains_key("IdentityToken"),
        "{ud:?}"
    );
    server.stop().await;
}
