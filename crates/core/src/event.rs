//! Transcript events: what happened in a session, in order. The stored transcript is a
//! list of these; the wire formats are derived from them by the server's `map.rs` files.

use serde::{Deserialize, Serialize};

use crate::ids::{ClientMsgId, EventId, PartyId, UnixMillis};
use crate::party::{
    AfterAction, ClientVersion, KeyHash, PartyStyle, PartyType, Protocol, UserData, Visibility,
};

/// User-data key that marks a bot on join.
pub const SET_PARTY_STYLE_KEY: &str = "GCTI_Chat_SetPartyStyle";
/// User-data key the server adds to a bot's join event.
pub const PARTY_STYLE_KEY: &str = "GCTI_Chat_PartyStyle";
/// User-data key that carries the session password on join.
pub const SESSION_PASSWORD_KEY: &str = "GCTI_Chat_SessionPassword";
/// User-data key recording a party's first nickname once it changes it.
pub const ORIGINAL_NICKNAME_KEY: &str = "GCTI_Original_Nickname";
/// System command text of a read confirmation.
pub const READ_CONFIRM: &str = "read-confirm";
/// User-data key of a read confirmation: the last event the party has seen.
pub const LAST_EVENT_ID_KEY: &str = "last-event-id";

/// Notice types (PSDK names on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NoticeType {
    /// The party started typing (text: optional preview).
    TypingStarted,
    /// The party stopped typing.
    TypingStopped,
    /// The party pushed a URL (text: the URL).
    UserPushedUrl,
    /// Application-defined notice.
    UserCustom,
    /// The party changed its nickname (text: the new nickname). ClientVersion 102.
    UserUpdateNick,
    /// A system command (`read-confirm`, `file-uploaded`, ...). ClientVersion 104.
    SysCommand,
    /// Inactivity alert from the server. ClientVersion 103.
    IdleControlAlert,
    /// Close for inactivity. ClientVersion 103.
    IdleControlClose,
    /// Inactivity settings changed. ClientVersion 103.
    IdleControlSet,
}

impl NoticeType {
    /// The lowest client version that may receive this notice.
    pub fn min_version(self) -> ClientVersion {
        match self {
            NoticeType::TypingStarted
            | NoticeType::TypingStopped
            | NoticeType::UserPushedUrl
            | NoticeType::UserCustom => ClientVersion::V101,
            NoticeType::UserUpdateNick => ClientVersion::V102,
            NoticeType::IdleControlAlert
            | NoticeType::IdleControlClose
            | NoticeType::IdleControlSet => ClientVersion::V103,
            NoticeType::SysCommand => ClientVersion::V104,
        }
    }

    /// Typing notices are transient: delivered live, never part of the transcript unless
    /// `transcript-save-notices = all`.
    pub fn is_typing(self) -> bool {
        matches!(self, NoticeType::TypingStarted | NoticeType::TypingStopped)
    }
}

/// Why a party left (the `quit-reason-code` / `<reason code>` of Genesys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LeftReason {
    /// Left by its own request with KeepAlive (flex logout, basic release). Code 0.
    Quit,
    /// Left asking to close if no agents remain. Code 1.
    CloseIfNoAgents,
    /// Left asking to close the session. Code 2.
    ForceClose,
    /// Its connection was lost and did not come back in time. Code 3.
    Disconnect,
    /// Removed by another party (a force close, or a removal). Code 4.
    RemovedByParty,
    /// Removed by the server for a system reason (shutdown, storage failure). Code 5.
    System,
    /// Removed at once after presenting a bad secure key. Code 6.
    BadSecureKey,
    /// Removed for session inactivity. Code 7.
    Inactivity,
    /// Marked removed when the session was restored after a failure. Code 8.
    Restoration,
}

impl LeftReason {
    /// The numeric reason code of Genesys transcripts and `GCTI_SYSTEM/quit-reason-code`.
    pub fn code(self) -> u8 {
        match self {
            LeftReason::Quit => 0,
            LeftReason::CloseIfNoAgents => 1,
            LeftReason::ForceClose => 2,
            LeftReason::Disconnect => 3,
            LeftReason::RemovedByParty => 4,
            LeftReason::System => 5,
            LeftReason::BadSecureKey => 6,
            LeftReason::Inactivity => 7,
            LeftReason::Restoration => 8,
        }
    }

    /// The reason a party's own release request gives.
    pub fn for_release(action: AfterAction) -> LeftReason {
        match action {
            AfterAction::KeepAlive => LeftReason::Quit,
            AfterAction::CloseIfNoAgents => LeftReason::CloseIfNoAgents,
            AfterAction::ForceClose => LeftReason::ForceClose,
        }
    }
}

/// What an event says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EventBody {
    /// A party joined (Genesys `newParty`).
    NewParty {
        /// Nickname at join.
        nickname: String,
        /// Kind of participant.
        party_type: PartyType,
        /// Bot or not.
        style: PartyStyle,
        /// Protocol of the party.
        protocol: Protocol,
        /// Capability level of its client.
        client_version: ClientVersion,
        /// Join user data (the session password removed).
        user_data: UserData,
        /// Agent login, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person_id: Option<String>,
        /// Digest of the party's secure key; stays on the server.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_hash: Option<KeyHash>,
    },
    /// A party left (Genesys `partyLeft`).
    PartyLeft {
        /// Why.
        reason: LeftReason,
        /// The after-action the party asked for.
        after_action: AfterAction,
        /// Optional farewell text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The party that removed it, when another party did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        asker: Option<PartyId>,
    },
    /// A chat message.
    Message {
        /// The text.
        text: String,
        /// Opaque sender-supplied tag (GMS `messageType`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_type: Option<String>,
        /// Sender's idempotency id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<ClientMsgId>,
    },
    /// A notice (typing, pushed URL, nickname change, system command, ...).
    Notice {
        /// Which notice.
        notice_type: NoticeType,
        /// Notice text (preview, URL, new nickname, command).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Notice user data (e.g. `last-event-id` of a read confirmation).
        #[serde(default, skip_serializing_if = "UserData::is_empty")]
        user_data: UserData,
        /// Sender's idempotency id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<ClientMsgId>,
    },
}

/// One transcript event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Per-session position.
    pub id: EventId,
    /// When it happened (UTC).
    pub at: UnixMillis,
    /// The party it is from or about.
    pub from: PartyId,
    /// Who may see it.
    pub visibility: Visibility,
    /// The only other party who sees it, for a direct message or notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<PartyId>,
    /// What happened.
    pub body: EventBody,
    /// Sensitive data masking found in a message's text (`[transcript-cleanup]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<Box<Pii>>,
}

/// What masking found in a message, kept with its event: the masked text, the hits (for
/// `GCTI_SYSTEM/pii-cleanup`) and who is shown the text in clear. Present only when a rule
/// hit. Decided once, when the message is sent (see [`crate::mask::MaskPolicy`]), so a
/// party that joins later never gains a clear copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pii {
    /// The masked text while the body holds the clear one; `None` once the body holds
    /// the masked text (the stored copy under `apply-area = always | history-all`, the
    /// final transcript).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked: Option<String>,
    /// What was masked, rule by rule.
    pub hits: Vec<crate::mask::Hit>,
    /// The parties shown the clear text live; `None`: every party (masking does not
    /// apply to live delivery). Never stored: a restored session shows what was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_for: Option<Vec<PartyId>>,
    /// Why masking failed closed (the whole text masked), for the shell to log; never
    /// stored.
    #[serde(skip)]
    pub failure: Option<String>,
}

impl Pii {
    /// Whether `viewer` is shown the clear text.
    pub fn clear_for(&self, viewer: &PartyId) -> bool {
        self.masked.is_some() && self.clear_for.as_ref().is_none_or(|c| c.contains(viewer))
    }
}

impl Event {
    /// The idempotency id the sender gave, if any.
    pub fn client_msg_id(&self) -> Option<&ClientMsgId> {
        match &self.body {
            EventBody::Message { client_msg_id, .. } | EventBody::Notice { client_msg_id, .. } => {
                client_msg_id.as_ref()
            }
            _ => None,
        }
    }

    /// Bytes of text a party wrote into this event (a message's or a notice's text): what
    /// `max-transcript-size` counts.
    pub fn text_bytes(&self) -> usize {
        match &self.body {
            EventBody::Message { text, .. } => text.len(),
            EventBody::Notice { text, .. } => text.as_ref().map_or(0, String::len),
            _ => 0,
        }
    }

    /// This event with its message text masked, as a transcript that must be masked
    /// keeps it (the clear text gone, the hits kept); borrowed when nothing is masked.
    pub fn masked(&self) -> std::borrow::Cow<'_, Event> {
        use std::borrow::Cow;
        let Some(pii) = &self.pii else {
            return Cow::Borrowed(self);
        };
        let Some(masked) = &pii.masked else {
            return Cow::Borrowed(self);
        };
        let mut event = self.clone();
        if let EventBody::Message { text, .. } = &mut event.body {
            text.clone_from(masked);
        }
        event.pii = Some(Box::new(Pii {
            masked: None,
            hits: pii.hits.clone(),
            clear_for: None,
            failure: None,
        }));
        Cow::Owned(event)
    }

    /// This event as stored while the chat goes on: masked when `mask` (`apply-area`
    /// `always` or `history-all`), else the clear text with its masked copy kept for the
    /// final transcript; who saw it in clear live is never stored.
    pub fn stored(&self, mask: bool) -> std::borrow::Cow<'_, Event> {
        use std::borrow::Cow;
        match &self.pii {
            None => Cow::Borrowed(self),
            Some(_) if mask => self.masked(),
            Some(pii) if pii.clear_for.is_none() => Cow::Borrowed(self),
            Some(pii) => {
                let mut event = self.clone();
                event.pii = Some(Box::new(Pii {
                    clear_for: None,
                    failure: None,
                    ..(**pii).clone()
                }));
                Cow::Owned(event)
            }
        }
    }

    /// A message's text as it is shown to whoever is not shown it in clear (the text
    /// itself when nothing was masked): what logs may print. `None` for other events.
    pub fn masked_text(&self) -> Option<&str> {
        let EventBody::Message { text, .. } = &self.body else {
            return None;
        };
        Some(
            self.pii
                .as_ref()
                .and_then(|p| p.masked.as_deref())
                .unwrap_or(text),
        )
    }

    /// Whether this is a read confirmation (annihilated by later ones, leave, restore).
    pub fn is_read_confirm(&self) -> bool {
        matches!(
            &self.body,
            EventBody::Notice { notice_type: NoticeType::SysCommand, text: Some(t), .. }
                if t == READ_CONFIRM
        )
    }
}
