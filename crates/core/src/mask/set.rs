//! An ordered set of compiled rules and the masking of a text with it.
//!
//! Rules run in order, each over the text the previous ones left: what an earlier rule
//! masked, a later one sees as replacement characters. Within a rule, matches are the
//! leftmost non-overlapping ones; an empty match masks nothing and is not a hit.

use std::borrow::Cow;

use super::masked::{fail_closed_meta, FailReason, Hit, MaskFailure, Masked};
use super::rule::{Limits, Rule, RuleDef, RuleError};
use super::spec::{Replaced, Spec};

/// How masked characters are written: `default-repchar` and `default-spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// The replacement character (`default-repchar`, `*`).
    pub repchar: char,
    /// The spec of rules without one of their own (`default-spec`, `digits`).
    pub default_spec: Spec,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            repchar: '*',
            default_spec: Spec::DIGITS,
        }
    }
}

/// An ordered set of compiled rules, with the style it masks in.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
    style: Style,
    limits: Limits,
    /// Masks every text whole: the rules could not be had ([`RuleSet::unavailable`]).
    whole: bool,
}

impl RuleSet {
    /// A set that masks nothing.
    pub fn empty(style: Style) -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            style,
            limits: Limits::DEFAULT,
            whole: false,
        }
    }

    /// A set that masks every text whole, for a session whose rules could not be read:
    /// failing closed, as a rule that cannot run to its end does.
    pub fn unavailable(style: Style) -> RuleSet {
        RuleSet {
            whole: true,
            ..RuleSet::empty(style)
        }
    }

    /// A set of rules compiled within `limits` (the same limits are used to mask).
    pub fn new(rules: Vec<Rule>, style: Style, limits: Limits) -> RuleSet {
        RuleSet {
            rules,
            style,
            limits,
            whole: false,
        }
    }

    /// Compiles `defs`, in order, within the default limits; the first rule that does
    /// not compile is the error, naming it.
    pub fn compile(
        defs: impl IntoIterator<Item = RuleDef>,
        style: Style,
    ) -> Result<RuleSet, RuleError> {
        let limits = Limits::DEFAULT;
        let rules = defs
            .into_iter()
            .map(|def| Rule::compile(def, &limits))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RuleSet::new(rules, style, limits))
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether the set masks nothing.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && !self.whole
    }

    /// The style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// `text` with every match of every rule masked, and the hits. Never panics, never
    /// takes longer than the limits allow; when a limit is reached the whole text is
    /// masked and [`Masked::failure`] says why.
    pub fn mask(&self, text: &str) -> Masked {
        if self.whole {
            return self.fail_closed(text, None, FailReason::RulesUnavailable);
        }
        if self.rules.is_empty() {
            return Masked::unchanged(text);
        }
        if text.len() > self.limits.max_text_bytes {
            let reason = FailReason::TextTooLong {
                bytes: text.len(),
                max: self.limits.max_text_bytes,
            };
            return self.fail_closed(text, None, reason);
        }
        let mut current: Cow<'_, str> = Cow::Borrowed(text);
        let mut hits = Vec::new();
        for rule in &self.rules {
            let found = match rule.find(&current, self.limits.max_hits_per_rule) {
                Ok(found) => found,
                Err(reason) => return self.fail_closed(text, Some(rule), reason),
            };
            if found.is_empty() {
                continue;
            }
            let spec = rule.spec().unwrap_or(self.style.default_spec);
            let mut out = String::with_capacity(current.len());
            let (mut done, mut position) = (0, 0);
            for (start, end) in found {
                let before = &current[done..start];
                out.push_str(before);
                position += before.chars().count();
                let span = &current[start..end];
                let chars = span.chars().count();
                spec.apply(span, self.style.repchar, &mut out);
                hits.push(Hit {
                    rule: rule.meta().clone(),
                    start: position,
                    end: position + chars - 1,
                    replaced: spec.replaced(),
                });
                position += chars;
                done = end;
            }
            out.push_str(&current[done..]);
            current = Cow::Owned(out);
        }
        Masked {
            text: current.into_owned(),
            hits,
            failure: None,
        }
    }

    /// Every character of `text` masked, with one hit over all of it.
    fn fail_closed(&self, text: &str, rule: Option<&Rule>, reason: FailReason) -> Masked {
        let chars = text.chars().count();
        let hits = if chars == 0 {
            Vec::new()
        } else {
            vec![Hit {
                rule: fail_closed_meta(),
                start: 0,
                end: chars - 1,
                replaced: Replaced::All,
            }]
        };
        Masked {
            text: std::iter::repeat_n(self.style.repchar, chars).collect(),
            hits,
            failure: Some(MaskFailure {
                rule: rule.map(|r| r.meta().clone()),
                reason,
            }),
        }
    }
}
