//! The option table: every section and option Parley knows and the kind of value each
//! takes.
//!
//! Loading checks the merged `toml::Table` against this table *before* deserializing, so
//! an unknown name or a value of the wrong type becomes one [`ConfigProblem`] among many
//! instead of serde's first-error-wins message. Offending keys are removed afterwards, the
//! rest deserializes, and [`super::Config::validate`] adds the range and cross-option
//! problems. The same table drives the mapping of `PARLEY_` variables (`env.rs`).
//!
//! Three shapes of section: *fixed* ones (`[settings]`: a known set of options,
//! [`FIXED_SECTIONS`]), *keyed* ones (`[queues.<name>]`: any number of named tables, each
//! with a known set of options, [`KEYED_SECTIONS`]), and the two free-form maps
//! `[endpoints.<tenant>]` and `[gms-chat-services]`, whose names are data.

use std::net::SocketAddr;

use toml::{Table, Value};

use super::ConfigProblem;

/// An inclusive integer range with the unit shown in messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Range {
    pub(super) min: u64,
    pub(super) max: u64,
    /// Plural unit for messages ("seconds", "bytes"); empty for plain counts.
    pub(super) unit: &'static str,
}

impl Range {
    pub(super) fn contains(&self, v: u64) -> bool {
        (self.min..=self.max).contains(&v)
    }

    /// "allowed range is 0 to 100 seconds"
    pub(super) fn describe(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!("allowed range is {} to {}{unit}", self.min, self.max)
    }
}

const fn range(min: u64, max: u64, unit: &'static str) -> Range {
    Range { min, max, unit }
}

pub(super) const TRANSCRIPT_RESEND_ATTEMPTS: Range = range(0, 100, "");
pub(super) const TRANSCRIPT_RESEND_DELAY: Range = range(0, 60, "seconds");
pub(super) const USER_REGISTER_TIMEOUT: Range = range(1, 3600, "seconds");
pub(super) const MESSAGE_LOG_PRINT_SIZE: Range = range(0, 7000, "characters");
pub(super) const MAX_FRAME_SIZE: Range = range(200, 16_777_216, "bytes");
pub(super) const MAX_MESSAGE_SIZE: Range = range(1, 1_048_576, "bytes");
pub(super) const BASIC_RECONNECT_TIMEOUT: Range = range(0, 86_400, "seconds");
pub(super) const WS_PING_INTERVAL: Range = range(0, 3600, "seconds");
pub(super) const SESSION_LEASE_TIMEOUT: Range = range(5, 3600, "seconds");
pub(super) const COMMIT_BATCH_MAX: Range = range(1, 10_000, "");
pub(super) const SHUTDOWN_TIMEOUT: Range = range(1, 600, "seconds");
pub(super) const FLEX_DISCONNECT_TIMEOUT: Range = range(1, 1_728_000, "seconds");
pub(super) const FLEX_REFRESH_MAX_WAIT: Range = range(0, 120, "seconds");
pub(super) const UPLOAD_MAX_FILES: Range = range(0, 1000, "");
pub(super) const UPLOAD_MAX_FILE_SIZE: Range = range(0, 1_073_741_823, "bytes");
pub(super) const UPLOAD_MAX_TOTAL_SIZE: Range = range(0, 1_073_741_823, "bytes");
pub(super) const DOWNLOAD_ATTEMPTS: Range = range(0, 1000, "");
pub(super) const AGENT_DISCONNECT_TIMEOUT: Range = range(0, 3600, "seconds");
pub(super) const AGENT_TOKEN_LIFETIME: Range = range(60, 604_800, "seconds");
pub(super) const LOGIN_MAX_FAILURES: Range = range(1, 1000, "");
pub(super) const LOGIN_FAILURE_WINDOW: Range = range(1, 86_400, "seconds");
pub(super) const POSITION_INTERVAL: Range = range(0, 3600, "seconds");
pub(super) const OFFER_TIMEOUT: Range = range(1, 3600, "seconds");
pub(super) const MAX_WAIT: Range = range(0, 604_800, "seconds");
pub(super) const AGENT_CAPACITY: Range = range(1, 100, "");
pub(super) const WEBHOOK_ATTEMPTS: Range = range(1, 100, "");
pub(super) const WEBHOOK_RETRY_DELAY: Range = range(1, 600_000, "milliseconds");
pub(super) const WEBHOOK_MAX_RETRY_DELAY: Range = range(1, 3_600_000, "milliseconds");
pub(super) const WEBHOOK_TIMEOUT: Range = range(100, 120_000, "milliseconds");
pub(super) const WEBHOOK_QUEUE_SIZE: Range = range(1, 1_000_000, "");

/// Longest entry of `upload-file-types`, in characters.
pub(super) const MAX_FILE_TYPE_CHARS: usize = 16;

/// Minimum length of an API key, in characters.
pub(super) const MIN_API_KEY_CHARS: usize = 32;

/// Minimum length of the webhook signing secret, in characters.
pub(super) const MIN_WEBHOOK_SECRET_CHARS: usize = 32;

/// Longest `[routing] system-nickname`, in characters (and it must not be empty).
pub(super) const MAX_NICKNAME_CHARS: usize = 64;

/// Longest queue text (`greeting`, `position-text`, `wait-text`, `max-wait-message`), in
/// characters.
pub(super) const MAX_QUEUE_TEXT_CHARS: usize = 1000;

/// The kind of value an option takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// A non-negative integer within the range.
    Int(Range),
    /// `true` or `false`.
    Bool,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// One of these strings, or a legacy `true` / `false` that the option's type maps to
    /// one of them (`stop-abandoned-interaction`).
    ChoiceOrBool(&'static [&'static str]),
    /// One of these integers.
    IntChoice(&'static [i64]),
    /// `ip:port`.
    Addr,
    /// A filesystem path (string).
    Path,
    /// Any string; what it may contain is checked by `validate()`.
    Str,
    /// An array of strings; a `PARLEY_` variable gives them comma-separated.
    StrList,
    /// A URL that may carry a password: its value is never echoed.
    Url,
    /// An array of URLs that may carry credentials: values are never echoed.
    UrlList,
    /// A secret string (a signing key, a password hash): its value is never echoed.
    Secret,
    /// An array of secret strings: values are never echoed.
    SecretList,
}

impl Kind {
    /// Whether messages may echo the value.
    pub(super) fn shows_value(self) -> bool {
        !matches!(
            self,
            Kind::Url | Kind::UrlList | Kind::Secret | Kind::SecretList
        )
    }

    /// Whether a `PARLEY_` variable's text is a comma-separated list of strings.
    pub(super) fn env_reads_list(self) -> bool {
        matches!(self, Kind::SecretList | Kind::StrList | Kind::UrlList)
    }

    /// Whether a `PARLEY_` variable's text is read as a TOML literal (numbers, bools)
    /// rather than taken verbatim as a string.
    pub(super) fn env_reads_literal(self) -> bool {
        matches!(
            self,
            Kind::Int(_) | Kind::Bool | Kind::IntChoice(_) | Kind::ChoiceOrBool(_)
        )
    }

    /// `Ok` if `v` has the right type (and, for integers and choices, an allowed value);
    /// otherwise the message naming what is allowed.
    fn check(self, v: &Value) -> Result<(), String> {
        match (self, v) {
            (Kind::Int(r), Value::Integer(i)) if u64::try_from(*i).is_ok_and(|u| r.contains(u)) => {
                Ok(())
            }
            (Kind::Int(r), _) => Err(r.describe()),
            (Kind::Bool, Value::Boolean(_)) => Ok(()),
            (Kind::Bool, _) => Err("allowed values are true, false".into()),
            (Kind::Choice(names), Value::String(s)) if names.contains(&s.as_str()) => Ok(()),
            (Kind::Choice(names), _) => Err(format!("allowed values are {}", names.join(", "))),
            (Kind::ChoiceOrBool(names), Value::String(s)) if names.contains(&s.as_str()) => Ok(()),
            (Kind::ChoiceOrBool(_), Value::Boolean(_)) => Ok(()),
            (Kind::ChoiceOrBool(names), _) => Err(format!(
                "allowed values are {} (or the legacy true, false)",
                names.join(", ")
            )),
            (Kind::IntChoice(vals), Value::Integer(i)) if vals.contains(i) => Ok(()),
            (Kind::IntChoice(vals), _) => {
                let vals: Vec<String> = vals.iter().map(i64::to_string).collect();
                Err(format!("allowed values are {}", vals.join(", ")))
            }
            (Kind::Addr, Value::String(s)) if s.parse::<SocketAddr>().is_ok() => Ok(()),
            (Kind::Addr, _) => {
                Err("must be an IP address and port, such as 127.0.0.1:8080 or [::1]:8080".into())
            }
            (Kind::Path | Kind::Url | Kind::Str | Kind::Secret, Value::String(_)) => Ok(()),
            (Kind::Path, _) => Err("must be a path (a string)".into()),
            (Kind::Str | Kind::Secret, _) => Err("must be a string".into()),
            (Kind::Url, _) => Err("must be a URL (a string)".into()),
            (Kind::SecretList | Kind::StrList, Value::Array(a)) if a.iter().all(Value::is_str) => {
                Ok(())
            }
            (Kind::SecretList | Kind::StrList, _) => Err("must be an array of strings".into()),
            (Kind::UrlList, Value::Array(a)) if a.iter().all(Value::is_str) => Ok(()),
            (Kind::UrlList, _) => Err("must be an array of URLs (strings)".into()),
        }
    }
}

/// One option of a fixed or keyed section.
#[derive(Debug)]
pub(super) struct OptionSpec {
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    /// `Some(what)` for an option without a default: a table that leaves it out is a
    /// problem, and `what` says what to set.
    pub(super) required: Option<&'static str>,
}

/// A section with a fixed set of options: one table (`[routing]`), or, for a keyed
/// section, any number of named tables (`[queues.<name>]`) each with those options.
#[derive(Debug)]
pub(super) struct SectionSpec {
    pub(super) name: &'static str,
    /// For a keyed section, what names its tables (`name`, `login`); `None` when fixed.
    pub(super) key: Option<&'static str>,
    pub(super) options: &'static [OptionSpec],
}

impl SectionSpec {
    pub(super) fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }

    fn option_names(&self) -> String {
        let names: Vec<&str> = self.options.iter().map(|o| o.name).collect();
        names.join(", ")
    }

    /// The header as written in TOML, for messages: `[routing]`, `[queues.<name>]`.
    pub(super) fn header(&self) -> String {
        match self.key {
            Some(key) => format!("[{}.<{key}>]", self.name),
            None => format!("[{}]", self.name),
        }
    }
}

const fn fixed(name: &'static str, options: &'static [OptionSpec]) -> SectionSpec {
    SectionSpec {
        name,
        key: None,
        options,
    }
}

const fn keyed(
    name: &'static str,
    key: &'static str,
    options: &'static [OptionSpec],
) -> SectionSpec {
    SectionSpec {
        name,
        key: Some(key),
        options,
    }
}

const fn opt(name: &'static str, kind: Kind) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        required: None,
    }
}

const fn required(name: &'static str, kind: Kind, what: &'static str) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        required: Some(what),
    }
}

pub(super) const SAVE_ON_ERROR: &[&str] = &["close", "continue"];
pub(super) const SAVE_NOTICES: &[&str] = &["default", "all"];
pub(super) const RESTORATION_MODES: &[&str] = &["none", "simple"];
pub(super) const FILTER_ACTIONS: &[&str] = &["copy", "skip", "hide"];
/// The names of `stop-abandoned-interaction` (legacy `true` = noanswer, `false` = never).
pub(super) const STOP_ABANDONED: &[&str] = &["always", "never", "noagents", "noanswer"];
pub(super) const MAX_WAIT_ACTIONS: &[&str] = &["close", "keep-waiting"];
pub(super) const ROLES: &[&str] = &["agent", "supervisor"];

/// The endpoints section: `[endpoints.<tenant>]` tables of endpoint = queue.
pub(super) const ENDPOINTS: &str = "endpoints";
/// The GMS services section: `[gms-chat-services]`, service = "<tenant>:<endpoint>".
pub(super) const GMS_CHAT_SERVICES: &str = "gms-chat-services";

/// The queues section: `[queues.<name>]` tables.
pub(super) const QUEUES: &str = "queues";
/// The agents section: `[agents.<login>]` tables.
pub(super) const AGENTS: &str = "agents";

/// Every section, fixed, keyed or free-form, in the order of the example file.
pub(super) const SECTION_ORDER: &[&str] = &[
    "server",
    "settings",
    "log-filter-data",
    "client-file-transfer",
    ENDPOINTS,
    GMS_CHAT_SERVICES,
    "web",
    "security",
    "routing",
    QUEUES,
    AGENTS,
    "webhooks",
];

/// Every fixed section, in the order of the example file.
pub(super) const FIXED_SECTIONS: &[SectionSpec] = &[
    fixed(
        "server",
        &[
            opt("listen", Kind::Addr),
            opt("data-dir", Kind::Path),
            opt("store-url", Kind::Url),
        ],
    ),
    fixed(
        "settings",
        &[
            opt("transcript-auto-save", Kind::IntChoice(&[0, 1, 2])),
            opt("transcript-save-on-error", Kind::Choice(SAVE_ON_ERROR)),
            opt(
                "transcript-resend-attempts",
                Kind::Int(TRANSCRIPT_RESEND_ATTEMPTS),
            ),
            opt(
                "transcript-resend-delay",
                Kind::Int(TRANSCRIPT_RESEND_DELAY),
            ),
            opt("transcript-save-notices", Kind::Choice(SAVE_NOTICES)),
            opt("session-restoration-mode", Kind::Choice(RESTORATION_MODES)),
            opt("session-password-enforce", Kind::Bool),
            opt("user-register-timeout", Kind::Int(USER_REGISTER_TIMEOUT)),
            opt(
                "flex-disconnect-timeout",
                Kind::Int(FLEX_DISCONNECT_TIMEOUT),
            ),
            opt("flex-refresh-max-wait", Kind::Int(FLEX_REFRESH_MAX_WAIT)),
            opt("message-log-print-size", Kind::Int(MESSAGE_LOG_PRINT_SIZE)),
            opt("hide-attached-data", Kind::Bool),
            opt("max-frame-size", Kind::Int(MAX_FRAME_SIZE)),
            opt("max-message-size", Kind::Int(MAX_MESSAGE_SIZE)),
            opt(
                "basic-reconnect-timeout",
                Kind::Int(BASIC_RECONNECT_TIMEOUT),
            ),
            opt("ws-ping-interval", Kind::Int(WS_PING_INTERVAL)),
            opt("session-lease-timeout", Kind::Int(SESSION_LEASE_TIMEOUT)),
            opt("commit-batch-max", Kind::Int(COMMIT_BATCH_MAX)),
            opt("shutdown-timeout", Kind::Int(SHUTDOWN_TIMEOUT)),
            opt(
                "stop-abandoned-interaction",
                Kind::ChoiceOrBool(STOP_ABANDONED),
            ),
        ],
    ),
    fixed(
        "log-filter-data",
        &[
            opt("Transcript", Kind::Choice(FILTER_ACTIONS)),
            opt("StructuredText", Kind::Choice(FILTER_ACTIONS)),
        ],
    ),
    fixed(
        "client-file-transfer",
        &[
            opt("upload-max-files", Kind::Int(UPLOAD_MAX_FILES)),
            opt("upload-max-file-size", Kind::Int(UPLOAD_MAX_FILE_SIZE)),
            opt("upload-max-total-size", Kind::Int(UPLOAD_MAX_TOTAL_SIZE)),
            opt("upload-file-types", Kind::Str),
            opt("upload-need-agent", Kind::Bool),
            opt("download-attempts", Kind::Int(DOWNLOAD_ATTEMPTS)),
            opt("delete-file", Kind::Bool),
        ],
    ),
    fixed(
        "web",
        &[
            opt("cors-allowed-origins", Kind::StrList),
            opt("web-dir", Kind::Path),
        ],
    ),
    fixed(
        "security",
        &[
            opt("api-keys", Kind::SecretList),
            opt("esp-api-keys", Kind::SecretList),
            opt("admin-api-keys", Kind::SecretList),
        ],
    ),
    fixed(
        "routing",
        &[
            opt("enabled", Kind::Bool),
            opt(
                "agent-disconnect-timeout",
                Kind::Int(AGENT_DISCONNECT_TIMEOUT),
            ),
            opt("system-nickname", Kind::Str),
            opt("agent-token-lifetime", Kind::Int(AGENT_TOKEN_LIFETIME)),
            opt("login-max-failures", Kind::Int(LOGIN_MAX_FAILURES)),
            opt("login-failure-window", Kind::Int(LOGIN_FAILURE_WINDOW)),
        ],
    ),
    fixed(
        "webhooks",
        &[
            opt("urls", Kind::UrlList),
            opt("secret", Kind::Secret),
            opt("attempts", Kind::Int(WEBHOOK_ATTEMPTS)),
            opt("retry-delay", Kind::Int(WEBHOOK_RETRY_DELAY)),
            opt("max-retry-delay", Kind::Int(WEBHOOK_MAX_RETRY_DELAY)),
            opt("timeout", Kind::Int(WEBHOOK_TIMEOUT)),
            opt("queue-size", Kind::Int(WEBHOOK_QUEUE_SIZE)),
        ],
    ),
];

/// Every keyed section (`[<name>.<key>]` tables with a fixed set of options), in the order
/// of the example file.
pub(super) const KEYED_SECTIONS: &[SectionSpec] = &[
    keyed(
        QUEUES,
        "name",
        &[
            opt("greeting", Kind::Str),
            opt("position-notices", Kind::Bool),
            opt("position-interval", Kind::Int(POSITION_INTERVAL)),
            opt("position-text", Kind::Str),
            opt("estimated-wait", Kind::Bool),
            opt("wait-text", Kind::Str),
            opt("offer-timeout", Kind::Int(OFFER_TIMEOUT)),
            opt("max-wait", Kind::Int(MAX_WAIT)),
            opt("max-wait-message", Kind::Str),
            opt("max-wait-action", Kind::Choice(MAX_WAIT_ACTIONS)),
        ],
    ),
    keyed(
        AGENTS,
        "login",
        &[
            required(
                "password-hash",
                Kind::Secret,
                "the argon2 hash of the agent's password, which `parley hash-password` prints",
            ),
            opt("nickname", Kind::Str),
            opt("role", Kind::Choice(ROLES)),
            opt("queues", Kind::StrList),
            opt("capacity", Kind::Int(AGENT_CAPACITY)),
        ],
    ),
];

/// The fixed or keyed section called `name`.
pub(super) fn spec(name: &str) -> Option<&'static SectionSpec> {
    FIXED_SECTIONS
        .iter()
        .chain(KEYED_SECTIONS)
        .find(|s| s.name == name)
}

/// All section names, for messages.
pub(super) fn section_names() -> String {
    SECTION_ORDER.join(", ")
}

/// Where problems about `section` are listed: sections in file order (an endpoint table
/// with `[endpoints]`), then variables, then unknown sections.
pub(super) fn section_rank(section: &str) -> usize {
    let base = section.split('.').next().unwrap_or(section);
    match SECTION_ORDER.iter().position(|s| *s == base) {
        Some(rank) => rank,
        None if base == super::env::ENV_SECTION => SECTION_ORDER.len(),
        None => SECTION_ORDER.len() + 1,
    }
}

/// Lower-case with `_` read as `-`: how `PARLEY_` variable parts are matched to names.
pub(super) fn env_norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('_', "-")
}

/// Lower-case without separators: how a misspelt name is matched to a suggestion.
fn loose_norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Renders a value for a message; long values are cut.
pub(super) fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Checks every section and option name and every value's type in `table`, pushing one
/// problem per offence and removing the offending entries, so what remains deserializes.
pub(super) fn check_and_prune(table: &mut Table, problems: &mut Vec<ConfigProblem>) {
    let names: Vec<String> = table.keys().cloned().collect();
    for name in names {
        if name == ENDPOINTS {
            check_endpoints(table, problems);
            continue;
        }
        if name == GMS_CHAT_SERVICES {
            check_services(table, problems);
            continue;
        }
        let Some(spec) = spec(&name) else {
            problems.push(unknown_section(&name));
            table.remove(&name);
            continue;
        };
        if spec.key.is_some() {
            check_keyed(table, spec, problems);
            continue;
        }
        let Some(Value::Table(section)) = table.get_mut(&name) else {
            problems.push(ConfigProblem::new(
                &name,
                "",
                "must be a table ([section] header)",
            ));
            table.remove(&name);
            continue;
        };
        // A fixed section has no required option, so it is always kept.
        check_options(spec, &name, section, problems);
    }
}

/// `[<section>]` of a keyed section must be a table of tables, one per key, each checked
/// like a fixed section; a table that lacks a required option is dropped whole (after the
/// problem is recorded), so what remains deserializes. Key names are checked by
/// `validate()`.
fn check_keyed(table: &mut Table, spec: &SectionSpec, problems: &mut Vec<ConfigProblem>) {
    let header = spec.header();
    let Some(Value::Table(entries)) = table.get_mut(spec.name) else {
        problems.push(ConfigProblem::new(
            spec.name,
            "",
            format!("must be tables of options: {header}"),
        ));
        table.remove(spec.name);
        return;
    };
    let keys: Vec<String> = entries.keys().cloned().collect();
    for key in keys {
        let Some(Value::Table(sub)) = entries.get_mut(&key) else {
            let message = match spec.option(&key) {
                Some(o) => format!(
                    "must be a table of options: {header}; `{}` is one of those options, so \
                     it goes under a {header} header, not under [{}]",
                    o.name, spec.name
                ),
                None => format!("must be a table of options: {header}"),
            };
            problems.push(ConfigProblem::new(spec.name, &key, message));
            entries.remove(&key);
            continue;
        };
        if !check_options(spec, &format!("{}.{key}", spec.name), sub, problems) {
            entries.remove(&key);
        }
    }
}

/// Checks the options of one table of `spec` (called `label` in problems: `routing`,
/// `queues.sales`), removing unknown and mistyped ones. Returns whether every required
/// option is there; a missing one is a problem unless its value was already refused.
fn check_options(
    spec: &SectionSpec,
    label: &str,
    section: &mut Table,
    problems: &mut Vec<ConfigProblem>,
) -> bool {
    let mut refused = Vec::new();
    let keys: Vec<String> = section.keys().cloned().collect();
    for key in keys {
        let Some(option) = spec.option(&key) else {
            problems.push(unknown_option(spec, label, &key));
            section.remove(&key);
            continue;
        };
        if let Err(message) = option.kind.check(&section[&key]) {
            let mut p = ConfigProblem::new(label, option.name, message);
            if option.kind.shows_value() {
                p.value = Some(show(&section[&key]));
            }
            problems.push(p);
            section.remove(&key);
            refused.push(option.name);
        }
    }
    let mut complete = true;
    for option in spec.options {
        let Some(what) = option.required else {
            continue;
        };
        if section.contains_key(option.name) {
            continue;
        }
        complete = false;
        if !refused.contains(&option.name) {
            problems.push(ConfigProblem::new(
                label,
                option.name,
                format!("missing; every {} must set it: {what}", spec.header()),
            ));
        }
    }
    complete
}

/// `[endpoints]` must be a table of tenant tables whose values are strings; names and the
/// `default` entry are checked by `validate()`.
fn check_endpoints(table: &mut Table, problems: &mut Vec<ConfigProblem>) {
    let Some(Value::Table(tenants)) = table.get_mut(ENDPOINTS) else {
        problems.push(ConfigProblem::new(
            ENDPOINTS,
            "",
            "must be tables of endpoint = queue, one per tenant: [endpoints.<tenant>]",
        ));
        table.remove(ENDPOINTS);
        return;
    };
    let names: Vec<String> = tenants.keys().cloned().collect();
    for tenant in names {
        let Some(Value::Table(eps)) = tenants.get_mut(&tenant) else {
            problems.push(ConfigProblem::new(
                ENDPOINTS,
                &tenant,
                "must be a table of endpoint = queue: [endpoints.<tenant>]",
            ));
            tenants.remove(&tenant);
            continue;
        };
        let keys: Vec<String> = eps.keys().cloned().collect();
        for ep in keys {
            if !eps[&ep].is_str() {
                let mut p = ConfigProblem::new(
                    format!("{ENDPOINTS}.{tenant}"),
                    &ep,
                    "must be a queue name (a string)",
                );
                p.value = Some(show(&eps[&ep]));
                problems.push(p);
                eps.remove(&ep);
            }
        }
    }
}

/// `[gms-chat-services]` must be a table of strings; names and targets are checked by
/// `validate()`.
fn check_services(table: &mut Table, problems: &mut Vec<ConfigProblem>) {
    let Some(Value::Table(services)) = table.get_mut(GMS_CHAT_SERVICES) else {
        problems.push(ConfigProblem::new(
            GMS_CHAT_SERVICES,
            "",
            "must be a table of service = \"<tenant>:<endpoint>\": [gms-chat-services]",
        ));
        table.remove(GMS_CHAT_SERVICES);
        return;
    };
    let names: Vec<String> = services.keys().cloned().collect();
    for service in names {
        if !services[&service].is_str() {
            let mut p = ConfigProblem::new(
                GMS_CHAT_SERVICES,
                &service,
                "must be \"<tenant>:<endpoint>\" (a string)",
            );
            p.value = Some(show(&services[&service]));
            problems.push(p);
            services.remove(&service);
        }
    }
}

fn unknown_section(name: &str) -> ConfigProblem {
    let message = match name.strip_prefix("endpoints:") {
        Some(tenant) => format!(
            "unknown section; the Genesys section `endpoints:{tenant}` is written \
             [endpoints.{tenant}] (or [endpoints.\"{tenant}\"])"
        ),
        None if name == "chat" || name.starts_with("chat.") => format!(
            "unknown section; GMS `chat.<service>` sections are written as entries of \
             [{GMS_CHAT_SERVICES}]: <service> = \"<tenant>:<endpoint>\""
        ),
        None => {
            // Loosely equal, or the singular of a plural name ([queue.x] for [queues.x]).
            let wanted = loose_norm(name);
            match SECTION_ORDER.iter().find(|s| {
                let s = loose_norm(s);
                s == wanted || s == format!("{wanted}s")
            }) {
                Some(s) => format!("unknown section; did you mean {}?", header_of(s)),
                None => format!("unknown section; known sections are {}", section_names()),
            }
        }
    };
    ConfigProblem::new(name, "", message)
}

/// How section `name` is written: `[web]`, `[queues.<name>]`, `[endpoints.<tenant>]`.
fn header_of(name: &str) -> String {
    match spec(name) {
        Some(spec) => spec.header(),
        None if name == ENDPOINTS => format!("[{ENDPOINTS}.<tenant>]"),
        None => format!("[{name}]"),
    }
}

fn unknown_option(spec: &SectionSpec, label: &str, key: &str) -> ConfigProblem {
    let message = match spec
        .options
        .iter()
        .find(|o| loose_norm(o.name) == loose_norm(key))
    {
        Some(o) => format!("unknown option; did you mean `{}`?", o.name),
        None => format!("unknown option; known options are {}", spec.option_names()),
    };
    ConfigProblem::new(label, key, message)
}
