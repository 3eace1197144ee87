//! [`MaskingPolicy`]: the `[transcript-cleanup]` values. The predicates (where masking
//! applies, who is shown a message in clear) are the core's [`MaskPolicy`], reached
//! through `Deref`, so the session's per-viewer projection and the shell decide with the
//! same code; this adds what only the shell needs, the rule source.

use std::ops::Deref;

use parley_core::mask::{ApplyConfig, MaskPolicy};

use crate::config::Config;

/// The `[transcript-cleanup]` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskingPolicy {
    core: MaskPolicy,
    /// `apply-config`: where the rules come from.
    pub apply_config: ApplyConfig,
}

impl MaskingPolicy {
    /// The options of a validated configuration.
    pub fn from_config(config: &Config) -> MaskingPolicy {
        MaskingPolicy {
            core: config.transcript_cleanup.policy(),
            apply_config: config.transcript_cleanup.apply_config,
        }
    }

    /// The core's policy, for a session to carry.
    pub fn core(&self) -> MaskPolicy {
        self.core
    }
}

impl Deref for MaskingPolicy {
    type Target = MaskPolicy;
    fn deref(&self) -> &MaskPolicy {
        &self.core
    }
}
