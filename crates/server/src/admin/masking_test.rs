//! `POST /admin/v1/masking-rules/test`: masks a sample text with one stored rule, a rule
//! not stored yet, or the rules that apply to a tenant's chats now, and shows the result
//! with its hits as `GCTI_SYSTEM/pii-cleanup` reports them. The sample is never logged.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use parley_core::mask::{Hit, Limits, Rule, RuleSet};
use parley_store::MaskingRuleRecord;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::json_body;
use super::masking::{check, tenant};
use super::{AdminError, AdminKey};
use crate::masking::stored_def;
use crate::state::AppState;

/// The body: `text` and one of `ruleId`, `rule`, or `tenant` alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct TestBody {
    tenant: Option<String>,
    text: String,
    rule_id: Option<String>,
    rule: Option<DraftRule>,
}

/// A rule to try before storing it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DraftRule {
    name: Option<String>,
    description: Option<String>,
    regex: String,
    spec: Option<String>,
}

/// A hit as the API shows it.
fn hit(h: &Hit) -> Value {
    json!({
        "ruleId": h.rule.id,
        "name": h.rule.name,
        "description": h.rule.description,
        "start": h.start,
        "end": h.end,
        "position": h.position_key(),
        "replaced": h.replaced.as_str(),
    })
}

/// A set of one rule, in the tenant-independent style of the configuration.
fn one_rule(state: &AppState, record: &MaskingRuleRecord) -> Result<RuleSet, AdminError> {
    let def = stored_def(record).map_err(|e| AdminError::invalid_rule(&e))?;
    let rule = Rule::compile(def, &Limits::DEFAULT).map_err(|e| AdminError::invalid_rule(&e))?;
    Ok(RuleSet::new(
        vec![rule],
        state.masking.rules.style(),
        Limits::DEFAULT,
    ))
}

/// `POST /admin/v1/masking-rules/test`.
pub(super) async fn test_rules(
    _: AdminKey,
    State(state): State<AppState>,
    body: Result<Json<TestBody>, JsonRejection>,
) -> Result<Json<Value>, AdminError> {
    let body = json_body(body)?;
    if let Some(t) = &body.tenant {
        tenant(&state, t)?;
    }
    let (set, source): (Arc<RuleSet>, &str) = match (body.rule_id, body.rule) {
        (Some(_), Some(_)) => {
            return Err(AdminError::invalid_field(
                "rule",
                "send ruleId or rule, not both",
            ))
        }
        (Some(id), None) => {
            let record = parley_store::MaskingRuleStore::masking_rule(&state.store, &id)
                .await?
                .filter(|r| body.tenant.as_ref().is_none_or(|t| *t == r.tenant))
                .ok_or_else(|| AdminError::not_found("masking rule"))?;
            (Arc::new(one_rule(&state, &record)?), "stored")
        }
        (None, Some(draft)) => {
            let now = crate::clock::now();
            let record = MaskingRuleRecord {
                id: "draft".to_owned(),
                tenant: body.tenant.clone().unwrap_or_default(),
                name: draft.name.unwrap_or_else(|| "draft".to_owned()),
                description: draft.description.unwrap_or_default(),
                regex: draft.regex,
                spec: draft.spec,
                position: 0,
                enabled: true,
                created_at: now,
                updated_at: now,
            };
            check(&record)?;
            (Arc::new(one_rule(&state, &record)?), "request")
        }
        (None, None) => {
            let Some(t) = &body.tenant else {
                return Err(AdminError::invalid_field(
                    "tenant",
                    "send tenant (its rules), ruleId or rule",
                ));
            };
            let applied = state
                .masking
                .rules
                .rules_for(t)
                .await
                .map_err(AdminError::internal)?;
            (applied.set, applied.source.as_str())
        }
    };
    let masked = set.mask(&body.text);
    Ok(Json(json!({
        "text": masked.text,
        "hits": masked.hits.iter().map(hit).collect::<Vec<_>>(),
        "rules": source,
        "failure": masked.failure.map(|f| f.to_string()),
    })))
}
