//! The built-in rules: the seed's "Default Rules if No Configuration is Provided", used
//! when `apply-config` is `cfg`, or `mix` and the tenant has no stored rules.
//!
//! The seed's copy of the expressions lost characters in conversion; each is rebuilt
//! here (the reasoning is in docs/decisions.md, "Masking rules") and pinned by a table of
//! positive and negative examples in `tests/builtin.rs`:
//!
//! - every `|` became a space (`(?>^ (?<=...))`): the alternations are restored;
//! - `$` became `\$` (`(?>\$ (?=...))`), a literal dollar sign that makes no sense as the
//!   alternative of a lookahead: it is the end anchor;
//! - separators `[- ]` and `[- .]` lost their contents (`[]?`, `[-]?`): restored as the
//!   one the same rule kept (`[- .]` in the phone rule, `[- ]` elsewhere);
//! - the card rule lost its first prefix and a digit of its last one (`(? d{3}`,
//!   `6 d{2}`: Visa `4\d{3}` and Discover `65\d{2}`), and a page break swallowed a group
//!   of four digits and the `'` of its lookahead: a card number is 16 digits;
//! - the SSN rule lost `d{3}[- ` (`9)\]?`) and one `0` of `(?!0000)`, the rule that no
//!   serial number is 0000 (`(?!000)` would also let 0001 to 0009 through unmasked).
//!
//! Each rule is bounded by the same "not inside a longer token" assertions: a number
//! starts at the start of the text or after whitespace, an ASCII letter or one of
//! `(),.:;?!"'` and a backquote, and ends at the end of the text or before one of those.

use super::rule::{RuleDef, RuleMeta};

/// What may stand before a match: the start, or whitespace, a letter, punctuation.
pub const BEFORE: &str = r#"(?>^|(?<=[\s[:alpha:](),.:;?!"'`]))"#;
/// What may stand after a match: the end, or whitespace, a letter, punctuation.
pub const AFTER: &str = r#"(?>$|(?=[\s[:alpha:](),.:;?!"'`]))"#;

/// `GCTI_CreditCards`: 16-digit Visa, Mastercard (51-55), Discover (6011, 622x, 65xx)
/// numbers, in groups of four optionally separated by `-` or a space.
pub const CREDIT_CARDS: &str = concat!(
    r#"(?>^|(?<=[\s[:alpha:](),.:;?!"'`]))"#,
    r"(?:4\d{3}|5[1-5]\d{2}|6011|622[1-9]|65\d{2})[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}",
    r#"(?>$|(?=[\s[:alpha:](),.:;?!"'`]))"#
);

/// `GCTI_SSN`: US Social Security numbers, `AAA-GG-SSSS` with `-`, a space or nothing
/// between the groups; no area 000, 666 or 9xx, no group 00, no serial 0000.
pub const SSN: &str = concat!(
    r#"(?>^|(?<=[\s[:alpha:](),.:;?!"'`]))"#,
    r"(?!000|666|9)\d{3}[- ]?(?!00)\d{2}[- ]?(?!0000)\d{4}",
    r#"(?>$|(?=[\s[:alpha:](),.:;?!"'`]))"#
);

/// `GCTI_PhoneNANPA`: North American numbers: an optional `+1`/`1`, an optional area
/// code (in parentheses or not), exchange and line, separated by `-`, `.`, a space or
/// nothing.
pub const PHONE_NANPA: &str = concat!(
    r#"(?>^|(?<=[\s[:alpha:](),.:;?!"'`]))"#,
    r"(?:\+?1[- .]?)?(?:\(?[2-9][0-9]{2}\)?[- .]?)?[2-9][0-9]{2}[- .]?[0-9]{4}",
    r#"(?>$|(?=[\s[:alpha:](),.:;?!"'`]))"#
);

/// One built-in rule: the seed's order, name, description (its "Order" column) and
/// expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// Position among the built-in rules (1, 2, 3).
    pub order: u32,
    /// Name, also its id.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Regular expression.
    pub regex: &'static str,
}

/// The built-in rules, in their order.
pub const BUILTINS: [Builtin; 3] = [
    Builtin {
        order: 1,
        name: "GCTI_CreditCards",
        description: "Credit card",
        regex: CREDIT_CARDS,
    },
    Builtin {
        order: 2,
        name: "GCTI_SSN",
        description: "Social Security number",
        regex: SSN,
    },
    Builtin {
        order: 3,
        name: "GCTI_PhoneNANPA",
        description: "Phone number using the North American Numbering Plan",
        regex: PHONE_NANPA,
    },
];

impl Builtin {
    /// The built-in rule called `name`.
    pub fn named(name: &str) -> Option<&'static Builtin> {
        BUILTINS.iter().find(|b| b.name == name)
    }

    /// Its definition (id = name, the set's default spec).
    pub fn def(&self) -> RuleDef {
        RuleDef {
            meta: RuleMeta {
                id: self.name.to_owned(),
                name: self.name.to_owned(),
                description: self.description.to_owned(),
            },
            regex: self.regex.to_owned(),
            spec: None,
        }
    }
}

/// The definitions of the built-in rules, in order.
pub fn builtin_rules() -> Vec<RuleDef> {
    BUILTINS.iter().map(Builtin::def).collect()
}
