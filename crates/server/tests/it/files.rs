//! File transfer end to end, through the flex endpoints (`/flex/v1/file/...`) and the GMS
//! v2 ones (`/genesys/2/chat/{service}/{chatId}/file...`): limits, uploads announced to
//! the agent, downloads by the agent with its basic identity, every `[client-file-transfer]`
//! allowance, deletion, hostile file names, and who may not download.

use std::collections::BTreeMap;
use std::path::Path;

use parley_proto::basic::WireEvent;
use parley_server::config::Config;
use parley_store::DocumentStore;
use serde_json::{json, Value};

use crate::common::{Client, TestServer};
use crate::flex::Flex;
use crate::gms::{agent_joins, assert_error, Gms};

/// A PDF-looking body with every byte value, so any re-encoding shows.
fn sample(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    v.extend((0..len.saturating_sub(9)).map(|i| (i % 256) as u8));
    v.truncate(len);
    v
}

/// Small limits that tests can reach: 3 files, 1000 bytes each, 2500 in all, txt and
/// pdf only, 2 downloads.
fn small_limits(c: &mut Config) {
    let f = &mut c.client_file_transfer;
    f.upload_max_files = 3;
    f.upload_max_file_size_bytes = 1000;
    f.upload_max_total_size_bytes = 2500;
    f.upload_file_types = "txt:pdf".into();
    f.upload_need_agent = false;
    f.download_attempts = 2;
    f.delete_file = false;
}

fn base(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

/// The JSON body of a response, `Null` when there is none.
async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Uploads through `/flex/v1/file/upload` as `(user_id, secure_key)` into `session`.
async fn flex_upload_as(
    server: &TestServer,
    (user_id, secure_key): (&str, &str),
    session: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("userId", user_id.to_owned())
        .text("secureKey", secure_key.to_owned())
        .text("sessionId", session.to_owned())
        .text("description", "my receipt")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str(mime)
                .unwrap(),
        );
    let r = reqwest::Client::new()
        .post(format!("{}/flex/v1/file/upload", base(server)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    json_of(r).await
}

async fn flex_upload(server: &TestServer, c: &Flex, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let mime = if name.ends_with(".pdf") {
        "application/pdf"
    } else {
        "text/plain"
    };
    flex_upload_as(
        server,
        (&c.user_id, &c.secure_key),
        &c.session,
        name,
        mime,
        bytes,
    )
    .await
}

/// Asserts a flex error reply.
#[track_caller]
fn assert_flex_error(status: u16, r: &Value, want_status: u16, want_code: u64) {
    assert_eq!(
        (status, r["status"].as_str(), r["error"]["code"].as_u64()),
        (want_status, Some("error"), Some(want_code)),
        "{r}"
    );
}

/// POSTs `/flex/v1/file/download`; returns the raw response.
async fn flex_download(
    server: &TestServer,
    (user_id, secure_key): (&str, &str),
    session: &str,
    file_id: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/flex/v1/file/download", base(server)))
        .json(&json!({"userId": user_id, "secureKey": secure_key, "sessionId": session, "fileId": file_id}))
        .send()
        .await
        .unwrap()
}

/// Downloads and expects the bytes; returns them with the headers.
async fn expect_file(r: reqwest::Response) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap().to_vec();
    assert_eq!(
        status,
        200,
        "download refused: {}",
        String::from_utf8_lossy(&body)
    );
    (headers, body)
}

async fn flex_limits(c: &Flex) -> Value {
    let (s, r) = c.call("file/limits", json!({})).await;
    assert_eq!(s, 200, "{r}");
    r["limits"].clone()
}

fn agent_identity(agent: &Client) -> (&str, &str) {
    (agent.user_id.as_str(), agent.secure_key.as_str())
}

fn sys_command(text: &'static str) -> impl Fn(&WireEvent) -> bool {
    move |e| {
        e.kind == "notice"
            && e.notice_type.as_deref() == Some("SYS_COMMAND")
            && e.text.as_deref() == Some(text)
    }
}

fn data(e: &WireEvent) -> BTreeMap<String, String> {
    e.user_data.clone().unwrap_or_default()
}

/// Every file (not directory) name under `dir`.
fn file_names(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(file_names(&p));
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out
}

// ---- flex ----

#[tokio::test]
async fn flex_limits_report_the_configured_values_and_what_is_used() {
    let server = TestServer::start(small_limits).await;
    let c = Flex::start(&server, "Pat").await;
    assert_eq!(
        flex_limits(&c).await,
        json!({
            "uploadMaxFiles": 3, "uploadMaxFileSize": 1000, "uploadMaxTotalSize": 2500,
            "uploadFileTypes": "txt:pdf", "uploadNeedAgent": false, "downloadAttempts": 2,
            "deleteFile": false, "usedUploadMaxFiles": 0, "usedUploadMaxTotalSize": 0,
            "usedDownloadAttempts": 0
        })
    );
    let (s, r) = flex_upload(&server, &c, "a.txt", b"hello".to_vec()).await;
    assert_eq!(s, 200, "{r}");
    let (s, _) = c.call("file/download", json!({"fileId": "1"})).await;
    assert_eq!(s, 200);
    let l = flex_limits(&c).await;
    assert_eq!(
        (
            &l["usedUploadMaxFiles"],
            &l["usedUploadMaxTotalSize"],
            &l["usedDownloadAttempts"]
        ),
        (&json!(1), &json!(5), &json!(1)),
        "{l}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_upload_is_announced_to_the_agent_who_downloads_the_identical_bytes() {
    let server = TestServer::start(small_limits).await;
    let mut c = Flex::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.session).await;
    let bytes = sample(900);
    let (s, r) = flex_upload(&server, &c, "receipt.pdf", bytes.clone()).await;
    assert_eq!((s, r["status"].as_str()), (200, Some("ok")), "{r}");
    assert_eq!(r["fileId"], "1", "{r}");
    assert!(r["eventId"].as_u64().is_some(), "{r}");

    let e = agent.event_where(sys_command("file-uploaded")).await;
    let d = data(&e);
    assert_eq!(d.get("file-id").map(String::as_str), Some("1"), "{d:?}");
    assert_eq!(
        d.get("file-name").map(String::as_str),
        Some("receipt.pdf"),
        "{d:?}"
    );
    assert_eq!(d.get("file-size").map(String::as_str), Some("900"), "{d:?}");
    assert_eq!(
        d.get("file-source").map(String::as_str),
        Some("ucs"),
        "{d:?}"
    );
    assert!(
        d.get("file-document-id").is_some_and(|v| !v.is_empty()),
        "{d:?}"
    );
    assert_eq!(
        d.get("file-description").map(String::as_str),
        Some("my receipt")
    );
    assert_eq!(e.nickname, "Pat");
    // The customer sees its own notice too.
    let events = c.refresh(0).await;
    assert!(
        events
            .iter()
            .any(|e| e["noticeType"] == "SYS_COMMAND" && e["text"] == "file-uploaded"),
        "{events:?}"
    );

    // The agent downloads with its own basic identity, as often as it likes.
    for _ in 0..4 {
        let (h, body) =
            expect_file(flex_download(&server, agent_identity(&agent), &c.session, "1").await)
                .await;
        assert_eq!(body, bytes, "identical bytes");
        assert_eq!(h["content-type"], "application/pdf");
        let cd = h["content-disposition"].to_str().unwrap();
        assert!(
            cd.starts_with("attachment; filename=\"receipt.pdf\""),
            "{cd}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    assert_eq!(
        flex_limits(&c).await["usedDownloadAttempts"],
        json!(0),
        "agents' downloads are not counted"
    );
    // The customer downloads too: same bytes.
    let (_, body) =
        expect_file(flex_download(&server, (&c.user_id, &c.secure_key), &c.session, "1").await)
            .await;
    assert_eq!(body, bytes);
    server.stop().await;
}

#[tokio::test]
async fn disallowed_types_and_oversized_files_are_refused_and_nothing_is_kept() {
    let server = TestServer::start(small_limits).await;
    let c = Flex::start(&server, "Pat").await;
    let (s, r) = flex_upload_as(
        &server,
        (&c.user_id, &c.secure_key),
        &c.session,
        "setup.exe",
        "application/octet-stream",
        b"MZ\x90\x00".to_vec(),
    )
    .await;
    assert_flex_error(s, &r, 403, 1010);
    let (s, r) = flex_upload(&server, &c, "noext", b"x".to_vec()).await;
    assert_flex_error(s, &r, 403, 1010);
    let (s, r) = flex_upload(&server, &c, "big.pdf", sample(1001)).await;
    assert_flex_error(s, &r, 422, 1011);
    let l = flex_limits(&c).await;
    assert_eq!(
        (&l["usedUploadMaxFiles"], &l["usedUploadMaxTotalSize"]),
        (&json!(0), &json!(0)),
        "refused uploads use nothing: {l}"
    );
    // The next upload within limits is the session's first file.
    let (s, r) = flex_upload(&server, &c, "ok.PDF", sample(1000)).await;
    assert_eq!((s, &r["fileId"]), (200, &json!("1")), "{r}");
    let (s, r) = flex_upload(&server, &c, "empty.txt", Vec::new()).await;
    assert_flex_error(s, &r, 400, 1003);
    server.stop().await;
}

#[tokio::test]
async fn upload_count_and_total_size_allowances_are_enforced() {
    let server = TestServer::start(small_limits).await;
    let c = Flex::start(&server, "Pat").await;
    // Total 2500: 1000 + 1000 leaves 500.
    for _ in 0..2 {
        let (s, r) = flex_upload(&server, &c, "a.pdf", sample(1000)).await;
        assert_eq!(s, 200, "{r}");
    }
    let (s, r) = flex_upload(&server, &c, "b.pdf", sample(600)).await;
    assert_flex_error(s, &r, 422, 1011);
    let (s, r) = flex_upload(&server, &c, "c.pdf", sample(500)).await;
    assert_eq!(
        (s, &r["fileId"]),
        (200, &json!("3")),
        "exactly what is left: {r}"
    );
    let (s, r) = flex_upload(&server, &c, "d.txt", b"x".to_vec()).await;
    assert_flex_error(s, &r, 422, 1011);
    let l = flex_limits(&c).await;
    assert_eq!(
        (&l["usedUploadMaxFiles"], &l["usedUploadMaxTotalSize"]),
        (&json!(3), &json!(2500)),
        "{l}"
    );
    server.stop().await;

    // More files than upload-max-files, each small.
    let server = TestServer::start(|c| {
        small_limits(c);
        c.client_file_transfer.upload_max_files = 2;
    })
    .await;
    let c = Flex::start(&server, "Pat").await;
    for _ in 0..2 {
        let (s, r) = flex_upload(&server, &c, "a.txt", b"x".to_vec()).await;
        assert_eq!(s, 200, "{r}");
    }
    let (s, r) = flex_upload(&server, &c, "a.txt", b"x".to_vec()).await;
    assert_flex_error(s, &r, 422, 1011);
    server.stop().await;
}

#[tokio::test]
async fn upload_need_agent_refuses_until_an_agent_joins() {
    let server = TestServer::start(|c| {
        small_limits(c);
        c.client_file_transfer.upload_need_agent = true;
    })
    .await;
    let c = Flex::start(&server, "Pat").await;
    assert_eq!(flex_limits(&c).await["uploadNeedAgent"], json!(true));
    let (s, r) = flex_upload(&server, &c, "a.txt", b"x".to_vec()).await;
    assert_flex_error(s, &r, 403, 1010);
    let (mut agent, _) = agent_joins(&server, &c.session).await;
    let (s, r) = flex_upload(&server, &c, "a.txt", b"x".to_vec()).await;
    assert_eq!((s, &r["fileId"]), (200, &json!("1")), "{r}");
    agent
        .call(json!({"type": "release", "sessionId": c.session, "afterAction": "KeepAlive"}))
        .await;
    let (s, r) = flex_upload(&server, &c, "b.txt", b"x".to_vec()).await;
    assert_flex_error(s, &r, 403, 1010);
    server.stop().await;
}

#[tokio::test]
async fn download_attempts_limit_the_customer_but_not_agents() {
    let server = TestServer::start(small_limits).await;
    let c = Flex::start(&server, "Pat").await;
    let (agent, _) = agent_joins(&server, &c.session).await;
    let (s, r) = flex_upload(&server, &c, "a.txt", b"hello".to_vec()).await;
    assert_eq!(s, 200, "{r}");
    let me = (c.user_id.as_str(), c.secure_key.as_str());
    for _ in 0..2 {
        expect_file(flex_download(&server, me, &c.session, "1").await).await;
    }
    let (s, r) = json_of(flex_download(&server, me, &c.session, "1").await).await;
    assert_flex_error(s, &r, 422, 1011);
    for _ in 0..3 {
        expect_file(flex_download(&server, agent_identity(&agent), &c.session, "1").await).await;
    }
    assert_eq!(flex_limits(&c).await["usedDownloadAttempts"], json!(2));
    server.stop().await;
}

/// Upload, delete (the agent sees `file-deleted`), the download then fails; returns the
/// limits after the deletion and whether a new upload was accepted (with one file allowed).
async fn delete_then_upload_again(delete_file: bool) -> (Value, u16) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), |c| {
        small_limits(c);
        c.client_file_transfer.upload_max_files = 1;
        c.client_file_transfer.delete_file = delete_file;
    })
    .await;
    let c = Flex::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.session).await;
    let (s, r) = flex_upload(&server, &c, "a.txt", b"hello".to_vec()).await;
    assert_eq!(s, 200, "{r}");
    let up = agent.event_where(sys_command("file-uploaded")).await;
    let document = data(&up)["file-document-id"].clone();
    let (s, r) = flex_upload(&server, &c, "b.txt", b"x".to_vec()).await;
    assert_flex_error(s, &r, 422, 1011);
    let (s, r) = c.call("file/delete", json!({"fileId": "1"})).await;
    assert_eq!((s, r["status"].as_str()), (200, Some("ok")), "{r}");
    let e = agent.event_where(sys_command("file-deleted")).await;
    let d = data(&e);
    assert_eq!(d.get("file-id").map(String::as_str), Some("1"), "{d:?}");
    assert_eq!(d.get("file-deleted").map(String::as_str), Some("true"));
    let (s, r) =
        json_of(flex_download(&server, (&c.user_id, &c.secure_key), &c.session, "1").await).await;
    assert_flex_error(s, &r, 400, 1003);
    let (s, r) =
        json_of(flex_download(&server, agent_identity(&agent), &c.session, "1").await).await;
    assert_flex_error(s, &r, 400, 1003);
    let (s, r) = c.call("file/delete", json!({"fileId": "1"})).await;
    assert_flex_error(s, &r, 400, 1003);
    let limits = flex_limits(&c).await;
    let (s, _) = flex_upload(&server, &c, "c.txt", b"again".to_vec()).await;
    server.stop().await;
    let store = parley_store::open(&format!(
        "sqlite://{}",
        dir.path().join("parley.db").display()
    ))
    .await
    .expect("open store");
    assert!(
        store.get_document(&document).await.unwrap().is_none(),
        "a deleted file's bytes leave the store"
    );
    (limits, s)
}

#[tokio::test]
async fn deleting_a_file_gives_the_allowance_back_only_with_delete_file() {
    let (l, s) = delete_then_upload_again(true).await;
    assert_eq!(
        (&l["usedUploadMaxFiles"], &l["usedUploadMaxTotalSize"]),
        (&json!(0), &json!(0)),
        "delete-file = true: {l}"
    );
    assert_eq!(s, 200, "the allowance came back");
    let (l, s) = delete_then_upload_again(false).await;
    assert_eq!(
        (&l["usedUploadMaxFiles"], &l["usedUploadMaxTotalSize"]),
        (&json!(1), &json!(5)),
        "delete-file = false: {l}"
    );
    assert_eq!(s, 422, "still used up");
}

/// A `multipart/form-data` body written by hand: `(name, filename, bytes)` parts.
fn raw_multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "XyZzy0123456789boundary".to_owned();
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut cd = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = filename {
            cd.push_str(&format!("; filename=\"{f}\"\r\nContent-Type: text/plain"));
        }
        body.extend_from_slice(cd.as_bytes());
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// POSTs a raw body; every reply of an upload route, error or not, must be JSON (a flex
/// reply or the v2 envelope).
async fn post_raw(url: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = r.text().await.unwrap();
    assert!(
        ctype.starts_with("application/json"),
        "BUG: an upload request with content-type {content_type:?} got a non-JSON reply \
         ({status}, {ctype:?}: {text:?}) instead of a typed error (code 1003)"
    );
    (status, serde_json::from_str(&text).expect("JSON body"))
}

#[tokio::test]
async fn path_tricks_in_file_names_keep_the_last_segment_and_touch_no_disk() {
    let server = TestServer::start(small_limits).await;
    let c = Flex::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.session).await;
    let url = format!("{}/flex/v1/file/upload", base(&server));
    for (given, kept) in [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\x\\evil.txt", "evil.txt"),
    ] {
        let (ct, body) = raw_multipart(&[
            ("userId", None, c.user_id.as_bytes()),
            ("secureKey", None, c.secure_key.as_bytes()),
            ("sessionId", None, c.session.as_bytes()),
            ("file", Some(given), b"root:x:0:0"),
        ]);
        let (s, r) = post_raw(&url, &ct, body).await;
        assert_eq!(s, 200, "{given}: {r}");
        let id = r["fileId"].as_str().unwrap().to_owned();
        let e = agent.event_where(sys_command("file-uploaded")).await;
        assert_eq!(
            data(&e).get("file-name").map(String::as_str),
            Some(kept),
            "{given}"
        );
        let (h, body) =
            expect_file(flex_download(&server, agent_identity(&agent), &c.session, &id).await)
                .await;
        assert_eq!(body, b"root:x:0:0");
        let cd = h["content-disposition"].to_str().unwrap();
        assert!(
            cd.starts_with(&format!("attachment; filename=\"{kept}\"")),
            "{cd}"
        );
    }
    let names = file_names(&server.data_dir);
    assert!(
        !names
            .iter()
            .any(|n| n.contains("passwd") || n.contains("evil")),
        "files live in the store, never on disk under their names: {names:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn only_parties_of_the_session_with_their_own_key_may_download() {
    let server = TestServer::start(small_limits).await;
    let a = Flex::start(&server, "Pat").await;
    let (agent_a, _) = agent_joins(&server, &a.session).await;
    let (s, r) = flex_upload(&server, &a, "secret.txt", b"account 123".to_vec()).await;
    assert_eq!(s, 200, "{r}");
    let b = Flex::start(&server, "Mallory").await;
    let (agent_b, _) = agent_joins(&server, &b.session).await;

    // A customer of another session, with its own valid identity.
    let (s, r) =
        json_of(flex_download(&server, (&b.user_id, &b.secure_key), &a.session, "1").await).await;
    assert_flex_error(s, &r, 403, 8201);
    // An agent of another session.
    let (s, r) =
        json_of(flex_download(&server, agent_identity(&agent_b), &a.session, "1").await).await;
    assert_flex_error(s, &r, 403, 8201);
    // The other session has no file 1 for its own parties either.
    let (s, r) =
        json_of(flex_download(&server, (&b.user_id, &b.secure_key), &b.session, "1").await).await;
    assert_flex_error(s, &r, 400, 1003);
    // A party of the session with a wrong key.
    let (s, r) = json_of(
        flex_download(
            &server,
            (&agent_a.user_id, "0123456789abcdef"),
            &a.session,
            "1",
        )
        .await,
    )
    .await;
    assert_flex_error(s, &r, 401, 8210);
    let (s, r) =
        json_of(flex_download(&server, (&a.user_id, "0123456789abcdef"), &a.session, "1").await)
            .await;
    assert_flex_error(s, &r, 401, 8210);
    // Not a number.
    let (s, r) =
        json_of(flex_download(&server, agent_identity(&agent_a), &a.session, "x").await).await;
    assert_flex_error(s, &r, 400, 1003);
    server.stop().await;
}

#[tokio::test]
async fn malformed_multipart_and_a_file_before_the_auth_fields_are_refused() {
    let server = TestServer::start(small_limits).await;
    let c = Flex::start(&server, "Pat").await;
    let url = format!("{}/flex/v1/file/upload", base(&server));
    // A body that is not multipart at all, under a multipart content type.
    let (s, r) = post_raw(
        &url,
        "multipart/form-data; boundary=XyZzy0123456789boundary",
        b"this is not multipart".to_vec(),
    )
    .await;
    assert_flex_error(s, &r, 400, 1003);
    // A part that never ends.
    let (s, r) = post_raw(
        &url,
        "multipart/form-data; boundary=XyZzy0123456789boundary",
        b"--XyZzy0123456789boundary\r\nContent-Disposition: form-data; name=\"userId\"\r\n\r\nABC"
            .to_vec(),
    )
    .await;
    assert_flex_error(s, &r, 400, 1003);
    // No `file` part.
    let (ct, body) = raw_multipart(&[
        ("userId", None, c.user_id.as_bytes()),
        ("secureKey", None, c.secure_key.as_bytes()),
        ("sessionId", None, c.session.as_bytes()),
    ]);
    let (s, r) = post_raw(&url, &ct, body).await;
    assert_flex_error(s, &r, 400, 1003);
    // The file first: refused before a byte of it is read, whatever follows.
    let (ct, body) = raw_multipart(&[
        ("file", Some("a.txt"), b"early"),
        ("userId", None, c.user_id.as_bytes()),
        ("secureKey", None, c.secure_key.as_bytes()),
        ("sessionId", None, c.session.as_bytes()),
    ]);
    let (s, r) = post_raw(&url, &ct, body).await;
    assert_eq!(r["status"], "error", "{r}");
    assert!((400..500).contains(&s), "{s} {r}");
    assert_eq!(flex_limits(&c).await["usedUploadMaxFiles"], json!(0));
    // Not multipart at all, or without a boundary: still a flex error reply. (Fails
    // today: axum's `Multipart` extractor rejects before the handler runs, with a
    // text/plain 400.)
    for ct in ["application/json", "multipart/form-data"] {
        let (s, r) = post_raw(&url, ct, b"{}".to_vec()).await;
        assert_flex_error(s, &r, 400, 1003);
    }
    server.stop().await;
}

// ---- GMS v2 ----

/// Uploads through `/genesys/2/chat/{service}/{chatId}/file`.
async fn gms_upload(c: &Gms, name: &str, mime: &str, bytes: Vec<u8>) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("userId", c.user_id.clone())
        .text("secureKey", c.secure_key.clone())
        .text("alias", c.alias.clone())
        .text("userData[file-description]", "photo of the card")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str(mime)
                .unwrap(),
        );
    let r = c
        .http
        .post(c.url("file"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    json_of(r).await
}

/// `POST .../file/{id}/download` with the customer's auth parameters.
async fn gms_download(c: &Gms, file_id: &str) -> reqwest::Response {
    c.http
        .post(c.url(&format!("file/{file_id}/download")))
        .form(&c.auth())
        .send()
        .await
        .unwrap()
}

/// `file/limits` → `messages[0].userData`.
async fn gms_limits(c: &Gms) -> BTreeMap<String, Value> {
    let (s, r) = c.op("file/limits", &[]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    serde_json::from_value(r["messages"][0]["userData"].clone()).expect("userData object")
}

#[tokio::test]
async fn gms_file_limits_report_exactly_the_genesys_keys_as_strings() {
    let server = TestServer::start(|c| {
        small_limits(c);
        c.client_file_transfer.delete_file = true;
    })
    .await;
    let c = Gms::start(&server, "Pat").await;
    let want = |used_files: &str, used_bytes: &str, used_dl: &str| {
        BTreeMap::from([
            ("download-attempts".to_owned(), json!("2")),
            ("upload-max-files".to_owned(), json!("3")),
            ("upload-max-file-size".to_owned(), json!("1000")),
            ("upload-max-total-size".to_owned(), json!("2500")),
            ("upload-need-agent".to_owned(), json!("false")),
            ("upload-file-types".to_owned(), json!("txt:pdf")),
            ("used-upload-max-files".to_owned(), json!(used_files)),
            ("used-upload-max-total-size".to_owned(), json!(used_bytes)),
            ("used-download-attempts".to_owned(), json!(used_dl)),
            ("delete-file".to_owned(), json!("true")),
        ])
    };
    assert_eq!(gms_limits(&c).await, want("0", "0", "0"));
    let (s, r) = gms_upload(&c, "card.txt", "text/plain", b"1234".to_vec()).await;
    assert_eq!(s, 200, "{r}");
    let (_, body) = expect_file(gms_download(&c, "1").await).await;
    assert_eq!(body, b"1234");
    assert_eq!(gms_limits(&c).await, want("1", "4", "1"));
    server.stop().await;
}

#[tokio::test]
async fn gms_upload_download_and_delete_round_trip_with_the_agent() {
    let server = TestServer::start(small_limits).await;
    let mut c = Gms::start(&server, "Pat").await;
    let (mut agent, _) = agent_joins(&server, &c.chat_id).await;
    let bytes = sample(700);
    let (s, r) = gms_upload(&c, "card.pdf", "application/pdf", bytes.clone()).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert_eq!(r["userData"], json!({"file-id": "1"}), "{r}");

    let e = agent.event_where(sys_command("file-uploaded")).await;
    let d = data(&e);
    for (k, v) in [
        ("file-id", "1"),
        ("file-name", "card.pdf"),
        ("file-size", "700"),
        ("file-source", "ucs"),
        ("file-description", "photo of the card"),
    ] {
        assert_eq!(d.get(k).map(String::as_str), Some(v), "{k}: {d:?}");
    }
    assert!(d.get("file-document-id").is_some_and(|v| !v.is_empty()));

    let msgs = c.refresh().await;
    let up = msgs
        .iter()
        .find(|m| m["type"] == "FileUploaded")
        .unwrap_or_else(|| panic!("FileUploaded in {msgs:?}"));
    assert_eq!(up["text"], "file-uploaded");
    assert_eq!(up["userData"]["file-id"], "1");
    assert_eq!(up["userData"]["file-name"], "card.pdf");
    assert_eq!(up["from"]["type"], "Client");

    // The customer downloads through GMS; the agent through flex with its basic identity.
    let (h, body) = expect_file(gms_download(&c, "1").await).await;
    assert_eq!(body, bytes);
    assert_eq!(h["content-type"], "application/pdf");
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"card.pdf\""));
    assert_eq!(h["x-content-type-options"], "nosniff");
    let (_, body) =
        expect_file(flex_download(&server, agent_identity(&agent), &c.chat_id, "1").await).await;
    assert_eq!(body, bytes);

    // A disallowed type and an oversized file, through GMS.
    let (s, r) = gms_upload(&c, "run.exe", "application/octet-stream", b"MZ".to_vec()).await;
    assert_error(s, &r, 403, 1010);
    let (s, r) = gms_upload(&c, "big.pdf", "application/pdf", sample(1001)).await;
    assert_error(s, &r, 422, 1011);

    // Delete: the agent sees it, the customer's transcript has FileDeleted, downloads fail.
    let (s, r) = c.op("file/1/delete", &[]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    let e = agent.event_where(sys_command("file-deleted")).await;
    assert_eq!(data(&e).get("file-id").map(String::as_str), Some("1"));
    let msgs = c.refresh().await;
    assert!(
        msgs.iter()
            .any(|m| m["type"] == "FileDeleted" && m["userData"]["file-id"] == "1"),
        "{msgs:?}"
    );
    let (s, r) = c.op("file/1/download", &[]).await;
    assert_error(s, &r, 400, 1003);
    let (s, r) = c.op("file/1/delete", &[]).await;
    assert_error(s, &r, 400, 1003);
    let (s, r) = c.op("file/x/download", &[]).await;
    assert_error(s, &r, 400, 1003);
    server.stop().await;
}

#[tokio::test]
async fn gms_file_errors_wrong_key_other_session_malformed_and_file_first() {
    let server = TestServer::start(small_limits).await;
    let a = Gms::start(&server, "Pat").await;
    let (s, r) = gms_upload(&a, "a.txt", "text/plain", b"private".to_vec()).await;
    assert_eq!(s, 200, "{r}");
    let b = Gms::start(&server, "Mallory").await;

    // B's valid identity on A's chat.
    let pairs = b.auth();
    let r = b
        .http
        .post(a.url("file/1/download"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    let (s, r) = json_of(r).await;
    assert_error(s, &r, 403, 8201);
    let (s, r) = crate::gms::post_form(&b.http, &a.url("file/limits"), &pairs).await;
    assert_error(s, &r, 403, 8201);

    // Malformed multipart, and no `file` part.
    let url = a.url("file");
    let (s, r) = post_raw(
        &url,
        "multipart/form-data; boundary=XyZzy0123456789boundary",
        b"garbage".to_vec(),
    )
    .await;
    assert_error(s, &r, 400, 1003);
    let (ct, body) = raw_multipart(&[
        ("userId", None, a.user_id.as_bytes()),
        ("secureKey", None, a.secure_key.as_bytes()),
    ]);
    let (s, r) = post_raw(&url, &ct, body).await;
    assert_error(s, &r, 400, 1003);
    // The file before the auth fields.
    let (ct, body) = raw_multipart(&[
        ("file", Some("b.txt"), b"early"),
        ("userId", None, a.user_id.as_bytes()),
        ("secureKey", None, a.secure_key.as_bytes()),
    ]);
    let (s, r) = post_raw(&url, &ct, body).await;
    assert_error(s, &r, 400, 1003);
    assert_eq!(gms_limits(&a).await["used-upload-max-files"], json!("1"));

    // A wrong secure key on download: 8210, and the real customer stays.
    let (s, r) = crate::gms::post_form(
        &a.http,
        &a.url("file/1/download"),
        &[
            ("userId", a.user_id.as_str()),
            ("secureKey", "0123456789abcdef"),
        ],
    )
    .await;
    assert_error(s, &r, 401, 8210);
    assert_eq!(gms_limits(&a).await["used-upload-max-files"], json!("1"));

    // Not multipart at all, or without a boundary: still the v2 envelope. (Fails today:
    // axum's `Multipart` extractor rejects before the handler runs, with a text/plain 400.)
    for ct in ["application/x-www-form-urlencoded", "multipart/form-data"] {
        let (s, r) = post_raw(&url, ct, b"userId=x".to_vec()).await;
        assert_error(s, &r, 400, 1003);
    }
    server.stop().await;
}

#[tokio::test]
async fn agents_upload_through_flex_with_their_basic_identity_and_are_not_limited() {
    let server = TestServer::start(|c| {
        small_limits(c);
        c.client_file_transfer.upload_max_files = 1;
    })
    .await;
    let mut c = Flex::start(&server, "Pat").await;
    let (agent, _) = agent_joins(&server, &c.session).await;
    // Not an allowed type, over the customer's size limit, twice: agents are not limited.
    for i in 0..2 {
        let (s, r) = flex_upload_as(
            &server,
            agent_identity(&agent),
            &c.session,
            "form.docm",
            "application/octet-stream",
            sample(5000),
        )
        .await;
        assert_eq!((s, r["fileId"].as_str()), (200, Some(["1", "2"][i])), "{r}");
    }
    let l = flex_limits(&c).await;
    assert_eq!(
        (&l["usedUploadMaxFiles"], &l["usedUploadMaxTotalSize"]),
        (&json!(0), &json!(0)),
        "an agent's uploads use none of the customer's allowance: {l}"
    );
    let events = c.refresh(0).await;
    let up: Vec<_> = events
        .iter()
        .filter(|e| e["text"] == "file-uploaded")
        .collect();
    assert_eq!(up.len(), 2, "{events:?}");
    assert_eq!(up[0]["partyType"], "AGENT");
    assert_eq!(up[0]["userData"]["file-name"], "form.docm");
    let (_, body) =
        expect_file(flex_download(&server, (&c.user_id, &c.secure_key), &c.session, "2").await)
            .await;
    assert_eq!(body, sample(5000));
    // The customer still has its own one upload.
    let (s, r) = flex_upload(&server, &c, "a.txt", b"x".to_vec()).await;
    assert_eq!((s, &r["fileId"]), (200, &json!("3")), "{r}");
    server.stop().await;
}
