//! Unit tests of masking: the built-in rules' tables, specs, rule sets, the policy.

mod builtin;
mod policy;
mod set;
mod spec;

use super::{Limits, Rule, RuleDef, RuleMeta, RuleSet, Spec, Style};

/// A rule definition named `name` (id `id-<name>`).
fn def(name: &str, regex: &str, spec: Option<Spec>) -> RuleDef {
    RuleDef {
        meta: RuleMeta {
            id: format!("id-{name}"),
            name: name.to_owned(),
            description: format!("finds {name}"),
        },
        regex: regex.to_owned(),
        spec,
    }
}

/// A rule that must compile.
fn rule(name: &str, regex: &str, spec: Option<Spec>) -> Rule {
    Rule::compile(def(name, regex, spec), &Limits::DEFAULT)
        .unwrap_or_else(|e| panic!("fixture rule: {e}"))
}

/// A set of the given rules, `*` and `digits`.
fn set(rules: Vec<Rule>) -> RuleSet {
    RuleSet::new(rules, Style::default(), Limits::DEFAULT)
}
