//! Stored rule rows as core rule definitions.

use parley_core::mask::{Limits, Rule, RuleDef, RuleError, RuleMeta, RuleSet, Spec, Style};
use parley_store::MaskingRuleRecord;

/// The definition of a stored rule; a spec that does not parse (the admin API refuses
/// one before storing it) is an error naming the rule.
pub fn stored_def(record: &MaskingRuleRecord) -> Result<RuleDef, RuleError> {
    let spec = match record.spec.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<Spec>().map_err(|e| RuleError::Invalid {
            name: record.name.clone(),
            reason: e.to_string(),
        })?),
    };
    Ok(RuleDef {
        meta: RuleMeta {
            id: record.id.clone(),
            name: record.name.clone(),
            description: record.description.clone(),
        },
        regex: record.regex.clone(),
        spec,
    })
}

/// The enabled ones of a tenant's stored rules (given in order), compiled.
pub fn compile_stored(records: &[MaskingRuleRecord], style: Style) -> Result<RuleSet, RuleError> {
    let limits = Limits::DEFAULT;
    let rules = records
        .iter()
        .filter(|r| r.enabled)
        .map(|r| Rule::compile(stored_def(r)?, &limits))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RuleSet::new(rules, style, limits))
}
