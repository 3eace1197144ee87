//! The `PARLEY_` environment layer.
//!
//! `PARLEY_<SECTION>__<OPTION>=value` sets one option; `__` separates the levels, and
//! names match case-insensitively with `_` read as `-`:
//!
//! ```text
//! PARLEY_SERVER__LISTEN=127.0.0.1:9000
//! PARLEY_SETTINGS__TRANSCRIPT_AUTO_SAVE=2
//! PARLEY_LOG_FILTER_DATA__TRANSCRIPT=copy
//! PARLEY_SECURITY__API_KEYS=key-one,key-two      (comma-separated)
//! PARLEY_ENDPOINTS__1__DEFAULT=chat-inbound      (tenant, then endpoint)
//! PARLEY_CLIENT_FILE_TRANSFER__UPLOAD_MAX_FILES=5
//! PARLEY_GMS_CHAT_SERVICES__SUPPORT=1:default    (service = tenant:endpoint)
//! PARLEY_WEB__CORS_ALLOWED_ORIGINS=https://a.example,https://b.example   (comma-separated)
//! PARLEY_SETTINGS__STOP_ABANDONED_INTERACTION=noagents
//! PARLEY_WEBHOOKS__SECRET=...                    (any fixed section works the same way)
//! PARLEY_QUEUES__SALES__MAX_WAIT=600             (keyed: queue name, then option)
//! PARLEY_AGENTS__ANNA__PASSWORD_HASH='$argon2id$...'   (keyed: login, then option)
//! ```
//!
//! Integer and boolean options (and `stop-abandoned-interaction`, for its legacy
//! `true`/`false`) read the value as a TOML literal; list options (`api-keys`,
//! `cors-allowed-origins`, `urls`, an agent's `queues`) split it at commas; every other
//! option takes it verbatim as a string. Endpoint and GMS service variables add to (or
//! change one entry of) the endpoints or services from the file, or from the built-in
//! default when the file has none. Keyed-section variables (`[queues.<name>]`,
//! `[agents.<login>]`) set one option of a table from the file, or start a new table
//! (an agent needs its `password-hash` then, as in the file). A tenant, endpoint,
//! service, queue or login name matches an existing one case-insensitively (`_` = `-`),
//! and a new one is taken in lower case; names a variable cannot spell (`.` or `@` in a
//! login, upper case) are for the file. Variables starting with `PARLEY_TEST_` belong to
//! the test suite and are ignored; any other unknown `PARLEY_` variable is a problem
//! naming it and, when one is near, the variable it probably meant
//! (`PARLEY_SETTINGS_MAX_FRAME_SIZE` → `PARLEY_SETTINGS__MAX_FRAME_SIZE`). The names come
//! from the option declarations; [`variable`] spells an option's variable (the example
//! file lists each one).

use serde::Deserialize;
use toml::{Table, Value};

use super::maps::{ENDPOINTS, ENDPOINTS_MAP, GMS_CHAT_SERVICES, GMS_CHAT_SERVICES_MAP};
use super::schema::{
    fixed_sections, option_sections, section_names, spec, OptionSpec, SectionSpec,
};
use super::suggest::nearest;
use super::ConfigProblem;

/// The prefix of every configuration variable.
pub(super) const PREFIX: &str = "PARLEY_";
/// Variables with this prefix are not configuration (e.g. `PARLEY_TEST_POSTGRES_URL`).
const IGNORED_PREFIX: &str = "PARLEY_TEST_";
/// The section shown in problems about a variable itself.
pub(super) const ENV_SECTION: &str = "environment";

/// Where an option's value came from, to point problems at the variable.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub(super) section: String,
    pub(super) option: String,
    pub(super) variable: String,
}

/// Merges the `PARLEY_` variables into `table`, recording problems and origins.
pub(super) fn apply(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
    problems: &mut Vec<ConfigProblem>,
    origins: &mut Vec<Origin>,
) {
    for (name, value) in env {
        if !name.starts_with(PREFIX) || name.starts_with(IGNORED_PREFIX) {
            continue;
        }
        match apply_one(table, &name, value) {
            Ok(Some((section, option))) => origins.push(Origin {
                section,
                option,
                variable: name,
            }),
            Ok(None) => {}
            Err(message) => problems.push(ConfigProblem::new(ENV_SECTION, name, message)),
        }
    }
}

/// Sets one variable; returns the (section, option) it set, `None` if the target was not
/// a table (the file's own problem, reported by the schema check), or why it is unknown.
fn apply_one(
    table: &mut Table,
    name: &str,
    value: String,
) -> Result<Option<(String, String)>, String> {
    let parts: Vec<&str> = name[PREFIX.len()..].split("__").collect();
    let section = env_norm(parts[0]);
    if section == ENDPOINTS {
        return apply_endpoint(table, &parts[1..], value);
    }
    if section == GMS_CHAT_SERVICES {
        return apply_service(table, &parts[1..], value);
    }
    let Some(spec) = spec(&section) else {
        let mut message = format!(
            "unknown configuration variable: no section `{}`; use PARLEY_<SECTION>__<OPTION> \
             with a section among {}",
            parts[0],
            section_names()
        );
        if let Some(meant) = meant_variable(&parts) {
            message.push_str(&format!("; did you mean {meant}?"));
        }
        return Err(message);
    };
    if let Some(key) = spec.key {
        return apply_keyed(table, spec, key, &parts[1..], value);
    }
    let [option] = parts[1..] else {
        return Err(format!(
            "unknown configuration variable: expected PARLEY_{}__<OPTION>",
            parts[0]
        ));
    };
    let option = find_option(spec, option, &format!("{PREFIX}{}__", env_upper(spec.name)))?;
    let section_table = table
        .entry(spec.name)
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(section_table) = section_table else {
        return Ok(None);
    };
    section_table.insert(option.name.to_owned(), env_value(option, value));
    Ok(Some((spec.name.to_owned(), option.name.to_owned())))
}

/// `PARLEY_<SECTION>__<KEY>__<OPTION>` for a keyed section (`PARLEY_QUEUES__SALES__MAX_WAIT`).
fn apply_keyed(
    table: &mut Table,
    spec: &SectionSpec,
    key_kind: &str,
    rest: &[&str],
    value: String,
) -> Result<Option<(String, String)>, String> {
    let variable = format!(
        "PARLEY_{}__<{}>__<OPTION>",
        env_upper(spec.name),
        key_kind.to_ascii_uppercase()
    );
    let [key, option] = rest else {
        return Err(format!(
            "unknown configuration variable: expected {variable}"
        ));
    };
    if key.is_empty() {
        return Err(format!(
            "unknown configuration variable: the {key_kind} must not be empty in {variable}"
        ));
    }
    let option = find_option(
        spec,
        option,
        &format!("{PREFIX}{}__{key}__", env_upper(spec.name)),
    )?;
    let entries = table
        .entry(spec.name)
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(entries) = entries else {
        return Ok(None);
    };
    let key = existing_or_lower(entries, key);
    let sub = entries
        .entry(key.clone())
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(sub) = sub else {
        return Ok(None);
    };
    sub.insert(option.name.to_owned(), env_value(option, value));
    Ok(Some((
        format!("{}.{key}", spec.name),
        option.name.to_owned(),
    )))
}

/// The option of `spec` that the variable part `option` names, or why there is none
/// (suggesting the nearest option, spelt as a variable after `prefix`).
fn find_option(
    spec: &SectionSpec,
    option: &str,
    prefix: &str,
) -> Result<&'static OptionSpec, String> {
    if let Some(found) = spec
        .options
        .iter()
        .find(|o| env_norm(o.name) == env_norm(option))
    {
        return Ok(found);
    }
    let names: Vec<String> = spec.options.iter().map(|o| env_upper(o.name)).collect();
    let mut message = format!(
        "unknown configuration variable: {} has no option `{option}`; known options are {}",
        spec.header(),
        names.join(", ")
    );
    if let Some((meant, _)) = nearest(option, spec.options.iter().map(|o| o.name)) {
        message.push_str(&format!("; did you mean {prefix}{}?", env_upper(meant)));
    }
    Err(message)
}

/// For a variable whose section part is unknown, the variable probably meant: the section
/// and option run together with a single `_` (`PARLEY_SETTINGS_MAX_FRAME_SIZE`), or a
/// misspelt section (`PARLEY_SETING__MAX_FRAME_SIZE`).
fn meant_variable(parts: &[&str]) -> Option<String> {
    let rest = &parts[1..];
    if rest.is_empty() {
        let wanted = env_norm(parts[0]);
        for spec in fixed_sections() {
            let Some(option) = wanted.strip_prefix(&format!("{}-", spec.name)) else {
                continue;
            };
            if let Some(o) = spec.options.iter().find(|o| env_norm(o.name) == option) {
                return Some(variable(spec, o));
            }
        }
    }
    let names = option_sections()
        .map(|s| s.name)
        .chain([ENDPOINTS, GMS_CHAT_SERVICES]);
    let (section, _) = nearest(parts[0], names)?;
    let mut meant = format!("{PREFIX}{}", env_upper(section));
    for part in rest {
        meant.push_str("__");
        meant.push_str(part);
    }
    Some(meant)
}

/// The variable that sets `option` of `spec`: `PARLEY_SETTINGS__MAX_FRAME_SIZE`, or for a
/// keyed section `PARLEY_QUEUES__<NAME>__MAX_WAIT`.
pub(super) fn variable(spec: &SectionSpec, option: &OptionSpec) -> String {
    let key = spec
        .key
        .map(|key| format!("<{}>__", key.to_ascii_uppercase()))
        .unwrap_or_default();
    format!(
        "{PREFIX}{}__{key}{}",
        env_upper(spec.name),
        env_upper(option.name)
    )
}

/// Lower-case with `_` read as `-`: how `PARLEY_` variable parts are matched to names.
fn env_norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('_', "-")
}

/// A name as a variable spells it: `max-wait` → `MAX_WAIT`.
fn env_upper(name: &str) -> String {
    env_norm(name).to_ascii_uppercase().replace('-', "_")
}

/// The variable's text as the option's TOML value.
fn env_value(option: &OptionSpec, value: String) -> Value {
    match option.kind {
        kind if kind.env_reads_list() => Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        kind if kind.env_reads_literal() => literal(value),
        _ => Value::String(value),
    }
}

/// `PARLEY_ENDPOINTS__<TENANT>__<ENDPOINT>=<queue>`.
fn apply_endpoint(
    table: &mut Table,
    rest: &[&str],
    queue: String,
) -> Result<Option<(String, String)>, String> {
    let [tenant, endpoint] = rest else {
        return Err(format!(
            "unknown configuration variable: expected {}",
            ENDPOINTS_MAP.variable
        ));
    };
    if tenant.is_empty() || endpoint.is_empty() {
        return Err(
            "unknown configuration variable: tenant and endpoint must not be empty in \
                    PARLEY_ENDPOINTS__<TENANT>__<ENDPOINT>"
                .into(),
        );
    }
    let tenants = table
        .entry(ENDPOINTS)
        .or_insert_with(|| Value::Table((ENDPOINTS_MAP.default)()));
    let Value::Table(tenants) = tenants else {
        return Ok(None);
    };
    let tenant = existing_or_lower(tenants, tenant);
    let eps = tenants
        .entry(tenant.clone())
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(eps) = eps else {
        return Ok(None);
    };
    let endpoint = existing_or_lower(eps, endpoint);
    eps.insert(endpoint.clone(), Value::String(queue));
    Ok(Some((format!("{ENDPOINTS}.{tenant}"), endpoint)))
}

/// `PARLEY_GMS_CHAT_SERVICES__<SERVICE>=<tenant>:<endpoint>`.
fn apply_service(
    table: &mut Table,
    rest: &[&str],
    target: String,
) -> Result<Option<(String, String)>, String> {
    let [service] = rest else {
        return Err(format!(
            "unknown configuration variable: expected {}",
            GMS_CHAT_SERVICES_MAP.variable
        ));
    };
    if service.is_empty() {
        return Err(
            "unknown configuration variable: the service must not be empty in \
             PARLEY_GMS_CHAT_SERVICES__<SERVICE>"
                .into(),
        );
    }
    let services = table
        .entry(GMS_CHAT_SERVICES)
        .or_insert_with(|| Value::Table((GMS_CHAT_SERVICES_MAP.default)()));
    let Value::Table(services) = services else {
        return Ok(None);
    };
    let service = existing_or_lower(services, service);
    services.insert(service.clone(), Value::String(target));
    Ok(Some((GMS_CHAT_SERVICES.to_owned(), service)))
}

/// The key of `table` matching `part` (case-insensitive, `_` = `-`), else `part` in lower
/// case.
fn existing_or_lower(table: &Table, part: &str) -> String {
    let wanted = env_norm(part);
    table
        .keys()
        .find(|k| env_norm(k) == wanted)
        .cloned()
        .unwrap_or_else(|| part.to_ascii_lowercase())
}

/// A TOML literal (`2`, `true`) when `text` parses as one, else the text as a string.
fn literal(text: String) -> Value {
    Value::deserialize(toml::de::ValueDeserializer::new(&text)).unwrap_or(Value::String(text))
}
