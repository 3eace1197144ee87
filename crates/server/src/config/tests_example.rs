//! Config tests of the declarations themselves: the example file is what they generate
//! (`PARLEY_TEST_BLESS=1` rewrites it), every declaration is complete and consistent, and
//! unknown names get the nearest known one suggested.

use std::fs;

use super::declare::DeclaredSection;
use super::schema::{option_sections, Kind, OptionSpec};
use super::suggest::{edit_distance, nearest, Nearness};
use super::tests::{example_path, vars};
use super::*;

/// How to regenerate the example file; the file's header says the same.
const BLESS: &str = "PARLEY_TEST_BLESS=1 cargo test -p parley-server --lib config::tests_example";

#[test]
fn example_file_is_generated_from_the_declarations() {
    let path = example_path();
    let generated = example_toml();
    if std::env::var("PARLEY_TEST_BLESS").as_deref() == Ok("1") {
        fs::write(&path, &generated).expect("write the example file");
        return;
    }
    let file = fs::read_to_string(&path).expect("read the example file");
    if file == generated {
        return;
    }
    let (file_lines, generated_lines): (Vec<&str>, Vec<&str>) =
        (file.lines().collect(), generated.lines().collect());
    let first = (0..file_lines.len().max(generated_lines.len()))
        .find(|&i| file_lines.get(i) != generated_lines.get(i))
        .unwrap_or(file_lines.len());
    panic!(
        "{} is not what the option declarations generate; first difference at line {}:\n  \
         file:      {:?}\n  generated: {:?}\nThe file is generated: do not edit it by hand. \
         Regenerate it with\n  {BLESS}\nand review the diff.",
        path.display(),
        first + 1,
        file_lines.get(first),
        generated_lines.get(first),
    );
}

#[test]
fn the_example_header_says_how_to_regenerate_it() {
    assert!(example_toml().contains(BLESS));
}

/// A declared TOML value (a default or an example), parsed.
fn parsed(option: &OptionSpec, toml: &str) -> Value {
    Value::deserialize(toml::de::ValueDeserializer::new(toml))
        .unwrap_or_else(|e| panic!("{}: {toml} is not a TOML value: {e}", option.name))
}

#[test]
fn every_declaration_is_complete_and_passes_its_own_check() {
    for section in option_sections() {
        assert!(
            !section.description.trim().is_empty(),
            "{} has no description",
            section.header()
        );
        assert_eq!(
            section.key.is_some(),
            section.example_key.is_some(),
            "{}: a keyed section names its example table",
            section.header()
        );
        for option in section.options {
            let at = format!("{} {}", section.header(), option.name);
            assert!(
                !option.description.trim().is_empty(),
                "{at}: no description"
            );
            assert!(
                option.default.is_some() || option.example.is_some(),
                "{at}: an option without a default needs an example"
            );
            assert!(
                option.default.is_none() || option.required.is_none(),
                "{at}: a required option has no default"
            );
            for value in option.default.iter().chain(&option.example) {
                if let Err(why) = option.kind.check(&parsed(option, value)) {
                    panic!("{at} = {value}: {why}");
                }
            }
        }
    }
}

#[test]
fn only_integer_options_are_range_checked() {
    fn check<S: DeclaredSection>(section: &S) {
        let integers = section.integers();
        assert_eq!(integers.len(), S::SPEC.options.len());
        for (option, value) in S::SPEC.options.iter().zip(integers) {
            assert_eq!(
                value.is_some(),
                matches!(option.kind, Kind::Int(_)),
                "{}",
                option.name
            );
        }
    }
    let c = Config::default();
    check(&c.server);
    check(&c.settings);
    check(&c.log_filter_data);
    check(&c.client_file_transfer);
    check(&c.web);
    check(&c.security);
    check(&c.routing);
    check(&QueueConfig::default());
    check(&<AgentConfig as DeclaredSection>::declared_defaults());
    check(&c.webhooks);
}

#[test]
fn an_agent_table_without_a_password_hash_never_loads() {
    // Serde would fill it from the declared defaults (the empty placeholder); the type
    // check drops the table first, and validate() refuses the placeholder.
    let err = Config::from_toml_str("[agents.anna]\nnickname = \"Anna\"\n").expect_err("missing");
    assert_eq!(err.problems().len(), 1, "{err}");
    let c: Config = toml::from_str("[agents.anna]\nnickname = \"Anna\"\n").expect("serde only");
    assert_eq!(c.agents["anna"].password_hash.expose(), "");
    assert!(c.validate().is_err());
}

#[test]
fn edit_distance_counts_insertions_deletions_and_substitutions() {
    for (a, b, d) in [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("urls", "url", 1),
        ("kitten", "sitting", 3),
        ("transcriptautosav", "transcriptautosave", 1),
        ("flaw", "lawn", 2),
    ] {
        assert_eq!(edit_distance(a, b), d, "{a} → {b}");
        assert_eq!(edit_distance(b, a), d, "{b} → {a}");
    }
}

#[test]
fn nearest_ignores_case_and_separators_and_refuses_far_names() {
    let known = [
        "urls",
        "secret",
        "attempts",
        "retry-delay",
        "max-retry-delay",
    ];
    assert_eq!(
        nearest("Retry_Delay", known),
        Some(("retry-delay", Nearness::Same))
    );
    assert_eq!(nearest("url", known), Some(("urls", Nearness::Near)));
    assert_eq!(
        nearest("max-retry-dealy", known),
        Some(("max-retry-delay", Nearness::Near))
    );
    assert_eq!(nearest("timeout", known), None);
    assert_eq!(nearest("x", known), None);
}

#[test]
fn unknown_names_in_the_file_suggest_the_nearest() {
    let text = "[settings]\ntranscript-autosave = 1\ntranscript-auto-sav = 1\nbogus = 1\n\
                [webhooks]\nattempt = 3\n[setings]\n[routing]\nloginmaxfailures = 5\n";
    let err = Config::from_toml_str(text).expect_err("unknown names");
    let lines: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
    let settings = <Settings as DeclaredSection>::SPEC.option_names();
    let webhooks = <Webhooks as DeclaredSection>::SPEC.option_names();
    let sections = schema::section_names();
    assert_eq!(
        lines,
        [
            "[settings] bogus: unknown option; known options are ".to_owned() + &settings,
            "[settings] transcript-auto-sav: unknown option; known options are ".to_owned()
                + &settings
                + "; did you mean `transcript-auto-save`?",
            "[settings] transcript-autosave: unknown option; did you mean \
             `transcript-auto-save`?"
                .to_owned(),
            "[routing] loginmaxfailures: unknown option; did you mean `login-max-failures`?"
                .to_owned(),
            "[webhooks] attempt: unknown option; known options are ".to_owned()
                + &webhooks
                + "; did you mean `attempts`?",
            "[setings]: unknown section; known sections are ".to_owned()
                + &sections
                + "; did you mean [settings]?",
        ]
    );
}

#[test]
fn unknown_variables_suggest_the_nearest() {
    let env = vars(&[
        ("PARLEY_SETTINGS__TRANSCRIPT_AUTOSAVE", "1"),
        ("PARLEY_SETTINGS_MAX_FRAME_SIZE", "70000"),
        ("PARLEY_SETING__MAX_FRAME_SIZE", "70000"),
        ("PARLEY_QUEUES__SALES__MAXWAIT", "60"),
        ("PARLEY_WEBHOOKS__NOTHING_LIKE_IT", "1"),
    ]);
    let err = Config::load(None, env, &CliOverrides::default()).expect_err("unknown variables");
    let lines: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
    for (line, meant) in lines.iter().zip([
        Some("PARLEY_SETTINGS__TRANSCRIPT_AUTO_SAVE"),
        Some("PARLEY_SETTINGS__MAX_FRAME_SIZE"),
        Some("PARLEY_SETTINGS__MAX_FRAME_SIZE"),
        Some("PARLEY_QUEUES__SALES__MAX_WAIT"),
        None,
    ]) {
        assert!(
            line.starts_with("[environment] PARLEY_"),
            "{line}\n{lines:#?}"
        );
        assert!(line.contains("unknown configuration variable"), "{line}");
        match meant {
            Some(meant) => assert!(
                line.ends_with(&format!("; did you mean {meant}?")),
                "{line}"
            ),
            None => assert!(!line.contains("did you mean"), "{line}"),
        }
    }
    assert_eq!(lines.len(), 5, "{lines:#?}");
}
