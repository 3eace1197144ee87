//! Pure translation between basic-protocol frames and core values. No IO, and no rules:
//! what a viewer sees of an event or of the session is the core's projection
//! (`parley_core::view`); this file only renders it.

use parley_core::session::{EndedBy, EndedReason};
use parley_core::view::{EventView, PartyView, SessionSnapshot, SystemAttributes};
use parley_core::{
    AfterAction, ClientVersion, CoreError, EventBody, NoticeType, PartyType, Visibility,
};
use parley_proto::basic as wire;
use serde_json::json;

use crate::actor::Push;

/// Core party type from the wire.
pub fn party_type(t: wire::PartyType) -> PartyType {
    match t {
        wire::PartyType::Client => PartyType::Client,
        wire::PartyType::Agent => PartyType::Agent,
        wire::PartyType::Supervisor => PartyType::Supervisor,
        wire::PartyType::External => PartyType::External,
        wire::PartyType::System => PartyType::System,
    }
}

fn wire_party_type(t: PartyType) -> wire::PartyType {
    match t {
        PartyType::Client => wire::PartyType::Client,
        PartyType::Agent => wire::PartyType::Agent,
        PartyType::Supervisor => wire::PartyType::Supervisor,
        PartyType::External => wire::PartyType::External,
        PartyType::System => wire::PartyType::System,
    }
}

/// Core visibility from the wire.
pub fn visibility(v: wire::Visibility) -> Visibility {
    match v {
        wire::Visibility::All => Visibility::All,
        wire::Visibility::Int => Visibility::Int,
        wire::Visibility::Vip => Visibility::Vip,
    }
}

fn wire_visibility(v: Visibility) -> wire::Visibility {
    match v {
        Visibility::All => wire::Visibility::All,
        Visibility::Int => wire::Visibility::Int,
        Visibility::Vip => wire::Visibility::Vip,
    }
}

/// Core after-action from the wire.
pub fn after_action(a: wire::AfterAction) -> AfterAction {
    match a {
        wire::AfterAction::KeepAlive => AfterAction::KeepAlive,
        wire::AfterAction::CloseIfNoAgents => AfterAction::CloseIfNoAgents,
        wire::AfterAction::ForceClose => AfterAction::ForceClose,
    }
}

fn wire_after_action(a: AfterAction) -> wire::AfterAction {
    match a {
        AfterAction::KeepAlive => wire::AfterAction::KeepAlive,
        AfterAction::CloseIfNoAgents => wire::AfterAction::CloseIfNoAgents,
        AfterAction::ForceClose => wire::AfterAction::ForceClose,
    }
}

/// A notice type a client may send, from its wire name.
pub fn notice_type(name: &str) -> Result<NoticeType, CoreError> {
    serde_json::from_value(json!(name)).map_err(|_| CoreError::InvalidField {
        field: "noticeType",
        reason: "unknown notice type",
    })
}

fn notice_type_name(t: NoticeType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn reason_name(r: parley_core::LeftReason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The `GCTI_SYSTEM` event attributes, as the wire shows them; `None` when nothing is
/// left to show. `pii` says whether the client's protocol carries `pii-cleanup` (basic
/// and flex do; the seed lists no GMS version that does).
pub fn render_system(system: &SystemAttributes, pii: bool) -> Option<serde_json::Value> {
    let mut out = serde_json::Map::new();
    if system.bot {
        out.insert("party-info".into(), json!({ "style": "BOT" }));
    }
    if let Some(code) = system.quit_reason_code {
        out.insert("quit-reason-code".into(), json!(code.to_string()));
    }
    if pii && !system.pii.is_empty() {
        out.insert("pii-cleanup".into(), render_pii(&system.pii));
    }
    (!out.is_empty()).then(|| json!({ "GCTI_SYSTEM": out }))
}

/// `pii-cleanup` as the seed shows it: per rule that hit (`rule-0001`, ...) its id, name,
/// description and the masked positions, `start-end` (characters, both inclusive) to
/// what was replaced.
fn render_pii(hits: &[parley_core::mask::Hit]) -> serde_json::Value {
    let mut rules = serde_json::Map::new();
    for group in parley_core::mask::by_rule(hits) {
        let positions: serde_json::Map<String, serde_json::Value> = group
            .hits
            .iter()
            .map(|h| (h.position_key(), json!({ "replaced": h.replaced.as_str() })))
            .collect();
        rules.insert(
            group.key,
            json!({
                "id": group.rule.id,
                "name": group.rule.name,
                "description": group.rule.description,
                "positions": positions,
            }),
        );
    }
    serde_json::Value::Object(rules)
}

/// An event as its viewer sees it (the core's projection already applied the viewer's
/// rules: version caps, sender-only ids, the resolved sender). Takes the view by value:
/// its text moves into the frame rather than being copied once more per delivery.
pub fn render_event(view: EventView) -> wire::WireEvent {
    let mut out = wire::WireEvent {
        event_id: view.id.0,
        kind: String::new(),
        utc_time: view.at.0,
        time_shift: view.time_shift,
        user_id: view.from.to_string(),
        nickname: view.sender.nickname,
        party_type: wire_party_type(view.sender.party_type),
        visibility: wire_visibility(view.visibility),
        receiver_id: view.receiver.as_ref().map(ToString::to_string),
        text: None,
        message_type: None,
        notice_type: None,
        user_data: None,
        event_attributes: view.system.as_ref().and_then(|s| render_system(s, true)),
        reason: None,
        after_action: None,
        asker_id: None,
        client_message_id: None,
    };
    match view.body {
        EventBody::NewParty { user_data, .. } => {
            out.kind = "newParty".into();
            out.user_data = Some(user_data);
        }
        EventBody::PartyLeft {
            reason,
            after_action,
            text,
            asker,
        } => {
            out.kind = "partyLeft".into();
            out.reason = Some(wire::LeftReason {
                code: reason.code(),
                name: reason_name(reason),
            });
            out.after_action = Some(wire_after_action(after_action));
            out.text = text;
            out.asker_id = asker.as_ref().map(ToString::to_string);
        }
        EventBody::Message {
            text,
            message_type,
            client_msg_id,
        } => {
            out.kind = "message".into();
            out.text = Some(text);
            out.message_type = message_type;
            out.client_message_id = client_msg_id.as_ref().map(ToString::to_string);
        }
        EventBody::Notice {
            notice_type,
            text,
            user_data,
            client_msg_id,
        } => {
            out.kind = "notice".into();
            out.notice_type = Some(notice_type_name(notice_type));
            out.text = text;
            out.user_data = (!user_data.is_empty()).then_some(user_data);
            out.client_message_id = client_msg_id.as_ref().map(ToString::to_string);
        }
    }
    out
}

/// A present party as listed in `sessionInfo`.
pub fn render_party(p: &PartyView) -> wire::WireParty {
    wire::WireParty {
        user_id: p.id.to_string(),
        nickname: p.nickname.clone(),
        party_type: wire_party_type(p.party_type),
        visibility: wire_visibility(p.visibility),
        bot: p.bot,
    }
}

/// The `sessionInfo` frame of a snapshot (a reply: the caller sets `request_id`).
pub fn render_snapshot(snap: SessionSnapshot) -> wire::ServerFrame {
    wire::ServerFrame::SessionInfo {
        request_id: None,
        session_id: snap.session_id.to_string(),
        start_at: snap.created_at.0,
        last_event_id: snap.last_event_id.0,
        session_password: snap.password.as_ref().map(|p| p.expose().to_owned()),
        monitored: snap.monitored,
        parties: snap.parties.iter().map(render_party).collect(),
        events: snap.events.into_iter().map(render_event).collect(),
    }
}

/// What a session pushes, as a frame.
pub fn render_push(push: Push) -> wire::ServerFrame {
    match push {
        Push::Event { session, event } => wire::ServerFrame::Event {
            session_id: session.to_string(),
            event: Box::new(render_event(event)),
        },
        Push::TranscriptSaved {
            session,
            last_event_id,
            saved,
        } => wire::ServerFrame::TranscriptSaved {
            session_id: session.to_string(),
            last_event_id: last_event_id.0,
            result: if saved { "save" } else { "ucs-save-fail" }.into(),
        },
        Push::SessionOver {
            session,
            by,
            reason,
        } => wire::ServerFrame::SessionOver {
            session_id: session.to_string(),
            end: session_end(by, reason),
        },
    }
}

/// How a session ended, on the wire.
pub fn session_end(ended_by: EndedBy, reason: EndedReason) -> wire::SessionEnd {
    let by = match ended_by {
        EndedBy::Client => "CLIENT",
        EndedBy::Agent => "AGENT",
        EndedBy::Supervisor => "SUPERVISOR",
        EndedBy::Bot => "BOT",
        EndedBy::System => "SYSTEM",
    };
    let reason = match reason {
        EndedReason::Disconnect => "DISCONNECT",
        EndedReason::Quit => "QUIT",
        EndedReason::Force => "FORCE",
        EndedReason::Inactive => "INACTIVE",
        EndedReason::DbError => "DB_ERROR",
    };
    wire::SessionEnd {
        ended_by: by.into(),
        reason: reason.into(),
    }
}

/// The client version a registration asks for (101 when absent).
pub fn client_version(v: Option<u16>) -> Result<ClientVersion, CoreError> {
    v.map_or(Ok(ClientVersion::V101), ClientVersion::try_from)
}
