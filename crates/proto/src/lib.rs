//! Parley's wire types: what crosses the network, and nothing else. No behaviour lives
//! here; the server translates these to and from core inputs in its `map.rs` files, and
//! the load generator speaks them without depending on the server.
//!
//! Layout:
//! - `basic.rs`  the basic protocol (JSON frames over a WebSocket): `ClientFrame`,
//!   `ServerFrame`, `WireEvent`
//! - `flex.rs`   the flex protocol (HTTP + JSON, long-poll) requests and replies
//! - `gms.rs`    the GMS Chat API v2 response envelope and event objects
//! - `desktop.rs` the agent desktop WebSocket (`/agent/v1/ws`): requests and events
//! - `codes.rs`  `ErrorCode`: stable numeric error codes shared by every protocol
#![deny(missing_docs)]

pub mod basic;
pub mod codes;
pub mod desktop;
pub mod flex;
pub mod gms;

pub use codes::ErrorCode;
