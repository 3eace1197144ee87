//! The agent desktop's view of an interaction, the body of
//! `GET /agent/v1/interactions/{id}` (docs/protocol/desktop.md): the interaction with its
//! user data and properties, the contact record it was identified as, and the contact's
//! other interactions with their transcripts as the customer saw them.
//!
//! `userData` is what the chat carries (user data wins over stored attributes, the seed's
//! "Speve"); `contact.attributes` is the stored record ("Steve"), which is what the agent
//! should go by. The contact is the one the interaction was linked to at creation, not
//! whatever `ContactID` the user data says now (a customer can change its user data).

use parley_core::contacts::Contact;
use parley_core::{EventBody, PartyType, SessionId, UserData, Visibility};
use parley_store::{ContactStore, InteractionRecord, InteractionStore};
use serde::Serialize;

use super::render::{parties, state_name};
use super::AdminError;
use crate::state::AppState;

/// Most history entries a view lists.
pub const HISTORY_LIMIT: u32 = 20;

/// The body of `GET /agent/v1/interactions/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct InteractionView {
    /// The interaction.
    pub interaction: InteractionInfo,
    /// Its contact, if it was identified.
    pub contact: Option<ContactView>,
    /// The contact's other interactions, newest first, at most [`HISTORY_LIMIT`].
    pub history: Vec<HistoryEntry>,
}

/// An interaction as the desktop shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionInfo {
    /// Interaction (= session) id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Queue it was submitted to.
    pub queue: String,
    /// `alive` or `closed`.
    pub state: &'static str,
    /// Creation time.
    pub created_at: i64,
    /// End time, once over.
    pub closed_at: Option<i64>,
    /// Subject.
    pub subject: Option<String>,
    /// The chat's user data (with `ContactID` once identified).
    pub user_data: UserData,
    /// Interaction properties.
    pub properties: UserData,
    /// `verified` or `unverified` when the tenant checks visitor identities
    /// (`ParleyIdentityVerified` in the user data), else `null`.
    pub identity: Option<&'static str>,
}

/// The stored contact record.
#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    /// `ContactID`.
    pub id: String,
    /// Stored attributes.
    pub attributes: parley_core::contacts::ContactAttributes,
}

/// One earlier interaction of the contact.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Interaction id.
    pub id: String,
    /// Creation time.
    pub created_at: i64,
    /// End time, once over.
    pub closed_at: Option<i64>,
    /// Subject.
    pub subject: Option<String>,
    /// Its messages that everyone saw (empty while it goes on).
    pub transcript: Vec<TranscriptLine>,
}

/// One message of a history transcript.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptLine {
    /// When it was sent.
    pub at: i64,
    /// Its sender's nickname at join.
    pub nickname: String,
    /// Its sender's type.
    pub party_type: Option<PartyType>,
    /// The text.
    pub text: String,
}

/// The desktop's view of interaction `id`: `not-found` (404) when there is no record.
/// Authorisation (agent token, "only your chats") is the caller's.
pub async fn interaction_view(
    state: &AppState,
    id: &SessionId,
) -> Result<InteractionView, AdminError> {
    let Some(record) = state.store.interaction(id).await? else {
        return Err(AdminError::not_found("interaction"));
    };
    let contact = match state.store.interaction_contact(id).await? {
        Some(c) => state.store.contact(&c).await?,
        None => None,
    };
    let history = match &contact {
        Some(c) => history(state, c, id).await?,
        None => Vec::new(),
    };
    Ok(InteractionView {
        interaction: InteractionInfo {
            id: record.id.to_string(),
            tenant: record.tenant,
            queue: record.queue,
            state: state_name(record.state),
            created_at: record.created_at.0,
            closed_at: record.end.map(|e| e.closed_at.0),
            subject: record.subject,
            identity: crate::identity::shown(&record.user_data),
            user_data: record.user_data,
            properties: record.properties,
        },
        contact: contact.map(|c| ContactView {
            id: c.id.to_string(),
            attributes: c.attributes,
        }),
        history,
    })
}

/// The contact's interactions other than `this`, newest first.
async fn history(
    state: &AppState,
    contact: &Contact,
    this: &SessionId,
) -> Result<Vec<HistoryEntry>, AdminError> {
    let records = state
        .store
        .contact_history(&contact.id, HISTORY_LIMIT + 1)
        .await?;
    Ok(records
        .into_iter()
        .filter(|r| &r.id != this)
        .take(HISTORY_LIMIT as usize)
        .map(entry)
        .collect())
}

fn entry(r: InteractionRecord) -> HistoryEntry {
    let events = r.transcript.unwrap_or_default();
    let who = parties(&events);
    let transcript = events
        .iter()
        .filter(|e| e.visibility == Visibility::All && e.receiver.is_none())
        .filter_map(|e| match &e.body {
            EventBody::Message { text, .. } => {
                let (nickname, party_type) = who.get(&e.from).copied().unzip();
                Some(TranscriptLine {
                    at: e.at.0,
                    nickname: nickname.unwrap_or_default().to_owned(),
                    party_type,
                    text: text.clone(),
                })
            }
            _ => None,
        })
        .collect();
    HistoryEntry {
        id: r.id.to_string(),
        created_at: r.created_at.0,
        closed_at: r.end.map(|e| e.closed_at.0),
        subject: r.subject,
        transcript,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_core::{
        ClientVersion, Event, EventId, KeyHash, PartyId, PartyStyle, Protocol, UnixMillis,
    };
    use parley_store::SessionState;

    fn party(id: &str) -> PartyId {
        id.parse().expect("party id")
    }

    fn event(id: u64, from: &str, visibility: Visibility, body: EventBody) -> Event {
        Event {
            id: EventId(id),
            at: UnixMillis(1_000 + i64::try_from(id).unwrap_or(0)),
            from: party(from),
            visibility,
            receiver: None,
            body,
            pii: None,
        }
    }

    fn joined(id: u64, from: &str, nickname: &str, party_type: PartyType) -> Event {
        event(
            id,
            from,
            Visibility::All,
            EventBody::NewParty {
                nickname: nickname.into(),
                party_type,
                style: PartyStyle::Normal,
                protocol: Protocol::Basic,
                client_version: ClientVersion::LATEST,
                user_data: UserData::new(),
                person_id: None,
                key_hash: Some(KeyHash([7; 32])),
            },
        )
    }

    fn said(id: u64, from: &str, visibility: Visibility, text: &str) -> Event {
        event(
            id,
            from,
            visibility,
            EventBody::Message {
                text: text.into(),
                message_type: None,
                client_msg_id: None,
            },
        )
    }

    #[test]
    fn history_transcripts_keep_what_everyone_saw_only() {
        let mut direct = said(5, "a1", Visibility::All, "just for you");
        direct.receiver = Some(party("c1"));
        let events = vec![
            joined(1, "c1", "Steve", PartyType::Client),
            joined(2, "a1", "Anna", PartyType::Agent),
            said(3, "c1", Visibility::All, "Hello"),
            said(4, "a1", Visibility::Int, "internal note"),
            direct,
            said(6, "a1", Visibility::All, "Hi Steve"),
        ];
        let record = InteractionRecord {
            id: "s1".parse().expect("session id"),
            created_at: UnixMillis(1_000),
            tenant: "1".into(),
            endpoint: "default".into(),
            queue: "default".into(),
            subject: Some("Refund".into()),
            user_data: UserData::new(),
            state: SessionState::Closed,
            end: None,
            transcript: Some(events),
            properties: UserData::new(),
            transcript_purged_at: None,
            files_purged_at: None,
        };
        let e = entry(record);
        let lines: Vec<(&str, &str)> = e
            .transcript
            .iter()
            .map(|l| (l.nickname.as_str(), l.text.as_str()))
            .collect();
        assert_eq!(lines, [("Steve", "Hello"), ("Anna", "Hi Steve")]);
        assert_eq!(e.transcript[0].party_type, Some(PartyType::Client));
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json["transcript"][0]["partyType"], "CLIENT");
        assert_eq!(json["subject"], "Refund");
        assert!(json["closedAt"].is_null());
    }
}
