//! Plain HTTP endpoints and helpers shared by the HTTP front doors.

pub mod assets;
pub mod client;
pub mod error;
pub mod health;
