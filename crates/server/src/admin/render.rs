//! The JSON of stored records as the admin API shows them (camelCase, Unix milliseconds).
//! What stays on the server is left out: password hashes, secure-key digests, and the
//! client message ids of events.

use std::collections::HashMap;

use parley_core::contacts::{Contact, ContactId};
use parley_core::{Event, EventBody, PartyId, PartyType};
use parley_store::{AgentRecord, ErasureRecord, InteractionRecord, SessionState};
use serde_json::{json, Map, Value};

/// An enum's serde name (`"ALL"`, `"CLIENT"`, ...).
fn name<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `alive` or `closed`.
pub(super) fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Alive => "alive",
        SessionState::Closed => "closed",
    }
}

/// An agent, without its password hash.
pub(super) fn agent(record: &AgentRecord) -> Value {
    json!({
        "login": record.login.as_str(),
        "nickname": record.nickname,
        "role": record.role.as_str(),
        "queues": record.queues.iter().map(|q| q.as_str()).collect::<Vec<_>>(),
        "capacity": record.capacity,
        "source": record.source.as_str(),
        "createdAt": record.created_at.0,
        "updatedAt": record.updated_at.0,
    })
}

/// A contact.
pub(super) fn contact(c: &Contact) -> Value {
    json!({
        "id": c.id.as_str(),
        "tenant": c.tenant,
        "attributes": c.attributes,
        "createdAt": c.created_at.0,
        "updatedAt": c.updated_at.0,
    })
}

/// An interaction record; its final transcript only when `with_transcript`.
pub(super) fn interaction(
    r: &InteractionRecord,
    contact: Option<&ContactId>,
    with_transcript: bool,
) -> Value {
    let mut v = json!({
        "id": r.id.as_str(),
        "tenant": r.tenant,
        "endpoint": r.endpoint,
        "queue": r.queue,
        "state": state_name(r.state),
        "createdAt": r.created_at.0,
        "closedAt": r.end.map(|e| e.closed_at.0),
        "subject": r.subject,
        "userData": r.user_data,
        "properties": r.properties,
        "end": r.end.map(|e| name(&e)),
        "transcriptPurgedAt": r.transcript_purged_at.map(|t| t.0),
        "filesPurgedAt": r.files_purged_at.map(|t| t.0),
    });
    if let Some(c) = contact {
        v["contactId"] = json!(c.as_str());
    }
    if with_transcript {
        v["transcript"] = r
            .transcript
            .as_deref()
            .map_or(Value::Null, |events| Value::Array(transcript(events)));
    }
    v
}

/// The audit record of an erased contact.
pub(super) fn erasure(r: &ErasureRecord) -> Value {
    json!({
        "contactId": r.contact.as_str(),
        "tenant": r.tenant,
        "erasedAt": r.erased_at.0,
        "erasedBy": r.erased_by,
        "reference": r.reference,
        "interactions": r.interactions,
        "transcriptEvents": r.events,
        "files": r.files,
        "fileBytes": r.file_bytes,
    })
}

/// Who each party of a transcript is: its nickname and type at join.
pub(super) fn parties(events: &[Event]) -> HashMap<&PartyId, (&str, PartyType)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::NewParty {
                nickname,
                party_type,
                ..
            } => Some((&e.from, (nickname.as_str(), *party_type))),
            _ => None,
        })
        .collect()
}

/// Every event of a final transcript, with the nickname and type of its party.
pub(super) fn transcript(events: &[Event]) -> Vec<Value> {
    let who = parties(events);
    events.iter().map(|e| event(e, &who)).collect()
}

fn event(e: &Event, who: &HashMap<&PartyId, (&str, PartyType)>) -> Value {
    let mut v = Map::new();
    v.insert("id".into(), json!(e.id.0));
    v.insert("at".into(), json!(e.at.0));
    v.insert("from".into(), json!(e.from.as_str()));
    if let Some((nickname, party_type)) = who.get(&e.from) {
        v.insert("nickname".into(), json!(nickname));
        v.insert("partyType".into(), name(party_type));
    }
    v.insert("visibility".into(), name(&e.visibility));
    if let Some(r) = &e.receiver {
        v.insert("receiver".into(), json!(r.as_str()));
    }
    match &e.body {
        EventBody::NewParty {
            user_data,
            person_id,
            ..
        } => {
            v.insert("type".into(), json!("newParty"));
            v.insert("userData".into(), json!(user_data));
            if let Some(p) = person_id {
                v.insert("personId".into(), json!(p));
            }
        }
        EventBody::PartyLeft {
            reason,
            after_action,
            text,
            ..
        } => {
            v.insert("type".into(), json!("partyLeft"));
            v.insert("reason".into(), json!(reason.code()));
            v.insert("afterAction".into(), name(after_action));
            if let Some(t) = text {
                v.insert("text".into(), json!(t));
            }
        }
        EventBody::Message {
            text, message_type, ..
        } => {
            v.insert("type".into(), json!("message"));
            v.insert("text".into(), json!(text));
            if let Some(t) = message_type {
                v.insert("messageType".into(), json!(t));
            }
        }
        EventBody::Notice {
            notice_type, text, ..
        } => {
            v.insert("type".into(), json!("notice"));
            v.insert("noticeType".into(), name(notice_type));
            if let Some(t) = text {
                v.insert("text".into(), json!(t));
            }
        }
    }
    Value::Object(v)
}
