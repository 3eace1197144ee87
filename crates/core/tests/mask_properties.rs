//! Property tests of masking over random texts and random rule sets.
//!
//! Checked for every text: `mask` never panics; the masked text has as many characters
//! as the original and differs from it only inside hit ranges, where a hit replaced
//! exactly what its spec says; no rule matches the masked text any more; the hits are
//! within the text, in rule order, and do not overlap within a rule; the seek
//! prefilter never skips a match (a set compiled without it gives the same result); a
//! typing preview keeps no digit. Rules are random compositions of pieces whose
//! assertions are positive and over characters the replacement character is not, so
//! masking cannot create a match it did not remove; the built-in rules run on texts
//! seeded with card, social security and phone numbers.

use parley_core::mask::{
    builtin_rules, mask_digits, Limits, Masked, Replaced, Rule, RuleDef, RuleMeta, RuleSet, Spec,
    Style,
};
use std::sync::LazyLock;

use proptest::prelude::*;

/// Pieces a random rule is made of.
const PIECES: &[&str] = &[
    r"\d{3}",
    r"\d+",
    r"[a-c]+",
    r"x\d",
    r"(?<=[a-z])\d{2}",
    r"\d{2}(?=[ -])",
    r"(?>\d+)-",
    r"[0-9]{2,4}",
    r"(\d)\1",
    r"ab|\d\d",
    r"(?:\d[ -]?){4}",
    r"q",
];

fn text() -> impl Strategy<Value = String> {
    let noise = "[0-9 ()\\-.+a-ezé٣\n:,]{0,40}";
    let numbers = prop_oneof![
        Just("4111 1111 1111 1111".to_owned()),
        Just("5500-0000-0000-0004".to_owned()),
        Just("123-45-6789".to_owned()),
        Just("(212) 555-0123".to_owned()),
        Just("+1 212 555 0123".to_owned()),
        "[0-9]{7,16}",
    ];
    (
        noise,
        proptest::option::of(numbers),
        "[0-9 ()\\-.a-z]{0,40}",
    )
        .prop_map(|(a, n, b)| format!("{a}{}{b}", n.map(|n| format!(" {n} ")).unwrap_or_default()))
}

fn spec() -> impl Strategy<Value = Option<Spec>> {
    prop_oneof![
        Just(None),
        Just(Some(Spec::All)),
        Just(Some(Spec::DIGITS)),
        (0u8..6).prop_map(|keep_last| Some(Spec::Digits { keep_last })),
    ]
}

fn def(i: usize, regex: String, spec: Option<Spec>) -> RuleDef {
    RuleDef {
        meta: RuleMeta {
            id: format!("r{i}"),
            name: format!("rule{i}"),
            description: String::new(),
        },
        regex,
        spec,
    }
}

/// Up to four rules of one to three pieces each.
fn rules() -> impl Strategy<Value = Vec<(String, Option<Spec>)>> {
    let regex = proptest::collection::vec(proptest::sample::select(PIECES), 1..=3)
        .prop_map(|pieces| pieces.join(""));
    proptest::collection::vec((regex, spec()), 1..=4)
}

fn compile(rules: &[(String, Option<Spec>)], style: Style, seek: bool) -> RuleSet {
    let limits = Limits::DEFAULT;
    let compiled = rules
        .iter()
        .enumerate()
        .map(|(i, (regex, spec))| {
            let d = def(i, regex.clone(), *spec);
            if seek {
                Rule::compile(d, &limits)
            } else {
                Rule::compile_without_prefilter(d, &limits)
            }
            .unwrap_or_else(|e| panic!("generated rule: {e}"))
        })
        .collect();
    RuleSet::new(compiled, style, limits)
}

/// The invariants of one masking of `original` by `set`.
fn check(set: &RuleSet, original: &str, masked: &Masked) -> Result<(), TestCaseError> {
    let before: Vec<char> = original.chars().collect();
    let after: Vec<char> = masked.text.chars().collect();
    prop_assert_eq!(before.len(), after.len(), "length kept");
    if masked.failure.is_some() {
        prop_assert!(after.iter().all(|c| *c == set.style().repchar));
        return Ok(());
    }
    let mut covered = vec![false; before.len()];
    let mut last: Option<(&str, usize)> = None;
    for hit in &masked.hits {
        prop_assert!(hit.start <= hit.end && hit.end < before.len(), "{hit:?}");
        if let Some((rule, end)) = last {
            if rule == hit.rule.id {
                prop_assert!(hit.start > end, "hits of a rule do not overlap");
            }
        }
        last = Some((&hit.rule.id, hit.end));
        for i in hit.start..=hit.end {
            covered[i] = true;
            if hit.replaced == Replaced::All {
                prop_assert_eq!(after[i], set.style().repchar);
            }
        }
    }
    let rule_order: Vec<&str> = set.rules().iter().map(|r| r.meta().id.as_str()).collect();
    let hit_order: Vec<usize> = masked
        .hits
        .iter()
        .filter_map(|h| rule_order.iter().position(|id| *id == h.rule.id))
        .collect();
    prop_assert!(
        hit_order.windows(2).all(|w| w[0] <= w[1]),
        "hits in rule order"
    );
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        if !covered[i] {
            prop_assert_eq!(b, a, "character {} outside every hit changed", i);
        } else if a != b {
            prop_assert_eq!(*a, set.style().repchar);
        }
    }
    Ok(())
}

/// Whether any rule of `set` matches `text`.
fn any_match(set: &RuleSet, text: &str) -> bool {
    let again = set.mask(text);
    again.hits.iter().any(|h| {
        text.chars()
            .skip(h.start)
            .take(h.len())
            .any(|c| c != set.style().repchar)
    })
}

/// The built-in rules compiled once: with the seek prefilter, and without.
static BUILTINS: LazyLock<(Vec<Rule>, Vec<Rule>)> = LazyLock::new(|| {
    let each = |seek: bool| -> Vec<Rule> {
        builtin_rules()
            .into_iter()
            .map(|d| {
                if seek {
                    Rule::compile(d, &Limits::DEFAULT)
                } else {
                    Rule::compile_without_prefilter(d, &Limits::DEFAULT)
                }
                .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect()
    };
    (each(true), each(false))
});

proptest! {
    // Each case compiles its random rules: 128 cases keep the run to seconds.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_rules_mask_only_their_hits_and_leave_no_match(
        rules in rules(),
        text in text(),
        repchar in prop_oneof![Just('*'), Just('#'), Just('•')],
    ) {
        // Every match replaced whole, so nothing a rule found can be found again.
        let all: Vec<(String, Option<Spec>)> =
            rules.iter().map(|(r, _)| (r.clone(), Some(Spec::All))).collect();
        let style = Style { repchar, default_spec: Spec::All };
        let set = compile(&all, style, true);
        let masked = set.mask(&text);
        check(&set, &text, &masked)?;
        if masked.failure.is_none() {
            prop_assert!(!any_match(&set, &masked.text), "a match is left in {:?}", masked.text);
        }
        // The specs as generated: the same invariants, and the prefilter agrees.
        let style = Style { repchar, default_spec: Spec::DIGITS };
        let set = compile(&rules, style, true);
        let masked = set.mask(&text);
        check(&set, &text, &masked)?;
        prop_assert_eq!(&compile(&rules, style, false).mask(&text), &masked);
    }

    #[test]
    fn the_built_in_rules_leave_no_number_they_find(text in text(), keep in 0u8..5) {
        for default_spec in [Spec::All, Spec::DIGITS, Spec::Digits { keep_last: keep }] {
            let style = Style { repchar: '*', default_spec };
            let set = RuleSet::new(BUILTINS.0.clone(), style, Limits::DEFAULT);
            let masked = set.mask(&text);
            check(&set, &text, &masked)?;
            if default_spec != (Spec::Digits { keep_last: keep }) || keep == 0 {
                prop_assert!(!any_match(&set, &masked.text), "{:?}", masked.text);
            }
            let reference = RuleSet::new(BUILTINS.1.clone(), style, Limits::DEFAULT);
            prop_assert_eq!(&reference.mask(&text), &masked, "the prefilter skips nothing");
        }
    }

    #[test]
    fn any_text_is_masked_without_panicking(text in "\\PC{0,200}", rules in rules()) {
        let set = compile(&rules, Style::default(), true);
        let masked = set.mask(&text);
        check(&set, &text, &masked)?;
        let preview = mask_digits(&text, '*');
        prop_assert_eq!(preview.chars().count(), text.chars().count());
        prop_assert!(!preview.chars().any(char::is_numeric));
    }
}
