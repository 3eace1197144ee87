//! Bad input gets a typed error; the connection and every other session keep working.

use parley_proto::basic::ServerFrame;
use serde_json::json;

use crate::common::{error_code, Chat, Client, TestServer, API_KEY};

#[tokio::test]
async fn malformed_frames_get_typed_errors_and_the_connection_goes_on() {
    let server = TestServer::start(|c| {
        c.settings.max_frame_size_bytes = 4096;
        c.settings.max_message_size_bytes = 1024;
    })
    .await;
    let mut chat = Chat::start(&server).await;
    let c = &mut chat.customer;
    c.send_text("{not json").await;
    assert_eq!(
        error_code(
            &c.recv_where(|f| matches!(f, ServerFrame::Error { .. }))
                .await
        ),
        1001
    );
    c.send_text("[1,2,3]").await;
    assert_eq!(
        error_code(
            &c.recv_where(|f| matches!(f, ServerFrame::Error { .. }))
                .await
        ),
        1001
    );
    let r = c.call(json!({"type": "selfDestruct"})).await;
    assert_eq!(error_code(&r), 1002);
    let r = c
        .call(json!({"type": "message", "sessionId": chat.session}))
        .await;
    assert_eq!(error_code(&r), 1003, "missing text");
    let r = c
        .call(json!({"type": "message", "sessionId": chat.session, "text": "x", "extra": true}))
        .await;
    assert_eq!(error_code(&r), 1003, "unknown field");
    let r = c
        .call(json!({"type": "message", "sessionId": "../../etc/passwd", "text": "x"}))
        .await;
    assert_eq!(error_code(&r), 1003, "bad session id shape");
    c.send_text(
        json!({"type": "message", "sessionId": chat.session, "text": "x".repeat(5000)}).to_string(),
    )
    .await;
    assert_eq!(
        error_code(
            &c.recv_where(|f| matches!(f, ServerFrame::Error { .. }))
                .await
        ),
        1004
    );
    let r = c.call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "IDLE_CONTROL_CLOSE"})).await;
    assert_eq!(
        error_code(&r),
        1010,
        "idle notices come from the server only"
    );
    let r = c
        .call(json!({"type": "notify", "sessionId": chat.session, "noticeType": "NOT_A_NOTICE"}))
        .await;
    assert_eq!(error_code(&r), 1003);
    // Still usable, and the other party never noticed.
    c.say(&chat.session, "still here").await;
    chat.agent
        .event_where(|e| e.text.as_deref() == Some("still here"))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_messages_are_refused_by_max_message_size() {
    let server = TestServer::start(|c| c.settings.max_message_size_bytes = 100).await;
    let mut chat = Chat::start(&server).await;
    let r = chat
        .customer
        .call(json!({"type": "message", "sessionId": chat.session, "text": "y".repeat(101)}))
        .await;
    assert_eq!(error_code(&r), 1011);
    chat.customer.say(&chat.session, &"y".repeat(100)).await;
    server.stop().await;
}

#[tokio::test]
async fn binary_frames_are_refused() {
    use futures::SinkExt;
    let server = TestServer::start(|_| {}).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/basic", server.addr))
        .await
        .unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        vec![0xff, 0xfe].into(),
    ))
    .await
    .unwrap();
    use futures::StreamExt;
    let msg = ws.next().await.unwrap().unwrap();
    let f: ServerFrame = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(error_code(&f), 1005);
    server.stop().await;
}

#[tokio::test]
async fn requests_before_register_and_twice_registering_are_refused() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client().await;
    let r = c.call(json!({"type": "createSession"})).await;
    assert_eq!(error_code(&r), 1006);
    c.register("Pat", "CLIENT", 106).await;
    let r = c
        .call(json!({"type": "register", "nickname": "again", "partyType": "CLIENT"}))
        .await;
    assert_eq!(error_code(&r), 1007);
    server.stop().await;
}

#[tokio::test]
async fn agents_need_a_valid_api_key_and_nobody_registers_as_system() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client().await;
    let r = c
        .call(json!({"type": "register", "nickname": "Mallory", "partyType": "AGENT"}))
        .await;
    assert_eq!(error_code(&r), 1009);
    let r = c
        .call(json!({"type": "register", "nickname": "Mallory", "partyType": "SUPERVISOR", "credentials": {"apiKey": "guess"}}))
        .await;
    assert_eq!(error_code(&r), 1009);
    let r = c
        .call(json!({"type": "register", "nickname": "S", "partyType": "SYSTEM", "credentials": {"apiKey": API_KEY}}))
        .await;
    assert_eq!(error_code(&r), 1010);
    let r = c.call(json!({"type": "register", "nickname": "x", "partyType": "CLIENT", "clientVersion": 99})).await;
    assert_eq!(error_code(&r), 1003);
    server.stop().await;
}

#[tokio::test]
async fn unknown_sessions_and_strangers_are_refused() {
    let server = TestServer::start(|_| {}).await;
    let chat = Chat::start(&server).await;
    let mut stranger = server.client().await;
    stranger.register("Eve", "CLIENT", 106).await;
    let r = stranger
        .call(json!({"type": "join", "sessionId": "NoSuchSession01"}))
        .await;
    assert_eq!(error_code(&r), 2001);
    let r = stranger
        .call(json!({"type": "message", "sessionId": chat.session, "text": "hi"}))
        .await;
    assert_eq!(error_code(&r), 8201, "not a party of that session");
    // Claiming the customer's identity without its key is refused.
    let mut thief = server.client().await;
    let r = thief
        .call(json!({"type": "register", "nickname": "Pat", "partyType": "CLIENT", "resume": {"userId": chat.customer.user_id, "secureKey": "00000000000000000000000000000000"}}))
        .await;
    assert!(matches!(r, ServerFrame::Registered { .. }));
    let r = thief
        .call(json!({"type": "resume", "sessionId": chat.session, "lastEventId": 0}))
        .await;
    assert_eq!(error_code(&r), 8210);
    server.stop().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_user_register_timeout() {
    let server = TestServer::start(|c| c.settings.user_register_timeout_s = 1).await;
    let mut c = Client::connect(server.addr).await;
    let f = c.next().await;
    assert_eq!(error_code(&f), 1008);
    server.stop().await;
}

/// A frame far past `max-frame-size` (here 8 MB against 4 KiB) is not read into memory:
/// the server answers with the WebSocket close code 1009 (message too big) while the
/// client is still sending it, rather than a TCP reset.
#[tokio::test]
async fn a_huge_frame_gets_close_code_1009() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let server = TestServer::start(|c| {
        c.settings.max_frame_size_bytes = 4096;
        c.settings.max_message_size_bytes = 1024;
    })
    .await;
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/basic", server.addr))
        .await
        .expect("connect");
    let (mut sink, mut stream) = ws.split();
    let sender = tokio::spawn(async move {
        let _ = sink.send(Message::Text("x".repeat(8 << 20).into())).await;
        sink
    });
    let code = tokio::time::timeout(crate::common::WAIT, async {
        while let Some(msg) = stream.next().await {
            match msg {
                Ok(Message::Close(c)) => return c.map(|c| u16::from(c.code)),
                Ok(_) => {}
                Err(e) => panic!("no close frame before the error: {e}"),
            }
        }
        None
    })
    .await
    .expect("the server closes the connection");
    assert_eq!(code, Some(1009));
    let _ = sender.await;
    // Others are unaffected.
    let mut chat = Chat::start(&server).await;
    chat.customer.say(&chat.session, "still fine").await;
    server.stop().await;
}
