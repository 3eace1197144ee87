//! The commands a session actor takes, their replies, and the mailbox handle.

use parley_core::session::{JoinRequest, SendRequest};
use std::sync::Arc;
use std::time::Instant;

use parley_core::session::{EndedBy, EndedReason};
use parley_core::view::{EventView, SessionSnapshot};
use parley_core::{AfterAction, CoreError, EventId, KeyHash, PartyId, SessionId};
use parley_proto::ErrorCode;
use parley_store::InstanceId;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A refused or failed command, with its stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable detail.
    pub message: String,
    /// Set on an `Unavailable` refusal because another live instance holds the session:
    /// that owner, to whom a front door may forward the request (nothing was done here).
    pub held_by: Option<Held>,
    /// Set on a `RateLimited` refusal: when the client may try again.
    pub retry_after: Option<std::time::Duration>,
}

impl CmdError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> CmdError {
        CmdError {
            code,
            message: message.into(),
            held_by: None,
            retry_after: None,
        }
    }

    /// The refusal of a request for `session`, which live instance `owner` holds.
    pub fn held(session: SessionId, owner: InstanceId) -> CmdError {
        CmdError {
            held_by: Some(Held { session, owner }),
            ..CmdError::new(
                ErrorCode::Unavailable,
                "the session is served by another instance",
            )
        }
    }
}

/// A session held by another live instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The session.
    pub session: SessionId,
    /// Its owner.
    pub owner: InstanceId,
}

impl From<CoreError> for CmdError {
    fn from(e: CoreError) -> Self {
        CmdError::new(error_code(&e), e.to_string())
    }
}

impl From<crate::throttle::RateLimited> for CmdError {
    fn from(e: crate::throttle::RateLimited) -> Self {
        CmdError {
            retry_after: Some(e.retry_after),
            ..CmdError::new(ErrorCode::RateLimited, e.to_string())
        }
    }
}

impl From<crate::limits::Refused> for CmdError {
    fn from(e: crate::limits::Refused) -> Self {
        CmdError::new(ErrorCode::Unavailable, e.to_string())
    }
}

/// The stable wire code of a core refusal.
fn error_code(e: &CoreError) -> ErrorCode {
    match e {
        CoreError::NotAParty => ErrorCode::NoSuchUser,
        CoreError::SessionOver => ErrorCode::SessionOver,
        CoreError::AlreadyJoined => ErrorCode::AlreadyJoined,
        CoreError::WrongSessionPassword => ErrorCode::WrongSessionPassword,
        CoreError::BadSecureKey => ErrorCode::BadSecureKey,
        CoreError::NoSuchReceiver => ErrorCode::NoSuchReceiver,
        CoreError::InvalidField { .. } => ErrorCode::InvalidField,
        CoreError::NotAllowed(_) => ErrorCode::NotAllowed,
        CoreError::LimitExceeded(_) => ErrorCode::LimitExceeded,
    }
}

/// Identifies one client connection.
pub type ConnId = u64;

/// What a session pushes to a connection, as domain values: each front door renders
/// them in its own wire format.
// Pushes always travel boxed (`Inbox::push`), so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Push {
    /// An event, projected for the connection's party.
    Event {
        /// The session.
        session: SessionId,
        /// The event as the party sees it.
        event: EventView,
    },
    /// The transcript is durable up to `last_event_id` (`transcript-auto-save = 2`), or
    /// could not be saved (`saved` false, `last_event_id` 0).
    TranscriptSaved {
        /// The session.
        session: SessionId,
        /// Durable up to here.
        last_event_id: EventId,
        /// Whether the save worked.
        saved: bool,
    },
    /// The session is over.
    SessionOver {
        /// The session.
        session: SessionId,
        /// Who ended it.
        by: EndedBy,
        /// Why.
        reason: EndedReason,
    },
}

/// Why a push was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The connection's queue is full: it cannot keep up.
    Full,
    /// The connection is gone.
    Closed,
}

/// A connection's inbox for what its sessions push. Bounded: a client that cannot keep
/// up is disconnected and resumes, rather than growing server memory. Pushes travel
/// boxed: a queue allocates its slots 32 at a time, and 32 boxes rather than 32 pushes
/// is the cost of an idle connection's queue (docs/BENCHMARKS.md, hot spot 5).
pub trait Inbox: Send + Sync {
    /// Queues `push` without waiting.
    fn push(&self, push: Box<Push>) -> Result<(), PushError>;
}

/// Where a connection receives a session's pushes.
#[derive(Clone)]
pub struct Subscriber {
    /// The connection.
    pub conn: ConnId,
    /// The party it speaks for.
    pub party: PartyId,
    /// Its inbox.
    pub inbox: Arc<dyn Inbox>,
    /// Cancelled to make the connection close (slow consumer, session moved).
    pub kick: CancellationToken,
}

/// What the reply to a send says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    /// The stored event.
    pub event_id: EventId,
    /// A retry of an already stored send.
    pub duplicate: bool,
    /// The `file-id` an upload got.
    pub file_id: Option<u64>,
}

/// The answer to a refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    /// Events from the requested position that the party may see, projected for it.
    pub events: Vec<EventView>,
    /// Position to ask for next.
    pub next_position: u64,
    /// The session is over, or the party is no longer in it.
    pub chat_ended: bool,
    /// Someone monitors silently (for staff with ClientVersion 105+).
    pub monitored: Option<bool>,
}

/// A file operation.
pub enum FileOp {
    /// How many bytes may be uploaded now for a file of this name.
    Allowance {
        /// File name.
        name: String,
        /// Reply.
        reply: oneshot::Sender<Result<u64, CmdError>>,
    },
    /// Announce a stored file.
    Upload {
        /// The stored file.
        file: parley_core::session::UploadedFile,
        /// Reply once durable.
        reply: oneshot::Sender<Result<Acked, CmdError>>,
    },
    /// Get a file to download.
    Download {
        /// `file-id`.
        file_id: u64,
        /// Reply.
        reply: oneshot::Sender<Result<parley_core::session::FileRecord, CmdError>>,
    },
    /// Delete a file.
    Delete {
        /// `file-id`.
        file_id: u64,
        /// Reply once durable.
        reply: oneshot::Sender<Result<Acked, CmdError>>,
    },
    /// Succeeds only for an agent, supervisor or bot (their documents are not counted
    /// against customer allowances).
    StaffOnly {
        /// Reply.
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
    /// Allowances and their use.
    Limits {
        /// Reply.
        reply: oneshot::Sender<
            Result<
                (
                    parley_core::session::FileSettings,
                    parley_core::session::FileUsage,
                ),
                CmdError,
            >,
        >,
    },
}

impl FileOp {
    /// Answers the operation with an error.
    pub fn fail(self, e: CmdError) {
        match self {
            FileOp::Allowance { reply, .. } => drop(reply.send(Err(e))),
            FileOp::Upload { reply, .. } | FileOp::Delete { reply, .. } => drop(reply.send(Err(e))),
            FileOp::Download { reply, .. } => drop(reply.send(Err(e))),
            FileOp::Limits { reply } => drop(reply.send(Err(e))),
            FileOp::StaffOnly { reply } => drop(reply.send(Err(e))),
        }
    }
}

/// A request to a session actor. `key` is set for connectionless callers (flex, GMS, file
/// HTTP): the actor checks it on every request, and a flex party that presents a wrong
/// key is removed at once (reason 6, Genesys 8210). Connection-based callers proved their
/// key when they joined or resumed.
pub enum Command {
    /// Join the session (and subscribe the connection, if any); replies `sessionInfo`.
    Join {
        /// The join.
        req: JoinRequest,
        /// The joining connection (none for flex).
        sub: Option<Subscriber>,
        /// Reply.
        reply: oneshot::Sender<Result<SessionSnapshot, CmdError>>,
    },
    /// Come back after a reconnect, a reload or a restoration; replies with what was missed.
    Resume {
        /// The returning party.
        party: PartyId,
        /// Digest of the secure key it presents.
        key: KeyHash,
        /// The party type it registered as now: it must be the one it joined as, so a
        /// key alone never lets a customer connection act as an agent.
        party_type: parley_core::PartyType,
        /// Last event it has.
        last: EventId,
        /// Its new connection (none for flex).
        sub: Option<Subscriber>,
        /// Reply.
        reply: oneshot::Sender<Result<SessionSnapshot, CmdError>>,
    },
    /// A message or notice.
    Send {
        /// The send.
        req: SendRequest,
        /// Key of a connectionless caller.
        key: Option<KeyHash>,
        /// Reply once durable.
        reply: oneshot::Sender<Result<Acked, CmdError>>,
    },
    /// A post of an EXTERNAL party (ESP, routing strategy): it joins under `nickname` on
    /// its first post, then posts. Replies once durable, like `Send`.
    External {
        /// The post.
        req: parley_core::session::ExternalRequest,
        /// Reply once durable: the posted event's id.
        reply: oneshot::Sender<Result<Acked, CmdError>>,
    },
    /// A workflow's change to the session's inactivity control. Replies once durable.
    IdleControl {
        /// The change.
        change: parley_core::session::IdleOverride,
        /// Reply.
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
    /// Leave.
    Release {
        /// Who.
        party: PartyId,
        /// Key of a connectionless caller.
        key: Option<KeyHash>,
        /// After-action.
        action: AfterAction,
        /// Farewell text.
        text: Option<String>,
        /// Reply once durable.
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
    /// A connection of the party went away.
    Detach {
        /// Who.
        party: PartyId,
        /// Which connection.
        conn: ConnId,
    },
    /// Events from a position (flex and GMS); with `wait`, held until there is one.
    Refresh {
        /// Who.
        party: PartyId,
        /// Its key.
        key: KeyHash,
        /// First event id wanted.
        from: EventId,
        /// Long-poll.
        wait: bool,
        /// Reply.
        reply: oneshot::Sender<Result<Refreshed, CmdError>>,
    },
    /// Merge keys into the session's user data (GMS `updateData`).
    UpdateUserData {
        /// Who.
        party: PartyId,
        /// Its key.
        key: KeyHash,
        /// Keys to add or replace.
        data: parley_core::UserData,
        /// Reply once durable.
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
    /// The server takes a party out of the session (an agent whose chat was transferred,
    /// re-queued or whose agent logged out). Replies once durable.
    Remove {
        /// Who.
        party: PartyId,
        /// Why.
        reason: parley_core::LeftReason,
        /// Reply.
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
    /// The server closes the session (routing's maximum wait). Replies once durable.
    SystemClose {
        /// Why.
        reason: parley_core::session::EndedReason,
        /// Reply.
        reply: oneshot::Sender<Result<(), CmdError>>,
    },
    /// A file operation.
    File {
        /// Who.
        party: PartyId,
        /// Its key.
        key: KeyHash,
        /// What.
        op: FileOp,
    },
}

/// The mailbox of a live session. Commands travel boxed: the queue allocates its slots
/// 32 at a time, and an idle session's mailbox is then 32 pointers rather than 32
/// commands (docs/BENCHMARKS.md, hot spot 5).
#[derive(Clone)]
pub struct SessionHandle {
    pub(super) tx: mpsc::Sender<Box<Queued>>,
}

/// A command in the mailbox, with when it arrived (its reply's delay counts from there:
/// `limit-for-reply-delay`).
pub(super) struct Queued {
    pub(super) at: Instant,
    pub(super) cmd: Command,
}

impl SessionHandle {
    /// Sends a command; fails when the actor has ended (the session just closed).
    pub async fn send(&self, cmd: Command) -> Result<(), CmdError> {
        let at = Instant::now();
        self.tx
            .send(Box::new(Queued { at, cmd }))
            .await
            .map_err(|_| CmdError::new(ErrorCode::SessionOver, "the chat session is over"))
    }

    /// Sends a command and waits for the reply carried by `rx`.
    pub async fn call<T>(
        &self,
        cmd: Command,
        rx: oneshot::Receiver<Result<T, CmdError>>,
    ) -> Result<T, CmdError> {
        self.send(cmd).await?;
        rx.await.unwrap_or_else(|_| {
            Err(CmdError::new(
                ErrorCode::SessionOver,
                "the chat session is over",
            ))
        })
    }
}
