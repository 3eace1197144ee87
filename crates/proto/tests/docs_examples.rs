//! Keeps `docs/protocol/basic.md` honest: every JSON example in it decodes as the wire
//! type its marker names, every frame type and every error code is documented.
//!
//! An example is a ```` ```json ```` block whose preceding line is one of
//! `<!-- client -->` (a `ClientFrame`), `<!-- server -->` (a `ServerFrame`) or
//! `<!-- event -->` (a `WireEvent`). A `json` block without a marker is an error, so no
//! example escapes the check.

use std::collections::BTreeSet;
use std::path::PathBuf;

use parley_proto::basic::{ClientFrame, ServerFrame, WireEvent};
use parley_proto::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Server,
    Event,
}

#[derive(Debug)]
struct Example {
    kind: Kind,
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
}

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol/basic.md")
}

fn doc() -> String {
    let path = doc_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every ```json block of the document with its marker.
fn examples(doc: &str) -> Vec<Example> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "```json" {
            i += 1;
            continue;
        }
        let line = i + 1;
        let marker = if i == 0 { "" } else { lines[i - 1].trim() };
        let kind = match marker {
            "<!-- client -->" => Kind::Client,
            "<!-- server -->" => Kind::Server,
            "<!-- event -->" => Kind::Event,
            other => panic!(
                "basic.md line {line}: a ```json block must be preceded by \
                 <!-- client -->, <!-- server --> or <!-- event -->, found {other:?}"
            ),
        };
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && lines[i].trim() != "```" {
            body.push(lines[i]);
            i += 1;
        }
        assert!(
            i < lines.len(),
            "basic.md line {line}: unclosed ```json block"
        );
        out.push(Example {
            kind,
            line,
            text: body.join("\n"),
        });
        i += 1;
    }
    out
}

/// The `type` names serde accepts for an internally tagged enum, read from the error it
/// gives for an unknown one ("unknown variant `..`, expected one of `a`, `b`, ...").
fn variant_names<T: DeserializeOwned + std::fmt::Debug>() -> BTreeSet<String> {
    let err = serde_json::from_str::<T>(r#"{"type": "\u0001"}"#)
        .expect_err("a control character is no frame type")
        .to_string();
    let listed = err
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected serde error format: {err}"));
    let names: BTreeSet<String> = listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 2, "could not read variant names from: {err}");
    names
}

/// Every member of `original` is in `reencoded` with the same value. A client frame
/// re-encodes with its defaults filled in (`visibility`, `afterAction`), so it may have
/// more members than the example.
fn assert_members_kept(original: &Value, reencoded: &Value, line: usize) {
    let (Value::Object(o), Value::Object(r)) = (original, reencoded) else {
        panic!("basic.md line {line}: not a JSON object");
    };
    for (k, v) in o {
        assert_eq!(
            r.get(k),
            Some(v),
            "basic.md line {line}: member `{k}` does not survive decoding"
        );
    }
}

struct Checked {
    client_types: BTreeSet<String>,
    server_types: BTreeSet<String>,
    events: Vec<WireEvent>,
}

fn check_all(doc: &str) -> Checked {
    let examples = examples(doc);
    assert!(
        examples.len() >= 30,
        "expected the protocol document to hold many examples, found {}",
        examples.len()
    );
    let mut checked = Checked {
        client_types: BTreeSet::new(),
        server_types: BTreeSet::new(),
        events: Vec::new(),
    };
    for ex in &examples {
        let line = ex.line;
        let value: Value = serde_json::from_str(&ex.text)
            .unwrap_or_else(|e| panic!("basic.md line {line}: not valid JSON: {e}"));
        match ex.kind {
            Kind::Client => {
                let frame: ClientFrame = serde_json::from_value(value.clone())
                    .unwrap_or_else(|e| panic!("basic.md line {line}: not a ClientFrame: {e}"));
                let again = serde_json::to_value(&frame).expect("encode");
                assert_members_kept(&value, &again, line);
                checked
                    .client_types
                    .insert(value["type"].as_str().expect("type").to_owned());
            }
            Kind::Server => {
                let frame: ServerFrame = serde_json::from_value(value.clone())
                    .unwrap_or_else(|e| panic!("basic.md line {line}: not a ServerFrame: {e}"));
                // Server frames accept unknown members (they may grow), so a misspelt
                // member would decode silently: re-encoding must give the example back.
                let again = serde_json::to_value(&frame).expect("encode");
                assert_eq!(
                    again, value,
                    "basic.md line {line}: the example is not what the server would send"
                );
                match &frame {
                    ServerFrame::Error { code, name, .. } => assert_eq!(
                        name,
                        code.name(),
                        "basic.md line {line}: error name does not match its code"
                    ),
                    ServerFrame::Event { event, .. } => checked.events.push((**event).clone()),
                    ServerFrame::SessionInfo { events, .. } => {
                        checked.events.extend(events.iter().cloned());
                    }
                    _ => {}
                }
                checked
                    .server_types
                    .insert(value["type"].as_str().expect("type").to_owned());
            }
            Kind::Event => {
                let event: WireEvent = serde_json::from_value(value.clone())
                    .unwrap_or_else(|e| panic!("basic.md line {line}: not a WireEvent: {e}"));
                let again = serde_json::to_value(&event).expect("encode");
                assert_eq!(
                    again, value,
                    "basic.md line {line}: the event is not what the server would send"
                );
                checked.events.push(event);
            }
        }
    }
    checked
}

#[test]
fn every_example_decodes_as_its_wire_type() {
    check_all(&doc());
}

#[test]
fn every_client_and_server_frame_type_has_an_example() {
    let checked = check_all(&doc());
    let clients = variant_names::<ClientFrame>();
    let servers = variant_names::<ServerFrame>();
    assert!(clients.contains("register") && clients.contains("release"));
    assert!(servers.contains("registered") && servers.contains("transcriptSaved"));
    let missing: Vec<_> = clients.difference(&checked.client_types).collect();
    assert!(
        missing.is_empty(),
        "client frames without an example: {missing:?}"
    );
    let missing: Vec<_> = servers.difference(&checked.server_types).collect();
    assert!(
        missing.is_empty(),
        "server frames without an example: {missing:?}"
    );
}

#[test]
fn every_event_kind_and_the_special_events_have_examples() {
    let events = check_all(&doc()).events;
    for kind in ["newParty", "partyLeft", "message", "notice"] {
        assert!(
            events.iter().any(|e| e.kind == kind),
            "no example of a {kind} event"
        );
    }
    assert!(
        events.iter().any(|e| e
            .event_attributes
            .as_ref()
            .is_some_and(|a| a["GCTI_SYSTEM"]["party-info"]["style"] == "BOT")),
        "no example of a bot's eventAttributes"
    );
    assert!(
        events
            .iter()
            .any(|e| e.kind == "message" && e.receiver_id.is_some()),
        "no example of a direct message"
    );
    assert!(
        events
            .iter()
            .any(|e| e.notice_type.as_deref() == Some("SYS_COMMAND")
                && e.text.as_deref() == Some("read-confirm")
                && e.user_data
                    .as_ref()
                    .is_some_and(|u| u.contains_key("last-event-id"))),
        "no example of a read confirmation"
    );
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_ref().is_some_and(|r| r.code == 8)),
        "no example of a restoration (party-left reason 8)"
    );
}

#[test]
fn every_error_code_is_in_the_table() {
    let doc = doc();
    for code in ErrorCode::ALL {
        let row = format!("| {} | `{}` |", code.number(), code.name());
        assert!(
            doc.lines().any(|l| l.starts_with(&row)),
            "basic.md has no error-table row starting {row:?}"
        );
    }
}

#[test]
fn every_party_left_reason_code_is_in_the_table() {
    let doc = doc();
    let names = [
        "QUIT",
        "CLOSE_IF_NO_AGENTS",
        "FORCE_CLOSE",
        "DISCONNECT",
        "REMOVED_BY_PARTY",
        "SYSTEM",
        "BAD_SECURE_KEY",
        "INACTIVITY",
        "RESTORATION",
    ];
    for (code, name) in names.iter().enumerate() {
        let row = format!("| {code} | `{name}` |");
        assert!(
            doc.lines().any(|l| l.starts_with(&row)),
            "basic.md has no reason-code row starting {row:?}"
        );
    }
}

#[test]
fn the_extractor_sees_markers_and_refuses_unmarked_blocks() {
    let doc = "text\n<!-- client -->\n```json\n{\"type\": \"register\"}\n```\n";
    let found = examples(doc);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, Kind::Client);
    assert_eq!(found[0].line, 3);
    let unmarked = "text\n\n```json\n{}\n```\n";
    assert!(std::panic::catch_unwind(|| examples(unmarked)).is_err());
}
