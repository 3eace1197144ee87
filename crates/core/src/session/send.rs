//! Messages and notices.

use super::{Effect, SaveNotices, Session};
use crate::audience::{admits, effective_visibility, Viewer};
use crate::error::CoreError;
use crate::event::{EventBody, NoticeType, LAST_EVENT_ID_KEY, ORIGINAL_NICKNAME_KEY, READ_CONFIRM};
use crate::ids::{ClientMsgId, EventId, PartyId, UnixMillis};
use crate::party::{PartyType, UserData, Visibility};

/// What a party sends.
#[derive(Debug, Clone)]
pub enum SendBody {
    /// A chat message.
    Message {
        /// The text.
        text: String,
        /// Opaque tag.
        message_type: Option<String>,
    },
    /// A notice.
    Notice {
        /// Which.
        notice_type: NoticeType,
        /// Its text.
        text: Option<String>,
        /// Its user data.
        user_data: UserData,
    },
}

/// A message or notice from a party.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// The sender.
    pub from: PartyId,
    /// Requested visibility (narrowed for monitors and coaches).
    pub visibility: Visibility,
    /// The receiver of a direct message or notice.
    pub receiver: Option<PartyId>,
    /// Idempotency id: a retry with the same id is acknowledged, not stored again.
    pub client_msg_id: Option<ClientMsgId>,
    /// The content.
    pub body: SendBody,
}

impl Session {
    /// The checks of a message's fields (text present and within `max_text_bytes`,
    /// message type within the user-data item limit), for every sender.
    pub(super) fn check_message(
        &self,
        text: &str,
        message_type: Option<&str>,
    ) -> Result<(), CoreError> {
        let limits = self.settings.limits;
        if text.is_empty() {
            return Err(CoreError::InvalidField {
                field: "text",
                reason: "a message needs text",
            });
        }
        if text.len() > limits.max_text_bytes {
            return Err(CoreError::LimitExceeded("message text too large"));
        }
        if message_type.is_some_and(|t| t.len() > limits.max_user_data_item_bytes) {
            return Err(CoreError::LimitExceeded("messageType too large"));
        }
        Ok(())
    }

    /// Refuses a party's message or notice when the transcript is full
    /// (`max-transcript-events`, `max-transcript-size`): a session's memory and storage are
    /// bounded whatever its clients send. The server's own events (parties leaving, the
    /// end) still go in, so a full chat can end normally.
    fn check_room(&self, body: &SendBody) -> Result<(), CoreError> {
        let bytes = match body {
            SendBody::Message { text, .. } => text.len(),
            SendBody::Notice { text, .. } => text.as_ref().map_or(0, String::len),
        };
        let l = &self.settings.limits;
        if self.kept_events >= l.max_transcript_events
            || self.transcript_bytes.saturating_add(bytes) > l.max_transcript_bytes
        {
            return Err(CoreError::LimitExceeded(
                "the chat's transcript is full (max-transcript-events, max-transcript-size)",
            ));
        }
        Ok(())
    }

    pub(super) fn send(
        &mut self,
        now: UnixMillis,
        req: SendRequest,
    ) -> Result<Vec<Effect>, CoreError> {
        let sender = self.present_party(&req.from)?;
        if let Some(cid) = &req.client_msg_id {
            if let Some(id) = self.recent_ids.get(&(req.from.clone(), cid.clone())) {
                return Ok(vec![Effect::Duplicate { id: *id }]);
            }
        }
        if sender.party_type == PartyType::Client && req.visibility != Visibility::All {
            return Err(CoreError::NotAllowed(
                "a customer sends with visibility ALL",
            ));
        }
        let mut visibility = effective_visibility(sender.visibility, req.visibility);
        if let SendBody::Notice {
            notice_type: NoticeType::UserUpdateNick,
            ..
        } = &req.body
        {
            // A nickname changes for everyone, so everyone who may see the party is told.
            if req.receiver.is_some() {
                return Err(CoreError::NotAllowed(
                    "a nickname change is not a direct notice",
                ));
            }
            visibility = effective_visibility(sender.visibility, Visibility::All);
        }
        if let Some(r) = &req.receiver {
            let receiver = match self.present_party(r) {
                Ok(p) if r != &req.from => p,
                _ => return Err(CoreError::NoSuchReceiver),
            };
            if !admits(Viewer::from(receiver), visibility) {
                return Err(CoreError::NotAllowed(
                    "the receiver may not see this visibility",
                ));
            }
        }
        let limits = self.settings.limits;
        self.check_room(&req.body)?;
        match req.body {
            SendBody::Message { text, message_type } => {
                self.check_message(&text, message_type.as_deref())?;
                let body = EventBody::Message {
                    text,
                    message_type,
                    client_msg_id: req.client_msg_id,
                };
                Ok(vec![self.emit(
                    now,
                    req.from,
                    visibility,
                    req.receiver,
                    body,
                    true,
                )])
            }
            SendBody::Notice {
                notice_type,
                text,
                user_data,
            } => {
                if text
                    .as_ref()
                    .is_some_and(|t| t.len() > limits.max_text_bytes)
                {
                    return Err(CoreError::LimitExceeded("notice text too large"));
                }
                self.check_user_data(&user_data)?;
                self.notice(
                    now,
                    req.from,
                    visibility,
                    req.receiver,
                    req.client_msg_id,
                    notice_type,
                    text,
                    user_data,
                )
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn notice(
        &mut self,
        now: UnixMillis,
        from: PartyId,
        visibility: Visibility,
        receiver: Option<PartyId>,
        client_msg_id: Option<ClientMsgId>,
        notice_type: NoticeType,
        text: Option<String>,
        user_data: UserData,
    ) -> Result<Vec<Effect>, CoreError> {
        let save_all = self.settings.save_notices == SaveNotices::All;
        let mut effects = Vec::new();
        let mut text = self.mask_preview(&from, notice_type, text);
        let keep = match notice_type {
            NoticeType::TypingStarted | NoticeType::TypingStopped => save_all,
            NoticeType::UserPushedUrl => {
                if text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                    return Err(CoreError::InvalidField {
                        field: "text",
                        reason: "a pushed URL needs the URL as text",
                    });
                }
                true
            }
            NoticeType::UserCustom => true,
            NoticeType::UserUpdateNick => {
                let nick = self.check_nickname(text.as_deref().unwrap_or(""))?;
                self.rename(&from, &nick);
                text = Some(nick);
                true
            }
            NoticeType::SysCommand => {
                let command = text.as_deref().unwrap_or("");
                if command.is_empty() {
                    return Err(CoreError::InvalidField {
                        field: "text",
                        reason: "a system command needs its name as text",
                    });
                }
                if command == super::FILE_UPLOADED || command == super::FILE_DELETED {
                    // Only file transfer itself announces files, so a notice can never
                    // point a party at a document that is not the session's.
                    return Err(CoreError::NotAllowed(
                        "file notices come from file transfer",
                    ));
                }
                if command == READ_CONFIRM {
                    let seen: EventId = user_data
                        .get(LAST_EVENT_ID_KEY)
                        .ok_or(CoreError::InvalidField {
                            field: LAST_EVENT_ID_KEY,
                            reason: "a read confirmation needs last-event-id",
                        })?
                        .parse()?;
                    if seen > self.last_event_id() {
                        return Err(CoreError::InvalidField {
                            field: LAST_EVENT_ID_KEY,
                            reason: "names an event that does not exist yet",
                        });
                    }
                    // A new confirmation annihilates the party's previous one.
                    effects.extend(self.annihilate(|e| e.from == from && e.is_read_confirm()));
                    save_all
                } else {
                    true
                }
            }
            NoticeType::IdleControlAlert
            | NoticeType::IdleControlClose
            | NoticeType::IdleControlSet => {
                return Err(CoreError::NotAllowed(
                    "idle control notices come from the server",
                ));
            }
        };
        let body = EventBody::Notice {
            notice_type,
            text,
            user_data,
            client_msg_id,
        };
        effects.push(self.emit(now, from, visibility, receiver, body, keep));
        Ok(effects)
    }

    /// Changes a party's nickname; the first change records the original nickname in the
    /// user data of the party's join event (`GCTI_Original_Nickname`).
    pub(super) fn rename(&mut self, id: &PartyId, nick: &str) {
        let Some(party) = self.parties.iter_mut().find(|p| &p.id == id) else {
            return;
        };
        if party.original_nickname.is_none() {
            let original = party.nickname.clone();
            party.original_nickname = Some(original.clone());
            let join_event = party.join_event;
            if let Some(EventBody::NewParty { user_data, .. }) = self
                .transcript
                .iter_mut()
                .find(|e| e.id == join_event)
                .map(|e| &mut e.body)
            {
                user_data
                    .entry(ORIGINAL_NICKNAME_KEY.to_owned())
                    .or_insert(original);
            }
        }
        party.nickname = nick.to_owned();
    }
}
