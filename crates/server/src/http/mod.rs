//! Plain HTTP endpoints and helpers shared by the HTTP front doors.

pub mod assets;
pub mod client;
pub mod counters;
pub mod counters_log;
pub mod error;
pub mod health;
pub mod observe;
