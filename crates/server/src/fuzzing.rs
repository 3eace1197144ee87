//! Entry points of the fuzz targets (`fuzz/`, docs/fuzzing.md), compiled only with the
//! `fuzzing` feature (off by default; the fuzz crate turns it on).
//!
//! Each function takes the raw bytes of one input and runs the decoders production runs
//! on such input, in the order the front door runs them, up to the first step that needs
//! a store, a session actor or a socket. They call the production functions themselves,
//! never copies; where a front door's checks were written inline in an async handler,
//! they were moved into a pure function that the handler and this file both call.
//! Some entry points also check a property of what was decoded (a frame re-encodes to
//! itself, a signed header verifies): a broken property panics, which the fuzzer
//! reports like any crash.
//!
//! Input layouts (what the seed corpora in `fuzz/corpus/<target>/` hold) are given on
//! each function.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{FromRequest, Query};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Uri};
use axum::Json;
use parley_core::contacts::ContactId;
use parley_core::routing::AgentId;
use parley_core::{ClientMsgId, ClientVersion, PartyId, SessionId, UnixMillis};
use parley_proto::basic::{ClientFrame, ServerFrame};
use parley_proto::desktop::DesktopRequest;
use parley_proto::flex::{
    FileRequest, FlexReply, JoinRequest, LoginRequest, LogoutRequest, NotifyRequest,
    RefreshRequest, SendRequest,
};
use parley_proto::gms::GmsResponse;
use parley_store::InstanceId;

use crate::center::directory::AgentProfile;
use crate::config::{CliOverrides, Config, Role};
use crate::counters::Counters;
use crate::customer::{Caller, Login};
use crate::policy::Policy;

/// The configuration the entry points decode against: the defaults, plus an identity
/// table per mode and a trusted proxy network, so that every branch can be reached.
static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    Config::from_toml_str(
        r#"
[endpoints.1]
default = "default"

[endpoints.2]
default = "default"

[web]
cors-allowed-origins = ["https://shop.example"]
trusted-proxies = ["10.0.0.0/8", "::1"]

[identity.1]
mode = "required"
secret = "fuzzing-secret-fuzzing-secret-0123"

[identity.2]
mode = "optional"
secret = "fuzzing-secret-fuzzing-secret-4567"
accept-hash = false
token-max-age = 600
"#,
    )
    .expect("the fuzzing configuration is valid")
});

static POLICY: LazyLock<Policy> = LazyLock::new(|| Policy::from_config(&CONFIG));

/// Splits off the first line (without its `\n`).
fn line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Runs a future whose input is all in memory (axum's body extractors over a full body).
fn ready<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn request(content_type: &[u8], body: &[u8]) -> Option<axum::extract::Request> {
    let mut builder = Request::builder().method("POST").uri("/");
    if !content_type.is_empty() {
        builder = builder.header(
            header::CONTENT_TYPE,
            HeaderValue::from_bytes(content_type).ok()?,
        );
    }
    builder.body(Body::from(body.to_vec())).ok()
}

/// `basic_frame`: one text frame of the basic protocol (`GET /basic`), as
/// `basic::decode` and the handlers read it; a decoded frame must re-encode to itself
/// (the register frame is re-encoded when a session is piped to its owner).
pub fn basic_frame(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(frame) = crate::basic::decode::decode(text, POLICY.max_frame_bytes) else {
        return;
    };
    let again = serde_json::to_string(&frame).expect("a frame encodes");
    if again.len() <= POLICY.max_frame_bytes {
        let back = crate::basic::decode::decode(&again, POLICY.max_frame_bytes);
        assert_eq!(back.as_ref(), Ok(&frame), "{again}");
    }
    use crate::basic::map;
    let session = match frame {
        ClientFrame::Register {
            party_type,
            client_version,
            resume,
            ..
        } => {
            let _ = map::client_version(client_version);
            let _ = map::party_type(party_type);
            let _ = resume.map(|r| r.user_id.parse::<PartyId>());
            return;
        }
        ClientFrame::CreateSession { .. } => return,
        ClientFrame::Join {
            session_id,
            visibility,
            ..
        } => {
            let _ = map::visibility(visibility);
            session_id
        }
        ClientFrame::Resume { session_id, .. } => session_id,
        ClientFrame::Message {
            session_id,
            receiver_id,
            client_message_id,
            ..
        } => {
            let _ = receiver_id.map(|r| r.parse::<PartyId>());
            let _ = client_message_id.map(|c| c.parse::<ClientMsgId>());
            session_id
        }
        ClientFrame::Notify {
            session_id,
            notice_type,
            receiver_id,
            client_message_id,
            ..
        } => {
            let _ = map::notice_type(&notice_type);
            let _ = receiver_id.map(|r| r.parse::<PartyId>());
            let _ = client_message_id.map(|c| c.parse::<ClientMsgId>());
            session_id
        }
        ClientFrame::Release {
            session_id,
            after_action,
            ..
        } => {
            let _ = map::after_action(after_action);
            session_id
        }
    };
    let _ = session.parse::<SessionId>();
}

/// `proto_json`: any JSON text as each `parley_proto` type a peer or client sends:
/// the basic protocol's server frames (read back by the instance that pipes a session,
/// and by `parley-bench`), flex and GMS replies (read by the bench and integrators).
/// What decodes must re-encode and decode again.
pub fn proto_json(data: &[u8]) {
    fn again<T: serde::Serialize + serde::de::DeserializeOwned>(data: &[u8]) {
        if let Ok(v) = serde_json::from_slice::<T>(data) {
            let text = serde_json::to_string(&v).expect("a decoded value encodes");
            serde_json::from_str::<T>(&text).expect("an encoded value decodes");
        }
    }
    again::<ServerFrame>(data);
    again::<ClientFrame>(data);
    again::<FlexReply>(data);
    again::<GmsResponse>(data);
    again::<parley_proto::ErrorCode>(data);
}

/// `desktop_frame`: one text frame of the agent desktop WebSocket (`/agent/v1/ws`),
/// decoded and checked as a supervisor's (who may send every request) and an agent's.
pub fn desktop_frame(data: &[u8]) {
    if data.len() > crate::agent::desktop::MAX_FRAME {
        return; // the WebSocket layer refuses it
    }
    let Some(text) = text(data) else { return };
    let Ok(req) = serde_json::from_str::<DesktopRequest>(text) else {
        return;
    };
    let _ = req.request_id();
    for role in [Role::Supervisor, Role::Agent] {
        let me = AgentProfile {
            login: "pat".parse::<AgentId>().expect("a login"),
            nickname: "Pat".into(),
            role,
            queues: Default::default(),
            capacity: 3,
        };
        let _ = crate::agent::desktop::check(&me, req.clone());
    }
}

/// `flex_request`: `<operation>\n<JSON body>`, the operation one of `login`, `join`,
/// `send`, `notify`, `refresh`, `logout`, `file` (`file/limits`, `file/download`,
/// `file/delete`), as `/flex/v1/<operation>` decodes and checks the body.
pub fn flex_request(data: &[u8]) {
    use crate::flex::parse;
    let (op, body) = line(data);
    let caller = |s: &str, u: &str, k: &str| Caller::parse(s, u, k).map(|_| ());
    let _ = match op {
        b"login" => parse::<LoginRequest>(body).and_then(|r| {
            let version = r
                .client_version
                .map_or(Ok(ClientVersion::LATEST), ClientVersion::try_from)?;
            Login::new(
                r.nickname,
                r.first_name,
                r.last_name,
                r.email_address,
                version,
            )
            .map(|l| drop(l.user_data()))
        }),
        b"join" => parse::<JoinRequest>(body).and_then(|mut r| {
            r.user_id.parse::<PartyId>()?;
            crate::identity::strip_proofs(&mut r.user_data);
            match &r.session_id {
                Some(sid) => caller(sid, &r.user_id, &r.secure_key),
                None => Ok(()),
            }
        }),
        b"send" => parse::<SendRequest>(body).and_then(|r| {
            if let Some(c) = r.client_message_id.as_deref() {
                c.parse::<ClientMsgId>()?;
            }
            caller(&r.session_id, &r.user_id, &r.secure_key)
        }),
        b"notify" => parse::<NotifyRequest>(body).and_then(|r| {
            caller(&r.session_id, &r.user_id, &r.secure_key)?;
            crate::basic::map::notice_type(&r.notice_type)?;
            Ok(())
        }),
        b"refresh" => parse::<RefreshRequest>(body)
            .and_then(|r| caller(&r.session_id, &r.user_id, &r.secure_key)),
        b"logout" => parse::<LogoutRequest>(body)
            .and_then(|r| caller(&r.session_id, &r.user_id, &r.secure_key)),
        b"file" => parse::<FileRequest>(body)
            .and_then(|r| caller(&r.session_id, &r.user_id, &r.secure_key)),
        _ => Ok(()),
    };
}

/// `gms_form`: `<Content-Type>\n<body>`: a GMS v2 request body (urlencoded or
/// multipart) as `gms::form::Form::read` reads it, then the fields the operations read.
pub fn gms_form(data: &[u8]) {
    let (content_type, body) = line(data);
    let Some(req) = request(content_type, body) else {
        return;
    };
    let Ok(form) = ready(crate::gms::form::Form::read(req, &())) else {
        return;
    };
    assert!(form.fields.len() + form.user_data.len() <= 256);
    let _ = form.number("transcriptPosition");
    let _ = Login::new(
        form.get("nickname").map(str::to_owned),
        form.get("firstName").map(str::to_owned),
        form.get("lastName").map(str::to_owned),
        form.get("emailAddress").map(str::to_owned),
        ClientVersion::LATEST,
    );
    if let (Ok(user), Ok(key)) = (form.require("userId"), form.require("secureKey")) {
        let _ = Caller::parse(form.get("chatId").unwrap_or("c1"), user, key);
    }
    let mut user_data = form.user_data.clone();
    crate::identity::strip_update(&CONFIG, &mut user_data);
}

/// `upload`: `<Content-Type>\n<body>`: a file upload form (flex, GMS and agent uploads)
/// as `customer::read_upload` reads it, with the file part's name, type and bytes.
pub fn upload(data: &[u8]) {
    use crate::customer::files;
    let (content_type, body) = line(data);
    let Some(req) = request(content_type, body) else {
        return;
    };
    let _ = ready(async {
        let multipart = files::multipart_of(req, &()).await?;
        files::read_upload(multipart, async |fields, field| {
            let _ = Caller::parse(
                files::field(fields, "chatId"),
                files::field(fields, "userId"),
                files::field(fields, "secureKey"),
            );
            let name = files::upload_name(field.file_name())?;
            assert!(!name.is_empty() && name.trim() == name, "{name:?}");
            assert!(!name.contains(['/', '\\']), "{name:?}");
            let disposition = files::content_disposition(&name);
            assert!(
                HeaderValue::from_str(&disposition).is_ok(),
                "{disposition:?}"
            );
            let mime = files::content_type(field.content_type(), &name);
            assert!(HeaderValue::from_str(&mime).is_ok(), "{mime:?}");
            files::read_file(field, 64 * 1024).await
        })
        .await
    });
}

/// `esp_request`: `<method>\n<Content-Type>\n<body>`: an ESP request (`POST /esp/<method>`)
/// as the route selects its decoder and validates the call.
pub fn esp_request(data: &[u8]) {
    use crate::esp::{body, decode_call, params};
    let (method, rest) = line(data);
    let (content_type, bytes) = line(rest);
    let Some(method) = text(method).and_then(params::Method::from_name) else {
        return;
    };
    let mut headers = HeaderMap::new();
    if !content_type.is_empty() {
        let Ok(v) = HeaderValue::from_bytes(content_type) else {
            return;
        };
        headers.insert(header::CONTENT_TYPE, v);
    }
    let Ok(kind) = body::kind_of(&headers) else {
        return;
    };
    let bounds = params::Bounds {
        max_text_bytes: POLICY.session.limits.max_text_bytes,
        max_nickname_chars: POLICY.session.limits.max_nickname_chars,
    };
    if let Ok((_, params::Call::IdleControl(idle))) = decode_call(method, kind, bytes, bounds) {
        let previous = serde_json::to_string(&idle.apply(None)).expect("a map encodes");
        let _ = idle.apply(Some(&previous));
    }
}

/// `config`: a configuration file's text, then optionally a NUL byte and `NAME=VALUE`
/// lines of environment variables, loaded as `parley` loads them (`Config::load`).
pub fn config(data: &[u8]) {
    let (file, env) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Some(file) = text(file) else { return };
    let env: Vec<(String, String)> = String::from_utf8_lossy(env)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let path = Path::new("fuzz.toml");
    if let Ok(config) = Config::load_text(Some((file, path)), env, &CliOverrides::default()) {
        assert!(config.validate().is_ok(), "a loaded configuration is valid");
        let _ = Policy::from_config(&config);
    }
}

/// `admin_body`: `<route> <argument>\n<body>`, the route one of `agent <login>`
/// (`PUT /admin/v1/agents/{login}`), `erase <contact id>` (`POST …/contacts/{id}/erase`),
/// `interactions <query>` and `contacts <query>` (the listings' query strings).
pub fn admin_body(data: &[u8]) {
    use crate::admin::{agents, contacts, erasures, error, interactions};
    let (route, body) = line(data);
    let Some(route) = text(route) else { return };
    let (route, arg) = route.split_once(' ').unwrap_or((route, ""));
    match route {
        "agent" => {
            let _ = agents::parse_login(arg);
            let Some(req) = request(b"application/json", body) else {
                return;
            };
            let json = ready(Json::<agents::AgentBody>::from_request(req, &()));
            if let Ok(body) = error::json_body(json) {
                let _ = agents::check_body(&CONFIG, body, None);
            }
        }
        "erase" => {
            let _ = erasures::reference(body);
            let _ = arg.parse::<ContactId>();
        }
        "interactions" | "contacts" => {
            let Ok(uri) = format!("/admin/v1/{route}?{arg}").parse::<Uri>() else {
                return;
            };
            if route == "interactions" {
                let q = Query::<interactions::ListQuery>::try_from_uri(&uri);
                if let Ok(q) = error::query(q) {
                    let _ = interactions::filter(q);
                }
            } else {
                let q = Query::<contacts::SearchQuery>::try_from_uri(&uri);
                let _ = error::query(q);
            }
            let _ = crate::admin::limit(Some(arg), 50, 500);
        }
        _ => {}
    }
}

/// `cluster`: the messages instances exchange. A body starting with `{` is a routing bus
/// message (`center::wire`). Otherwise `<x-parley-forwarded header>\n<method>\n<path>\n<t>
/// <now>\n<body>`: the header is verified as received at `now`, and a header signed at
/// `t` over the same request must verify exactly when `t` is within the skew of `now`.
pub fn cluster(data: &[u8]) {
    use crate::cluster::sign::{self, Nonces, Refusal};
    if data.first() == Some(&b'{') {
        let _ = serde_json::from_slice::<crate::center::wire::ToInstance>(data);
        let _ = serde_json::from_slice::<crate::center::wire::ToLeader>(data);
        return;
    }
    const KEY: &[u8] = b"fuzzing-cluster-key-0123456789ab";
    let (header, rest) = line(data);
    let (method, rest) = line(rest);
    let (path, rest) = line(rest);
    let (times, body) = line(rest);
    let (Some(header), Some(method), Some(path), Some(times)) =
        (text(header), text(method), text(path), text(times))
    else {
        return;
    };
    let mut times = times.split(' ').map(|t| t.parse::<i64>().unwrap_or(0));
    let (t, now) = (times.next().unwrap_or(0), times.next().unwrap_or(0));
    let req = sign::Request {
        method,
        path_and_query: path,
        body,
    };
    let me = InstanceId("bbbb".into());
    let _ = sign::verify(
        KEY,
        header,
        &req,
        &me,
        UnixMillis(now),
        &mut Nonces::default(),
    );
    let from = InstanceId("aaaa".into());
    let nonce: [u8; 16] = std::array::from_fn(|i| body.get(i).copied().unwrap_or(0));
    let signed = sign::sign(KEY, &req, &from, &me, UnixMillis(t), nonce, header);
    let got = sign::verify(
        KEY,
        &signed,
        &req,
        &me,
        UnixMillis(now),
        &mut Nonces::default(),
    );
    if now.abs_diff(t) <= sign::SKEW_MS.unsigned_abs() {
        let got = got.expect("a header signed within the window verifies");
        assert_eq!(got.from, from);
    } else {
        assert_eq!(got, Err(Refusal::Stale));
    }
}

/// `http_headers`: `<peer address>\n<Name: value lines>`: a request's headers as the
/// layers before every front door read them (the client's address behind the trusted
/// proxies, the `Origin` check) and a webhook target's `Retry-After`.
pub fn http_headers(data: &[u8]) {
    let (peer, rest) = line(data);
    let peer = text(peer)
        .and_then(|p| p.trim().parse::<IpAddr>().ok())
        .unwrap_or(IpAddr::from([10, 0, 0, 1]));
    let mut headers = HeaderMap::new();
    for l in rest.split(|&b| b == b'\n') {
        let Some(i) = l.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&l[..i]),
            HeaderValue::from_bytes(l[i + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let proxies = crate::proxies::of(&CONFIG.web.trusted_proxies);
    let _ = proxies.client(peer, &headers);
    if let Some(Ok(origin)) = headers.get(header::ORIGIN).map(|o| o.to_str()) {
        let _ = crate::http::client::origin_allowed(&CONFIG.web, origin, &headers);
    }
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok());
    let max = std::time::Duration::from_secs(3600);
    use crate::webhooks::retry::{classify, Verdict};
    if let Verdict::Retry { after: Some(after) } = classify(503, retry_after, max) {
        assert!(after <= max);
    }
}

/// `identity`: `<now ms>\n<tenant>\n<user data as a JSON object of strings>`: a new
/// chat's claimed identity, checked as `identity::check` does at creation. Tenant `1`
/// requires an identity, `2` takes tokens only and optionally. To reach what follows a
/// good signature, an `IdentifierHash` of `sign` is replaced by the identifier's real
/// hash, and an `IdentityToken` of the form `sign:<claims JSON>` by those claims signed.
pub fn identity(data: &[u8]) {
    use crate::identity::{self, IDENTIFIER_HASH, IDENTITY_TOKEN, VERIFIED_KEY};
    use hmac::Mac;
    let (now, rest) = line(data);
    let (tenant, user_data) = line(rest);
    let (Some(now), Some(tenant)) = (text(now), text(tenant)) else {
        return;
    };
    let now = UnixMillis(now.trim().parse().unwrap_or(0));
    let Ok(mut user_data) = serde_json::from_slice::<BTreeMap<String, String>>(user_data) else {
        return;
    };
    let secret = CONFIG
        .identity
        .get(tenant)
        .and_then(|i| i.secret.as_ref())
        .map(|s| s.expose().as_bytes().to_vec())
        .unwrap_or_default();
    if user_data.get(IDENTIFIER_HASH).map(String::as_str) == Some("sign") {
        let id = user_data.get("Identifier").cloned().unwrap_or_default();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).expect("any key");
        mac.update(id.as_bytes());
        let hash = hex::encode(mac.finalize().into_bytes());
        user_data.insert(IDENTIFIER_HASH.into(), hash);
    }
    if let Some(claims) = user_data
        .get(IDENTITY_TOKEN)
        .and_then(|t| t.strip_prefix("sign:"))
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
    {
        let key = jsonwebtoken::EncodingKey::from_secret(&secret);
        if let Ok(token) = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key) {
            user_data.insert(IDENTITY_TOKEN.into(), token);
        }
    }
    let counters = Counters::default();
    let checked = identity::check(&CONFIG, &counters, tenant, &mut user_data, now);
    if checked.is_ok() {
        assert!(!user_data.contains_key(IDENTIFIER_HASH));
        assert!(!user_data.contains_key(IDENTITY_TOKEN));
    }
    if let Ok(identity::Identity::Verified(id)) = checked {
        assert_eq!(user_data.get("Identifier"), Some(&id));
        assert_eq!(
            user_data.get(VERIFIED_KEY).map(String::as_str),
            Some("true")
        );
        assert!(!id.is_empty() && id.len() <= identity::MAX_IDENTIFIER_BYTES);
    }
}
