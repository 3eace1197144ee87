//! The chat session state machine: `handle(now, input) -> Result<Vec<Effect>, CoreError>`.
//!
//! A session owns its parties and its transcript. Inputs are requests from parties (join,
//! send, release), connection facts (detach, attach) and the passage of time (`Tick`).
//! Effects tell the shell what to carry out: emit an event (persist it, deliver it to the
//! live audience it carries), annihilate an event, acknowledge a duplicate, close. A
//! refused input changes nothing.
//!
//! Layout: `join.rs` joins and re-attachment, `send.rs` messages and notices, `leave.rs`
//! leaving and closing, `restore.rs` rebuilding from a stored transcript, `end.rs` the
//! reporting facts of the end, `external.rs` posts of workflow (ESP) parties.

mod end;
pub use restore::Stored;
mod external;
mod files;
mod join;
mod leave;
mod mask;
mod restore;
mod send;
mod window;

use std::collections::{HashMap, VecDeque};

pub use end::{EndInfo, EndedAgent, EndedBy, EndedReason};
pub use external::{ExternalRequest, DEFAULT_EXTERNAL_NICKNAME};
pub use files::{FileRecord, FileSettings, FileUsage, UploadedFile, FILE_DELETED, FILE_UPLOADED};
pub use join::JoinRequest;
pub use mask::SessionMasking;
pub use send::{SendBody, SendRequest};

use crate::audience::{can_see, Viewer};
use crate::error::CoreError;
use crate::event::{Event, EventBody, LeftReason};
use crate::ids::{ClientMsgId, EventId, PartyId, SessionId, UnixMillis};
use crate::party::{AfterAction, Party, PartyType, UserData, Visibility};
use crate::secret::SessionPassword;

/// Which notices become part of the stored transcript (`transcript-save-notices`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SaveNotices {
    /// Every notice but typing notices and read confirmations.
    #[default]
    Default,
    /// Every notice, typing and read confirmations included.
    All,
}

/// Bounds on what one request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message or notice text, in bytes.
    pub max_text_bytes: usize,
    /// Longest nickname, in characters.
    pub max_nickname_chars: usize,
    /// Most user-data entries on one request.
    pub max_user_data_entries: usize,
    /// Largest user-data key plus value, in bytes.
    pub max_user_data_item_bytes: usize,
    /// Most events a transcript keeps before parties' messages and notices are refused
    /// (`max-transcript-events`): a session's memory is bounded whatever a client sends.
    pub max_transcript_events: usize,
    /// Most bytes of parties' text a transcript keeps (`max-transcript-size`).
    pub max_transcript_bytes: usize,
    /// Most recent messages and notices a live session keeps in memory once they are
    /// stored (`transcript-memory-events`); older ones are read from the store.
    pub window_events: usize,
    /// Most bytes of their text kept in memory (`transcript-memory-size`).
    pub window_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_bytes: 16 * 1024,
            max_nickname_chars: 64,
            max_user_data_entries: 64,
            max_user_data_item_bytes: 4096,
            max_transcript_events: 10_000,
            max_transcript_bytes: 4 * 1024 * 1024,
            window_events: 256,
            window_bytes: 256 * 1024,
        }
    }
}

/// Per-session settings, taken from the configuration when the session starts.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    /// Which notices are kept in the transcript.
    pub save_notices: SaveNotices,
    /// How long a party whose connection dropped stays in the session, waiting for it
    /// to come back, before it is removed with reason DISCONNECT.
    pub reconnect_timeout_ms: u64,
    /// How long a flex (HTTP) party may go without a request before it is removed with
    /// reason DISCONNECT (`flex-disconnect-timeout`).
    pub flex_disconnect_timeout_ms: u64,
    /// The customer's file-transfer allowances.
    pub files: FileSettings,
    /// Request bounds.
    pub limits: Limits,
    /// How many recent client message ids are remembered for idempotent retries.
    pub idempotency_window: usize,
    /// Whether a customer may join a chat without its session password, by its id alone
    /// (the Genesys behaviour; `customer-join-by-chat-id`).
    pub customer_join_by_id: bool,
    /// Masking of sensitive data (`[transcript-cleanup]` with the tenant's rules);
    /// `None`: off.
    pub masking: Option<SessionMasking>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            save_notices: SaveNotices::Default,
            reconnect_timeout_ms: 60_000,
            flex_disconnect_timeout_ms: 45_000,
            files: FileSettings::default(),
            limits: Limits::default(),
            idempotency_window: 1024,
            customer_join_by_id: false,
            masking: None,
        }
    }
}

/// An input to the session.
#[derive(Debug, Clone)]
pub enum Input {
    /// A party asks to join.
    Join(JoinRequest),
    /// A party sends a message or notice.
    Send(SendRequest),
    /// A workflow (ESP) or the routing strategy posts under a nickname; its EXTERNAL
    /// party joins first if it is not present (see `external.rs`).
    External(ExternalRequest),
    /// A party leaves with an after-action.
    Release {
        /// Who.
        party: PartyId,
        /// What happens to the session.
        after_action: AfterAction,
        /// Optional farewell text.
        text: Option<String>,
    },
    /// A party is removed by the server or another party.
    Remove {
        /// Who.
        party: PartyId,
        /// Why (e.g. DISCONNECT for a flex timeout, BAD_SECURE_KEY).
        reason: LeftReason,
        /// The party that asked for the removal, if any.
        asker: Option<PartyId>,
    },
    /// A party's connection dropped; it may come back within the reconnect timeout.
    Detach {
        /// Who.
        party: PartyId,
    },
    /// A party's connection is back (after a drop, a restart or a restoration). The shell
    /// has checked its secure key with [`Session::check_key`].
    Attach {
        /// Who.
        party: PartyId,
    },
    /// The server closes the session (storage failure, inactivity).
    SystemClose {
        /// Why.
        reason: EndedReason,
    },
    /// A flex party made a request: it is active (resets `flex-disconnect-timeout`).
    Touch {
        /// Who.
        party: PartyId,
    },
    /// A party stored a file; announce it (`file-uploaded`).
    UploadFile {
        /// Who.
        party: PartyId,
        /// The stored file.
        file: UploadedFile,
    },
    /// A party deletes a file (`file-deleted`).
    DeleteFile {
        /// Who.
        party: PartyId,
        /// Which (`file-id`).
        file_id: u64,
    },
    /// A party wants to download a file.
    DownloadFile {
        /// Who.
        party: PartyId,
        /// Which (`file-id`).
        file_id: u64,
    },
    /// Time passed: fire due deadlines.
    Tick,
}

/// What the shell must carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append this event and deliver it live to `audience`. `keep` says whether it
    /// belongs to the stored transcript; a transient event (typing) still consumes its
    /// id, which the shell records so ids are never reused.
    Emit {
        /// The event.
        event: Event,
        /// Part of the stored transcript.
        keep: bool,
        /// Who receives it live, in join order: every party present after the input or
        /// when it arrived that may see the event (see [`crate::audience`], "live
        /// audience"). So a leaver sees its own leave, and a party a close removes sees
        /// the rest of that close.
        audience: Vec<PartyId>,
    },
    /// Remove this event from the transcript (read confirmations are annihilated).
    Annihilate {
        /// Which.
        id: EventId,
    },
    /// A retried send: the event is already stored under this id.
    Duplicate {
        /// The original event.
        id: EventId,
    },
    /// The session is over.
    Closed(EndInfo),
    /// Remove this document from the store (a deleted file).
    DropDocument {
        /// Store document id.
        document_id: String,
    },
    /// Serve this file to the requester (an allowed download).
    ServeDocument(FileRecord),
}

/// Facts tracked for the end-of-session report.
#[derive(Debug, Clone, Default, PartialEq)]
struct EndTracker {
    /// How the first customer left, if one left before the close.
    client_left: Option<EndedReason>,
    /// Whether a visible human agent ever joined.
    agent_joined: bool,
}

/// One chat session.
#[derive(Debug, Clone)]
pub struct Session {
    id: SessionId,
    created_at: UnixMillis,
    settings: SessionSettings,
    password: Option<SessionPassword>,
    parties: Vec<Party>,
    /// The kept events in memory, in id order: every structural event and the recent
    /// window of messages and notices (see `window.rs`).
    transcript: Vec<Event>,
    /// Kept events in the whole transcript, stored ones included
    /// (see `Limits::max_transcript_events`).
    kept_events: usize,
    /// Bytes of parties' text in the whole transcript (see `Limits::max_transcript_bytes`).
    transcript_bytes: usize,
    /// What the window of messages and notices in `transcript` holds.
    window_use: window::WindowUse,
    /// The newest message or notice that has left memory (see `Session::trim`).
    trimmed_upto: EventId,
    next_id: EventId,
    recent: VecDeque<(PartyId, ClientMsgId)>,
    recent_ids: HashMap<(PartyId, ClientMsgId), EventId>,
    end: EndTracker,
    over: Option<EndInfo>,
    files: files::Files,
    /// Since when a restored session has waited for any party to come back.
    orphan_since: Option<UnixMillis>,
}

impl Session {
    /// Starts a session with its creator as the first party. The password is the
    /// creator's own (`GCTI_Chat_SessionPassword` in its join user data) if it gave one
    /// over the basic protocol, else `generated` (the shell passes one when
    /// `session-password-enforce` is on). The seed lets only a basic client choose it: a
    /// flex or GMS creator's `GCTI_Chat_SessionPassword` is dropped, never stored or shown.
    pub fn create(
        id: SessionId,
        now: UnixMillis,
        settings: SessionSettings,
        generated: Option<SessionPassword>,
        mut creator: JoinRequest,
    ) -> Result<(Session, Vec<Effect>), CoreError> {
        let chosen = creator
            .user_data
            .remove(crate::event::SESSION_PASSWORD_KEY)
            .filter(|p| !p.is_empty() && creator.protocol == crate::Protocol::Basic)
            .map(SessionPassword::new);
        let mut session = Session::empty(id, now, settings, chosen.or(generated));
        let mut effects = session.join(now, creator, join::JoinKind::Create)?;
        session.address(&mut effects, &[]);
        Ok((session, effects))
    }

    fn empty(
        id: SessionId,
        created_at: UnixMillis,
        settings: SessionSettings,
        password: Option<SessionPassword>,
    ) -> Session {
        Session {
            id,
            created_at,
            settings,
            password,
            parties: Vec::new(),
            transcript: Vec::new(),
            kept_events: 0,
            transcript_bytes: 0,
            window_use: window::WindowUse::default(),
            trimmed_upto: EventId(0),
            next_id: EventId(1),
            recent: VecDeque::new(),
            recent_ids: HashMap::new(),
            end: EndTracker::default(),
            over: None,
            files: files::Files::default(),
            orphan_since: None,
        }
    }

    /// Applies one input at `now`. Each emitted event carries its live audience, decided
    /// once the whole input is applied (see [`Effect::Emit`]).
    pub fn handle(&mut self, now: UnixMillis, input: Input) -> Result<Vec<Effect>, CoreError> {
        let before = self.present_ids();
        let mut effects = self.apply(now, input)?;
        self.address(&mut effects, &before);
        Ok(effects)
    }

    fn apply(&mut self, now: UnixMillis, input: Input) -> Result<Vec<Effect>, CoreError> {
        if self.over.is_some() {
            return match input {
                Input::Tick | Input::Detach { .. } => Ok(Vec::new()),
                _ => Err(CoreError::SessionOver),
            };
        }
        match input {
            Input::Join(req) => self.join(now, req, join::JoinKind::Request),
            Input::Send(req) => self.send(now, req),
            Input::External(req) => self.external(now, req),
            Input::Release {
                party,
                after_action,
                text,
            } => {
                let reason = LeftReason::for_release(after_action);
                self.leave(now, &party, reason, after_action, text, None)
            }
            Input::Remove {
                party,
                reason,
                asker,
            } => self.leave(now, &party, reason, AfterAction::KeepAlive, None, asker),
            Input::Detach { party } => {
                let p = self.present_party_mut(&party)?;
                p.detached_since.get_or_insert(now);
                Ok(Vec::new())
            }
            Input::Attach { party } => self.attach(now, &party),
            Input::Touch { party } => {
                let p = self.present_party_mut(&party)?;
                if p.protocol == crate::Protocol::Flex {
                    p.detached_since = Some(now);
                }
                Ok(Vec::new())
            }
            Input::UploadFile { party, file } => self.upload(now, party, file),
            Input::DeleteFile { party, file_id } => self.delete_file(now, party, file_id),
            Input::DownloadFile { party, file_id } => self.download(party, file_id),
            Input::SystemClose { reason } => Ok(self.finish(now, None, reason)),
            Input::Tick => self.tick(now),
        }
    }

    /// The earliest instant at which a `Tick` has something to do.
    pub fn next_deadline(&self) -> Option<UnixMillis> {
        if self.over.is_some() {
            return None;
        }
        let orphan = self
            .orphan_since
            .map(|t| t.plus_ms(self.settings.reconnect_timeout_ms));
        self.parties
            .iter()
            .filter(|p| p.present)
            .filter_map(|p| p.detached_since.map(|t| t.plus_ms(self.timeout_of(p))))
            .chain(orphan)
            .min()
    }

    /// How long a party may stay away: flex parties between requests, basic parties
    /// after their connection dropped.
    fn timeout_of(&self, p: &Party) -> u64 {
        if p.protocol == crate::Protocol::Flex {
            self.settings.flex_disconnect_timeout_ms
        } else {
            self.settings.reconnect_timeout_ms
        }
    }

    fn tick(&mut self, now: UnixMillis) -> Result<Vec<Effect>, CoreError> {
        // A restored session that nobody came back to within the reconnect timeout ends.
        if let Some(since) = self.orphan_since {
            if since.plus_ms(self.settings.reconnect_timeout_ms) <= now {
                self.orphan_since = None;
                if !self.parties.iter().any(|p| p.present && !p.is_workflow()) {
                    return Ok(self.finish(now, None, EndedReason::Disconnect));
                }
            }
        }
        let due: Vec<PartyId> = self
            .parties
            .iter()
            .filter(|p| p.present)
            .filter(|p| {
                p.detached_since
                    .is_some_and(|t| t.plus_ms(self.timeout_of(p)) <= now)
            })
            .map(|p| p.id.clone())
            .collect();
        let mut effects = Vec::new();
        for party in due {
            if self.over.is_some() {
                break;
            }
            effects.extend(self.leave(
                now,
                &party,
                LeftReason::Disconnect,
                AfterAction::KeepAlive,
                None,
                None,
            )?);
        }
        Ok(effects)
    }

    /// Checks a presented secure key against the one the party joined with.
    pub fn check_key(&self, party: &PartyId, key: &crate::KeyHash) -> Result<(), CoreError> {
        let p = self.party(party).ok_or(CoreError::NotAParty)?;
        match &p.key_hash {
            Some(h) if h.matches(key) => Ok(()),
            _ => Err(CoreError::BadSecureKey),
        }
    }

    // ---- queries ----

    /// The session id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }
    /// When the session was created (the transcript's `startAt`).
    pub fn created_at(&self) -> UnixMillis {
        self.created_at
    }
    /// The settings the session runs with.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }
    /// The session password, if one is enforced or was chosen.
    pub fn password(&self) -> Option<&SessionPassword> {
        self.password.as_ref()
    }
    /// Every party that ever joined, present or not.
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }
    /// A party by id.
    pub fn party(&self, id: &PartyId) -> Option<&Party> {
        self.parties.iter().find(|p| &p.id == id)
    }
    /// The kept events memory holds, in order: the whole transcript until a window of
    /// messages and notices is trimmed (see [`Session::full_transcript`]).
    pub fn transcript(&self) -> &[Event] {
        &self.transcript
    }
    /// The id of the newest event (0 when none).
    pub fn last_event_id(&self) -> EventId {
        EventId(self.next_id.0 - 1)
    }
    /// How the session ended, once it has.
    pub fn end_info(&self) -> Option<&EndInfo> {
        self.over.as_ref()
    }
    /// Whether any present party monitors the session silently (`monitored`, v105).
    pub fn monitored(&self) -> bool {
        self.parties
            .iter()
            .any(|p| p.present && p.visibility != Visibility::All)
    }
    /// The user data the creator joined with (the session's initial user data).
    pub fn initial_user_data(&self) -> Option<&UserData> {
        self.transcript.iter().find_map(|e| match &e.body {
            EventBody::NewParty { user_data, .. } => Some(user_data),
            _ => None,
        })
    }

    /// The kind of the party an event is from.
    pub fn sender_type(&self, from: &PartyId) -> PartyType {
        self.party(from)
            .map(|p| p.party_type)
            .unwrap_or(PartyType::System)
    }

    /// Whether `viewer` may see `event` (see [`crate::audience`]).
    pub fn visible_to(&self, viewer: &Party, event: &Event) -> bool {
        can_see(Viewer::from(viewer), event, self.sender_type(&event.from))
    }

    // ---- helpers shared by the input handlers ----

    /// The ids of the parties present now: an input's "before", for its live audiences.
    fn present_ids(&self) -> Vec<PartyId> {
        self.parties
            .iter()
            .filter(|p| p.present)
            .map(|p| p.id.clone())
            .collect()
    }

    /// Fills in the live audience of every `Emit` of one input, now that the input is
    /// applied. One rule for every input, so no handler can forget a leaver.
    fn address(&self, effects: &mut [Effect], before: &[PartyId]) {
        for effect in effects {
            if let Effect::Emit {
                event, audience, ..
            } = effect
            {
                *audience = self.live_audience(event, before);
            }
        }
    }

    /// The live audience of `event`, in join order: the parties present now or in
    /// `before` (present when the input arrived) that may see it.
    pub(crate) fn live_audience(&self, event: &Event, before: &[PartyId]) -> Vec<PartyId> {
        self.parties
            .iter()
            .filter(|p| p.present || before.contains(&p.id))
            .filter(|p| self.visible_to(p, event))
            .map(|p| p.id.clone())
            .collect()
    }

    fn present_party_mut(&mut self, id: &PartyId) -> Result<&mut Party, CoreError> {
        self.parties
            .iter_mut()
            .find(|p| &p.id == id && p.present)
            .ok_or(CoreError::NotAParty)
    }

    fn present_party(&self, id: &PartyId) -> Result<&Party, CoreError> {
        self.parties
            .iter()
            .find(|p| &p.id == id && p.present)
            .ok_or(CoreError::NotAParty)
    }

    /// Allocates the next id and records the event; returns the effect to carry out.
    fn emit(
        &mut self,
        now: UnixMillis,
        from: PartyId,
        visibility: Visibility,
        receiver: Option<PartyId>,
        body: EventBody,
        keep: bool,
    ) -> Effect {
        let pii = self.mask_message(&from, &body);
        let event = Event {
            id: self.next_id,
            at: now,
            from,
            visibility,
            receiver,
            body,
            pii,
        };
        self.next_id = self.next_id.next();
        self.record(&event, keep);
        // The audience is filled in by `address` once the whole input is applied.
        Effect::Emit {
            event,
            keep,
            audience: Vec::new(),
        }
    }

    /// Adds an event to the in-memory transcript and idempotency window.
    fn record(&mut self, event: &Event, keep: bool) {
        if let Some(cid) = event.client_msg_id() {
            let key = (event.from.clone(), cid.clone());
            self.recent_ids.insert(key.clone(), event.id);
            self.recent.push_back(key);
            while self.recent.len() > self.settings.idempotency_window {
                if let Some(old) = self.recent.pop_front() {
                    self.recent_ids.remove(&old);
                }
            }
        }
        if keep {
            self.kept_events += 1;
            self.transcript_bytes += event.text_bytes();
            self.window_use.add(event);
            self.transcript.push(event.clone());
        }
    }

    fn annihilate(&mut self, pred: impl Fn(&Event) -> bool) -> Vec<Effect> {
        let mut out = Vec::new();
        let (kept, window) = (&mut self.kept_events, &mut self.window_use);
        self.transcript.retain(|e| {
            if pred(e) {
                out.push(Effect::Annihilate { id: e.id });
                *kept = kept.saturating_sub(1);
                window.remove(e);
                false
            } else {
                true
            }
        });
        out
    }
}

#[cfg(test)]
mod tests;
