//! The type check of the merged `toml::Table` against the option table (`schema.rs`).
//!
//! Loading runs it *before* deserializing, so an unknown name or a value of the wrong
//! type becomes one [`ConfigProblem`] among many instead of serde's first-error-wins
//! message. Offending keys are removed afterwards, the rest deserializes, and
//! [`super::Config::validate`] adds the range and cross-option problems. Unknown names
//! get the nearest known one suggested (`suggest.rs`).

use toml::{Table, Value};

use super::maps::{ENDPOINTS, GMS_CHAT_SERVICES};
use super::schema::{section_names, spec, SectionSpec, SECTIONS};
use super::suggest::{nearest, Nearness};
use super::ConfigProblem;

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

/// An unknown section: the Genesys spelling of a Parley one, the same name spelt
/// differently or in the singular (`[queue.x]`), else the list of sections and, when one
/// is near, a suggestion.
fn unknown_section(name: &str) -> ConfigProblem {
    let message = if let Some(tenant) = name.strip_prefix("endpoints:") {
        format!(
            "unknown section; the Genesys section `endpoints:{tenant}` is written \
             [endpoints.{tenant}] (or [endpoints.\"{tenant}\"])"
        )
    } else if name == "chat" || name.starts_with("chat.") {
        format!(
            "unknown section; GMS `chat.<service>` sections are written as entries of \
             [{GMS_CHAT_SERVICES}]: <service> = \"<tenant>:<endpoint>\""
        )
    } else {
        // The singular of a plural name (`[queue.x]` for `[queues.<name>]`) counts as the
        // same name.
        let names = || SECTIONS.iter().map(|s| s.name());
        let guess = match nearest(&format!("{name}s"), names()) {
            Some((known, Nearness::Same)) => Some((known, Nearness::Same)),
            _ => nearest(name, names()),
        };
        match guess {
            Some((known, Nearness::Same)) => {
                format!("unknown section; did you mean {}?", header_of(known))
            }
            Some((known, Nearness::Near)) => format!(
                "unknown section; known sections are {}; did you mean {}?",
                section_names(),
                header_of(known)
            ),
            None => format!("unknown section; known sections are {}", section_names()),
        }
    };
    ConfigProblem::new(name, "", message)
}

/// How section `name` is written: `[web]`, `[queues.<name>]`, `[endpoints.<tenant>]`.
fn header_of(name: &str) -> String {
    SECTIONS
        .iter()
        .find(|s| s.name() == name)
        .map_or_else(|| format!("[{name}]"), |s| s.header())
}

/// An unknown option: the same name spelt differently gets just the suggestion; a near
/// one is suggested after the list of options.
fn unknown_option(spec: &SectionSpec, label: &str, key: &str) -> ConfigProblem {
    let message = match nearest(key, spec.options.iter().map(|o| o.name)) {
        Some((known, Nearness::Same)) => format!("unknown option; did you mean `{known}`?"),
        Some((known, Nearness::Near)) => format!(
            "unknown option; known options are {}; did you mean `{known}`?",
            spec.option_names()
        ),
        None => format!("unknown option; known options are {}", spec.option_names()),
    };
    ConfigProblem::new(label, key, message)
}
