//! Config tests of the contact-center sections (`[routing]`, `[queues.<name>]`,
//! `[agents.<login>]`, `[webhooks]`), the new `[settings]` and `[security]` options, the
//! option table's keyed sections, and password hashes.

use std::fs;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use parley_core::routing::StopAbandoned;

use super::schema::{fixed_sections, keyed_sections, option_sections, section_order};
use super::tests::{example_path, load_str, manifest_dir, vars, KEY_A, KEY_B};
use super::*;

/// A PHC string whose password nobody knows (made from random bytes, then discarded).
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$nyPPIfwtADoEp4c34xTFhw$\
                    lEGhDE4pD36OhATEUeCIm/8yIWw+6xXnVPToBsroESY";

fn lines(err: &ConfigError) -> Vec<String> {
    err.problems().iter().map(ToString::to_string).collect()
}

fn assert_has(lines: &[String], want: &[&str]) {
    for w in want {
        assert!(
            lines.iter().any(|l| l.contains(w)),
            "missing {w:?} in {lines:#?}"
        );
    }
}

#[test]
fn section_order_follows_the_example_and_lists_every_section() {
    for spec in option_sections() {
        assert!(
            section_order().contains(&spec.name),
            "{} not ordered",
            spec.name
        );
    }
    // Section headers, live or commented (`# [queues.sales]`, `# [endpoints.<tenant>]:
    // ...`), in order of appearance.
    let text = fs::read_to_string(example_path()).expect("read example");
    let mut seen: Vec<&str> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix('[').or(line.strip_prefix("# [")) else {
            continue;
        };
        let Some((header, after)) = rest.split_once(']') else {
            continue;
        };
        if !(after.is_empty() || after.starts_with(':')) {
            continue;
        }
        let name = header.split('.').next().unwrap_or_default();
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    assert_eq!(seen, section_order(), "the example's sections, in order");
}

/// The example's commented keyed tables (`# [queues.sales]` and the `# <option> = ...`
/// lines under it), uncommented.
fn example_keyed_tables(text: &str) -> String {
    let mut out = String::new();
    let mut current = None;
    for line in text.lines() {
        if line.starts_with("# ---") || !line.starts_with('#') {
            current = None;
            continue;
        }
        let body = line.trim_start_matches("# ");
        if let Some(spec) = keyed_sections()
            .find(|s| body.starts_with(&format!("[{}.", s.name)) && body.ends_with(']'))
        {
            current = Some(spec);
            out.push_str(body);
            out.push('\n');
        } else if let Some(spec) = current {
            let is_option = body
                .split_once(" = ")
                .is_some_and(|(name, _)| spec.option(name).is_some());
            if is_option {
                out.push_str(body);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn example_keyed_tables_are_valid_when_uncommented() {
    let text = fs::read_to_string(example_path()).expect("read example");
    let tables = example_keyed_tables(&text);
    let c = Config::from_toml_str(&tables).unwrap_or_else(|e| panic!("{tables}\n{e}"));
    let sales = &c.queues["sales"];
    assert!(sales.greeting.starts_with("Welcome"), "{tables}");
    let anna = &c.agents["anna"];
    assert_eq!(anna.nickname, "Anna");
    assert_eq!(anna.queues, ["default", "sales"]);
    assert_eq!(
        QueueConfig {
            greeting: String::new(),
            ..sales.clone()
        },
        QueueConfig::default(),
        "every other queue option is shown at its default"
    );
    assert_eq!((anna.role, anna.capacity), (Role::Agent, 3));
}

#[test]
fn every_option_fixture_sets_every_option() {
    let path = manifest_dir().join("tests/config/valid/every-option.toml");
    let table: Table = fs::read_to_string(&path)
        .expect("read fixture")
        .parse()
        .expect("fixture parses");
    for section in fixed_sections() {
        for option in section.options {
            let set = table.get(section.name).and_then(|s| s.get(option.name));
            assert!(
                set.is_some(),
                "[{}] {} is not set",
                section.name,
                option.name
            );
        }
    }
    for section in keyed_sections() {
        let tables = table
            .get(section.name)
            .and_then(Value::as_table)
            .unwrap_or_else(|| panic!("no {} table", section.header()));
        for option in section.options {
            assert!(
                tables.values().any(|t| t.get(option.name).is_some()),
                "{} {} is not set in any table",
                section.header(),
                option.name
            );
        }
    }
}

#[test]
fn new_defaults_are_as_documented() {
    let c = Config::default();
    assert_eq!(c.settings.stop_abandoned_interaction, StopAbandoned::Never);
    assert!(c.security.esp_api_keys.is_empty() && c.security.admin_api_keys.is_empty());
    let r = &c.routing;
    assert!(r.enabled);
    assert_eq!(r.agent_disconnect_timeout_s, 60);
    assert_eq!(r.system_nickname, "System");
    assert_eq!(r.agent_token_lifetime_s, 43_200);
    assert_eq!((r.login_max_failures, r.login_failure_window_s), (5, 300));
    assert!(c.queues.is_empty() && c.agents.is_empty());
    let q = QueueConfig::default();
    assert_eq!(q.greeting, "");
    assert!(!q.position_notices && !q.estimated_wait);
    assert_eq!(q.position_interval_s, 30);
    assert_eq!(q.position_text, "You are number {position} in the queue.");
    assert_eq!(q.wait_text, "Estimated wait: {wait}.");
    assert_eq!((q.offer_timeout_s, q.max_wait_s), (30, 0));
    assert_eq!(q.max_wait_action, MaxWaitAction::Close);
    let w = &c.webhooks;
    assert!(w.urls.is_empty() && w.secret.is_none());
    assert_eq!(
        (w.attempts, w.retry_delay_ms, w.max_retry_delay_ms),
        (8, 500, 60_000)
    );
    assert_eq!((w.timeout_ms, w.queue_size), (10_000, 10_000));

    let text = format!("[agents.anna]\npassword-hash = \"{HASH}\"\n");
    let c = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let anna = &c.agents["anna"];
    assert_eq!((anna.role, anna.capacity), (Role::Agent, 3));
    assert_eq!(
        (anna.nickname.as_str(), anna.queues.as_slice()),
        ("", &["default".to_owned()][..])
    );
}

#[test]
fn stop_abandoned_takes_names_and_legacy_booleans() {
    for (value, want) in [
        ("\"always\"", StopAbandoned::Always),
        ("\"never\"", StopAbandoned::Never),
        ("\"noagents\"", StopAbandoned::NoAgents),
        ("\"noanswer\"", StopAbandoned::NoAnswer),
        ("true", StopAbandoned::NoAnswer),
        ("false", StopAbandoned::Never),
    ] {
        let text = format!("[settings]\nstop-abandoned-interaction = {value}\n");
        let c = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(c.settings.stop_abandoned_interaction, want, "{value}");
    }
    for bad in ["\"sometimes\"", "\"Always\"", "1"] {
        let text = format!("[settings]\nstop-abandoned-interaction = {bad}\n");
        let err = Config::from_toml_str(&text).expect_err(bad);
        assert_eq!(
            err.to_string(),
            format!(
                "invalid configuration (1 problem):\n  [settings] stop-abandoned-interaction = \
                 {bad}: allowed values are always, never, noagents, noanswer (or the legacy \
                 true, false)"
            )
        );
    }
    for (value, want) in [
        ("true", StopAbandoned::NoAnswer),
        ("noagents", StopAbandoned::NoAgents),
    ] {
        let env = vars(&[("PARLEY_SETTINGS__STOP_ABANDONED_INTERACTION", value)]);
        let c = Config::load(None, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.settings.stop_abandoned_interaction, want, "{value}");
    }
}

#[test]
fn keyed_tables_are_checked_one_by_one() {
    let text = "[queues.sales]\nposition_text = \"hi\"\noffer-timeout = 10\n\
                [queues.vip]\nmax-wait = -1\n\
                [agents.anna]\nnickname = \"Anna\"\n\
                [agents.bob]\npassword-hash = 7\n";
    let err = Config::from_toml_str(text).expect_err("invalid");
    assert_eq!(
        lines(&err),
        [
            "[queues.sales] position_text: unknown option; did you mean `position-text`?",
            "[queues.vip] max-wait = -1: allowed range is 0 to 604800 seconds",
            "[agents.anna] password-hash: missing; every [agents.<login>] must set it: the \
             argon2 hash of the agent's password, which `parley hash-password` prints",
            "[agents.bob] password-hash: must be a string",
        ],
        "one problem each; bob's refused hash is not also reported missing"
    );

    for (text, want) in [
        (
            "[queues]\ngreeting = \"hi\"\n",
            "[queues] greeting: must be a table of options: [queues.<name>]; `greeting` is one \
             of those options, so it goes under a [queues.<name>] header, not under [queues]",
        ),
        (
            "[agents]\nanna = 3\n",
            "[agents] anna: must be a table of options: [agents.<login>]",
        ),
        (
            "queues = 3\n",
            "[queues]: must be tables of options: [queues.<name>]",
        ),
        (
            "[queue.sales]\n",
            "[queue]: unknown section; did you mean [queues.<name>]?",
        ),
        (
            "[agent.anna]\n",
            "[agent]: unknown section; did you mean [agents.<login>]?",
        ),
        (
            "[Routing]\n",
            "[Routing]: unknown section; did you mean [routing]?",
        ),
        (
            "[webhook]\n",
            "[webhook]: unknown section; did you mean [webhooks]?",
        ),
        (
            "[webhooks]\nurl = []\n",
            "[webhooks] url: unknown option; known options are urls, secret, attempts",
        ),
    ] {
        let err = Config::from_toml_str(text).expect_err(text);
        assert_eq!(err.problems().len(), 1, "{err}");
        assert!(lines(&err)[0].starts_with(want), "{text}: {err}");
    }
}

#[test]
fn agents_need_queues_that_exist() {
    let text = format!(
        "[endpoints.1]\ndefault = \"inbound\"\n[endpoints.acme]\ndefault = \"acme-chat\"\n\
         [queues.vip]\n\
         [agents.anna]\npassword-hash = \"{HASH}\"\nqueues = [\"inbound\", \"acme-chat\", \"vip\"]\n\
         [agents.bob]\npassword-hash = \"{HASH}\"\nqueues = []\nrole = \"supervisor\"\n"
    );
    let c = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.agents["bob"].role, Role::Supervisor);

    let text = text.replace("queues = []", "queues = [\"sales\", \"vip\", \"default\"]");
    let err = Config::from_toml_str(&text).expect_err("unknown queues");
    assert_eq!(
        lines(&err),
        [
            "[agents.bob] queues: names queue \"sales\", which has no [queues.<name>] section \
             and is no endpoint's queue; known queues are acme-chat, inbound, vip",
            "[agents.bob] queues: names queue \"default\", which has no [queues.<name>] \
             section and is no endpoint's queue; known queues are acme-chat, inbound, vip",
        ],
        "`default` exists only while an endpoint maps to it"
    );
}

#[test]
fn names_of_queues_and_agents_are_ids() {
    let mut c = Config::default();
    c.queues.insert("eu.sales-1".into(), QueueConfig::default());
    c.queues.insert("sales team".into(), QueueConfig::default());
    let agent = |queues: &[&str]| AgentConfig {
        password_hash: Secret::new(HASH),
        nickname: String::new(),
        role: Role::Agent,
        queues: queues.iter().map(|q| (*q).to_owned()).collect(),
        capacity: 3,
    };
    c.agents
        .insert("jane.doe@acme".into(), agent(&["eu.sales-1"]));
    c.agents.insert("jane doe".into(), agent(&["sales team"]));
    c.agents.insert("x".repeat(65), agent(&[]));
    c.endpoints
        .get_mut("1")
        .unwrap()
        .insert("web".into(), "web chat".into());
    let err = c.validate().expect_err("bad names");
    assert_has(
        &lines(&err),
        &[
            "[endpoints.1] web = \"web chat\": is not a queue name; queue names must be 1 to \
             64 ASCII letters, digits, -, _ or .",
            "[queues] \"sales team\": queue names must be 1 to 64 ASCII letters, digits, -, _ \
             or .",
            "[agents] \"jane doe\": agent logins must be 1 to 64 ASCII letters, digits, -, _, . \
             or @",
            &format!("[agents] \"{}\": agent logins must be", "x".repeat(65)),
        ],
    );
    assert_eq!(err.problems().len(), 4, "{err}");
}

#[test]
fn validate_reports_every_center_problem() {
    let mut c = Config::default();
    c.routing.agent_disconnect_timeout_s = 3601;
    c.routing.agent_token_lifetime_s = 59;
    c.routing.login_max_failures = 0;
    c.routing.login_failure_window_s = 86_401;
    c.routing.system_nickname = "  ".into();
    let q = QueueConfig {
        position_interval_s: 3601,
        offer_timeout_s: 0,
        max_wait_action: MaxWaitAction::KeepWaiting,
        greeting: "é".repeat(1001),
        wait_text: "w".repeat(1000),
        ..QueueConfig::default()
    };
    c.queues.insert("default".into(), q);
    c.agents.insert(
        "anna".into(),
        AgentConfig {
            password_hash: Secret::new("hunter2"),
            nickname: String::new(),
            role: Role::Agent,
            queues: vec!["default".into()],
            capacity: 101,
        },
    );
    c.webhooks.urls = vec!["https://hooks.example/p".into()];
    c.webhooks.attempts = 0;
    c.webhooks.retry_delay_ms = 600_001;
    c.webhooks.max_retry_delay_ms = 0;
    c.webhooks.timeout_ms = 99;
    c.webhooks.queue_size = 0;
    let err = c.validate().expect_err("invalid");
    let got = lines(&err);
    let want = [
        "[routing] agent-disconnect-timeout = 3601: allowed range is 0 to 3600 seconds",
        "[routing] agent-token-lifetime = 59: allowed range is 60 to 604800 seconds",
        "[routing] login-max-failures = 0: allowed range is 1 to 1000",
        "[routing] login-failure-window = 86401: allowed range is 1 to 86400 seconds",
        "[routing] system-nickname = \"  \": has 2 characters; it must have 1 to 64, not all blank",
        "[queues.default] position-interval = 3601: allowed range is 0 to 3600 seconds",
        "[queues.default] offer-timeout = 0: allowed range is 1 to 3600 seconds",
        "[queues.default] greeting: has 1001 characters; at most 1000 are allowed",
        "[queues.default] max-wait-action = \"keep-waiting\": has no effect without max-wait",
        "[agents.anna] password-hash: must be an argon2 PHC string starting with $argon2id$",
        "[agents.anna] capacity = 101: allowed range is 1 to 100",
        "[webhooks] secret: missing; it is required when urls is set",
        "[webhooks] attempts = 0: allowed range is 1 to 100",
        "[webhooks] retry-delay = 600001: allowed range is 1 to 600000 milliseconds",
        "[webhooks] max-retry-delay = 0: allowed range is 1 to 3600000 milliseconds",
        "[webhooks] timeout = 99: allowed range is 100 to 120000 milliseconds",
        "[webhooks] queue-size = 0: allowed range is 1 to 1000000",
        "[webhooks] retry-delay = 600001: must not exceed max-retry-delay (0)",
    ];
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "{g:?} should start with {w:?}\n{got:#?}");
    }
    assert_eq!(got.len(), want.len(), "{got:#?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let mut c = Config::default();
    c.routing.system_nickname = "n".repeat(65);
    assert!(c.validate().is_err());
    c.routing.system_nickname = "é".repeat(64);
    c.validate()
        .expect("64 characters are fine, whatever their bytes");
}

#[test]
fn password_hashes_are_argon2_phc_strings() {
    let hash = hash_password("correct horse").expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_ne!(
        hash,
        hash_password("correct horse").unwrap(),
        "a fresh salt each time"
    );
    let parsed = PasswordHash::new(&hash).expect("PHC");
    let argon2 = Argon2::default();
    assert!(argon2.verify_password(b"correct horse", &parsed).is_ok());
    assert!(argon2.verify_password(b"correct horsE", &parsed).is_err());

    // argon2i and argon2d hashes are read too.
    let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
    let params = Params::new(8, 1, 1, None).unwrap();
    let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params.clone())
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
    let argon2d = Argon2::new(Algorithm::Argon2d, Version::V0x13, params)
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
    for good in [hash.as_str(), HASH, &argon2i, &argon2d] {
        password::check_phc(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "hunter2-hunter2",
        "",
        "$2b$12$abcdefghijklmnopqrstuuMR7jH9S5Cj0aX3qUu1vZ3FQf5Q9TG6i",
        "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$garbage-garbage",
        "$argon2id$v=19$m=19456,t=2,p=1",
        "$argon2id$v=19$m=1,t=1,p=1$nyPPIfwtADoEp4c34xTFhw$lEGhDE4pD36OhATEUeCIm/8yIWw+6xXnVPToBsroESY",
    ] {
        let why = password::check_phc(bad).expect_err(bad);
        assert!(why.contains("`parley hash-password` prints one"), "{why}");
        if !bad.is_empty() {
            assert!(!why.contains(bad), "{why} repeats the hash");
        }
    }
    // Not even the one character that the parser found wrong.
    for bad in [
        "$argon2id$v=19$m=19456,t=2,p=1$s%lt-s%lt-s%lt$x",
        "$argon2id$v=19$m=19%56,t=2,p=1$nyPPIfwtADoEp4c34xTFhw$x",
    ] {
        let why = password::check_phc(bad).expect_err(bad);
        assert!(why.contains("a character that is not allowed"), "{why}");
        assert!(!why.contains('%'), "{why}");
    }
}

#[test]
fn env_sets_the_center_sections() {
    let file =
        format!("[queues.Sales]\ngreeting = \"hi\"\n[agents.anna]\npassword-hash = \"{HASH}\"\n");
    let env = vars(&[
        ("PARLEY_QUEUES__SALES__MAX_WAIT", "600"),
        ("PARLEY_QUEUES__SALES__MAX_WAIT_ACTION", "keep-waiting"),
        ("PARLEY_QUEUES__VIP__OFFER_TIMEOUT", "10"),
        ("PARLEY_AGENTS__ANNA__QUEUES", "Sales, vip"),
        ("PARLEY_AGENTS__ANNA__CAPACITY", "5"),
        ("PARLEY_AGENTS__BOB__PASSWORD_HASH", HASH),
        ("PARLEY_AGENTS__BOB__ROLE", "supervisor"),
        ("PARLEY_ROUTING__ENABLED", "false"),
        ("PARLEY_ROUTING__SYSTEM_NICKNAME", "Acme Bot"),
        (
            "PARLEY_WEBHOOKS__URLS",
            "https://a.example/hook,http://127.0.0.1:9000/h",
        ),
        ("PARLEY_WEBHOOKS__SECRET", KEY_B),
        ("PARLEY_WEBHOOKS__TIMEOUT", "2000"),
        ("PARLEY_SECURITY__ESP_API_KEYS", KEY_A),
        ("PARLEY_SECURITY__ADMIN_API_KEYS", KEY_B),
    ]);
    let c = load_str(&file, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let sales = &c.queues["Sales"];
    assert_eq!(sales.greeting, "hi", "file value kept");
    assert_eq!(sales.max_wait_s, 600);
    assert_eq!(sales.max_wait_action, MaxWaitAction::KeepWaiting);
    assert_eq!(
        c.queues["vip"].offer_timeout_s, 10,
        "a new queue, in lower case"
    );
    assert_eq!(c.agents["anna"].queues, ["Sales", "vip"]);
    assert_eq!(c.agents["anna"].capacity, 5);
    assert_eq!(c.agents["bob"].role, Role::Supervisor);
    assert!(!c.routing.enabled);
    assert_eq!(c.routing.system_nickname, "Acme Bot");
    assert_eq!(c.webhooks.urls.len(), 2);
    assert_eq!(c.webhooks.secret, Some(Secret::new(KEY_B)));
    assert_eq!(c.webhooks.timeout_ms, 2000);
    assert!(c.security.accepts_esp_key(KEY_A) && !c.security.accepts_esp_key(KEY_B));
    assert!(c.security.accepts_admin_key(KEY_B) && !c.security.accepts_admin_key(KEY_A));
    assert!(
        !c.security.accepts_api_key(KEY_A),
        "each key list stands alone"
    );
}

#[test]
fn env_problems_in_keyed_sections_name_the_variable() {
    let env = vars(&[
        ("PARLEY_QUEUES__SALES", "1"),
        ("PARLEY_QUEUES____GREETING", "hi"),
        ("PARLEY_QUEUES__SALES__NOPE", "1"),
        ("PARLEY_QUEUES__SALES__OFFER_TIMEOUT", "0"),
        ("PARLEY_AGENTS__BOB__CAPACITY", "5"),
        ("PARLEY_WEBHOOKS__SECRET", "too-short-secret"),
    ]);
    let err = Config::load(None, env, &CliOverrides::default()).expect_err("invalid env");
    let text = err.to_string();
    assert_has(
        &lines(&err),
        &[
            "[environment] PARLEY_QUEUES__SALES: unknown configuration variable: expected \
             PARLEY_QUEUES__<NAME>__<OPTION>",
            "[environment] PARLEY_QUEUES____GREETING: unknown configuration variable: the name \
             must not be empty",
            "[environment] PARLEY_QUEUES__SALES__NOPE: unknown configuration variable: \
             [queues.<name>] has no option `NOPE`; known options are GREETING, POSITION_NOTICES",
            "[queues.sales] offer-timeout = 0: allowed range is 1 to 3600 seconds (set by \
             PARLEY_QUEUES__SALES__OFFER_TIMEOUT)",
            "[agents.bob] password-hash: missing",
            "[webhooks] secret: has 16 characters; it needs at least 32 (set by \
             PARLEY_WEBHOOKS__SECRET)",
        ],
    );
    assert_eq!(err.problems().len(), 6, "{text}");
    assert!(!text.contains("too-short-secret"), "{text}");
}

#[test]
fn webhook_urls_are_checked_and_never_shown() {
    let check = |urls: &[&str]| {
        let mut c = Config::default();
        c.webhooks.urls = urls.iter().map(|u| (*u).to_owned()).collect();
        c.webhooks.secret = Some(Secret::new(KEY_A));
        c.validate()
    };
    for good in [
        "https://hooks.example/parley",
        "http://127.0.0.1:9000",
        "HTTPS://Hooks.Example/path?token=abc#frag",
        "https://[::1]:8443/h",
    ] {
        check(&[good]).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for (bad, why) in [
        ("hooks.test/p", "has no scheme"),
        ("ftp://hooks.test", "is not http or https"),
        ("https://user:pw-42@hooks.test/p", "has user information"),
        ("https:///p", "has no host"),
        ("https://hooks.test:0/p", "has an invalid port"),
        ("https://hooks test/p", "has spaces or control characters"),
        ("https://hooks_test/p", "has an invalid host"),
        ("https://[::1/p", "has an unclosed IPv6 address"),
    ] {
        let err = check(&[bad]).expect_err(bad);
        assert_eq!(err.problems().len(), 1, "{err}");
        let line = &lines(&err)[0];
        assert!(
            line.starts_with(&format!("[webhooks] urls: entry #1 {why}")),
            "{line}"
        );
        assert!(!line.contains(bad) && !line.contains("pw-42"), "{line}");
    }
    let err = check(&[
        "https://a.example",
        "https://b.example",
        "https://a.example",
    ])
    .expect_err("duplicate");
    assert_eq!(
        lines(&err),
        ["[webhooks] urls: entry #3 repeats entry #1; each URL must be different"]
    );
    // A type error does not show the value either.
    let err = Config::from_toml_str("[webhooks]\nurls = \"https://u:pw-42@a.example\"\n")
        .expect_err("not an array");
    assert_eq!(
        lines(&err),
        ["[webhooks] urls: must be an array of URLs (strings)"]
    );
}

#[test]
fn esp_and_admin_keys_follow_the_api_key_rules() {
    let text = format!(
        "[security]\nesp-api-keys = [\"short\"]\nadmin-api-keys = [\"{KEY_A}\", \"{KEY_A}\"]\n"
    );
    let err = Config::from_toml_str(&text).expect_err("invalid keys");
    assert_eq!(
        lines(&err),
        [
            "[security] esp-api-keys: key #1 has 5 characters; each key needs at least 32",
            "[security] admin-api-keys: key #2 repeats key #1; each key must be different",
        ]
    );
    let err = Config::from_toml_str("[security]\nadmin-api-keys = \"k\"\n").expect_err("type");
    assert_eq!(
        lines(&err),
        ["[security] admin-api-keys: must be an array of strings"]
    );
}

#[test]
fn center_secrets_never_print() {
    let text = format!(
        "[agents.anna]\npassword-hash = \"{HASH}\"\n\
         [webhooks]\nurls = [\"https://hooks.example/h\"]\nsecret = \"{KEY_A}\"\n\
         [security]\nesp-api-keys = [\"{KEY_B}\"]\n"
    );
    let c = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let debug = format!("{c:?} {c:#?}");
    for leak in [HASH, KEY_A, KEY_B, "nyPPIfwtADoEp4c34xTFhw"] {
        assert!(!debug.contains(leak), "{leak} printed in {debug}");
    }
    for text in [
        "[agents.anna]\npassword-hash = \"hunter2\"\n",
        "[agents.anna]\npassword-hash = [\"hunter2\"]\n",
        "[webhooks]\nsecret = [\"hunter2\"]\n",
        "[webhooks]\nsecret = \"hunter2\"\n",
    ] {
        let err = Config::from_toml_str(text).expect_err(text);
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[test]
fn the_demo_config_loads_and_its_password_is_the_documented_one() {
    let path = manifest_dir().join("../../config/demo.toml");
    let c = Config::load(Some(&path), Vec::new(), &CliOverrides::default()).expect("demo loads");
    assert_eq!(
        c.agents.keys().map(String::as_str).collect::<Vec<_>>(),
        ["anna", "bob", "sam"]
    );
    let hash = PasswordHash::new(c.agents["anna"].password_hash.expose()).expect("phc");
    Argon2::default()
        .verify_password(b"demo-password", &hash)
        .expect("the README's demo password");
}
