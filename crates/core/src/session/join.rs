//! Joining a session and coming back to it.

use super::{Effect, Session};
use crate::error::CoreError;
use crate::event::{
    EventBody, LeftReason, ORIGINAL_NICKNAME_KEY, PARTY_STYLE_KEY, SESSION_PASSWORD_KEY,
    SET_PARTY_STYLE_KEY,
};
use crate::ids::{PartyId, UnixMillis};
use crate::party::{
    ClientVersion, KeyHash, Party, PartyStyle, PartyType, Protocol, UserData, Visibility,
};

/// A request to join (or, for the creator, to start) a session.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The joining user.
    pub party: PartyId,
    /// Its nickname.
    pub nickname: String,
    /// Its kind.
    pub party_type: PartyType,
    /// How it takes part: `ALL`, `INT` (monitor) or `VIP` (coach).
    pub visibility: Visibility,
    /// Its protocol.
    pub protocol: Protocol,
    /// Its client's capability level.
    pub client_version: ClientVersion,
    /// Digest of its secure key, so it can reconnect.
    pub key_hash: Option<KeyHash>,
    /// Agent login, if any.
    pub person_id: Option<String>,
    /// Join user data (may carry the session password and the bot style).
    pub user_data: UserData,
}

/// Why a party joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JoinKind {
    /// The creator starts the session (no password to present).
    Create,
    /// A party asks to join (the password is checked).
    Request,
    /// A party a restoration marked removed comes back: its own earlier join data,
    /// server-set keys included, is trusted.
    Reattach,
}

impl Session {
    pub(super) fn join(
        &mut self,
        now: UnixMillis,
        mut req: JoinRequest,
        kind: JoinKind,
    ) -> Result<Vec<Effect>, CoreError> {
        if self.parties.iter().any(|p| p.id == req.party && p.present) {
            return Err(CoreError::AlreadyJoined);
        }
        // Joins stay in memory for the session's life (see `window.rs`): a full chat
        // takes no one new.
        if kind == JoinKind::Request
            && self.kept_events >= self.settings.limits.max_transcript_events
        {
            return Err(CoreError::LimitExceeded(
                "the chat's transcript is full (max-transcript-events)",
            ));
        }
        let presented = req.user_data.remove(SESSION_PASSWORD_KEY);
        if kind != JoinKind::Reattach {
            // Keys only the server sets: a client cannot make itself look like a bot or
            // preset its "original" nickname.
            req.user_data.remove(PARTY_STYLE_KEY);
            req.user_data.remove(ORIGINAL_NICKNAME_KEY);
        }
        if kind == JoinKind::Request {
            match &self.password {
                Some(pw) if !presented.as_deref().is_some_and(|p| pw.matches(p)) => {
                    return Err(CoreError::WrongSessionPassword);
                }
                // Without a password to check, a chat id alone would open the chat to
                // anyone who saw it (in a URL, a log): only staff, who join by the
                // router's grant or an API key, may join then, unless the operator chose
                // the Genesys behaviour.
                None if req.party_type == PartyType::Client
                    && !self.settings.customer_join_by_id =>
                {
                    return Err(CoreError::NotAllowed(
                        "a customer joins another customer's chat only with its session password",
                    ));
                }
                _ => {}
            }
        }
        let nickname = self.check_nickname(&req.nickname)?;
        self.check_user_data(&req.user_data)?;
        if req.party_type == PartyType::Client && req.visibility != Visibility::All {
            return Err(CoreError::NotAllowed(
                "a customer joins with visibility ALL",
            ));
        }
        if req.party_type == PartyType::System {
            return Err(CoreError::NotAllowed(
                "SYSTEM is the server's own party type",
            ));
        }
        let bot_requested = req
            .user_data
            .get(SET_PARTY_STYLE_KEY)
            .is_some_and(|v| v.eq_ignore_ascii_case("BOT"));
        let style = if bot_requested && req.party_type.is_staff() {
            req.user_data.insert(PARTY_STYLE_KEY.into(), "BOT".into());
            PartyStyle::Bot
        } else {
            PartyStyle::Normal
        };

        let body = EventBody::NewParty {
            nickname: nickname.clone(),
            party_type: req.party_type,
            style,
            protocol: req.protocol,
            client_version: req.client_version,
            user_data: req.user_data,
            person_id: req.person_id.clone(),
            key_hash: req.key_hash,
        };
        let effect = self.emit(now, req.party.clone(), req.visibility, None, body, true);
        let join_event = match &effect {
            Effect::Emit { event, .. } => event.id,
            _ => unreachable!("emit returns Emit"),
        };
        let party = Party {
            id: req.party.clone(),
            nickname,
            original_nickname: None,
            party_type: req.party_type,
            visibility: req.visibility,
            style,
            protocol: req.protocol,
            client_version: req.client_version,
            key_hash: req.key_hash,
            person_id: req.person_id,
            joined_at: now,
            present: true,
            // A flex party is "away" between requests: its inactivity clock starts now.
            detached_since: (req.protocol == Protocol::Flex).then_some(now),
            join_event,
        };
        if party.is_visible_agent() && party.visibility == Visibility::All {
            self.end.agent_joined = true;
        }
        self.orphan_since = None;
        // A user who left and joins again is the same party: its record is replaced in
        // place, so the order of first joins (GMS `participantId`) stays stable.
        match self.parties.iter_mut().find(|p| p.id == party.id) {
            Some(old) => *old = party,
            None => self.parties.push(party),
        }
        Ok(vec![effect])
    }

    /// A party's connection is back. A present party simply stops waiting; a party that a
    /// restoration marked removed joins again, as the seed describes ("disconnected and
    /// connected again").
    pub(super) fn attach(
        &mut self,
        now: UnixMillis,
        id: &PartyId,
    ) -> Result<Vec<Effect>, CoreError> {
        let idx = self
            .parties
            .iter()
            .position(|p| &p.id == id)
            .ok_or(CoreError::NotAParty)?;
        if self.parties[idx].present {
            self.parties[idx].detached_since = None;
            return Ok(Vec::new());
        }
        if self.left_reason(id) != Some(LeftReason::Restoration) {
            return Err(CoreError::NotAParty);
        }
        let old = self.parties[idx].clone();
        let user_data = self
            .transcript
            .iter()
            .find(|e| e.id == old.join_event)
            .and_then(|e| match &e.body {
                EventBody::NewParty { user_data, .. } => Some(user_data.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let req = JoinRequest {
            party: old.id.clone(),
            nickname: old.nickname.clone(),
            party_type: old.party_type,
            visibility: old.visibility,
            protocol: old.protocol,
            client_version: old.client_version,
            key_hash: old.key_hash,
            person_id: old.person_id.clone(),
            user_data,
        };
        let effects = self.join(now, req, JoinKind::Reattach)?;
        if let Some(p) = self.parties.iter_mut().find(|p| &p.id == id) {
            p.original_nickname = old.original_nickname;
        }
        Ok(effects)
    }

    /// The reason of the party's latest leave, if its latest transcript record is a leave.
    fn left_reason(&self, id: &PartyId) -> Option<LeftReason> {
        self.transcript
            .iter()
            .rev()
            .find(|e| {
                &e.from == id
                    && matches!(
                        e.body,
                        EventBody::PartyLeft { .. } | EventBody::NewParty { .. }
                    )
            })
            .and_then(|e| match &e.body {
                EventBody::PartyLeft { reason, .. } => Some(*reason),
                _ => None,
            })
    }

    pub(super) fn check_nickname(&self, nick: &str) -> Result<String, CoreError> {
        let nick = nick.trim();
        if nick.is_empty() {
            return Err(CoreError::InvalidField {
                field: "nickname",
                reason: "must not be empty",
            });
        }
        if nick.chars().count() > self.settings.limits.max_nickname_chars {
            return Err(CoreError::LimitExceeded("nickname too long"));
        }
        if nick.chars().any(char::is_control) {
            return Err(CoreError::InvalidField {
                field: "nickname",
                reason: "must not contain control characters",
            });
        }
        Ok(nick.to_owned())
    }

    /// Checks user data against the session limits.
    pub fn check_user_data(&self, data: &UserData) -> Result<(), CoreError> {
        let limits = &self.settings.limits;
        if data.len() > limits.max_user_data_entries {
            return Err(CoreError::LimitExceeded("too many user data entries"));
        }
        if data
            .iter()
            .any(|(k, v)| k.len() + v.len() > limits.max_user_data_item_bytes)
        {
            return Err(CoreError::LimitExceeded("user data item too large"));
        }
        if data.keys().any(|k| k.is_empty()) {
            return Err(CoreError::InvalidField {
                field: "userData",
                reason: "keys must not be empty",
            });
        }
        Ok(())
    }
}
