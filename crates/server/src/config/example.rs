//! `config/parley.example.toml`, rendered from the declarations: [`example_toml`].
//!
//! Every section in the order of [`SECTIONS`], every option with its description, its
//! default and allowed values, and its `PARLEY_` variable. Fixed sections set each
//! option to its default (an option without one is shown commented out with its
//! example), so the file behaves like no file at all; keyed sections show one commented
//! example table; the free-form maps show their default entries. A unit test keeps the
//! checked-in file equal to this text (`tests_example.rs`).

use serde::Deserialize;
use toml::{Table, Value};

use super::env;
use super::maps::MapSpec;
use super::schema::{OptionSpec, Section, SectionSpec, SECTIONS};

/// Lines of the example file are kept within this many characters where the text allows.
const WIDTH: usize = 89;

/// The text before the first section.
const HEADER: &str = "\
# Parley example configuration.
#
# GENERATED from the option declarations in crates/server/src/config/ (settings.rs,
# sections.rs, center.rs, maps.rs and the header in example.rs): do not edit it by hand.
# After changing a declaration, regenerate it with
#   PARLEY_TEST_BLESS=1 cargo test -p parley-server --lib config::tests_example
# A unit test fails while this file differs from what the declarations generate.
#
# Every option is listed with its meaning, default, allowed values and environment
# variable, and is set here to its default: this file behaves exactly like no file at
# all. A unit test checks that too.
#
# Sections and option names are those of Genesys Chat Server 8.5, so an administrator who
# knows them finds each option where they expect it. [server], [gms-chat-services], [web]
# and [security] are Parley's own, as are a few options marked so, and so are the
# contact-center sections at the end, [routing], [queues.<name>], [agents.<login>] and
# [webhooks], which stand in for what Genesys keeps in Interaction Server, URS strategies
# and Configuration Server. Unknown sections and options are errors, not silently
# ignored; the error suggests the nearest known name.
#
# Layers, lowest first: built-in defaults -> this file -> environment -> command line.
#
#   Environment: PARLEY_<SECTION>__<OPTION>=value, names case-insensitive, `_` for `-`:
#     PARLEY_SERVER__LISTEN=0.0.0.0:8080
#     PARLEY_SETTINGS__TRANSCRIPT_AUTO_SAVE=2
#     PARLEY_LOG_FILTER_DATA__TRANSCRIPT=copy
#     PARLEY_SECURITY__API_KEYS=first-key,second-key       (comma-separated)
#     PARLEY_ENDPOINTS__1__DEFAULT=chat-inbound            (tenant, then endpoint)
#     PARLEY_CLIENT_FILE_TRANSFER__UPLOAD_MAX_FILES=5
#     PARLEY_GMS_CHAT_SERVICES__SUPPORT=1:default          (service = tenant:endpoint)
#     PARLEY_WEB__CORS_ALLOWED_ORIGINS=https://a.example,https://b.example
#     PARLEY_WEBHOOKS__SECRET=...
#     PARLEY_QUEUES__SALES__MAX_WAIT=600                   (queue name, then option)
#     PARLEY_AGENTS__ANNA__PASSWORD_HASH='$argon2id$...'   (login, then option)
#   Integer and boolean values (and stop-abandoned-interaction) are read as TOML
#   literals; lists (api-keys, esp-api-keys, admin-api-keys, cors-allowed-origins, urls,
#   an agent's queues) are comma-separated; everything else is taken verbatim. A queue or
#   login variable sets one option of the file's table of that name (matched
#   case-insensitively) or starts a new one in lower case; names a variable cannot
#   spell (with `.` or `@`, or in upper case) belong in this file.
#   Variables starting PARLEY_TEST_ belong to the test suite and are ignored; any other
#   unknown PARLEY_ variable stops startup.
#
#   Command line: --listen and --data-dir override [server] listen and data-dir.
#
# An invalid value stops startup with one line per problem, naming the section, the
# option and the allowed values, e.g.
#   [settings] transcript-auto-save = 5: allowed values are 0, 1, 2
";

/// The whole example file: every section and option with its description and default.
/// `config/parley.example.toml` is this text; a test keeps it so.
pub fn example_toml() -> String {
    let mut out = String::from(HEADER);
    for section in SECTIONS {
        out.push_str(&format!("\n\n# {}\n", "-".repeat(WIDTH - 2)));
        match *section {
            Section::Options(spec) if spec.key.is_none() => fixed_section(&mut out, spec),
            Section::Options(spec) => keyed_section(&mut out, spec),
            Section::Map(map) => map_section(&mut out, map),
        }
    }
    out
}

/// `[routing]` with each option set to its default, followed by its example (commented
/// out) when it has one.
fn fixed_section(out: &mut String, spec: &SectionSpec) {
    out.push_str(&format!("[{}]\n", spec.name));
    comment(out, &doc_text(spec.description));
    for option in spec.options {
        out.push('\n');
        if let Some(group) = option.group {
            out.push_str(&format!("# --- {group} ---\n\n"));
        }
        option_block(out, spec, option);
        if let Some(default) = option.default {
            out.push_str(&format!("{}\n", assignment(option, default)));
        }
        if let Some(example) = option.example {
            comment(out, &assignment(option, example));
        }
    }
}

/// `[queues.<name>]`: a commented example table, each option at its example (noted as
/// not the default) or its default.
fn keyed_section(out: &mut String, spec: &SectionSpec) {
    comment(
        out,
        &format!("{}: {}", spec.header(), doc_text(spec.description)),
    );
    let key = spec.example_key.unwrap_or("example");
    comment(out, &format!("\n[{}.{key}]\n", spec.name));
    for (i, option) in spec.options.iter().enumerate() {
        if i > 0 {
            comment(out, "");
        }
        option_block(out, spec, option);
        let line = match (option.example, option.default) {
            (Some(example), Some(_)) => {
                format!("{}   # not the default", assignment(option, example))
            }
            (Some(value), None) | (None, Some(value)) => assignment(option, value),
            (None, None) => continue,
        };
        comment(out, &line);
    }
}

/// `[endpoints.<tenant>]`: the description, then the default entries, then commented
/// example entries.
fn map_section(out: &mut String, map: &MapSpec) {
    comment(out, &format!("{}: {}", map.header, map.description));
    comment(out, &format!("Environment: {}", map.variable));
    let default = (map.default)();
    let tables: Vec<(&String, &Table)> = default
        .iter()
        .filter_map(|(k, v)| v.as_table().map(|t| (k, t)))
        .collect();
    if tables.len() == default.len() && !tables.is_empty() {
        for (key, entries) in tables {
            out.push_str(&format!("[{}.{}]\n", map.name, bare_key(key)));
            entries_of(out, entries);
        }
    } else {
        out.push_str(&format!("[{}]\n", map.name));
        entries_of(out, &default);
    }
    comment(out, map.example);
}

fn entries_of(out: &mut String, table: &Table) {
    for (key, value) in table {
        out.push_str(&format!("{} = {value}\n", bare_key(key)));
    }
}

/// An option's description, its `Default:` line (with what is allowed) and its
/// variable, all as comments.
fn option_block(out: &mut String, spec: &SectionSpec, option: &OptionSpec) {
    comment(out, &doc_text(option.description));
    let default = match (option.default, option.required) {
        (Some(default), _) => toml_value(default),
        (None, Some(_)) => "none (required)".to_owned(),
        (None, None) => "unset".to_owned(),
    };
    let mut line = format!("Default: {default}.");
    if let Some(allowed) = option.kind.allowed() {
        line.push(' ');
        line.push_str(&allowed);
    }
    comment(out, &wrap(&line));
    comment(
        out,
        &format!("Environment: {}", env::variable(spec, option)),
    );
}

/// `name = value`, the value as TOML writes it.
fn assignment(option: &OptionSpec, toml: &str) -> String {
    format!("{} = {}", bare_key(option.name), toml_value(toml))
}

/// A declared TOML value (`2_097_152`, `[ "*" ]`) as TOML writes it (`2097152`, `["*"]`).
fn toml_value(toml: &str) -> String {
    Value::deserialize(toml::de::ValueDeserializer::new(toml))
        .unwrap_or_else(|e| panic!("declared value {toml} is not TOML: {e}"))
        .to_string()
}

/// A key as written in TOML: bare when it can be, else quoted.
fn bare_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_owned()
    } else {
        Value::from(key).to_string()
    }
}

/// A description from doc comments: each `/// text` line arrives as ` text`.
fn doc_text(description: &str) -> String {
    let lines: Vec<&str> = description
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    lines.join("\n")
}

/// Each line of `text` as a comment (`#` alone for an empty line).
fn comment(out: &mut String, text: &str) {
    for line in text.split('\n') {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// `text` (one generated line) broken at spaces so that, commented, it fits [`WIDTH`].
fn wrap(text: &str) -> String {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > WIDTH - 2 {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.join("\n")
}
