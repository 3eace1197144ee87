//! The agent front door: how agents' and supervisors' desktops reach Parley. Agents log
//! in over HTTP and get a token; the desktop WebSocket (`/agent/v1/ws`,
//! docs/protocol/desktop.md) carries routing requests and events, translated to and
//! from the routing service (`crate::center`). Chats themselves go over the basic
//! protocol with the login token.
//!
//! Layout: `http.rs` login, logout and interaction reads; `desktop.rs` the desktop
//! WebSocket.

pub(crate) mod desktop;
mod http;

pub use http::routes;
