//! Masking rules stored per tenant (Genesys UCS's PII configuration, managed there with
//! Privacy Manager): `GET/POST /admin/v1/masking-rules`, `GET/PUT/DELETE
//! /admin/v1/masking-rules/{id}`, `POST .../{id}/enable|disable`, `POST
//! /admin/v1/masking-rules/reorder`. The `test` call is in `masking_test.rs`.
//!
//! A rule is compiled before it is stored: one that does not is refused with
//! `invalid-rule`, naming it. Every change makes this instance read the tenant's rules
//! again at once (other instances within `STORED_RULES_TTL`).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parley_core::mask::{ApplyConfig, Limits, Rule, Spec};
use parley_store::{MaskingRuleRecord, MaskingRuleStore, RuleWrite};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use tracing::info;

use super::error::{json_body, query};
use super::{AdminError, AdminKey};
use crate::config::{valid_rule_name, RULE_NAME_RULE};
use crate::masking::stored_def;
use crate::state::AppState;

/// Most stored rules one tenant may have: each runs on every message.
pub(super) const MAX_RULES_PER_TENANT: usize = 100;
/// Longest description accepted, in characters.
const MAX_DESCRIPTION: usize = 256;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    tenant: Option<String>,
}

/// The body of `POST /admin/v1/masking-rules`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBody {
    tenant: String,
    name: String,
    description: Option<String>,
    regex: String,
    spec: Option<String>,
    enabled: Option<bool>,
}

/// The body of `PUT /admin/v1/masking-rules/{id}`: omitted fields keep their values;
/// `"spec": null` returns the rule to `default-spec`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateBody {
    name: Option<String>,
    description: Option<String>,
    regex: Option<String>,
    #[serde(default, deserialize_with = "present")]
    spec: Option<Option<String>>,
    enabled: Option<bool>,
}

/// `Some(value)` for a field that is present, `null` included.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The body of `POST /admin/v1/masking-rules/reorder`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReorderBody {
    tenant: String,
    ids: Vec<String>,
}

/// A stored rule as the API shows it.
pub(super) fn render(r: &MaskingRuleRecord) -> Value {
    json!({
        "id": r.id,
        "tenant": r.tenant,
        "name": r.name,
        "description": r.description,
        "regex": r.regex,
        "spec": r.spec,
        "position": r.position,
        "enabled": r.enabled,
        "createdAt": r.created_at.0,
        "updatedAt": r.updated_at.0,
    })
}

fn apply_config_name(a: ApplyConfig) -> &'static str {
    match a {
        ApplyConfig::Cfg => "cfg",
        ApplyConfig::Mix => "mix",
        ApplyConfig::Ucs => "ucs",
    }
}

/// `tenant` if it is one of `[endpoints.<tenant>]`.
pub(super) fn tenant(state: &AppState, tenant: &str) -> Result<(), AdminError> {
    if state.config.endpoints.contains_key(tenant) {
        Ok(())
    } else {
        Err(AdminError::invalid_field(
            "tenant",
            "names no tenant of [endpoints.<tenant>]",
        ))
    }
}

/// Refuses a rule that may not be stored: a bad name, description or spec, a regex
/// that does not compile (`invalid-rule`, naming the rule).
pub(super) fn check(record: &MaskingRuleRecord) -> Result<(), AdminError> {
    if !valid_rule_name(&record.name) {
        return Err(AdminError::invalid_field("name", RULE_NAME_RULE));
    }
    if record.description.chars().count() > MAX_DESCRIPTION
        || record.description.chars().any(char::is_control)
    {
        return Err(AdminError::invalid_field(
            "description",
            "at most 256 characters, without control characters",
        ));
    }
    if let Some(Err(e)) = record.spec.as_deref().map(str::parse::<Spec>) {
        return Err(AdminError::invalid_field("spec", &e.to_string()));
    }
    let def = stored_def(record).map_err(|e| AdminError::invalid_rule(&e))?;
    Rule::compile(def, &Limits::DEFAULT).map_err(|e| AdminError::invalid_rule(&e))?;
    Ok(())
}

async fn stored(state: &AppState, id: &str) -> Result<MaskingRuleRecord, AdminError> {
    state
        .store
        .masking_rule(id)
        .await?
        .ok_or_else(|| AdminError::not_found("masking rule"))
}

/// `GET /admin/v1/masking-rules?tenant=`: the tenant's stored rules in order, which rules
/// apply to its chats now, and the built-in and file rules.
pub(super) async fn list_rules(
    _: AdminKey,
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let q = query(q)?;
    let Some(t) = q.tenant else {
        return Err(AdminError::invalid_field("tenant", "required"));
    };
    tenant(&state, &t)?;
    let rules = state.store.masking_rules(&t).await?;
    let applied = state
        .masking
        .rules
        .rules_for(&t)
        .await
        .map_err(AdminError::internal)?;
    let config_rules: Vec<Value> = state
        .config
        .cleanup_rules()
        .iter()
        .map(|r| {
            json!({
                "id": r.def.meta.id,
                "name": r.def.meta.name,
                "description": r.def.meta.description,
                "regex": r.def.regex,
                "spec": r.def.spec.map(|s| s.to_string()),
                "order": r.order,
                "enabled": r.enabled,
            })
        })
        .collect();
    Ok(Json(json!({
        "tenant": t,
        "applyConfig": apply_config_name(state.masking.policy.apply_config),
        "applied": applied.source.as_str(),
        "rules": rules.iter().map(render).collect::<Vec<_>>(),
        "configRules": config_rules,
    })))
}

/// `GET /admin/v1/masking-rules/{id}`: one stored rule.
pub(super) async fn get_rule(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AdminError> {
    Ok(Json(render(&stored(&state, &id).await?)))
}

/// `POST /admin/v1/masking-rules`: stores a new rule after the tenant's last one; `201`.
pub(super) async fn create_rule(
    _: AdminKey,
    State(state): State<AppState>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<Response, AdminError> {
    let body = json_body(body)?;
    tenant(&state, &body.tenant)?;
    let now = crate::clock::now();
    let mut record = MaskingRuleRecord {
        id: crate::secrets::new_masking_rule_id(),
        tenant: body.tenant,
        name: body.name,
        description: body.description.unwrap_or_default(),
        regex: body.regex,
        spec: body.spec,
        position: 0,
        enabled: body.enabled.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    check(&record)?;
    if state.store.masking_rules(&record.tenant).await?.len() >= MAX_RULES_PER_TENANT {
        return Err(AdminError::too_many_rules(MAX_RULES_PER_TENANT));
    }
    match state.store.create_masking_rule(&record).await? {
        RuleWrite::Saved => {}
        RuleWrite::NameTaken | RuleWrite::NotFound => {
            return Err(AdminError::name_taken(&record.name))
        }
    }
    state.masking.rules.invalidate(&record.tenant);
    info!(rule = %record.id, tenant = %record.tenant, "masking rule created (admin API)");
    record = stored(&state, &record.id).await?;
    Ok((StatusCode::CREATED, Json(render(&record))).into_response())
}

/// `PUT /admin/v1/masking-rules/{id}`: changes a rule; omitted fields keep their values.
pub(super) async fn update_rule(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<UpdateBody>, JsonRejection>,
) -> Result<Json<Value>, AdminError> {
    let body = json_body(body)?;
    let current = stored(&state, &id).await?;
    let record = MaskingRuleRecord {
        name: body.name.unwrap_or_else(|| current.name.clone()),
        description: body
            .description
            .unwrap_or_else(|| current.description.clone()),
        regex: body.regex.unwrap_or_else(|| current.regex.clone()),
        spec: body.spec.unwrap_or_else(|| current.spec.clone()),
        enabled: body.enabled.unwrap_or(current.enabled),
        updated_at: crate::clock::now(),
        ..current
    };
    save(&state, record).await
}

/// `POST /admin/v1/masking-rules/{id}/enable`: the rule masks again.
pub(super) async fn enable_rule(
    key: AdminKey,
    state: State<AppState>,
    id: Path<String>,
) -> Result<Json<Value>, AdminError> {
    set_enabled(key, state, id, true).await
}

/// `POST /admin/v1/masking-rules/{id}/disable`: the rule is kept but masks nothing.
pub(super) async fn disable_rule(
    key: AdminKey,
    state: State<AppState>,
    id: Path<String>,
) -> Result<Json<Value>, AdminError> {
    set_enabled(key, state, id, false).await
}

async fn set_enabled(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    enabled: bool,
) -> Result<Json<Value>, AdminError> {
    let current = stored(&state, &id).await?;
    let record = MaskingRuleRecord {
        enabled,
        updated_at: crate::clock::now(),
        ..current
    };
    save(&state, record).await
}

/// Stores a changed rule and answers with it.
async fn save(state: &AppState, record: MaskingRuleRecord) -> Result<Json<Value>, AdminError> {
    check(&record)?;
    match state.store.update_masking_rule(&record).await? {
        RuleWrite::Saved => {}
        RuleWrite::NameTaken => return Err(AdminError::name_taken(&record.name)),
        RuleWrite::NotFound => return Err(AdminError::not_found("masking rule")),
    }
    state.masking.rules.invalidate(&record.tenant);
    info!(rule = %record.id, tenant = %record.tenant, enabled = record.enabled,
        "masking rule changed (admin API)");
    Ok(Json(render(&stored(state, &record.id).await?)))
}

/// `DELETE /admin/v1/masking-rules/{id}`: removes a rule; `204`.
pub(super) async fn delete_rule(
    _: AdminKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminError> {
    let current = stored(&state, &id).await?;
    if !state.store.delete_masking_rule(&id).await? {
        return Err(AdminError::not_found("masking rule"));
    }
    state.masking.rules.invalidate(&current.tenant);
    info!(rule = %id, tenant = %current.tenant, "masking rule deleted (admin API)");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/v1/masking-rules/reorder`: the tenant's rules in the order of `ids`,
/// which must name each of them once.
pub(super) async fn reorder_rules(
    _: AdminKey,
    State(state): State<AppState>,
    body: Result<Json<ReorderBody>, JsonRejection>,
) -> Result<Json<Value>, AdminError> {
    let body = json_body(body)?;
    tenant(&state, &body.tenant)?;
    let now = crate::clock::now();
    if !state
        .store
        .reorder_masking_rules(&body.tenant, &body.ids, now)
        .await?
    {
        return Err(AdminError::invalid_field(
            "ids",
            "must name each of the tenant's masking rules exactly once",
        ));
    }
    state.masking.rules.invalidate(&body.tenant);
    info!(tenant = %body.tenant, "masking rules reordered (admin API)");
    let rules = state.store.masking_rules(&body.tenant).await?;
    Ok(Json(json!({
        "tenant": body.tenant,
        "rules": rules.iter().map(render).collect::<Vec<_>>(),
    })))
}
