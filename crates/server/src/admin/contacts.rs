//! Contacts (UCS's role): `GET /admin/v1/contacts?q=`, `GET /admin/v1/contacts/{id}` and
//! `GET /admin/v1/contacts/{id}/history`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use parley_core::contacts::ContactId;
use parley_store::{ContactStore, MAX_PAGE};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::query;
use super::{limit, render, AdminError, AdminKey};
use crate::state::AppState;

/// Longest search text accepted.
const MAX_QUERY: usize = 256;
/// Contacts a search returns unless `limit` says otherwise.
const DEFAULT_SEARCH: u32 = 50;
/// History entries returned unless `limit` says otherwise, and the most (each carries a
/// whole transcript).
const DEFAULT_HISTORY: u32 = 20;
const MAX_HISTORY: u32 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    q: Option<String>,
    tenant: Option<String>,
    limit: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    limit: Option<String>,
}

fn parse_id(id: &str) -> Result<ContactId, AdminError> {
    // A malformed id names no contact.
    id.parse().map_err(|_| AdminError::not_found("contact"))
}

/// `GET /admin/v1/contacts?q=&tenant=&limit=`: contacts whose email address, phone
/// number or name contains `q` (or whose id is `q`), newest first.
pub(super) async fn search_contacts(
    _: AdminKey,
    State(state): State<AppState>,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let q = query(q)?;
    let text = q.q.unwrap_or_default();
    if text.len() > MAX_QUERY {
        return Err(AdminError::invalid_field("q", "at most 256 bytes"));
    }
    let limit = limit(q.limit.as_deref(), DEFAULT_SEARCH, MAX_PAGE)?;
    let found = state
        .store
        .search_contacts(q.tenant.as_deref(), &text, limit)
        .await?;
    Ok(Json(
        json!({"contacts": found.iter().map(render::contact).collect::<Vec<_>>()}),
    ))
}

/// `GET /admin/v1/contacts/{id}`: one contact.
pub(super) async fn get_contact(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let id = parse_id(&id)?;
    match state.store.contact(&id).await? {
        Some(c) => Ok(Json(render::contact(&c))),
        None => Err(AdminError::not_found("contact")),
    }
}

/// `GET /admin/v1/contacts/{id}/history?limit=`: the contact's interactions, newest
/// first, with their final transcripts.
pub(super) async fn contact_history(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let id = parse_id(&id)?;
    let q = query(q)?;
    let limit = limit(q.limit.as_deref(), DEFAULT_HISTORY, MAX_HISTORY)?;
    let Some(contact) = state.store.contact(&id).await? else {
        return Err(AdminError::not_found("contact"));
    };
    let records = state.store.contact_history(&id, limit).await?;
    let interactions: Vec<Value> = records
        .iter()
        .map(|r| render::interaction(r, Some(&id), true))
        .collect();
    Ok(Json(json!({
        "contact": render::contact(&contact),
        "interactions": interactions,
    })))
}
