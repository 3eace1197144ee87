//! Config tests: the shipped example, the valid/invalid fixture files, layering, and
//! redaction. The contact-center sections have their own in `tests_center.rs`, which
//! shares the helpers here.

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::schema::{fixed_sections, keyed_sections};
use super::*;

pub(super) const KEY_A: &str = "0123456789abcdef0123456789abcdef";
pub(super) const KEY_B: &str = "fedcba9876543210fedcba9876543210";

pub(super) fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(super) fn example_path() -> PathBuf {
    manifest_dir().join("../../config/parley.example.toml")
}

/// The `.toml` files in `tests/config/<kind>`, sorted.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = manifest_dir().join("tests/config").join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "expected several fixtures in {}",
        dir.display()
    );
    files
}

pub(super) fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

pub(super) fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) fn load_str(
    text: &str,
    env: Vec<(String, String)>,
    cli: &CliOverrides,
) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("parley.toml");
    fs::write(&path, text).expect("write config");
    Config::load(Some(&path), env, cli)
}

#[test]
fn example_equals_defaults() {
    let text = fs::read_to_string(example_path()).expect("read example");
    let config = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config, Config::default());
}

#[test]
fn example_documents_every_option() {
    let text = fs::read_to_string(example_path()).expect("read example");
    let table: Table = text.parse().expect("example parses");
    for section in fixed_sections() {
        for option in section.options {
            let set = table
                .get(section.name)
                .and_then(|s| s.get(option.name))
                .is_some();
            let commented = text.contains(&format!("# {} = ", option.name));
            assert!(
                set || commented,
                "[{}] {} is missing from the example",
                section.name,
                option.name
            );
        }
    }
    // Keyed sections have no tables by default: the example shows a commented one.
    for section in keyed_sections() {
        assert!(
            text.contains(&format!("\n# [{}.", section.name)),
            "{} has no commented example table in the example",
            section.header()
        );
        for option in section.options {
            assert!(
                text.contains(&format!("\n# {} = ", option.name)),
                "{} {} is missing from the example",
                section.header(),
                option.name
            );
        }
    }
    assert!(text.contains("Default:"), "the example states defaults");
}

#[test]
fn defaults_are_valid_and_as_documented() {
    let c = Config::default();
    c.validate().expect("defaults validate");
    assert_eq!(
        c.server.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.settings.transcript_auto_save, AutoSave::Save);
    assert_eq!(c.settings.session_restoration_mode, RestorationMode::Simple);
    assert_eq!(c.settings.transcript_save_on_error, SaveOnError::Continue);
    assert_eq!(c.log_filter_data.transcript, FilterAction::Hide);
    assert_eq!(c.settings.flex_disconnect_timeout_s, 45);
    assert_eq!(c.settings.flex_refresh_max_wait_s, 30);
    let f = &c.client_file_transfer;
    assert_eq!(f.upload_max_files, 3);
    assert_eq!(f.upload_max_file_size_bytes, 2_097_152);
    assert_eq!(f.upload_max_total_size_bytes, 5_242_880);
    assert_eq!(
        f.upload_file_types,
        "bmp:csv:doc:docx:gif:jpeg:jpg:pdf:png:rtf:txt:xls:xlsx"
    );
    assert!(!f.upload_need_agent);
    assert_eq!(f.download_attempts, 10);
    assert!(!f.delete_file);
    assert_eq!(
        c.service_endpoint("customer-support"),
        Some(("1".to_owned(), "default".to_owned()))
    );
    assert_eq!(c.gms_chat_services.len(), 1);
    assert_eq!(c.web.cors_allowed_origins, ["*"]);
    assert_eq!(c.web.web_dir, None);
    assert_eq!(c.queue_for("1", "default"), Some("default"));
    assert_eq!(c.store_url(), "sqlite://./parley-data/parley.db");
    assert_eq!(Config::from_toml_str("").expect("empty text"), c);
}

#[test]
fn valid_fixtures_load() {
    for path in fixtures("valid") {
        if let Err(e) = Config::load(Some(&path), no_env(), &CliOverrides::default()) {
            panic!("{} should load:\n{e}", path.display());
        }
    }
}

#[test]
fn invalid_fixtures_fail_naming_the_option() {
    for path in fixtures("invalid") {
        let text = fs::read_to_string(&path).expect("read fixture");
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            path.display()
        );
        let err = match Config::load(Some(&path), no_env(), &CliOverrides::default()) {
            Ok(_) => panic!("{} should fail", path.display()),
            Err(e) => e.to_string(),
        };
        for want in expected {
            assert!(
                err.contains(want),
                "{}: error does not contain {want:?}:\n{err}",
                path.display()
            );
        }
    }
}

#[test]
fn every_choice_deserializes() {
    for section in fixed_sections() {
        for option in section.options {
            for v in choices(option.kind) {
                let text = format!("[{}]\n{} = {v}\n", section.name, option.name);
                Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            }
        }
    }
    // Keyed tables: deserialization only (the other options' rules are not the point).
    for section in keyed_sections() {
        for option in section.options {
            for v in choices(option.kind) {
                let mut text = format!("[{}.x]\n{} = {v}\n", section.name, option.name);
                for required in section.options.iter().filter(|o| o.required.is_some()) {
                    text.push_str(&format!("{} = \"x\"\n", required.name));
                }
                toml::from_str::<Config>(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            }
        }
    }
}

/// Every value a choice option allows, as TOML.
fn choices(kind: schema::Kind) -> Vec<String> {
    match kind {
        schema::Kind::Choice(names) => names.iter().map(|n| format!("{n:?}")).collect(),
        schema::Kind::ChoiceOrBool(names) => names
            .iter()
            .map(|n| format!("{n:?}"))
            .chain(["true".into(), "false".into()])
            .collect(),
        schema::Kind::IntChoice(vals) => vals.iter().map(i64::to_string).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn env_overrides_file() {
    let env = vars(&[
        ("PARLEY_SETTINGS__TRANSCRIPT_AUTO_SAVE", "2"),
        ("PARLEY_SETTINGS__HIDE_ATTACHED_DATA", "false"),
        ("PARLEY_SETTINGS__TRANSCRIPT_SAVE_ON_ERROR", "close"),
        ("PARLEY_LOG_FILTER_DATA__TRANSCRIPT", "copy"),
        ("PARLEY_log_filter_data__structuredtext", "skip"),
        ("PARLEY_SERVER__LISTEN", "127.0.0.1:9000"),
        ("PARLEY_SERVER__STORE_URL", "postgres://p:pw@db/parley"),
        ("PARLEY_ENDPOINTS__1__DEFAULT", "q"),
        ("PARLEY_ENDPOINTS__1__WEB_ME", "web"),
        ("PARLEY_SECURITY__API_KEYS", &format!("{KEY_A}, {KEY_B}")),
        ("PARLEY_TEST_POSTGRES_URL", "postgres://ignored"),
        ("HOME", "/root"),
    ]);
    let file = "[settings]\ntranscript-auto-save = 0\nmax-frame-size = 100000\n";
    let c = load_str(file, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.settings.transcript_auto_save, AutoSave::SaveAndNotify);
    assert_eq!(c.settings.max_frame_size_bytes, 100_000, "file value kept");
    assert!(!c.settings.hide_attached_data);
    assert_eq!(c.settings.transcript_save_on_error, SaveOnError::Close);
    assert_eq!(c.log_filter_data.transcript, FilterAction::Copy);
    assert_eq!(c.log_filter_data.structured_text, FilterAction::Skip);
    assert_eq!(
        c.server.listen,
        "127.0.0.1:9000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.store_url(), "postgres://p:pw@db/parley");
    assert_eq!(c.queue_for("1", "default"), Some("q"));
    assert_eq!(c.queue_for("1", "web_me"), Some("web"));
    assert_eq!(
        c.security.api_keys,
        vec![Secret::new(KEY_A), Secret::new(KEY_B)]
    );
}

#[test]
fn env_endpoint_matches_existing_names_and_adds_tenants() {
    let file = "[endpoints.Acme]\ndefault = \"a\"\nweb-me = \"w\"\n";
    let env = vars(&[
        ("PARLEY_ENDPOINTS__ACME__WEB_ME", "w2"),
        ("PARLEY_ENDPOINTS__7__DEFAULT", "seven"),
    ]);
    let c = load_str(file, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.queue_for("Acme", "web-me"), Some("w2"));
    assert_eq!(c.queue_for("7", "default"), Some("seven"));
    assert_eq!(
        c.queue_for("1", "default"),
        None,
        "the file replaced the default tenant"
    );

    let env = vars(&[("PARLEY_ENDPOINTS__2__DEFAULT", "two")]);
    let c = Config::load(None, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.queue_for("1", "default"),
        Some("default"),
        "added to the default"
    );
    assert_eq!(c.queue_for("2", "default"), Some("two"));
}

#[test]
fn cli_overrides_env_overrides_file() {
    let file = "[server]\nlisten = \"127.0.0.1:7000\"\ndata-dir = \"/from/file\"\n";
    let env = vars(&[
        ("PARLEY_SERVER__LISTEN", "127.0.0.1:7001"),
        ("PARLEY_SERVER__DATA_DIR", "/from/env"),
    ]);
    let none = CliOverrides::default();
    let c = load_str(file, env.clone(), &none).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server.listen.port(), 7001);
    assert_eq!(c.server.data_dir, Path::new("/from/env"));

    let cli = CliOverrides {
        listen: Some("127.0.0.1:7002".parse().unwrap()),
        data_dir: Some(PathBuf::from("/from/cli")),
    };
    let c = load_str(file, env, &cli).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server.listen.port(), 7002);
    assert_eq!(c.server.data_dir, Path::new("/from/cli"));
    assert_eq!(c.store_url(), "sqlite:///from/cli/parley.db");

    // A flag also rescues a bad value below it.
    let env = vars(&[("PARLEY_SERVER__LISTEN", "nowhere")]);
    let c = load_str("", env, &cli).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server.listen.port(), 7002);
}

#[test]
fn env_problems_name_the_variable() {
    let env = vars(&[
        ("PARLEY_SETTINGS__TRANSCRIPT_AUTO_SAVE", "5"),
        ("PARLEY_SETTINGS__NO_SUCH_OPTION", "1"),
        ("PARLEY_NOSECTION__X", "1"),
        ("PARLEY_SETTINGS_MAX_FRAME_SIZE", "1"),
        ("PARLEY_ENDPOINTS__1", "q"),
    ]);
    let err = Config::load(None, env, &CliOverrides::default()).expect_err("invalid env");
    let text = err.to_string();
    for want in [
        "[settings] transcript-auto-save = 5: allowed values are 0, 1, 2 \
         (set by PARLEY_SETTINGS__TRANSCRIPT_AUTO_SAVE)",
        "[environment] PARLEY_SETTINGS__NO_SUCH_OPTION: unknown configuration variable",
        "TRANSCRIPT_AUTO_SAVE",
        "[environment] PARLEY_NOSECTION__X: unknown configuration variable",
        "[environment] PARLEY_SETTINGS_MAX_FRAME_SIZE: unknown configuration variable",
        "[environment] PARLEY_ENDPOINTS__1: unknown configuration variable",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert_eq!(err.problems().len(), 5, "{text}");
}

#[test]
fn validate_reports_every_problem() {
    let mut c = Config::default();
    c.settings.transcript_resend_attempts = 101;
    c.settings.user_register_timeout_s = 0;
    c.settings.max_frame_size_bytes = 100;
    c.settings.commit_batch_max = 0;
    c.endpoints.insert("bad tenant".into(), Default::default());
    c.security.api_keys.push(Secret::new("short"));
    let err = c.validate().expect_err("invalid");
    let lines: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
    let want = [
        "[settings] transcript-resend-attempts = 101: allowed range is 0 to 100",
        "[settings] user-register-timeout = 0: allowed range is 1 to 3600 seconds",
        "[settings] max-frame-size = 100: allowed range is 200 to 16777216 bytes",
        "[settings] commit-batch-max = 0: allowed range is 1 to 10000",
        "[settings] max-message-size = 16384: must be less than max-frame-size (100)",
        "[endpoints] \"bad tenant\": tenant names must be non-empty",
        "[endpoints.bad tenant] default: missing",
        "[security] api-keys: key #1 has 5 characters; each key needs at least 32",
    ];
    for w in want {
        assert!(
            lines.iter().any(|l| l.starts_with(w)),
            "missing {w:?} in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
    // Display puts each problem on its own line under a header.
    let text = err.to_string();
    assert!(
        text.starts_with("invalid configuration (8 problems):\n  [settings]"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 9);
}

#[test]
fn file_and_range_problems_are_reported_together() {
    let text = "[settings]\ntranscript-auto-save = 9\nbogus = 1\n[security]\napi-keys = [\"x\"]\n";
    let err = Config::from_toml_str(text).expect_err("invalid");
    let options: Vec<&str> = err.problems().iter().map(|p| p.option.as_str()).collect();
    assert_eq!(
        options,
        ["bogus", "transcript-auto-save", "api-keys"],
        "{err}"
    );
}

#[test]
fn duplicate_api_keys_are_refused() {
    let text = format!("[security]\napi-keys = [\"{KEY_A}\", \"{KEY_A}\"]\n");
    let err = Config::from_toml_str(&text).expect_err("duplicate");
    assert!(err.to_string().contains("key #2 repeats key #1"), "{err}");
}

#[test]
fn secrets_never_print() {
    let secret = Secret::new(KEY_A);
    assert_eq!(format!("{secret}"), "<redacted>");
    assert_eq!(format!("{secret:?}"), "<redacted>");
    assert_eq!(secret.expose(), KEY_A);
    assert!(secret.matches(KEY_A));
    assert!(!secret.matches(KEY_B));
    assert!(!secret.matches(""));
    assert!(!secret.matches(&KEY_A[..31]));

    let text = format!(
        "[server]\nstore-url = \"postgres://parley:hunter2@db/p\"\n\
         [security]\napi-keys = [\"{KEY_A}\", \"{KEY_B}\"]\n"
    );
    let c = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.security.accepts_api_key(KEY_B));
    assert!(!c.security.accepts_api_key("nope"));
    let debug = format!("{c:?} {c:#?}");
    for leak in [KEY_A, KEY_B, "hunter2"] {
        assert!(!debug.contains(leak), "{leak} printed in {debug}");
    }
    assert!(debug.contains("postgres://<redacted>@db/p"), "{debug}");

    // Problems about secrets never echo them, whichever layer they came from.
    let short = "short-secret-value";
    let env = vars(&[("PARLEY_SECURITY__API_KEYS", short)]);
    let err = load_str("[security]\napi-keys = 3\n", env, &CliOverrides::default())
        .expect_err("short key");
    assert!(!err.to_string().contains(short), "{err}");
    let err = Config::from_toml_str("[server]\nstore-url = 7\n").expect_err("bad url");
    assert!(
        err.to_string()
            .contains("[server] store-url: must be a URL"),
        "{err}"
    );
    let err = Config::from_toml_str("[server]\nstore-url = \"hunter2\"\n").expect_err("no scheme");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn io_and_parse_errors_name_the_file() {
    let missing = Path::new("/nonexistent/parley.toml");
    let err = Config::load(Some(missing), no_env(), &CliOverrides::default()).expect_err("io");
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(
        err.to_string().contains("/nonexistent/parley.toml"),
        "{err}"
    );

    let err = load_str("[settings\n", no_env(), &CliOverrides::default()).expect_err("parse");
    assert!(
        matches!(err, ConfigError::Parse { path: Some(_), .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("parley.toml"), "{err}");
}

#[test]
fn queue_for_has_no_fallback() {
    let c = Config::from_toml_str("[endpoints.1]\ndefault = \"d\"\nwebme = \"w\"\n").unwrap();
    assert_eq!(c.queue_for("1", "webme"), Some("w"));
    assert_eq!(c.queue_for("1", "other"), None);
    assert_eq!(c.queue_for("2", "default"), None);
}

#[test]
fn env_sets_the_new_sections() {
    let env = vars(&[
        ("PARLEY_SETTINGS__FLEX_DISCONNECT_TIMEOUT", "600"),
        ("PARLEY_SETTINGS__FLEX_REFRESH_MAX_WAIT", "0"),
        ("PARLEY_CLIENT_FILE_TRANSFER__UPLOAD_MAX_FILES", "5"),
        ("PARLEY_CLIENT_FILE_TRANSFER__UPLOAD_FILE_TYPES", "PDF:png"),
        ("PARLEY_CLIENT_FILE_TRANSFER__UPLOAD_NEED_AGENT", "true"),
        ("PARLEY_CLIENT_FILE_TRANSFER__DELETE_FILE", "true"),
        ("PARLEY_GMS_CHAT_SERVICES__SUPPORT", "1:default"),
        ("PARLEY_GMS_CHAT_SERVICES__CUSTOMER_SUPPORT", "1:webme"),
        (
            "PARLEY_WEB__CORS_ALLOWED_ORIGINS",
            "https://a.example,https://b.example",
        ),
        ("PARLEY_WEB__WEB_DIR", "/srv/web"),
    ]);
    let file = "[endpoints.1]\ndefault = \"d\"\nwebme = \"w\"\n";
    let c = load_str(file, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.settings.flex_disconnect_timeout_s, 600);
    assert_eq!(c.settings.flex_refresh_max_wait_s, 0);
    assert_eq!(c.client_file_transfer.upload_max_files, 5);
    assert_eq!(c.client_file_transfer.file_types(), ["pdf", "png"]);
    assert!(c.client_file_transfer.upload_need_agent);
    assert!(c.client_file_transfer.delete_file);
    assert_eq!(
        c.service_endpoint("support"),
        Some(("1".to_owned(), "default".to_owned()))
    );
    assert_eq!(
        c.service_endpoint("customer-support"),
        Some(("1".to_owned(), "webme".to_owned())),
        "a variable matches the default service's name and changes it"
    );
    assert_eq!(c.gms_chat_services.len(), 2, "{:?}", c.gms_chat_services);
    assert_eq!(
        c.web.cors_allowed_origins,
        ["https://a.example", "https://b.example"]
    );
    assert_eq!(c.web.web_dir.as_deref(), Some(Path::new("/srv/web")));
}

#[test]
fn env_problems_in_the_new_sections_name_the_variable() {
    let env = vars(&[
        ("PARLEY_SETTINGS__FLEX_REFRESH_MAX_WAIT", "50"),
        ("PARLEY_SETTINGS__FLEX_DISCONNECT_TIMEOUT", "50"),
        ("PARLEY_CLIENT_FILE_TRANSFER__UPLOAD_MAX_FILES", "many"),
        ("PARLEY_GMS_CHAT_SERVICES__SUPPORT", "2:default"),
        ("PARLEY_GMS_CHAT_SERVICES", "1:default"),
        ("PARLEY_GMS_CHAT_SERVICES__A__B", "1:default"),
        ("PARLEY_WEB__CORS_ALLOWED_ORIGINS", "https://a.example/"),
    ]);
    let err = Config::load(None, env, &CliOverrides::default()).expect_err("invalid env");
    let text = err.to_string();
    for want in [
        "[settings] flex-refresh-max-wait = 50: must be less than flex-disconnect-timeout (50)",
        "(set by PARLEY_SETTINGS__FLEX_REFRESH_MAX_WAIT)",
        "[client-file-transfer] upload-max-files = \"many\": allowed range is 0 to 1000 \
         (set by PARLEY_CLIENT_FILE_TRANSFER__UPLOAD_MAX_FILES)",
        "[gms-chat-services] support = \"2:default\": names tenant \"2\"",
        "(set by PARLEY_GMS_CHAT_SERVICES__SUPPORT)",
        "[environment] PARLEY_GMS_CHAT_SERVICES: unknown configuration variable",
        "[environment] PARLEY_GMS_CHAT_SERVICES__A__B: unknown configuration variable: \
         expected PARLEY_GMS_CHAT_SERVICES__<SERVICE>=<tenant>:<endpoint>",
        "[web] cors-allowed-origins: entry \"https://a.example/\" has a path",
        "(set by PARLEY_WEB__CORS_ALLOWED_ORIGINS)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert_eq!(err.problems().len(), 6, "{text}");
    let sections: Vec<&str> = err.problems().iter().map(|p| p.section.as_str()).collect();
    assert_eq!(
        sections,
        [
            "settings",
            "client-file-transfer",
            "gms-chat-services",
            "web",
            "environment",
            "environment",
        ],
        "problems follow the order of the example file"
    );
}

#[test]
fn default_service_is_dropped_only_when_unconfigured_and_unresolvable() {
    // The file replaces tenant 1 and names no service: the default service goes quietly.
    let file = "[endpoints.acme]\ndefault = \"a\"\n";
    let c = load_str(file, no_env(), &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.gms_chat_services.is_empty(), "{:?}", c.gms_chat_services);
    let c = Config::from_toml_str(file).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.gms_chat_services.is_empty(), "{:?}", c.gms_chat_services);

    // Variables add to what is left of the default.
    let env = vars(&[("PARLEY_GMS_CHAT_SERVICES__ACME", "acme:default")]);
    let c = load_str(file, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.gms_chat_services,
        BTreeMap::from([("acme".to_owned(), "acme:default".to_owned())])
    );
    let env = vars(&[("PARLEY_GMS_CHAT_SERVICES__ACME", "1:default")]);
    let c = Config::load(None, env, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.gms_chat_services.len(), 2, "{:?}", c.gms_chat_services);

    // A variable that sets the default service itself is checked like any other.
    let env = vars(&[("PARLEY_GMS_CHAT_SERVICES__CUSTOMER_SUPPORT", "1:default")]);
    let err = load_str(file, env, &CliOverrides::default()).expect_err("no tenant 1");
    assert!(
        err.to_string()
            .contains("[gms-chat-services] customer-support = \"1:default\": names tenant \"1\""),
        "{err}"
    );

    // Built in code, a configuration is checked as it is.
    let acme = BTreeMap::from([("default".to_owned(), "a".to_owned())]);
    let c = Config {
        endpoints: BTreeMap::from([("acme".to_owned(), acme)]),
        ..Config::default()
    };
    let err = c.validate().expect_err("default service dangles");
    assert_eq!(err.problems().len(), 1, "{err}");
    assert_eq!(err.problems()[0].option, "customer-support");
}

#[test]
fn service_endpoint_matches_exactly() {
    let text = "[endpoints.1]\ndefault = \"d\"\nwebme = \"w\"\n\
                [gms-chat-services]\nsales = \"1:webme\"\n";
    let c = Config::from_toml_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.service_endpoint("sales"),
        Some(("1".to_owned(), "webme".to_owned()))
    );
    assert_eq!(c.queue_for("1", "webme"), Some("w"));
    assert_eq!(c.service_endpoint("Sales"), None);
    assert_eq!(
        c.service_endpoint("customer-support"),
        None,
        "naming a service replaces the default"
    );
}

#[test]
fn file_types_are_lower_cased_and_empty_means_any() {
    let mut f = ClientFileTransfer::default();
    assert_eq!(f.file_types().len(), 13);
    assert!(f.file_types().iter().all(|t| t != "exe"));
    f.upload_file_types = "PDF:Png:jpg".into();
    assert_eq!(f.file_types(), ["pdf", "png", "jpg"]);
    f.upload_file_types = String::new();
    assert!(f.file_types().is_empty());
    let c = Config {
        client_file_transfer: f,
        ..Config::default()
    };
    c.validate().expect("empty allows any type");
}

#[test]
fn cors_origins_are_checked_and_compared_case_insensitively() {
    let check = |origins: &[&str]| {
        let mut c = Config::default();
        c.web.cors_allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
        c.validate().map(|()| c)
    };
    for good in [
        "*",
        "https://shop.example",
        "http://localhost:3000",
        "https://[2001:db8::1]:8443",
        "http://[::1]",
        "https://xn--bcher-kva.example",
    ] {
        check(&[good]).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        "shop.example",
        "https://shop.example/",
        "https://shop.example/path",
        "https://shop.example?q",
        "wss://shop.example",
        "https://shop.example:",
        "https://shop.example:65536",
        "https://shop.example:80:80",
        "https://[::1",
        "https://[zz]:80",
        "https://[::1]x",
        "https://*.example",
        "null",
        "https://Shop.example",
        "HTTPS://shop.example",
        "https://shop.example:443",
        "http://shop.example:80",
    ] {
        assert!(check(&[bad]).is_err(), "{bad:?} should be refused");
    }

    check(&["https://shop.example:80", "http://shop.example:443"]).expect("not default ports");
    let c = check(&["https://shop.example"]).expect("valid");
    assert!(c.web.allows_origin("https://shop.example"));
    assert!(c.web.allows_origin("https://Shop.Example"));
    assert!(!c.web.allows_origin("https://evil.example"));
    assert!(!c.web.allows_origin("http://shop.example"));
    let c = check(&[]).expect("empty is valid");
    assert!(!c.web.allows_origin("https://shop.example"));
    assert!(Config::default()
        .web
        .allows_origin("https://anything.example"));
}

#[test]
fn flex_refresh_must_be_shorter_than_disconnect() {
    let mut c = Config::default();
    c.settings.flex_disconnect_timeout_s = 30;
    let err = c.validate().expect_err("30 is not less than 30");
    assert_eq!(
        err.problems()[0].to_string(),
        "[settings] flex-refresh-max-wait = 30: must be less than flex-disconnect-timeout \
         (30), since a client waiting in a refresh sends no other request"
    );
    c.settings.flex_refresh_max_wait_s = 29;
    c.validate().expect("29 < 30");
}
