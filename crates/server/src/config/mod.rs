//! Configuration: one typed struct, layered, validated and documented (STYLE.md
//! convention 6), with every option declared once.
//!
//! Sections and option names are the Genesys Chat Server 8.5 ones (`[settings]`,
//! `[log-filter-data]`, `[client-file-transfer]`, `[endpoints.<tenant>]`), plus Parley's
//! own `[server]`, `[gms-chat-services]` (modelled on GMS's `chat.<service>` sections),
//! `[web]` and `[security]`, and the contact-center sections that stand in for what
//! Genesys keeps in Interaction Server, URS and Configuration Server: `[routing]`,
//! `[queues.<name>]`, `[agents.<login>]` (with argon2 password hashes) and `[webhooks]`.
//!
//! Each option is declared once, with `config_section!` (`declare.rs`): its field and
//! type, TOML name, kind and range, default and description. The serde struct, its
//! defaults, the option table (`schema.rs`), the type check, the `PARLEY_` variable
//! names, the range checks and `config/parley.example.toml` ([`example_toml`]) all come
//! from that declaration.
//!
//! Layout:
//! - `declare.rs`   `config_section!`, the declaration macro, and what it generates
//! - `settings.rs`  the declaration of `[settings]`
//! - `sections.rs`  the declarations of `[server]`, `[log-filter-data]`,
//!   `[client-file-transfer]`, `[web]`, `[security]`
//! - `center.rs`    the declarations of `[routing]`, `[queues.<name>]`, `[agents.<login>]`,
//!   `[webhooks]`
//! - `cluster.rs`   the declaration of `[cluster]` and its checks
//! - `listeners.rs` the declarations of `[tls]` and `[listeners.<port-id>]`, the port
//!   ids, and their checks
//! - `cleanup.rs`   the declarations of `[transcript-cleanup]` and
//!   `[transcript-cleanup-rules.<name>]` (masking), their checks, and the `cfg` rules
//! - `retention.rs` the declarations of `[retention]` and `[tenant-retention.<tenant>]`,
//!   their checks, and each tenant's periods
//! - `identity.rs`  the declaration of `[identity.<tenant>]` and its checks
//! - `inactivity.rs` the declaration of `[inactivity-control]`
//! - `maps.rs`      the free-form maps `[endpoints.<tenant>]` and `[gms-chat-services]`
//! - `schema.rs`    the option table: kinds, ranges, every section in file order
//! - `check.rs`     the type check of the merged TOML table against the option table
//! - `suggest.rs`   "did you mean": the nearest known name (edit distance)
//! - `env.rs`       the `PARLEY_<SECTION>__<OPTION>` variables
//! - `validate.rs`, `validate_center.rs`, `urls.rs`   [`Config::validate`]: declared
//!   ranges and the hand-written rules (cross-option, names, URLs)
//! - `example.rs`   [`example_toml`]: the example file, rendered from the declarations
//! - `error.rs`, `secret.rs`, `password.rs`   problems, redacted secrets, argon2 hashes
//! - `tests*.rs`    unit tests (`tests_example.rs` keeps the example file generated)
//!
//! Three shapes of section (`schema.rs`): fixed ones with a known set of options, keyed
//! ones (`[queues.<name>]`, `[agents.<login>]`: any number of named tables with a known
//! set of options), and the free-form maps `[endpoints.<tenant>]` and
//! `[gms-chat-services]`.
//!
//! Layers, lowest first: built-in defaults → TOML file → `PARLEY_<SECTION>__<OPTION>`
//! variables (see `env.rs`) → CLI flags. The file and the variables are merged into one
//! `toml::Table`; the names and value types in it are checked against the option table
//! (`check.rs`), the rest is deserialized, CLI flags are applied and
//! [`Config::validate`] checks ranges and cross-option rules. Every problem found on the
//! way is reported at once in [`ConfigError::Invalid`]; an unknown name comes with the
//! nearest known one.

mod center;
mod check;
mod cleanup;
mod cluster;
mod declare;
mod env;
mod error;
mod example;
mod health;
mod identity;
mod inactivity;
mod listeners;
mod maps;
mod password;
mod rate;
mod retention;
mod schema;
mod secret;
mod sections;
mod settings;
mod suggest;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_center;
#[cfg(test)]
mod tests_example;
mod urls;
mod validate;
mod validate_center;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

pub use center::{AgentConfig, MaxWaitAction, QueueConfig, Role, Routing, Webhooks};
pub use cleanup::{valid_rule_name, CleanupRuleConfig, OrderedRule, TranscriptCleanup};
pub use cleanup::{DEFAULT_RULE_ORDER, RULE_NAME_RULE};
pub use cluster::Cluster;
pub use error::{ConfigError, ConfigProblem};
pub use example::example_toml;
pub use health::{HealthService, LogContent, LogProviso};
pub use identity::{IdentityConfig, IdentityMode, MIN_IDENTITY_SECRET_CHARS};
pub use inactivity::InactivityControl;
pub use listeners::{ListenerConfig, ListenerPlan, PortId, Tls, TlsFiles};
pub use password::hash_password;
pub use rate::RateLimits;
pub use retention::{Retention, RetentionRules, TenantRetention};
pub use secret::Secret;
pub use sections::{
    ClientFileTransfer, FilterAction, LogFilterData, LogFormat, Security, ServerSection, Web,
};
pub use settings::{AutoSave, RestorationMode, SaveNotices, SaveOnError, Settings};

use maps::{default_endpoints, default_gms_chat_services};

/// The whole configuration. Each section is described by its declaration (its type's
/// documentation), and all of them in `config/parley.example.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: Parley's own process options.
    /// default: every option at its default
    #[serde(default)]
    pub server: ServerSection,
    /// `[tls]`: the certificate of the default listener (and of the others by default).
    /// default: every option at its default (no TLS)
    #[serde(default)]
    pub tls: Tls,
    /// `[listeners.<port-id>]`: listeners of their own for some port ids' doors.
    /// default: none (every door on `[server] listen`)
    #[serde(default)]
    pub listeners: BTreeMap<String, ListenerConfig>,
    /// `[settings]`: the Genesys `settings` section.
    /// default: every option at its default
    #[serde(default)]
    pub settings: Settings,
    /// `[log-filter-data]`: how attached-data keys are printed in logs.
    /// default: every option at its default
    #[serde(default, rename = "log-filter-data")]
    pub log_filter_data: LogFilterData,
    /// `[client-file-transfer]`: customers' upload and download allowances.
    /// default: every option at its default
    #[serde(default, rename = "client-file-transfer")]
    pub client_file_transfer: ClientFileTransfer,
    /// `[transcript-cleanup]`: masking sensitive data.
    /// default: every option at its default (masking off)
    #[serde(default, rename = "transcript-cleanup")]
    pub transcript_cleanup: TranscriptCleanup,
    /// `[transcript-cleanup-rules.<name>]`: masking rules in the file, and changes to the
    /// built-in ones. Read them with [`Config::cleanup_rules`].
    /// default: none (the built-in rules)
    #[serde(default, rename = "transcript-cleanup-rules")]
    pub transcript_cleanup_rules: BTreeMap<String, CleanupRuleConfig>,
    /// `[inactivity-control]`: closing chats whose participants went quiet.
    /// default: every option at its default (off)
    #[serde(default, rename = "inactivity-control")]
    pub inactivity_control: InactivityControl,
    /// `[endpoints.<tenant>]`: endpoint name → interaction queue, per tenant (Genesys
    /// `endpoints:<tenant>`), described in `maps.rs`. Read it with [`Config::queue_for`].
    /// default: `[endpoints.1] default = "default"`
    #[serde(default = "default_endpoints")]
    pub endpoints: BTreeMap<String, BTreeMap<String, String>>,
    /// `[gms-chat-services]`: GMS v2 service name → `"<tenant>:<endpoint>"`, described in
    /// `maps.rs`. Read it with [`Config::service_endpoint`].
    /// default: `customer-support = "1:default"`
    #[serde(default = "default_gms_chat_services", rename = "gms-chat-services")]
    pub gms_chat_services: BTreeMap<String, String>,
    /// `[web]`: CORS and where the web files come from.
    /// default: every option at its default
    #[serde(default)]
    pub web: Web,
    /// `[security]`: credentials.
    /// default: every option at its default
    #[serde(default)]
    pub security: Security,
    /// `[rate-limits]`: how fast one client may go.
    /// default: every option at its default
    #[serde(default, rename = "rate-limits")]
    pub rate_limits: RateLimits,
    /// `[identity.<tenant>]`: verified visitor identity per tenant. Read it with
    /// [`Config::identity_for`].
    /// default: none (no tenant checks identities)
    #[serde(default)]
    pub identity: BTreeMap<String, IdentityConfig>,
    /// `[routing]`: the built-in strategy and agent sessions.
    /// default: every option at its default
    #[serde(default)]
    pub routing: Routing,
    /// `[queues.<name>]`: each queue's built-in strategy. Queues named by endpoints or
    /// agents but without a section use the defaults of [`QueueConfig`].
    /// default: none (every queue at the defaults)
    #[serde(default)]
    pub queues: BTreeMap<String, QueueConfig>,
    /// `[agents.<login>]`: agents and supervisors defined in the file.
    /// default: none
    #[serde(default)]
    pub agents: BTreeMap<String, AgentConfig>,
    /// `[webhooks]`: interaction events POSTed to integrators.
    /// default: every option at its default (no webhooks)
    #[serde(default)]
    pub webhooks: Webhooks,
    /// `[cluster]`: how the instances on one PostgreSQL reach each other.
    /// default: every option at its default
    #[serde(default)]
    pub cluster: Cluster,
    /// `[retention]`: how long closed chats' transcripts, files and records are kept.
    /// default: every option at its default (kept forever)
    #[serde(default)]
    pub retention: Retention,
    /// `[tenant-retention.<tenant>]`: other periods for one tenant. Read both with
    /// [`Config::retention_for`].
    /// default: none (every tenant as `[retention]` says)
    #[serde(default, rename = "tenant-retention")]
    pub tenant_retention: BTreeMap<String, TenantRetention>,
    /// `[health-service]`: the periodic KPI counter log and the counters' token.
    /// default: every option at its default (no log, no token)
    #[serde(default, rename = "health-service")]
    pub health_service: HealthService,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            server: ServerSection::default(),
            tls: Tls::default(),
            listeners: BTreeMap::new(),
            settings: Settings::default(),
            log_filter_data: LogFilterData::default(),
            client_file_transfer: ClientFileTransfer::default(),
            transcript_cleanup: TranscriptCleanup::default(),
            transcript_cleanup_rules: BTreeMap::new(),
            inactivity_control: InactivityControl::default(),
            endpoints: default_endpoints(),
            gms_chat_services: default_gms_chat_services(),
            web: Web::default(),
            security: Security::default(),
            rate_limits: RateLimits::default(),
            identity: BTreeMap::new(),
            routing: Routing::default(),
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            webhooks: Webhooks::default(),
            cluster: Cluster::default(),
            retention: Retention::default(),
            tenant_retention: BTreeMap::new(),
            health_service: HealthService::default(),
        }
    }
}

/// Flags from the command line; they override the file and the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliOverrides {
    /// `--listen`: sets `[server] listen`.
    /// default: unset (the lower layers decide)
    pub listen: Option<SocketAddr>,
    /// `--data-dir`: sets `[server] data-dir`.
    /// default: unset (the lower layers decide)
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration: defaults → TOML file at `path` (if any) → `PARLEY_`
    /// variables from `env` → `cli`, then [`Config::validate`]. Pass
    /// `std::env::vars()` as `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let text = match path {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                        path: path.to_owned(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        Config::load_text(text.as_deref().zip(path), env, cli)
    }

    /// [`Config::load`] once the file (if any) is read: `file` is its text and path.
    pub(crate) fn load_text(
        file: Option<(&str, &Path)>,
        env: impl IntoIterator<Item = (String, String)>,
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some((text, path)) => parse_table(text, Some(path))?,
            None => Table::new(),
        };
        let file_names_services = table.contains_key(maps::GMS_CHAT_SERVICES);
        let mut problems = Vec::new();
        let mut origins = Vec::new();
        env::apply(&mut table, env, &mut problems, &mut origins);
        if let Some(Value::Table(server)) = table.get_mut("server") {
            // Flags win: whatever the lower layers said about these keys is moot.
            if cli.listen.is_some() {
                server.remove("listen");
            }
            if cli.data_dir.is_some() {
                server.remove("data-dir");
            }
        }
        let set_by_variables: Vec<&str> = origins
            .iter()
            .filter(|o| o.section == maps::GMS_CHAT_SERVICES)
            .map(|o| o.option.as_str())
            .collect();
        let mut config = from_table(table, &mut problems)?;
        if !file_names_services {
            drop_missing_default_services(&mut config, &set_by_variables);
        }
        if let Some(listen) = cli.listen {
            config.server.listen = listen;
        }
        if let Some(data_dir) = &cli.data_dir {
            config.server.data_dir.clone_from(data_dir);
        }
        problems.extend(validate::problems(&config));
        for p in &mut problems {
            if let Some(o) = origins
                .iter()
                .find(|o| o.section == p.section && o.option == p.option)
            {
                p.message = format!("{} (set by {})", p.message, o.variable);
            }
        }
        finish(config, problems)
    }

    /// Defaults overlaid with the TOML text `s`, validated. No environment, no flags.
    pub fn from_toml_str(s: &str) -> Result<Config, ConfigError> {
        let table = parse_table(s, None)?;
        let file_names_services = table.contains_key(maps::GMS_CHAT_SERVICES);
        let mut problems = Vec::new();
        let mut config = from_table(table, &mut problems)?;
        if !file_names_services {
            drop_missing_default_services(&mut config, &[]);
        }
        problems.extend(validate::problems(&config));
        finish(config, problems)
    }

    /// Checks ranges, cross-option rules, endpoint tables, GMS services, CORS origins, API
    /// keys, queues, agents and webhooks, reporting every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = validate::problems(self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The store URL: `[server] store-url`, else SQLite in the data directory
    /// (`sqlite://<data-dir>/parley.db`).
    pub fn store_url(&self) -> String {
        match &self.server.store_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.server.data_dir.join("parley.db").display()
            ),
        }
    }

    /// The interaction queue of `<tenant>:<endpoint>`, or `None` if the tenant or the
    /// endpoint is not configured (the request is then rejected; there is no fallback to
    /// `default`).
    pub fn queue_for(&self, tenant: &str, endpoint: &str) -> Option<&str> {
        self.endpoints
            .get(tenant)?
            .get(endpoint)
            .map(String::as_str)
    }

    /// How tenant `tenant` checks visitor identities (`off` when it has no
    /// `[identity.<tenant>]` table).
    pub fn identity_for(&self, tenant: &str) -> Option<&IdentityConfig> {
        self.identity
            .get(tenant)
            .filter(|i| i.mode != IdentityMode::Off)
    }

    /// The `(tenant, endpoint)` that GMS v2 service `service` (the `{serviceName}` of
    /// `/genesys/2/chat/{serviceName}`) submits chats to, or `None` if the service is not
    /// configured. Names match exactly. Resolve the queue with [`Config::queue_for`].
    pub fn service_endpoint(&self, service: &str) -> Option<(String, String)> {
        let (tenant, endpoint) = self.gms_chat_services.get(service)?.split_once(':')?;
        Some((tenant.to_owned(), endpoint.to_owned()))
    }
}

fn parse_table(text: &str, path: Option<&Path>) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        path: path.map(Path::to_owned),
        message: e.to_string().trim_end().to_owned(),
    })
}

/// Checks names and types (pushing problems and dropping what is wrong), then
/// deserializes the rest over the defaults.
fn from_table(mut table: Table, problems: &mut Vec<ConfigProblem>) -> Result<Config, ConfigError> {
    check::check_and_prune(&mut table, problems);
    Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: None,
            message: e.message().to_owned(),
        })
}

/// For a file that names no GMS service: drops each built-in service whose endpoint is
/// not configured (unless a variable in `set_by_variables` set it), so that a file
/// replacing tenant 1 need not mention GMS.
fn drop_missing_default_services(config: &mut Config, set_by_variables: &[&str]) {
    for (service, _) in default_gms_chat_services() {
        if set_by_variables.contains(&service.as_str()) {
            continue;
        }
        let exists = config
            .service_endpoint(&service)
            .is_some_and(|(tenant, endpoint)| config.queue_for(&tenant, &endpoint).is_some());
        if !exists {
            config.gms_chat_services.remove(&service);
        }
    }
}

/// `config` if there are no problems, else every problem, grouped by section in the
/// order of the example file (a stable sort: within a section, discovery order).
fn finish(config: Config, mut problems: Vec<ConfigProblem>) -> Result<Config, ConfigError> {
    problems.sort_by_key(|p| schema::section_rank(&p.section));
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}
