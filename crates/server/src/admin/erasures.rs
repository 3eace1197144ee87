//! Erasure of a contact (docs/admin-api.md, "Erasure"): `POST
//! /admin/v1/contacts/{id}/erase`, and its audit records, `GET /admin/v1/erasures` and
//! `GET /admin/v1/erasures/{contactId}`.
//!
//! The store does the work in one transaction, the same on every instance of a cluster;
//! this only translates. The audit record names who erased by the fingerprint of the
//! admin key (never the key), and holds counts, never the contact's data.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use parley_core::contacts::ContactId;
use parley_store::{EraseRequest, Erased, RetentionStore, MAX_PAGE};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tracing::info;

use super::error::query;
use super::{limit, render, AdminError, AdminKey, MAX_BODY};
use crate::clock::now;
use crate::state::AppState;

/// Longest `reference`, in characters.
const MAX_REFERENCE_CHARS: usize = 200;
/// Records a listing returns unless `limit` says otherwise.
const DEFAULT_LIST: u32 = 50;

/// The optional body of an erasure.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    /// The caller's reference (a ticket number), kept in the audit record.
    reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    tenant: Option<String>,
    limit: Option<String>,
}

/// `key-sha256:` and the first 16 hex digits of the SHA-256 of the admin key the request
/// presented: enough to tell the configured keys apart
/// (`printf %s "$KEY" | sha256sum`), nothing to log in with.
fn key_fingerprint(headers: &HeaderMap) -> String {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("key-sha256:{hex}")
}

/// The reference of an erasure body (none when the body is empty).
pub(crate) fn reference(body: &[u8]) -> Result<Option<String>, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if body.len() > MAX_BODY {
        return Err(AdminError::too_large());
    }
    let parsed: EraseBody = serde_json::from_slice(body).map_err(|e| {
        AdminError::bad_request(if e.to_string().contains("unknown field") {
            "the only field is `reference`".to_owned()
        } else {
            "the body is not valid JSON of the shape {\"reference\": \"...\"}".to_owned()
        })
    })?;
    match parsed.reference {
        Some(r) if r.chars().count() > MAX_REFERENCE_CHARS || r.chars().any(char::is_control) => {
            Err(AdminError::invalid_field(
                "reference",
                "at most 200 characters, no control characters",
            ))
        }
        Some(r) if r.trim().is_empty() => Ok(None),
        other => Ok(other.map(|r| r.trim().to_owned())),
    }
}

/// `POST /admin/v1/contacts/{id}/erase`: erases the contact with every interaction,
/// transcript and file of it, and answers the audit record.
pub(super) async fn erase_contact(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AdminError> {
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AdminError::too_large()
        } else {
            AdminError::bad_request("the body could not be read")
        }
    })?;
    let reference = reference(&body)?;
    let Ok(contact) = id.parse::<ContactId>() else {
        return Err(AdminError::not_found("contact"));
    };
    let request = EraseRequest {
        contact,
        by: key_fingerprint(&headers),
        reference,
        at: now(),
    };
    match state.store.erase_contact(&request).await? {
        Erased::Erased(record) => {
            state.counters.contacts_erased.inc();
            info!(
                contact_id = %record.contact,
                erased_by = %record.erased_by,
                interactions = record.interactions,
                events = record.events,
                files = record.files,
                "contact erased"
            );
            Ok(Json(
                json!({"result": "erased", "erasure": render::erasure(&record)}),
            ))
        }
        Erased::AlreadyErased(record) => Ok(Json(
            json!({"result": "already-erased", "erasure": render::erasure(&record)}),
        )),
        Erased::NotFound => Err(AdminError::not_found("contact")),
        Erased::Live(ids) => Err(AdminError::live_interactions(&ids)),
    }
}

/// `GET /admin/v1/erasures?tenant=&limit=`: audit records of erasures, newest first.
pub(super) async fn list_erasures(
    _: AdminKey,
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let q = query(q)?;
    let limit = limit(q.limit.as_deref(), DEFAULT_LIST, MAX_PAGE)?;
    let records = state
        .store
        .list_erasures(q.tenant.as_deref(), limit)
        .await?;
    Ok(Json(
        json!({"erasures": records.iter().map(render::erasure).collect::<Vec<_>>()}),
    ))
}

/// `GET /admin/v1/erasures/{contactId}`: the audit record of one erased contact.
pub(super) async fn get_erasure(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let Ok(contact) = id.parse::<ContactId>() else {
        return Err(AdminError::not_found("erasure"));
    };
    match state.store.erasure(&contact).await? {
        Some(record) => Ok(Json(render::erasure(&record))),
        None => Err(AdminError::not_found("erasure")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_optional_bounded_and_plain() {
        assert_eq!(reference(b"").ok(), Some(None));
        assert_eq!(reference(b" \n").ok(), Some(None));
        assert_eq!(reference(b"{}").ok(), Some(None));
        assert_eq!(
            reference(br#"{"reference": " GDPR-17 "}"#).ok(),
            Some(Some("GDPR-17".to_owned()))
        );
        let long = format!(r#"{{"reference": "{}"}}"#, "x".repeat(201));
        for (bad, code) in [
            (long.as_bytes(), "invalid-field"),
            (br#"{"reference": "a\nb"}"#.as_slice(), "invalid-field"),
            (br#"{"why": "x"}"#.as_slice(), "bad-request"),
            (b"not json".as_slice(), "bad-request"),
        ] {
            assert_eq!(reference(bad).err().map(|e| e.code()), Some(code));
        }
    }

    #[test]
    fn fingerprints_name_the_key_without_holding_it() {
        let mut h = HeaderMap::new();
        let key = "admin-key-0123456789abcdef0123456789abcdef";
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {key}").parse().expect("header"),
        );
        let f = key_fingerprint(&h);
        let full: String = Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(f, format!("key-sha256:{}", &full[..16]));
        assert!(!f.contains("admin-key"));
    }
}
