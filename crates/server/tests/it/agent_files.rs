//! Agents send files the Genesys way: store the document over HTTP, then announce it
//! with a `SYS_COMMAND` `file-uploaded` notice over the basic protocol; delete it with
//! `file-deleted`.

use parley_proto::basic::ServerFrame;
use serde_json::{json, Value};

use crate::common::{error_code, Chat, TestServer};

async fn store_document(
    server: &TestServer,
    user: &str,
    key: &str,
    session: &str,
    name: &str,
    bytes: &[u8],
) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("userId", user.to_owned())
        .text("secureKey", key.to_owned())
        .text("sessionId", session.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
    let r = reqwest::Client::new()
        .post(format!("http://{}/basic/v1/documents", server.addr))
        .multipart(form)
        .send()
        .await
        .expect("http");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_agent_stores_announces_and_deletes_a_file_over_the_basic_protocol() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let (agent_id, agent_key) = (chat.agent.user_id.clone(), chat.agent.secure_key.clone());
    let (s, doc) = store_document(
        &server,
        &agent_id,
        &agent_key,
        &chat.session,
        "../../etc/manual.pdf",
        b"%PDF-1.4 manual",
    )
    .await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(
        doc["fileName"], "manual.pdf",
        "only the last path segment is kept"
    );
    assert_eq!(doc["fileSize"], 15);
    let document_id = doc["documentId"].as_str().unwrap().to_owned();

    let r = chat
        .agent
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "SYS_COMMAND", "text": "file-uploaded",
                     "userData": {"file-document-id": document_id, "file-description": "the manual"}}))
        .await;
    assert!(matches!(r, ServerFrame::Ack { .. }), "{r:?}");
    let n = chat
        .customer
        .event_where(|e| e.text.as_deref() == Some("file-uploaded"))
        .await;
    let data = n.user_data.unwrap();
    assert_eq!(
        data.get("file-name").map(String::as_str),
        Some("manual.pdf")
    );
    assert_eq!(data.get("file-size").map(String::as_str), Some("15"));
    assert_eq!(
        data.get("file-description").map(String::as_str),
        Some("the manual")
    );
    let file_id = data.get("file-id").cloned().unwrap();

    // The customer downloads it with its own identity.
    let r = reqwest::Client::new()
        .post(format!("http://{}/flex/v1/file/download", server.addr))
        .json(
            &json!({"userId": chat.customer.user_id, "secureKey": chat.customer.secure_key,
                      "sessionId": chat.session, "fileId": file_id}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF-1.4 manual");

    let r = chat
        .agent
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "SYS_COMMAND", "text": "file-deleted",
                     "userData": {"file-id": file_id}}))
        .await;
    assert!(matches!(r, ServerFrame::Ack { .. }), "{r:?}");
    chat.customer
        .event_where(|e| e.text.as_deref() == Some("file-deleted"))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn only_staff_store_documents_and_only_real_documents_are_announced() {
    let server = TestServer::start(|_| {}).await;
    let mut chat = Chat::start(&server).await;
    let (s, r) = store_document(
        &server,
        &chat.customer.user_id,
        &chat.customer.secure_key,
        &chat.session,
        "a.txt",
        b"x",
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_u64()),
        (403, Some(1010)),
        "customers use the counted endpoints"
    );
    let (s, _) = store_document(
        &server,
        &chat.agent.user_id,
        "wrong-key",
        &chat.session,
        "a.txt",
        b"x",
    )
    .await;
    assert_eq!(s, 401);
    // A forged announcement of a document that does not exist, and a customer sending
    // a file notice itself, are refused.
    let r = chat
        .agent
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "SYS_COMMAND", "text": "file-uploaded",
                     "userData": {"file-document-id": "0123456789abcdef0123456789abcdef"}}))
        .await;
    assert_eq!(error_code(&r), 1003);
    let r = chat
        .customer
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "SYS_COMMAND", "text": "file-deleted",
                     "userData": {"file-id": "1"}}))
        .await;
    assert_eq!(error_code(&r), 1003, "no such file");
    // A document of another session cannot be announced here.
    let mut other = Chat::start(&server).await;
    let (_, doc) = store_document(
        &server,
        &other.agent.user_id,
        &other.agent.secure_key,
        &other.session,
        "b.txt",
        b"secret",
    )
    .await;
    let r = chat
        .agent
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "SYS_COMMAND", "text": "file-uploaded",
                     "userData": {"file-document-id": doc["documentId"]}}))
        .await;
    assert_eq!(error_code(&r), 1003);
    other.agent.say(&other.session, "still fine").await;
    server.stop().await;
}
