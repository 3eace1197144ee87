//! `CoreError`: why the session refused an input. The shell maps each variant to a stable
//! wire code; the core never logs.

use thiserror::Error;

/// A refused input. Refusals change nothing in the session.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// The requester is not (or no longer) a party of the session (Genesys 8201).
    #[error("no such user in the session")]
    NotAParty,
    /// The session has ended; nothing more can happen in it.
    #[error("the chat session is over")]
    SessionOver,
    /// The party is already present in the session.
    #[error("already a party of the session")]
    AlreadyJoined,
    /// The session password is enforced and the join gave a wrong or no password.
    #[error("wrong or missing session password")]
    WrongSessionPassword,
    /// The presented secure key does not match the party's (Genesys 8210).
    #[error("bad secure key")]
    BadSecureKey,
    /// The direct-message receiver is not present in the session.
    #[error("the receiver is not a party of the session")]
    NoSuchReceiver,
    /// A field is malformed or out of range.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Wire name of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The party may not do this (e.g. a customer sending an internal message).
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// A limit of the session was reached (text size, user data entries, ...).
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
}
