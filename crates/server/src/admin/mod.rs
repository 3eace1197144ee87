//! The admin API, `/admin/v1/...` (docs/admin-api.md): agents (Configuration Server's
//! persons), contacts and their history (UCS), masking rules (UCS's PII configuration),
//! interaction records (Interaction Server).
//!
//! Every route takes [`AdminKey`] as its first extractor, so a request without one of
//! `[security] admin-api-keys` is refused before its path, query or body is looked at.
//! Answers are JSON; refusals are `{"code", "message"}` (`error.rs`). Bodies are bounded
//! by [`MAX_BODY`], lists by their `limit` and the store's `MAX_PAGE`.
//!
//! Layout: `agents.rs` the agent routes; `contacts.rs` contacts and history;
//! `erasures.rs` erasure of a contact and its audit records;
//! `interactions.rs` interaction records; `masking.rs` masking rules stored per tenant,
//! `masking_test.rs` the test of rules against a sample text; `render.rs` the JSON of
//! records and transcripts; `view.rs` the agent desktop's interaction view; `error.rs` the errors.

pub(crate) mod agents;
pub(crate) mod contacts;
mod drain;
pub(crate) mod erasures;
pub(crate) mod error;
pub(crate) mod interactions;
mod masking;
mod masking_test;
mod render;
mod view;

pub use error::AdminError;
pub use view::{interaction_view, ContactView, HistoryEntry, InteractionInfo, InteractionView};
pub use view::{TranscriptLine, HISTORY_LIMIT};

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// Largest request body accepted (an agent definition is a few hundred bytes).
pub const MAX_BODY: usize = 16 * 1024;

/// The admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/agents", get(agents::list_agents))
        .route(
            "/admin/v1/agents/{login}",
            get(agents::get_agent)
                .put(agents::put_agent)
                .delete(agents::delete_agent),
        )
        .route("/admin/v1/contacts", get(contacts::search_contacts))
        .route("/admin/v1/contacts/{id}", get(contacts::get_contact))
        .route(
            "/admin/v1/contacts/{id}/history",
            get(contacts::contact_history),
        )
        .route(
            "/admin/v1/contacts/{id}/erase",
            post(erasures::erase_contact),
        )
        .route("/admin/v1/erasures", get(erasures::list_erasures))
        .route("/admin/v1/erasures/{id}", get(erasures::get_erasure))
        .route(
            "/admin/v1/interactions",
            get(interactions::list_interactions),
        )
        .route(
            "/admin/v1/interactions/{id}",
            get(interactions::get_interaction),
        )
        .route(
            "/admin/v1/masking-rules",
            get(masking::list_rules).post(masking::create_rule),
        )
        .route(
            "/admin/v1/masking-rules/reorder",
            post(masking::reorder_rules),
        )
        .route(
            "/admin/v1/masking-rules/test",
            post(masking_test::test_rules),
        )
        .route(
            "/admin/v1/masking-rules/{id}",
            get(masking::get_rule)
                .put(masking::update_rule)
                .delete(masking::delete_rule),
        )
        .route(
            "/admin/v1/masking-rules/{id}/enable",
            post(masking::enable_rule),
        )
        .route(
            "/admin/v1/masking-rules/{id}/disable",
            post(masking::disable_rule),
        )
        .route(
            "/admin/v1/drain",
            get(drain::get_drain).post(drain::start_drain),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Proof that the request carries an admin key (`Authorization: Bearer <key>`, compared
/// in constant time against every configured key). With no keys configured the admin
/// API refuses everything.
#[derive(Debug, Clone, Copy)]
pub struct AdminKey;

impl FromRequestParts<AppState> for AdminKey {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty());
        match presented {
            Some(key) if state.config.security.accepts_admin_key(key) => Ok(AdminKey),
            _ => {
                let client = parts
                    .extensions
                    .get::<crate::http::client::ClientAddr>()
                    .map(|c| c.0);
                tracing::warn!(client = ?client, "admin API: missing or invalid key");
                Err(AdminError::unauthorized())
            }
        }
    }
}

/// A `limit` query value: `default` when absent, otherwise 1..=`max`.
pub(crate) fn limit(value: Option<&str>, default: u32, max: u32) -> Result<u32, AdminError> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(AdminError::invalid_field(
            "limit",
            &format!("must be a number from 1 to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(limit(None, 50, 500).ok(), Some(50));
        assert_eq!(limit(Some("7"), 50, 500).ok(), Some(7));
        for bad in ["0", "501", "-1", "x", ""] {
            let err = limit(Some(bad), 50, 500).err();
            assert_eq!(err.map(|e| e.code()), Some("invalid-field"), "{bad}");
        }
    }
}
