//! Interaction records (Interaction Server's role): `GET /admin/v1/interactions` and
//! `GET /admin/v1/interactions/{id}`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use parley_core::{SessionId, UnixMillis};
use parley_store::{ContactStore, InteractionFilter, InteractionStore, SessionState, MAX_PAGE};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::query;
use super::{limit, render, AdminError, AdminKey};
use crate::state::AppState;

/// Records a listing returns unless `limit` says otherwise.
const DEFAULT_LIST: u32 = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    tenant: Option<String>,
    queue: Option<String>,
    state: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

/// The store filter a listing query describes.
pub(crate) fn filter(q: ListQuery) -> Result<InteractionFilter, AdminError> {
    let state = match q.state.as_deref() {
        None => None,
        Some("alive") => Some(SessionState::Alive),
        Some("closed") => Some(SessionState::Closed),
        Some(_) => {
            return Err(AdminError::invalid_field(
                "state",
                "must be \"alive\" or \"closed\"",
            ))
        }
    };
    let since = match q.since.as_deref() {
        None => None,
        Some(s) => Some(UnixMillis(s.trim().parse::<i64>().map_err(|_| {
            AdminError::invalid_field("since", "must be Unix milliseconds")
        })?)),
    };
    Ok(InteractionFilter {
        tenant: q.tenant,
        queue: q.queue,
        state,
        since,
        before: None,
        limit: limit(q.limit.as_deref(), DEFAULT_LIST, MAX_PAGE)?,
    })
}

/// `GET /admin/v1/interactions?tenant=&queue=&state=&since=&limit=`: interaction
/// records, newest first, without their transcripts.
pub(super) async fn list_interactions(
    _: AdminKey,
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let filter = filter(query(q)?)?;
    let records = state.store.list_interactions(&filter).await?;
    Ok(Json(json!({
        "interactions": records
            .iter()
            .map(|r| render::interaction(r, None, false))
            .collect::<Vec<_>>(),
    })))
}

/// `GET /admin/v1/interactions/{id}`: one record with its properties, end facts, final
/// transcript and contact.
pub(super) async fn get_interaction(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let Ok(id) = id.parse::<SessionId>() else {
        return Err(AdminError::not_found("interaction"));
    };
    let Some(record) = state.store.interaction(&id).await? else {
        return Err(AdminError::not_found("interaction"));
    };
    let contact = state.store.interaction_contact(&id).await?;
    Ok(Json(render::interaction(&record, contact.as_ref(), true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(state: Option<&str>, since: Option<&str>) -> ListQuery {
        ListQuery {
            tenant: None,
            queue: Some("sales".into()),
            state: state.map(str::to_owned),
            since: since.map(str::to_owned),
            limit: None,
        }
    }

    #[test]
    fn listing_queries_become_filters() {
        let f = filter(q(Some("alive"), Some("17"))).ok();
        assert_eq!(
            f,
            Some(InteractionFilter {
                tenant: None,
                queue: Some("sales".into()),
                state: Some(SessionState::Alive),
                since: Some(UnixMillis(17)),
                before: None,
                limit: DEFAULT_LIST,
            })
        );
        let bad_state = filter(q(Some("open"), None)).err();
        assert_eq!(bad_state.map(|e| e.code()), Some("invalid-field"));
        let bad_since = filter(q(None, Some("yesterday"))).err();
        assert_eq!(bad_since.map(|e| e.code()), Some("invalid-field"));
    }
}
