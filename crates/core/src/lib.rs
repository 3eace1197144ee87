//! Parley's pure chat-session domain. No tokio, no IO, no clock: time comes in as an
//! input and everything that should happen goes out as data (`Effect`s). CI checks that
//! this crate's normal dependency tree holds no tokio, sqlx or axum.
//!
//! Layout:
//! - `ids.rs`       `SessionId`, `PartyId`, `EventId`, `ClientMsgId`, `UnixMillis`
//! - `party.rs`     parties and their enumerations (type, visibility, style, version)
//! - `event.rs`     transcript events and notice types
//! - `audience.rs`  who may see an event (live, on resume, stored), and who it is sent to
//! - `view.rs`      what one viewer sees: `EventView`, `SessionSnapshot`, version caps
//! - `secret.rs`    the session password
//! - `session/`     the state machine: join, send, leave/close, restore, end facts
//! - `routing/`     the interaction router: agents, queues, offers, transfer, supervision
//! - `contacts.rs`  contacts (UCS's role): matching user data to a contact, merged user data
//! - `mask/`        masking sensitive data: rules, rule sets, the `[transcript-cleanup]` policy
//! - `error.rs`     `CoreError`
#![deny(missing_docs)]

pub mod audience;
pub mod contacts;
mod error;
pub mod event;
mod ids;
pub mod mask;
mod party;
pub mod routing;
mod secret;
pub mod session;
pub mod view;

pub use error::CoreError;
pub use event::{Event, EventBody, LeftReason, NoticeType, Pii};
pub use ids::{ClientMsgId, EventId, PartyId, SessionId, UnixMillis};
pub use party::{
    AfterAction, ClientVersion, KeyHash, Party, PartyStyle, PartyType, Protocol, UserData,
    Visibility,
};
pub use secret::SessionPassword;
pub use session::{Effect, Input, Session, SessionSettings};
