//! Pure translation of core events into GMS Chat API v2 `messages[]` objects.

use parley_core::session::{FILE_DELETED, FILE_UPLOADED};
use parley_core::view::VersionCaps;
use parley_core::{Event, EventBody, NoticeType, Party, PartyStyle, PartyType, Session};
use parley_proto::gms::{GmsMessage, GmsParticipant};
use serde_json::json;

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
    match &event.body {
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

/// An event as the customer `viewer` receives it from the GMS facade.
pub fn message(session: &Session, event: &Event, viewer: &Party) -> GmsMessage {
    let sender = session.party(&event.from);
    let participant_id = session
        .parties()
        .iter()
        .position(|p| p.id == event.from)
        .map_or(0, |i| u32::try_from(i + 1).unwrap_or(u32::MAX));
    let nickname = match &event.body {
        EventBody::NewParty { nickname, .. } => nickname.clone(),
        _ => sender.map_or_else(|| "system".to_owned(), |p| p.nickname.clone()),
    };
    let (text, tag, user_data) = match &event.body {
        EventBody::NewParty { .. } => (None, None, None),
        EventBody::PartyLeft { text, .. } => (text.clone(), None, None),
        EventBody::Message {
            text, message_type, ..
        } => (Some(text.clone()), message_type.clone(), None),
        EventBody::Notice {
            text, user_data, ..
        } => {
            let caps = VersionCaps::of(viewer.client_version);
            let data = (caps.notice_user_data && !user_data.is_empty()).then(|| user_data.clone());
            (text.clone(), None, data)
        }
    };
    let mut system = serde_json::Map::new();
    if sender.is_some_and(|p| p.style == PartyStyle::Bot) {
        system.insert("party-info".into(), json!({ "style": "BOT" }));
    }
    if let EventBody::PartyLeft { reason, .. } = &event.body {
        system.insert("quit-reason-code".into(), json!(reason.code().to_string()));
    }
    GmsMessage {
        from: GmsParticipant {
            nickname,
            participant_id,
            kind: participant_type(session.sender_type(&event.from)).to_owned(),
        },
        index: event.id.0,
        kind: message_type(event).to_owned(),
        text,
        message_type: tag,
        utc_time: event.at.0,
        user_data,
        event_attributes: (!system.is_empty()
            && VersionCaps::of(viewer.client_version).event_attributes)
            .then(|| json!({ "GCTI_SYSTEM": system })),
    }
}
