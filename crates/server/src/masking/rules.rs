//! [`MaskRules`]: the rules that apply to a tenant, by `apply-config`:
//!
//! - `cfg`: the built-in rules with those of `[transcript-cleanup-rules.<name>]`,
//!   compiled once at start;
//! - `ucs`: the tenant's rules stored with the admin API, enabled ones in order (none
//!   stored: an empty set, nothing masked);
//! - `mix`: the tenant's stored rules if it has any, enabled or not (so an operator can
//!   turn masking off for a tenant by disabling its rules), else as `cfg`.
//!
//! Stored rules are compiled once per tenant and kept for [`STORED_RULES_TTL`]: a
//! change through this instance's admin API applies at once ([`MaskRules::invalidate`]),
//! one through another instance of the cluster within the TTL. When the store cannot be
//! read, the last rules read are kept; with none, the caller gets the error and must
//! fail closed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_core::mask::ApplyConfig;
use parley_core::mask::{Limits, Rule, RuleError, RuleSet, Style};
use parley_store::{AnyStore, MaskingRuleStore, StoreError};
use tokio::time::Instant;
use tracing::warn;

use super::policy::MaskingPolicy;
use super::stored::compile_stored;
use crate::config::Config;

/// How long a tenant's stored rules are used before they are read again.
pub const STORED_RULES_TTL: Duration = Duration::from_secs(10);

/// Where a tenant's rules came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSource {
    /// The built-in rules and the file's (`cfg`, or `mix` without stored rules).
    Config,
    /// The tenant's stored rules (`ucs`, or `mix` with stored rules).
    Stored,
}

impl RuleSource {
    /// `config` or `stored`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSource::Config => "config",
            RuleSource::Stored => "stored",
        }
    }
}

/// The rules that apply to one tenant.
#[derive(Debug, Clone)]
pub struct TenantRules {
    /// The compiled, enabled rules in order.
    pub set: Arc<RuleSet>,
    /// Where they came from.
    pub source: RuleSource,
}

/// Why a tenant's rules could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MaskRulesError {
    /// The store failed and no earlier read is kept.
    #[error("reading the masking rules: {0}")]
    Store(#[from] StoreError),
    /// A stored rule does not compile (the admin API refuses such rules; an engine
    /// upgrade could still reject one).
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// A tenant's stored rules as last read.
#[derive(Debug, Clone)]
struct Cached {
    /// `None`: the tenant has no stored rule at all.
    stored: Result<Option<Arc<RuleSet>>, RuleError>,
    read_at: Instant,
}

/// The rules per tenant.
#[derive(Debug)]
pub struct MaskRules {
    source: ApplyConfig,
    style: Style,
    config_rules: Arc<RuleSet>,
    store: AnyStore,
    cache: Mutex<HashMap<String, Cached>>,
}

impl MaskRules {
    /// Compiles the `cfg` rules of `config` (the enabled ones, in order).
    pub fn new(
        config: &Config,
        policy: &MaskingPolicy,
        store: AnyStore,
    ) -> Result<MaskRules, RuleError> {
        let limits = Limits::DEFAULT;
        let rules = config
            .cleanup_rules()
            .into_iter()
            .filter(|r| r.enabled)
            .map(|r| Rule::compile(r.def, &limits))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MaskRules {
            source: policy.apply_config,
            style: policy.style,
            config_rules: Arc::new(RuleSet::new(rules, policy.style, limits)),
            store,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The built-in and file rules (`cfg`).
    pub fn config_rules(&self) -> &Arc<RuleSet> {
        &self.config_rules
    }

    /// The style every set masks in (`default-repchar`, `default-spec`).
    pub fn style(&self) -> Style {
        self.style
    }

    /// The rules that apply to `tenant`'s chats now.
    pub async fn rules_for(&self, tenant: &str) -> Result<TenantRules, MaskRulesError> {
        let config = || TenantRules {
            set: self.config_rules.clone(),
            source: RuleSource::Config,
        };
        if self.source == ApplyConfig::Cfg {
            return Ok(config());
        }
        let stored = match self.stored(tenant).await? {
            Some(set) => set,
            None if self.source == ApplyConfig::Mix => return Ok(config()),
            None => Arc::new(RuleSet::empty(self.style)),
        };
        Ok(TenantRules {
            set: stored,
            source: RuleSource::Stored,
        })
    }

    /// Forgets what was read of `tenant`'s stored rules: the next call reads them again.
    pub fn invalidate(&self, tenant: &str) {
        self.lock().remove(tenant);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tenant's stored rules, `None` when it has none: from the cache while fresh.
    async fn stored(&self, tenant: &str) -> Result<Option<Arc<RuleSet>>, MaskRulesError> {
        let kept = self.lock().get(tenant).cloned();
        if let Some(kept) = &kept {
            if kept.read_at.elapsed() < STORED_RULES_TTL {
                return Ok(kept.stored.clone()?);
            }
        }
        let records = match self.store.masking_rules(tenant).await {
            Ok(records) => records,
            Err(e) => match kept {
                Some(kept) => {
                    warn!(tenant, error = %e, "masking rules not read; the last ones read are used");
                    return Ok(kept.stored?);
                }
                None => return Err(e.into()),
            },
        };
        let stored = if records.is_empty() {
            Ok(None)
        } else {
            compile_stored(&records, self.style).map(|set| Some(Arc::new(set)))
        };
        if let Err(e) = &stored {
            warn!(tenant, error = %e, "a stored masking rule does not compile");
        }
        self.lock().insert(
            tenant.to_owned(),
            Cached {
                stored: stored.clone(),
                read_at: Instant::now(),
            },
        );
        Ok(stored?)
    }
}
