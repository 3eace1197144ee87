//! The declarations of `[retention]` and `[tenant-retention.<tenant>]` (Parley's own: how
//! long closed chats' transcripts, files and records are kept, and the purge that removes
//! them), their checks, and [`RetentionRules`]: the periods of one tenant.

use super::declare::{config_section, DeclaredSection};
use super::validate::{ranges, show_str};
use super::{Config, ConfigProblem};

config_section! {
    /// Parley's own: how long what a closed chat leaves behind is kept. Each period counts
    /// from the chat's close, in seconds; 0 keeps it forever, the default: nothing is removed
    /// unless configured. [tenant-retention.<tenant>] sets other periods for one tenant.
    ///
    /// - transcripts: every line of the transcript goes; the interaction record (user data,
    ///   properties, end facts) stays and shows transcriptPurgedAt.
    /// - files: the files sent in the chat go; the record shows filesPurgedAt.
    /// - interactions: the whole record goes, with its transcript, files and contact link.
    ///   Contacts themselves stay (the admin API erases one).
    ///
    /// Chats going on are never touched. Every instance runs the purge every purge-interval,
    /// in batches of purge-batch chats, each batch one short transaction, with purge-pause
    /// between batches so that chats never wait on it.
    #[section("retention")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Retention {
        /// Seconds a closed chat's transcript is kept (7776000 = 90 days); 0 = forever.
        #[option("transcripts", Int(0..=3_153_600_000, "seconds"), default = 0,
            example = 7776000)]
        pub transcripts_s: u64,

        /// Seconds the files sent in a closed chat are kept (2592000 = 30 days); 0 = forever.
        #[option("files", Int(0..=3_153_600_000, "seconds"), default = 0, example = 2592000)]
        pub files_s: u64,

        /// Seconds a closed chat's interaction record is kept, with its transcript and files
        /// (63072000 = 2 years); 0 = forever.
        #[option("interactions", Int(0..=3_153_600_000, "seconds"), default = 0,
            example = 63072000)]
        pub interactions_s: u64,

        /// Seconds between purge runs. The first run is this long after start, or a minute if
        /// that is sooner.
        #[option("purge-interval", Int(1..=86_400, "seconds"), default = 3600)]
        pub purge_interval_s: u64,

        /// Chats one purge batch (one transaction) handles at most.
        #[option("purge-batch", Int(1..=500), default = 100)]
        pub purge_batch: u32,

        /// Milliseconds the purge waits between batches, leaving the database to the chats.
        #[option("purge-pause", Int(0..=60_000, "milliseconds"), default = 100)]
        pub purge_pause_ms: u64,
    }
}

config_section! {
    /// Parley's own. One section per tenant whose
    /// chats are kept for other periods than [retention] says; an option left out takes the
    /// [retention] value. The tenant must be one of [endpoints.<tenant>].
    ///
    /// Default: no section (every tenant as [retention] says). An example:
    #[section("tenant-retention", key = "tenant", example_key = "1")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TenantRetention {
        /// Seconds this tenant's closed chats keep their transcripts; 0 = forever.
        #[option("transcripts", Int(0..=3_153_600_000, "seconds"), unset, example = 86400)]
        pub transcripts_s: Option<u64>,

        /// Seconds this tenant's closed chats keep their files; 0 = forever.
        #[option("files", Int(0..=3_153_600_000, "seconds"), unset, example = 86400)]
        pub files_s: Option<u64>,

        /// Seconds this tenant's closed chats keep their interaction records; 0 = forever.
        #[option("interactions", Int(0..=3_153_600_000, "seconds"), unset,
            example = 31536000)]
        pub interactions_s: Option<u64>,
    }
}

/// The retention periods of one tenant, in seconds (0 = kept forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRules {
    /// Transcripts.
    pub transcripts_s: u64,
    /// Files.
    pub files_s: u64,
    /// Interaction records.
    pub interactions_s: u64,
}

impl RetentionRules {
    /// Whether anything is ever removed.
    pub fn any(&self) -> bool {
        self.transcripts_s > 0 || self.files_s > 0 || self.interactions_s > 0
    }
}

impl Config {
    /// The retention periods of `tenant`: its `[tenant-retention.<tenant>]` options, else
    /// `[retention]`'s.
    pub fn retention_for(&self, tenant: &str) -> RetentionRules {
        let base = &self.retention;
        let own = self.tenant_retention.get(tenant);
        RetentionRules {
            transcripts_s: own
                .and_then(|t| t.transcripts_s)
                .unwrap_or(base.transcripts_s),
            files_s: own.and_then(|t| t.files_s).unwrap_or(base.files_s),
            interactions_s: own
                .and_then(|t| t.interactions_s)
                .unwrap_or(base.interactions_s),
        }
    }

    /// Whether any tenant's chats are ever purged.
    pub fn retention_purges(&self) -> bool {
        self.retention_for("").any()
            || self
                .tenant_retention
                .keys()
                .any(|t| self.retention_for(t).any())
    }
}

/// The problems of `[retention]` and `[tenant-retention.<tenant>]`.
pub(super) fn problems(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = <TenantRetention as DeclaredSection>::SPEC.name;
    ranges(&config.retention, p);
    for (tenant, t) in &config.tenant_retention {
        t.range_problems(&format!("{SECTION}.{tenant}"), p);
        if !config.endpoints.contains_key(tenant) {
            let known: Vec<String> = config.endpoints.keys().map(|k| show_str(k)).collect();
            p.push(ConfigProblem::new(
                SECTION,
                format!("{tenant:?}"),
                format!(
                    "names tenant {}, which has no [endpoints.<tenant>] table; known tenants \
                     are {}",
                    show_str(tenant),
                    known.join(", ")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_takes_the_options_it_leaves_out_from_retention() {
        let c = Config::from_toml_str(
            "[endpoints.1]\ndefault = \"default\"\n[endpoints.acme]\ndefault = \"default\"\n\
             [retention]\ntranscripts = 600\nfiles = 60\n\
             [tenant-retention.acme]\nfiles = 0\ninteractions = 86400\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let rules = |t: &str| c.retention_for(t);
        assert_eq!(
            rules("acme"),
            RetentionRules {
                transcripts_s: 600,
                files_s: 0,
                interactions_s: 86_400,
            }
        );
        for other in ["1", "gone"] {
            assert_eq!(
                rules(other),
                RetentionRules {
                    transcripts_s: 600,
                    files_s: 60,
                    interactions_s: 0,
                }
            );
        }
        assert!(c.retention_purges());
        assert!(
            !Config::default().retention_purges(),
            "kept forever by default"
        );
        let only_a_tenant = Config::from_toml_str("[tenant-retention.1]\nfiles = 1\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(only_a_tenant.retention_purges());
    }
}
