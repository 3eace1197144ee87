//! Rule sets: order, positions, specs per rule, refusals naming the rule, bounds.

use super::super::{FailReason, Limits, Replaced, Rule, RuleError, RuleSet, Spec, Style};
use super::{def, rule, set};

#[test]
fn positions_are_characters_from_zero_with_the_end_inclusive() {
    let s = set(vec![rule("digits", r"\d+", None)]);
    let masked = s.mask("né à 12 — 345");
    assert_eq!(masked.text, "né à ** — ***");
    let keys: Vec<String> = masked.hits.iter().map(|h| h.position_key()).collect();
    assert_eq!(keys, ["5-6", "10-12"]);
    assert_eq!(masked.hits[1].len(), 3);
    // The positions index the masked text as well as the original.
    let chars: Vec<char> = masked.text.chars().collect();
    assert_eq!(chars[10..=12], ['*', '*', '*']);
}

#[test]
fn rules_run_in_order_over_what_the_earlier_ones_left() {
    let long = rule("long", r"\d{4}-\d{4}", Some(Spec::All));
    let short = rule("short", r"\d{4}", None);
    let masked = set(vec![long.clone(), short.clone()]).mask("1234-5678 9999");
    assert_eq!(masked.text, "********* ****");
    let names: Vec<&str> = masked.hits.iter().map(|h| h.rule.name.as_str()).collect();
    assert_eq!(names, ["long", "short"]);
    assert_eq!(masked.hits[0].replaced, Replaced::All);
    assert_eq!(masked.hits[1].replaced, Replaced::Digits);
    let groups = masked.by_rule();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[1].key.as_str(), groups[1].hits.len()),
        ("rule-0002", 1)
    );

    // The other way round, the short rule takes the digits first.
    let masked = set(vec![short, long]).mask("1234-5678 9999");
    assert_eq!(masked.text, "****-**** ****");
    assert_eq!(masked.hits.len(), 3);
    assert!(masked.hits.iter().all(|h| h.rule.name == "short"));
}

#[test]
fn the_set_style_and_a_rule_spec_apply() {
    let style = Style {
        repchar: 'X',
        default_spec: Spec::Digits { keep_last: 2 },
    };
    let rules = vec![
        rule("kept", r"\d{3}-\d{4}", None),
        rule("own", r"secret-\w+", Some(Spec::All)),
    ];
    let s = RuleSet::new(rules, style, Limits::DEFAULT);
    let masked = s.mask("555-1234 and secret-abc");
    assert_eq!(masked.text, "XXX-XX34 and XXXXXXXXXX");
    // A `digits` match without digits is a hit that changes nothing.
    let s = set(vec![rule("word", r"[a-z]+", None)]);
    let masked = s.mask("ab 12");
    assert_eq!((masked.text.as_str(), masked.hits.len()), ("ab 12", 1));
}

#[test]
fn empty_matches_and_empty_sets_mask_nothing() {
    let s = set(vec![rule("maybe", r"\d*", None)]);
    let masked = s.mask("ab1c");
    assert_eq!(masked.text, "ab*c");
    assert_eq!(masked.hits.len(), 1);
    assert_eq!(s.mask("").hits.len(), 0);
    let none = RuleSet::empty(Style::default());
    assert!(none.is_empty());
    assert_eq!(none.mask("4111111111111111").text, "4111111111111111");
}

#[test]
fn rules_that_do_not_compile_are_refused_by_name() {
    for (regex, want) in [
        ("(unclosed", "does not compile"),
        ("", "is empty"),
        ("  ", "is empty"),
        ("[z-a]", "does not compile"),
    ] {
        let err = Rule::compile(def("Broken_1", regex, None), &Limits::DEFAULT).expect_err(regex);
        assert_eq!(err.rule_name(), "Broken_1");
        let text = err.to_string();
        assert!(text.starts_with("rule Broken_1: "), "{text}");
        assert!(text.contains(want), "{text}");
    }
    let long = "a".repeat(Limits::DEFAULT.max_regex_bytes + 1);
    let err = Rule::compile(def("Long", &long, None), &Limits::DEFAULT).expect_err("long");
    assert!(matches!(err, RuleError::TooLong { .. }), "{err}");
    // A set refuses with its first bad rule.
    let defs = vec![def("ok", r"\d", None), def("bad", "(?<=a+)b(", None)];
    let err = RuleSet::compile(defs, Style::default()).expect_err("bad set");
    assert_eq!(err.rule_name(), "bad");
    // What Perl and fancy-regex share compiles: lookbehind, atomic groups,
    // backreferences, POSIX classes.
    for regex in [
        r"(?<=x)\d",
        r"(?>a|ab)c",
        r"(\w)\1",
        r"[[:alpha:]]+",
        r"(?i)card",
    ] {
        Rule::compile(def("ok", regex, None), &Limits::DEFAULT)
            .unwrap_or_else(|e| panic!("{regex}: {e}"));
    }
}

#[test]
fn catastrophic_rules_and_huge_texts_fail_closed() {
    let s = set(vec![rule("catastrophic", r"(\d|\d)+(?!\d)(?<!1)", None)]);
    let text = format!("{} y", "1".repeat(40));
    let masked = s.mask(&text);
    let failure = masked.failure.as_ref().expect("fails closed");
    assert_eq!(
        failure.rule.as_ref().map(|r| r.name.as_str()),
        Some("catastrophic")
    );
    assert!(matches!(failure.reason, FailReason::Search(_)));
    assert_eq!(masked.text, "*".repeat(text.chars().count()));
    assert_eq!(masked.hits.len(), 1);
    assert_eq!(
        masked.hits[0].position_key(),
        format!("0-{}", text.len() - 1)
    );

    let limits = Limits {
        max_text_bytes: 10,
        max_hits_per_rule: 2,
        ..Limits::DEFAULT
    };
    let digit = Rule::compile(def("d", r"\d", None), &limits).expect("d");
    let s = RuleSet::new(vec![digit], Style::default(), limits);
    let too_long = s.mask("éééééé");
    assert!(matches!(
        too_long.failure.map(|f| f.reason),
        Some(FailReason::TextTooLong { bytes: 12, max: 10 })
    ));
    assert_eq!(too_long.text, "******");
    let too_many = s.mask("1 2 3");
    assert!(matches!(
        too_many.failure.map(|f| f.reason),
        Some(FailReason::TooManyHits { max: 2 })
    ));
    assert_eq!(s.mask("1 2").text, "* *");
}
