//! Pure translation between basic-protocol frames and core values. No IO.

use parley_core::session::{EndInfo, EndedBy, EndedReason};
use parley_core::view::VersionCaps;
use parley_core::{
    AfterAction, ClientVersion, CoreError, Event, EventBody, NoticeType, Party, PartyStyle,
    PartyType, Session, Visibility,
};
use parley_proto::basic as wire;
use serde_json::json;

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

/// `GCTI_SYSTEM` event attributes (ClientVersion 106): a bot's party style on every
/// event of the bot, the quit reason code on a leave.
fn event_attributes(event: &Event, sender: Option<&Party>) -> Option<serde_json::Value> {
    let mut system = serde_json::Map::new();
    if sender.is_some_and(|p| p.style == PartyStyle::Bot) {
        system.insert("party-info".into(), json!({ "style": "BOT" }));
    }
    if let EventBody::PartyLeft { reason, .. } = &event.body {
        system.insert("quit-reason-code".into(), json!(reason.code().to_string()));
    }
    (!system.is_empty()).then(|| json!({ "GCTI_SYSTEM": system }))
}

/// An event as `viewer` receives it: attributes newer than its client version are left
/// out, and the sender's idempotency id is shown to the sender only.
pub fn wire_event(session: &Session, event: &Event, viewer: &Party) -> wire::WireEvent {
    let caps = VersionCaps::of(viewer.client_version);
    let sender = session.party(&event.from);
    let mut out = wire::WireEvent {
        event_id: event.id.0,
        kind: String::new(),
        utc_time: event.at.0,
        time_shift: event.at.secs_since(session.created_at()),
        user_id: event.from.to_string(),
        nickname: sender
            .map(|p| p.nickname.clone())
            .unwrap_or_else(|| "system".into()),
        party_type: wire_party_type(session.sender_type(&event.from)),
        visibility: wire_visibility(event.visibility),
        receiver_id: event.receiver.as_ref().map(ToString::to_string),
        text: None,
        message_type: None,
        notice_type: None,
        user_data: None,
        event_attributes: None,
        reason: None,
        after_action: None,
        asker_id: None,
        client_message_id: None,
    };
    if caps.event_attributes {
        out.event_attributes = event_attributes(event, sender);
    }
    let mine = event.from == viewer.id;
    match &event.body {
        EventBody::NewParty {
            nickname,
            user_data,
            ..
        } => {
            out.kind = "newParty".into();
            out.nickname = nickname.clone();
            out.user_data = Some(user_data.clone());
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
                name: reason_name(*reason),
            });
            out.after_action = Some(wire_after_action(*after_action));
            out.text = text.clone();
            out.asker_id = asker.as_ref().map(ToString::to_string);
        }
        EventBody::Message {
            text,
            message_type,
            client_msg_id,
        } => {
            out.kind = "message".into();
            out.text = Some(text.clone());
            out.message_type = message_type.clone();
            out.client_message_id = client_msg_id
                .as_ref()
                .filter(|_| mine)
                .map(ToString::to_string);
        }
        EventBody::Notice {
            notice_type,
            text,
            user_data,
            client_msg_id,
        } => {
            out.kind = "notice".into();
            out.notice_type = Some(notice_type_name(*notice_type));
            out.text = text.clone();
            if caps.notice_user_data && !user_data.is_empty() {
                out.user_data = Some(user_data.clone());
            }
            out.client_message_id = client_msg_id
                .as_ref()
                .filter(|_| mine)
                .map(ToString::to_string);
        }
    }
    out
}

/// A present party as listed in `sessionInfo`.
pub fn wire_party(p: &Party) -> wire::WireParty {
    wire::WireParty {
        user_id: p.id.to_string(),
        nickname: p.nickname.clone(),
        party_type: wire_party_type(p.party_type),
        visibility: wire_visibility(p.visibility),
        bot: p.style == PartyStyle::Bot,
    }
}

/// The `monitored` attribute for a viewer: ClientVersion 105, and only staff are told.
pub fn monitored_for(session: &Session, viewer: &Party) -> Option<bool> {
    (VersionCaps::of(viewer.client_version).monitored && viewer.party_type.is_staff())
        .then(|| session.monitored())
}

/// How a session ended, on the wire.
pub fn session_end(end: &EndInfo) -> wire::SessionEnd {
    let by = match end.ended_by {
        EndedBy::Client => "CLIENT",
        EndedBy::Agent => "AGENT",
        EndedBy::Supervisor => "SUPERVISOR",
        EndedBy::Bot => "BOT",
        EndedBy::System => "SYSTEM",
    };
    let reason = match end.reason {
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
