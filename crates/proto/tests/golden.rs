//! Golden tests of the basic protocol's JSON: each client frame decodes and re-encodes to
//! exactly its fixture, defaults are filled in as documented, a few server frames encode
//! to their pinned shape, and hostile input never decodes as a `ClientFrame`.

use std::collections::BTreeSet;

use parley_proto::basic::{
    AfterAction, ClientFrame, PartyType, ServerFrame, Visibility, WireEvent,
};
use parley_proto::ErrorCode;
use serde_json::{json, Value};

/// One fixture per client frame, with every member set, in the shape the server reads.
const FIXTURES: &[&str] = &[
    r#"{"type": "register", "requestId": 1, "nickname": "Alex", "partyType": "AGENT", "clientVersion": 106,
        "credentials": {"apiKey": "8f14e45fceea167a5a36dedd4bea2543c0ffee00d15ea5e5"},
        "resume": {"userId": "EC41AA833DDD16EE", "secureKey": "440955db022e453ac1f0370265a10d84"}}"#,
    r#"{"type": "createSession", "requestId": 2, "subject": "Lost card", "endpoint": "1:default",
        "userData": {"EmailAddress": "pat@example.com", "GCTI_Chat_SessionPassword": "letmein-123"}}"#,
    r#"{"type": "join", "requestId": 3, "sessionId": "00048aAPEQJ8000U", "visibility": "VIP",
        "userData": {"GCTI_Chat_SetPartyStyle": "BOT"}}"#,
    r#"{"type": "resume", "requestId": 4, "sessionId": "00048aAPEQJ8000U", "lastEventId": 42}"#,
    r#"{"type": "message", "requestId": 5, "sessionId": "00048aAPEQJ8000U", "text": "Offer the replacement card",
        "visibility": "INT", "receiverId": "EC41AA833DDD16EE", "messageType": "coaching", "clientMessageId": "sue-0001"}"#,
    r#"{"type": "notify", "requestId": 6, "sessionId": "00048aAPEQJ8000U", "noticeType": "SYS_COMMAND",
        "text": "read-confirm", "userData": {"last-event-id": "41"}, "visibility": "ALL",
        "receiverId": "51EACD2E88DA7EA2", "clientMessageId": "pat-0007"}"#,
    r#"{"type": "release", "requestId": 7, "sessionId": "00048aAPEQJ8000U", "afterAction": "CloseIfNoAgents",
        "text": "Transferring you to a colleague"}"#,
];

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixture is not JSON: {e}\n{text}"))
}

fn decode(text: &str) -> Result<ClientFrame, serde_json::Error> {
    serde_json::from_str(text)
}

/// The frame types serde accepts, read from its unknown-variant error.
fn client_frame_types() -> BTreeSet<String> {
    let err = decode(r#"{"type": "\u0001"}"#)
        .expect_err("not a frame type")
        .to_string();
    let listed = err
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected serde error format: {err}"));
    listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_client_frame_round_trips_to_the_same_json() {
    let mut seen = BTreeSet::new();
    for text in FIXTURES {
        let original = parse(text);
        let frame = decode(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let again = serde_json::to_value(&frame).expect("encode");
        assert_eq!(again, original, "round trip changed the frame");
        // And decoding the re-encoded text gives the same frame.
        let twice: ClientFrame = serde_json::from_value(again).expect("decode again");
        assert_eq!(twice, frame);
        seen.insert(original["type"].as_str().expect("type").to_owned());
    }
    assert_eq!(
        seen,
        client_frame_types(),
        "every client frame type needs a fixture"
    );
}

#[test]
fn minimal_frames_get_their_documented_defaults() {
    let f = decode(r#"{"type": "register", "nickname": "Pat", "partyType": "CLIENT"}"#).unwrap();
    assert_eq!(
        f,
        ClientFrame::Register {
            request_id: None,
            nickname: "Pat".into(),
            party_type: PartyType::Client,
            client_version: None,
            credentials: None,
            resume: None,
        }
    );
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"type": "register", "nickname": "Pat", "partyType": "CLIENT"})
    );

    let f = decode(r#"{"type": "createSession"}"#).unwrap();
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"type": "createSession"})
    );

    let f = decode(r#"{"type": "join", "sessionId": "00048aAPEQJ8000U"}"#).unwrap();
    assert!(matches!(
        f,
        ClientFrame::Join {
            visibility: Visibility::All,
            ..
        }
    ));
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"type": "join", "sessionId": "00048aAPEQJ8000U", "visibility": "ALL"})
    );

    let f =
        decode(r#"{"type": "message", "sessionId": "00048aAPEQJ8000U", "text": "hi"}"#).unwrap();
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"type": "message", "sessionId": "00048aAPEQJ8000U", "text": "hi", "visibility": "ALL"})
    );

    let f = decode(
        r#"{"type": "notify", "sessionId": "00048aAPEQJ8000U", "noticeType": "TYPING_STOPPED"}"#,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"type": "notify", "sessionId": "00048aAPEQJ8000U", "noticeType": "TYPING_STOPPED", "visibility": "ALL"})
    );

    let f = decode(r#"{"type": "release", "sessionId": "00048aAPEQJ8000U"}"#).unwrap();
    assert!(matches!(
        f,
        ClientFrame::Release {
            after_action: AfterAction::KeepAlive,
            text: None,
            ..
        }
    ));
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"type": "release", "sessionId": "00048aAPEQJ8000U", "afterAction": "KeepAlive"})
    );
}

#[test]
fn null_means_absent_for_optional_members() {
    let f = decode(
        r#"{"type": "message", "requestId": null, "sessionId": "s", "text": "x", "receiverId": null, "messageType": null, "clientMessageId": null}"#,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"type": "message", "sessionId": "s", "text": "x", "visibility": "ALL"})
    );
}

#[test]
fn the_largest_request_id_is_accepted() {
    let f = decode(r#"{"type": "createSession", "requestId": 18446744073709551615}"#).unwrap();
    assert!(matches!(
        f,
        ClientFrame::CreateSession {
            request_id: Some(u64::MAX),
            ..
        }
    ));
}

#[test]
fn every_enumeration_value_decodes() {
    for (pt, want) in [
        ("CLIENT", PartyType::Client),
        ("AGENT", PartyType::Agent),
        ("SUPERVISOR", PartyType::Supervisor),
        ("EXTERNAL", PartyType::External),
        ("SYSTEM", PartyType::System),
    ] {
        let text = format!(r#"{{"type": "register", "nickname": "n", "partyType": "{pt}"}}"#);
        match decode(&text).unwrap() {
            ClientFrame::Register { party_type, .. } => assert_eq!(party_type, want),
            other => panic!("{other:?}"),
        }
    }
    for (v, want) in [
        ("ALL", Visibility::All),
        ("INT", Visibility::Int),
        ("VIP", Visibility::Vip),
    ] {
        let text = format!(r#"{{"type": "join", "sessionId": "s", "visibility": "{v}"}}"#);
        match decode(&text).unwrap() {
            ClientFrame::Join { visibility, .. } => assert_eq!(visibility, want),
            other => panic!("{other:?}"),
        }
    }
    for (a, want) in [
        ("KeepAlive", AfterAction::KeepAlive),
        ("CloseIfNoAgents", AfterAction::CloseIfNoAgents),
        ("ForceClose", AfterAction::ForceClose),
    ] {
        let text = format!(r#"{{"type": "release", "sessionId": "s", "afterAction": "{a}"}}"#);
        match decode(&text).unwrap() {
            ClientFrame::Release { after_action, .. } => assert_eq!(after_action, want),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn server_frames_have_their_pinned_shape() {
    let e = ServerFrame::error(
        Some(9),
        Some("00048aAPEQJ8000U".into()),
        ErrorCode::WrongSessionPassword,
        "wrong or missing session password",
    );
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"type": "error", "requestId": 9, "sessionId": "00048aAPEQJ8000U", "code": 2004,
               "name": "WRONG_SESSION_PASSWORD", "message": "wrong or missing session password"})
    );
    let e = ServerFrame::error(None, None, ErrorCode::NotText, "binary");
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"type": "error", "code": 1005, "name": "NOT_TEXT", "message": "binary"})
    );

    // The event of an `event` frame is inline, not wrapped.
    let event: WireEvent = serde_json::from_value(json!({
        "eventId": 3, "kind": "message", "utcTime": 1732186850417_i64, "timeShift": 50,
        "userId": "51EACD2E88DA7EA2", "nickname": "Pat", "partyType": "CLIENT",
        "visibility": "ALL", "text": "My card is lost"
    }))
    .unwrap();
    let frame = ServerFrame::Event {
        session_id: "00048aAPEQJ8000U".into(),
        event: Box::new(event),
    };
    let v = serde_json::to_value(&frame).unwrap();
    assert_eq!(v["type"], "event");
    assert_eq!(v["event"]["eventId"], 3);
    assert_eq!(v["event"]["text"], "My card is lost");
    assert!(
        v["event"].get("receiverId").is_none(),
        "absent members are left out"
    );

    let ack = ServerFrame::Ack {
        request_id: Some(4),
        session_id: "00048aAPEQJ8000U".into(),
        event_id: 4,
        duplicate: false,
    };
    assert_eq!(
        serde_json::to_value(&ack).unwrap(),
        json!({"type": "ack", "requestId": 4, "sessionId": "00048aAPEQJ8000U", "eventId": 4, "duplicate": false})
    );

    // An unknown error number is not a valid frame.
    assert!(serde_json::from_value::<ServerFrame>(
        json!({"type": "error", "code": 4242, "name": "X", "message": "m"})
    )
    .is_err());
}

/// Builds a value nested `depth` levels deep.
fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}\"x\"{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

#[test]
fn hostile_input_never_decodes_as_a_client_frame() {
    let deep_array = nested(10_000);
    let deep_objects = nested_objects(10_000);
    let shallow_nesting = nested_objects(3);
    // (what, whether it is valid JSON at all, the text)
    let cases: Vec<(&str, bool, String)> = vec![
        // Not a frame at all.
        ("empty input", false, String::new()),
        ("whitespace", false, "   ".into()),
        ("truncated JSON", false, r#"{"type": "register""#.into()),
        ("an array", true, "[1, 2, 3]".into()),
        ("a string", true, r#""register""#.into()),
        ("null", true, "null".into()),
        ("a number", true, "42".into()),
        ("trailing garbage", false, r#"{"type": "createSession"} x"#.into()),
        // The type tag.
        ("missing type", true, r#"{"requestId": 1, "nickname": "n", "partyType": "CLIENT"}"#.into()),
        ("unknown type", true, r#"{"type": "shutdown"}"#.into()),
        ("empty type", true, r#"{"type": ""}"#.into()),
        ("type in another case", true, r#"{"type": "Register", "nickname": "n", "partyType": "CLIENT"}"#.into()),
        ("snake_case type", true, r#"{"type": "create_session"}"#.into()),
        ("a server frame type", true, r#"{"type": "registered", "userId": "U", "secureKey": "k", "clientVersion": 101, "protocolVersion": 1}"#.into()),
        ("numeric type", true, r#"{"type": 1}"#.into()),
        ("null type", true, r#"{"type": null}"#.into()),
        ("duplicate type", true, r#"{"type": "createSession", "type": "join", "sessionId": "s"}"#.into()),
        // Unknown members.
        ("unknown member", true, r#"{"type": "message", "sessionId": "s", "text": "x", "bogus": true}"#.into()),
        ("snake_case member", true, r#"{"type": "message", "session_id": "s", "text": "x"}"#.into()),
        ("unknown member in credentials", true, r#"{"type": "register", "nickname": "n", "partyType": "AGENT", "credentials": {"apiKey": "k", "user": "u"}}"#.into()),
        ("unknown member in resume", true, r#"{"type": "register", "nickname": "n", "partyType": "CLIENT", "resume": {"userId": "U", "secureKey": "k", "sessionId": "s"}}"#.into()),
        ("member of another frame", true, r#"{"type": "join", "sessionId": "s", "afterAction": "ForceClose"}"#.into()),
        ("duplicate member", true, r#"{"type": "release", "sessionId": "a", "sessionId": "b"}"#.into()),
        // Missing required members.
        ("register without nickname", true, r#"{"type": "register", "partyType": "CLIENT"}"#.into()),
        ("register without partyType", true, r#"{"type": "register", "nickname": "n"}"#.into()),
        ("credentials without apiKey", true, r#"{"type": "register", "nickname": "n", "partyType": "AGENT", "credentials": {}}"#.into()),
        ("resume identity without secureKey", true, r#"{"type": "register", "nickname": "n", "partyType": "CLIENT", "resume": {"userId": "U"}}"#.into()),
        ("join without sessionId", true, r#"{"type": "join"}"#.into()),
        ("resume without lastEventId", true, r#"{"type": "resume", "sessionId": "s"}"#.into()),
        ("resume without sessionId", true, r#"{"type": "resume", "lastEventId": 0}"#.into()),
        ("message without text", true, r#"{"type": "message", "sessionId": "s"}"#.into()),
        ("message without sessionId", true, r#"{"type": "message", "text": "x"}"#.into()),
        ("notify without noticeType", true, r#"{"type": "notify", "sessionId": "s"}"#.into()),
        ("release without sessionId", true, r#"{"type": "release"}"#.into()),
        // Wrong types.
        ("string requestId", true, r#"{"type": "createSession", "requestId": "1"}"#.into()),
        ("numeric nickname", true, r#"{"type": "register", "nickname": 42, "partyType": "CLIENT"}"#.into()),
        ("lower-case partyType", true, r#"{"type": "register", "nickname": "n", "partyType": "client"}"#.into()),
        ("unknown partyType", true, r#"{"type": "register", "nickname": "n", "partyType": "ROBOT"}"#.into()),
        ("string clientVersion", true, r#"{"type": "register", "nickname": "n", "partyType": "CLIENT", "clientVersion": "106"}"#.into()),
        ("clientVersion beyond u16", true, r#"{"type": "register", "nickname": "n", "partyType": "CLIENT", "clientVersion": 65637}"#.into()),
        ("credentials as a string", true, r#"{"type": "register", "nickname": "n", "partyType": "AGENT", "credentials": "key"}"#.into()),
        ("numeric sessionId", true, r#"{"type": "join", "sessionId": 123}"#.into()),
        ("lower-case visibility", true, r#"{"type": "join", "sessionId": "s", "visibility": "all"}"#.into()),
        ("unknown visibility", true, r#"{"type": "join", "sessionId": "s", "visibility": "PUBLIC"}"#.into()),
        ("null visibility", true, r#"{"type": "join", "sessionId": "s", "visibility": null}"#.into()),
        ("userData as an array", true, r#"{"type": "join", "sessionId": "s", "userData": ["a"]}"#.into()),
        ("userData with a number", true, r#"{"type": "join", "sessionId": "s", "userData": {"k": 1}}"#.into()),
        ("userData with null", true, r#"{"type": "join", "sessionId": "s", "userData": {"k": null}}"#.into()),
        ("userData nested", true, format!(r#"{{"type": "createSession", "userData": {{"k": {shallow_nesting}}}}}"#)),
        ("null userData", true, r#"{"type": "createSession", "userData": null}"#.into()),
        ("string lastEventId", true, r#"{"type": "resume", "sessionId": "s", "lastEventId": "7"}"#.into()),
        ("negative lastEventId", true, r#"{"type": "resume", "sessionId": "s", "lastEventId": -1}"#.into()),
        ("fractional lastEventId", true, r#"{"type": "resume", "sessionId": "s", "lastEventId": 1.5}"#.into()),
        ("null text", true, r#"{"type": "message", "sessionId": "s", "text": null}"#.into()),
        ("array text", true, r#"{"type": "message", "sessionId": "s", "text": ["x"]}"#.into()),
        ("camelCase afterAction", true, r#"{"type": "release", "sessionId": "s", "afterAction": "keepAlive"}"#.into()),
        ("SCREAMING afterAction", true, r#"{"type": "release", "sessionId": "s", "afterAction": "FORCE_CLOSE"}"#.into()),
        ("numeric afterAction", true, r#"{"type": "release", "sessionId": "s", "afterAction": 2}"#.into()),
        // Huge and odd numbers for requestId.
        ("requestId above u64", true, r#"{"type": "createSession", "requestId": 18446744073709551616}"#.into()),
        ("requestId far above u64", true, r#"{"type": "createSession", "requestId": 1e30}"#.into()),
        ("requestId out of f64 range", false, format!(r#"{{"type": "createSession", "requestId": 1{}}}"#, "0".repeat(400))),
        ("negative requestId", true, r#"{"type": "createSession", "requestId": -1}"#.into()),
        ("fractional requestId", true, r#"{"type": "createSession", "requestId": 1.5}"#.into()),
        ("float requestId", true, r#"{"type": "createSession", "requestId": 1.0}"#.into()),
        ("boolean requestId", true, r#"{"type": "createSession", "requestId": true}"#.into()),
        // Nesting depth.
        ("deep array in an unknown member", false, format!(r#"{{"type": "createSession", "x": {deep_array}}}"#)),
        ("deep objects in userData", false, format!(r#"{{"type": "createSession", "userData": {{"k": {deep_objects}}}}}"#)),
        ("deep array as requestId", false, format!(r#"{{"type": "createSession", "requestId": {deep_array}}}"#)),
        ("deep array alone", false, deep_array.clone()),
    ];
    for (what, valid_json, text) in &cases {
        // Each case fails for the reason it names: the JSON-level cases are not JSON
        // (for serde_json), every other case is JSON but not a client frame.
        assert_eq!(
            serde_json::from_str::<Value>(text).is_ok(),
            *valid_json,
            "{what}: the fixture does not test what it says"
        );
        if let Ok(frame) = decode(text) {
            panic!("{what}: decoded as {frame:?}");
        }
    }
}

#[test]
fn decoding_the_hostile_nesting_does_not_overflow_the_stack() {
    // serde_json stops at 128 levels; a frame nested a million levels is an error, fast.
    let text = format!(r#"{{"type": "createSession", "x": {}}}"#, nested(1_000_000));
    let err = decode(&text).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
}
