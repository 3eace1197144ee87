//! Pure translation of core events into GMS Chat API v2 `messages[]` objects. It renders
//! the core's per-viewer projection (`parley_core::view`) and holds no rules of its own.

use parley_core::session::{FILE_DELETED, FILE_UPLOADED};
use parley_core::view::EventView;
use parley_core::{Event, EventBody, NoticeType, PartyType};
use parley_proto::gms::{GmsMessage, GmsParticipant};

/// GMS participant type names (`Supervisor` is not a v2 type: supervisors show as Agent).
fn participant_type(t: PartyType) -> &'static str {
    match t {
        PartyType::Client => "Client",
        PartyType::Agent | PartyType::Supervisor => "Agent",
        PartyType::External => "External",
        PartyType::System => "System",
    }
}

/// The v2 `type` of an event.
pub fn message_type(event: &Event) -> &'static str {
    body_type(&event.body)
}

/// The v2 `type` of an event body.
fn body_type(body: &EventBody) -> &'static str {
    match body {
        EventBody::NewParty { .. } => "ParticipantJoined",
        EventBody::PartyLeft { .. } => "ParticipantLeft",
        EventBody::Message { .. } => "Message",
        EventBody::Notice {
            notice_type, text, ..
        } => match notice_type {
            NoticeType::TypingStarted => "TypingStarted",
            NoticeType::TypingStopped => "TypingStopped",
            NoticeType::UserPushedUrl => "PushUrl",
            NoticeType::UserUpdateNick => "NicknameUpdated",
            NoticeType::UserCustom => "CustomNotice",
            NoticeType::IdleControlAlert => "IdleAlert",
            NoticeType::IdleControlClose => "IdleClose",
            NoticeType::SysCommand if text.as_deref() == Some(FILE_UPLOADED) => "FileUploaded",
            NoticeType::SysCommand if text.as_deref() == Some(FILE_DELETED) => "FileDeleted",
            NoticeType::SysCommand | NoticeType::IdleControlSet => "Notice",
        },
    }
}

/// An event as the customer who sees it receives it from the GMS facade (the core's
/// projection for that customer, rendered).
pub fn message(view: &EventView) -> GmsMessage {
    let (text, tag, user_data) = match &view.body {
        EventBody::NewParty { .. } => (None, None, None),
        EventBody::PartyLeft { text, .. } => (text.clone(), None, None),
        EventBody::Message {
            text, message_type, ..
        } => (Some(text.clone()), message_type.clone(), None),
        EventBody::Notice {
            text, user_data, ..
        } => (
            text.clone(),
            None,
            (!user_data.is_empty()).then(|| user_data.clone()),
        ),
    };
    GmsMessage {
        from: GmsParticipant {
            nickname: view.sender.nickname.clone(),
            participant_id: view.sender.participant.unwrap_or(0),
            kind: participant_type(view.sender.party_type).to_owned(),
        },
        index: view.id.0,
        kind: body_type(&view.body).to_owned(),
        text,
        message_type: tag,
        utc_time: view.at.0,
        user_data,
        event_attributes: view
            .system
            .as_ref()
            .and_then(|s| crate::basic::map::render_system(s, false)),
    }
}
