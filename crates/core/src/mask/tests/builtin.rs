//! The built-in rules, pinned by tables: each positive example is matched exactly as
//! shown (the whole match), each negative is not matched at all. Every table also runs
//! without `fancy-regex`'s seek prefilter, which must agree.

use super::super::builtin::{AFTER, BEFORE, BUILTINS, CREDIT_CARDS, PHONE_NANPA, SSN};
use super::super::{builtin_rules, Limits, Rule, RuleSet, Style};

/// `(text, the one match expected)`; `None`: no match.
type Table = &'static [(&'static str, Option<&'static str>)];

const CARDS: Table = &[
    ("4111111111111111", Some("4111111111111111")),
    ("4111 1111 1111 1111", Some("4111 1111 1111 1111")),
    ("4111-1111-1111-1111", Some("4111-1111-1111-1111")),
    ("4111-1111 1111-1111", Some("4111-1111 1111-1111")),
    ("5500 0000 0000 0004", Some("5500 0000 0000 0004")),
    ("5105105105105100", Some("5105105105105100")),
    ("6011111111111117", Some("6011111111111117")),
    ("6221261111111111", Some("6221261111111111")),
    ("6500000000000002", Some("6500000000000002")),
    ("my card: 4111111111111111.", Some("4111111111111111")),
    ("(4111111111111111)", Some("4111111111111111")),
    ("\"4111111111111111\"", Some("4111111111111111")),
    ("card4111111111111111please", Some("4111111111111111")),
    ("is it 4111111111111111?", Some("4111111111111111")),
    ("line1\n4111111111111111\n", Some("4111111111111111")),
    // Not 16 digits, not a listed prefix, not a separator, not at a boundary.
    ("411111111111111", None),
    ("41111111111111111", None),
    ("1234 5678 9012 3456", None),
    ("5611111111111111", None),
    ("6200000000000000", None),
    ("3782 822463 10005", None),
    ("4111_1111_1111_1111", None),
    ("4111--1111-1111-1111", None),
    ("4111.1111.1111.1111", None),
    ("-4111111111111111", None),
    ("4111111111111111-", None),
    ("#4111111111111111", None),
    ("14111111111111111", None),
    ("4111 1111 1111 111", None),
];

const SSNS: Table = &[
    ("123-45-6789", Some("123-45-6789")),
    ("123 45 6789", Some("123 45 6789")),
    ("123456789", Some("123456789")),
    ("123-45 6789", Some("123-45 6789")),
    ("SSN: 078-05-1120.", Some("078-05-1120")),
    ("(123-45-6789)", Some("123-45-6789")),
    ("ssn123-45-6789", Some("123-45-6789")),
    ("123-45-0001", Some("123-45-0001")),
    ("665-12-3456", Some("665-12-3456")),
    ("899-12-3456", Some("899-12-3456")),
    // Area 000, 666 or 9xx; group 00; serial 0000; wrong lengths or separators; inside
    // a longer token.
    ("000-12-3456", None),
    ("666-12-3456", None),
    ("900-12-3456", None),
    ("999-12-3456", None),
    ("123-00-4567", None),
    ("123-45-0000", None),
    ("123-45-67890", None),
    ("0123-45-6789", None),
    ("1234-56-789", None),
    ("123/45/6789", None),
    ("123--45-6789", None),
    ("123-45-6789-", None),
    ("12345678", None),
];

const PHONES: Table = &[
    ("212-555-0123", Some("212-555-0123")),
    ("(212) 555-0123", Some("(212) 555-0123")),
    ("(212)555-0123", Some("(212)555-0123")),
    ("212.555.0123", Some("212.555.0123")),
    ("212 555 0123", Some("212 555 0123")),
    ("2125550123", Some("2125550123")),
    ("+1 212 555 0123", Some("+1 212 555 0123")),
    ("1-212-555-0123", Some("1-212-555-0123")),
    ("+12125550123", Some("+12125550123")),
    ("555-0123", Some("555-0123")),
    ("call 212 555 0123 now", Some("212 555 0123")),
    ("call me at (212) 555-0123, thanks", Some("(212) 555-0123")),
    ("tel:212-555-0123", Some("212-555-0123")),
    // An order number of seven digits, or eight starting with 1, reads as a number too.
    ("order 2345678", Some("2345678")),
    ("12345678", Some("12345678")),
    // Exchange or area starting with 0 or 1; wrong lengths; inside a longer token.
    ("212-155-0123", None),
    ("112-555-0123", None),
    ("212-555-01234", None),
    ("555-01234", None),
    ("155-0123", None),
    ("12345", None),
    ("2024-05-06", None),
    ("#212-555-0123", None),
    ("212-555-0123-", None),
    ("2125550123456", None),
];

fn check(name: &str, regex: &str, table: Table) {
    let builtin = BUILTINS
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no built-in {name}"));
    assert_eq!(builtin.regex, regex);
    for seek in [true, false] {
        let def = builtin.def();
        let rule = if seek {
            Rule::compile(def, &Limits::DEFAULT)
        } else {
            Rule::compile_without_prefilter(def, &Limits::DEFAULT)
        }
        .unwrap_or_else(|e| panic!("{e}"));
        for (text, want) in table {
            let found: Vec<&str> = rule
                .find(text, 10)
                .unwrap_or_else(|e| panic!("{name} on {text:?}: {e}"))
                .into_iter()
                .map(|(s, e)| &text[s..e])
                .collect();
            let want: Vec<&str> = want.iter().copied().collect();
            assert_eq!(found, want, "{name} (seek {seek}) on {text:?}");
        }
    }
}

#[test]
fn credit_cards() {
    check("GCTI_CreditCards", CREDIT_CARDS, CARDS);
}

#[test]
fn social_security_numbers() {
    check("GCTI_SSN", SSN, SSNS);
}

#[test]
fn nanpa_phone_numbers() {
    check("GCTI_PhoneNANPA", PHONE_NANPA, PHONES);
}

#[test]
fn every_rule_is_bounded_the_same_way() {
    for b in BUILTINS {
        assert!(b.regex.starts_with(BEFORE), "{}", b.name);
        assert!(b.regex.ends_with(AFTER), "{}", b.name);
    }
    let orders: Vec<u32> = BUILTINS.iter().map(|b| b.order).collect();
    assert_eq!(orders, [1, 2, 3]);
}

#[test]
fn the_default_set_masks_a_message_with_all_three() {
    let set = RuleSet::compile(builtin_rules(), Style::default()).expect("built-ins compile");
    let text = "Card 4111 1111 1111 1111, SSN 123-45-6789, phone (212) 555-0123.";
    let masked = set.mask(text);
    assert_eq!(
        masked.text,
        "Card **** **** **** ****, SSN ***-**-****, phone (***) ***-****."
    );
    let hits: Vec<(&str, String, &str)> = masked
        .hits
        .iter()
        .map(|h| (h.rule.name.as_str(), h.position_key(), h.replaced.as_str()))
        .collect();
    assert_eq!(
        hits,
        [
            ("GCTI_CreditCards", "5-23".to_owned(), "digits"),
            ("GCTI_SSN", "30-40".to_owned(), "digits"),
            ("GCTI_PhoneNANPA", "49-62".to_owned(), "digits"),
        ]
    );
    let keys: Vec<String> = masked.by_rule().into_iter().map(|r| r.key).collect();
    assert_eq!(keys, ["rule-0001", "rule-0002", "rule-0003"]);
    // A 16 KiB message of digits and separators stays within the limits.
    for long in [
        "1".repeat(16384),
        "1 ".repeat(8192),
        "(212) 555-0123 ".repeat(250),
    ] {
        assert_eq!(set.mask(&long).failure, None);
    }
}
