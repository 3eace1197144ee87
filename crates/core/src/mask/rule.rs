//! One masking rule: a Perl-compatible regular expression (`fancy-regex`: lookbehind,
//! atomic groups, backreferences) with its identity and, optionally, its own spec.
//!
//! A rule is compiled once, when it is defined (configuration load, admin API) or loaded,
//! so a rule that does not compile is refused there with an error naming it, and matching
//! a message never compiles anything. Compilation is bounded ([`Limits`]): the source
//! length, the size of the compiled program and of the automata it delegates to.

use std::fmt;
use std::sync::Arc;

use super::masked::FailReason;
use super::spec::Spec;

/// Bounds on rules and on matching, so that no rule and no message can stall the party
/// that masks (a session actor, a transcript save).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest regex source accepted, in bytes.
    pub max_regex_bytes: usize,
    /// Longest text matched, in bytes; a longer text is masked whole (fail closed)
    /// without running any rule.
    pub max_text_bytes: usize,
    /// `fancy-regex`'s backtrack limit for one search (one match found or not): a search
    /// that backtracks more fails, and the text is masked whole.
    pub backtrack_limit: usize,
    /// Most matches one rule may have in one text; more mask the text whole. Together
    /// with `backtrack_limit` this bounds the work of a rule on a text.
    pub max_hits_per_rule: usize,
}

impl Limits {
    /// The limits Parley uses: a regex of 2 KiB; a text of 1 MiB (the largest
    /// `max-message-size`); 100,000 backtracking steps per search, a few milliseconds,
    /// where the built-in rules need under 50,000 on the worst 16 KiB messages (a run of
    /// digits); 256 matches per rule and text. A rule written to backtrack to the limit
    /// at every match costs at most 256 searches: the admin API's `test` call shows an
    /// operator such a rule failing before it is used.
    pub const DEFAULT: Limits = Limits {
        max_regex_bytes: 2048,
        max_text_bytes: 1024 * 1024,
        backtrack_limit: 100_000,
        max_hits_per_rule: 256,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Size bound of each automaton a rule delegates to (the `regex-automata` part of
/// `fancy-regex`), and of its lazy DFA cache.
const DELEGATE_SIZE_LIMIT: usize = 1024 * 1024;
/// Most instructions in a rule's backtracking program.
const MAX_PROG_SIZE: usize = 20_000;

/// A rule's identity, as `GCTI_SYSTEM/pii-cleanup` reports it with each hit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RuleMeta {
    /// Stable id: the built-in rule's name, `cfg:<name>` for a configuration-file rule,
    /// the stored id for a rule of the database.
    pub id: String,
    /// Name shown to people (`GCTI_CreditCards`).
    pub name: String,
    /// What it finds, for people.
    pub description: String,
}

/// A rule as defined, before it is compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDef {
    /// Its identity.
    pub meta: RuleMeta,
    /// The regular expression (Perl 5 syntax as `fancy-regex` reads it).
    pub regex: String,
    /// Its own spec; `None` takes the rule set's `default-spec`.
    pub spec: Option<Spec>,
}

/// Why a rule was refused. Every variant names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The regex is empty (it would match everywhere and nothing).
    #[error("rule {name}: the regex is empty")]
    Empty {
        /// The rule's name.
        name: String,
    },
    /// The regex is longer than [`Limits::max_regex_bytes`].
    #[error("rule {name}: the regex is longer than {max} bytes")]
    TooLong {
        /// The rule's name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// The regex does not compile, or compiles to more than the limits allow.
    #[error("rule {name}: the regex does not compile: {reason}")]
    Invalid {
        /// The rule's name.
        name: String,
        /// What the regex engine said.
        reason: String,
    },
}

impl RuleError {
    /// The name of the rule refused.
    pub fn rule_name(&self) -> &str {
        match self {
            RuleError::Empty { name }
            | RuleError::TooLong { name, .. }
            | RuleError::Invalid { name, .. } => name,
        }
    }
}

/// A compiled rule.
#[derive(Clone)]
pub struct Rule {
    meta: Arc<RuleMeta>,
    source: String,
    spec: Option<Spec>,
    regex: fancy_regex::Regex,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("meta", &self.meta)
            .field("regex", &self.source)
            .field("spec", &self.spec)
            .finish()
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.meta == other.meta && self.source == other.source && self.spec == other.spec
    }
}

impl Rule {
    /// Compiles `def` within `limits`; the error names the rule.
    pub fn compile(def: RuleDef, limits: &Limits) -> Result<Rule, RuleError> {
        Rule::build(def, limits, true)
    }

    /// As [`Rule::compile`], without `fancy-regex`'s seek prefilter: the reference the
    /// tests check the prefilter against (it must never skip a match).
    #[doc(hidden)]
    pub fn compile_without_prefilter(def: RuleDef, limits: &Limits) -> Result<Rule, RuleError> {
        Rule::build(def, limits, false)
    }

    fn build(def: RuleDef, limits: &Limits, seek: bool) -> Result<Rule, RuleError> {
        let name = def.meta.name.clone();
        if def.regex.trim().is_empty() {
            return Err(RuleError::Empty { name });
        }
        if def.regex.len() > limits.max_regex_bytes {
            return Err(RuleError::TooLong {
                name,
                max: limits.max_regex_bytes,
            });
        }
        // The seek prefilter (a regular over-approximation of the rule, run by the
        // automata before the backtracking VM) makes a rule that finds nothing in a
        // message cost a scan, not a backtracking attempt at every position: about 50
        // times faster on chat messages.
        let regex = fancy_regex::RegexBuilder::new(&def.regex)
            .backtrack_limit(limits.backtrack_limit)
            .delegate_size_limit(DELEGATE_SIZE_LIMIT)
            .delegate_dfa_size_limit(DELEGATE_SIZE_LIMIT)
            .max_prog_size(MAX_PROG_SIZE)
            .seek(seek)
            .build()
            .map_err(|e| RuleError::Invalid {
                name,
                reason: e.to_string(),
            })?;
        Ok(Rule {
            meta: Arc::new(def.meta),
            source: def.regex,
            spec: def.spec,
            regex,
        })
    }

    /// Its identity.
    pub fn meta(&self) -> &Arc<RuleMeta> {
        &self.meta
    }

    /// Its regex source.
    pub fn regex(&self) -> &str {
        &self.source
    }

    /// Its own spec, if it has one.
    pub fn spec(&self) -> Option<Spec> {
        self.spec
    }

    /// Byte ranges of the non-empty, non-overlapping matches in `text`, leftmost first;
    /// `Err` when a search failed (backtracked past the limit) or found more than
    /// `max_hits`.
    pub(super) fn find(
        &self,
        text: &str,
        max_hits: usize,
    ) -> Result<Vec<(usize, usize)>, FailReason> {
        let mut found = Vec::new();
        for m in self.regex.find_iter(text) {
            let m = m.map_err(|e| FailReason::Search(e.to_string()))?;
            // An empty match masks nothing; the iterator moves past it by itself.
            if m.start() == m.end() {
                continue;
            }
            if found.len() == max_hits {
                return Err(FailReason::TooManyHits { max: max_hits });
            }
            found.push((m.start(), m.end()));
        }
        Ok(found)
    }
}
