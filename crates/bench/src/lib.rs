//! parley-bench: a bounded, loopback-only load generator for Parley, built on the wire
//! types of `parley-proto` only (STYLE.md convention 20). It plays scripted chats — a
//! customer, an agent and optionally a monitoring supervisor — and measures what a
//! contact center cares about: end-to-end delivery latency to every party, delivered
//! messages per second, lost and duplicated messages (which must be zero), session setup
//! and close times, errors by code, and the server's RSS and CPU from `/proc`.
//!
//! Layout:
//! - `main.rs`      the command line (`cli.rs` holds the flags)
//! - `cli.rs`       flags, their bounds, and the run plan derived from them
//! - `target.rs`    the loopback-only target and the spread of source addresses
//! - `server.rs`    starting and stopping `parley serve` when given its binary
//! - `proc.rs`      `/proc` readings: RSS and CPU time of the server and of ourselves
//! - `ledger.rs`    per-session bookkeeping of every message: who got it, how late
//! - `limits.rs`    raising the file-descriptor limit (rlimit)
//! - `stats.rs`     run-wide counters, HDR histograms and errors by code
//! - `client/`      one file per protocol: `basic.rs` (WebSocket), `flex.rs` (HTTP
//!   long-poll), `gms.rs` (GMS Chat API v2 facade)
//! - `scenario.rs`  the session script, the message schedule, churn and ramp-up
//! - `progress.rs`  the progress bar and the once-a-second sampler
//! - `report.rs`    the JSON report and the human summary
//! - `chaos/`       `parley-bench chaos`: instances killed under load on PostgreSQL
//! - `failover.rs`  `parley-bench failover`: how fast a survivor restores 10,000 sessions

pub mod chaos;
pub mod cli;
pub mod client;
pub mod failover;
pub mod ledger;
pub mod limits;
pub mod proc;
pub mod progress;
pub mod report;
pub mod scenario;
pub mod server;
pub mod stats;
pub mod target;
