//! The server's integration tests: one binary (fast to link), real sockets on
#![allow(unreachable_pub)]
//! 127.0.0.1:0, a real SQLite database in a temp directory.

mod common;
mod connections;
mod desk;
mod drain;

mod admin_api;
mod agent_files;
mod basic_errors;
mod basic_flow;
mod basic_resume;
mod basic_visibility;
mod cli;
mod contacts;
mod durability;
mod esp;
mod files;
mod flex;
mod gms;
mod ha;
mod ha_desk;
mod ha_forward;
mod ha_route;
mod ha_sweep;
mod http_paths;
mod identity;
mod identity_contacts;
mod identity_docs;
mod inactivity;
mod limits;
mod logs;
mod masking_rules;
mod memory_window;
mod observability;
mod observability_logs;
mod privacy_contacts;
mod privacy_masking;
mod rate_limits;
mod reporting;
mod retention;
mod routing;
mod routing_webhooks;
mod security;
mod session_password;
mod tls;
mod webhooks;
