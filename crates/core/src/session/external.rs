//! Posts from outside the session: a workflow (ESP `Message` / `Notice`) or the server's
//! own routing strategy (greeting, queue position) writes into a chat under a nickname.
//!
//! Such a poster is an EXTERNAL party with protocol ESP, as in Genesys transcripts
//! (`userType="EXTERNAL"`, `protocolType="ESP"`). The first post under a nickname joins a
//! party for it; later posts under the same nickname reuse it. The party is found by
//! nickname among the session's parties, which restoration rebuilds from the stored join
//! events, so the mapping survives a restart without any extra state. A party that left
//! (a restoration marks every party left, code 8) is shown joining again under its old id.
//!
//! A workflow party always joins visibly (`ALL`): it speaks for the contact center, and a
//! later `ALL` post must not be narrowed by an earlier `INT` one. It never counts as an
//! agent (close rules, reporting) and never keeps a session open on its own: when the
//! customer leaves a chat in which only workflow parties remain, the chat ends.

use super::join::{JoinKind, JoinRequest};
use super::send::{SendBody, SendRequest};
use super::{Effect, Session};
use crate::error::CoreError;
use crate::event::NoticeType;
use crate::ids::{ClientMsgId, PartyId, UnixMillis};
use crate::party::{ClientVersion, Party, PartyType, Protocol, UserData, Visibility};

/// The nickname of a post that names none (also the default `[routing] system-nickname`).
pub const DEFAULT_EXTERNAL_NICKNAME: &str = "System";

/// Prefix of the ids of workflow parties. Server-issued user ids are hexadecimal, so an id
/// with a `-` can never be a client's.
const EXTERNAL_ID_PREFIX: &str = "esp-";

/// A message or notice posted by an EXTERNAL party.
#[derive(Debug, Clone)]
pub struct ExternalRequest {
    /// The nickname it is shown under (trimmed; matched exactly to find the party).
    pub nickname: String,
    /// Who may see it: `ALL`, `INT` (staff) or `VIP` (supervisors and coaches).
    pub visibility: Visibility,
    /// A message, or a `USER_PUSHED_URL` / `USER_CUSTOM` notice.
    pub body: SendBody,
    /// The workflow's own id for the post (Parley's `ClientMessageId` extension): a
    /// retried post with the same id and nickname is stored once.
    pub client_msg_id: Option<ClientMsgId>,
}

impl Party {
    /// A workflow (ESP) party: EXTERNAL and speaking ESP. It is never an agent and never
    /// keeps a session open by itself.
    pub fn is_workflow(&self) -> bool {
        self.party_type == PartyType::External && self.protocol == Protocol::Esp
    }
}

impl Session {
    /// The workflow party posting under `nickname`, present or not.
    pub fn workflow_party(&self, nickname: &str) -> Option<&Party> {
        let nickname = nickname.trim();
        self.parties
            .iter()
            .find(|p| p.is_workflow() && p.nickname == nickname)
    }

    pub(super) fn external(
        &mut self,
        now: UnixMillis,
        req: ExternalRequest,
    ) -> Result<Vec<Effect>, CoreError> {
        let nickname = self.check_nickname(&req.nickname)?;
        // Everything `send` could refuse is checked before the party joins, so a refused
        // post changes nothing.
        self.check_external_body(&req.body)?;
        if let (Some(cid), Some(p)) = (&req.client_msg_id, self.workflow_party(&nickname)) {
            if let Some(id) = self.recent_ids.get(&(p.id.clone(), cid.clone())) {
                return Ok(vec![Effect::Duplicate { id: *id }]);
            }
        }

        let mut effects = Vec::new();
        let party = match self.workflow_party(&nickname) {
            Some(p) if p.present => p.id.clone(),
            Some(p) => {
                let id = p.id.clone();
                effects.extend(self.join_workflow(now, id.clone(), nickname)?);
                id
            }
            None => {
                let id = self.new_workflow_id()?;
                effects.extend(self.join_workflow(now, id.clone(), nickname)?);
                id
            }
        };
        effects.extend(self.send(
            now,
            SendRequest {
                from: party,
                visibility: req.visibility,
                receiver: None,
                client_msg_id: req.client_msg_id,
                body: req.body,
            },
        )?);
        Ok(effects)
    }

    /// The checks `send` makes, for a workflow party (which joined `ALL` and sends no
    /// direct events), plus the notice types a workflow may send.
    fn check_external_body(&self, body: &SendBody) -> Result<(), CoreError> {
        let limits = self.settings.limits;
        match body {
            SendBody::Message { text, message_type } => {
                self.check_message(text, message_type.as_deref())?;
            }
            SendBody::Notice {
                notice_type,
                text,
                user_data,
            } => {
                match notice_type {
                    NoticeType::UserPushedUrl => {
                        if text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                            return Err(CoreError::InvalidField {
                                field: "text",
                                reason: "a pushed URL needs the URL as text",
                            });
                        }
                    }
                    NoticeType::UserCustom => {}
                    _ => {
                        return Err(CoreError::NotAllowed(
                            "a workflow sends USER_PUSHED_URL or USER_CUSTOM notices only",
                        ))
                    }
                }
                if text
                    .as_ref()
                    .is_some_and(|t| t.len() > limits.max_text_bytes)
                {
                    return Err(CoreError::LimitExceeded("notice text too large"));
                }
                self.check_user_data(user_data)?;
            }
        }
        Ok(())
    }

    /// A fresh id for a workflow party: derived from the id its join event will get, which
    /// is never reused, so it is unique in the session and the same on every replay.
    fn new_workflow_id(&self) -> Result<PartyId, CoreError> {
        let base = format!("{EXTERNAL_ID_PREFIX}{}", self.next_id);
        let mut candidate = base.clone();
        let mut n = 0u32;
        while self.party(&candidate.parse()?).is_some() {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        candidate.parse()
    }

    /// Joins (or rejoins) a workflow party. A workflow presents no session password, and
    /// its join does not count as someone coming back to a restored session: only the
    /// parties of the chat itself end the wait for them.
    fn join_workflow(
        &mut self,
        now: UnixMillis,
        party: PartyId,
        nickname: String,
    ) -> Result<Vec<Effect>, CoreError> {
        let orphan_since = self.orphan_since;
        let req = JoinRequest {
            party,
            nickname,
            party_type: PartyType::External,
            visibility: Visibility::All,
            protocol: Protocol::Esp,
            client_version: ClientVersion::LATEST,
            key_hash: None,
            person_id: None,
            user_data: UserData::new(),
        };
        // `Create` is the join kind that presents no password.
        let effects = self.join(now, req, JoinKind::Create)?;
        self.orphan_since = orphan_since;
        Ok(effects)
    }
}
