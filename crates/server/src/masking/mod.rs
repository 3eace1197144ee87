//! Masking sensitive data, as the shell holds it: the `[transcript-cleanup]` options
//! ([`MaskingPolicy`]) and the rules that apply to a tenant ([`MaskRules`]). The masking
//! itself is pure (`parley_core::mask`): the delivery code asks
//! [`MaskRules::rules_for`] for a tenant's [`RuleSet`] and the policy's predicates where
//! and for whom to apply it.
//!
//! Layout: `policy.rs` the options and their predicates; `rules.rs` the rules of
//! `apply-config` (built-in and file rules, or the tenant's stored ones) with a cache of
//! the stored ones; `stored.rs` stored rows to core rule definitions.

mod policy;
mod rules;
mod stored;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use parley_core::mask::RuleSet;
pub use policy::MaskingPolicy;
pub use rules::{MaskRules, MaskRulesError, RuleSource, TenantRules, STORED_RULES_TTL};
pub use stored::{compile_stored, stored_def};

use parley_core::mask::RuleError;
use parley_store::AnyStore;

use crate::config::Config;

/// Masking as the front doors and sessions share it (`AppState::masking`).
#[derive(Debug)]
pub struct Masking {
    /// The options.
    pub policy: MaskingPolicy,
    /// The rules per tenant.
    pub rules: MaskRules,
}

impl Masking {
    /// From a validated configuration; the error names a file rule that does not compile
    /// (which `Config::validate` refuses first).
    pub fn new(config: &Config, store: AnyStore) -> Result<Arc<Masking>, RuleError> {
        let policy = MaskingPolicy::from_config(config);
        let rules = MaskRules::new(config, &policy, store)?;
        Ok(Arc::new(Masking { policy, rules }))
    }
}
