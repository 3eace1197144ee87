//! What masking a text gives: the masked text, the hits (which rule masked which
//! characters, and how), and whether the masking failed closed.
//!
//! Positions are what `GCTI_SYSTEM/pii-cleanup` reports (`'70-81'={'replaced'='digits'}`
//! in the seed): **character** positions (Unicode scalar values, what the seed's
//! `message-log-print-size` counts too), counted from 0, `start-end` with **both ends
//! inclusive**. The seed's `70-81` is twelve characters, a NANPA number such as
//! `555-123-4567`. Masking replaces a character by one character, so a position means
//! the same in the original and in the masked text.

use std::fmt;
use std::sync::Arc;

use super::rule::RuleMeta;
use super::spec::Replaced;

/// Characters a rule found and masked. Kept with a message's event (stored with it), so
/// the rule's identity travels with the positions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// The rule.
    pub rule: Arc<RuleMeta>,
    /// Position of the first character (from 0).
    pub start: usize,
    /// Position of the last character (inclusive).
    pub end: usize,
    /// What was replaced.
    pub replaced: Replaced,
}

impl Hit {
    /// The `start-end` key of `pii-cleanup` positions (`70-81`).
    pub fn position_key(&self) -> String {
        format!("{}-{}", self.start, self.end)
    }

    /// How many characters the hit spans.
    pub fn len(&self) -> usize {
        self.end + 1 - self.start
    }

    /// Never: a hit spans at least one character (empty matches are skipped).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Why masking failed closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailReason {
    /// The text is longer than [`super::Limits::max_text_bytes`].
    TextTooLong {
        /// Its length.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A search failed: it backtracked past [`super::Limits::backtrack_limit`].
    Search(String),
    /// A rule matched more than [`super::Limits::max_hits_per_rule`] times.
    TooManyHits {
        /// The limit.
        max: usize,
    },
    /// The rules that apply could not be had (the store failed), so none ran.
    RulesUnavailable,
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::TextTooLong { bytes, max } => {
                write!(
                    f,
                    "the text has {bytes} bytes, more than the {max} masking reads"
                )
            }
            FailReason::Search(e) => write!(f, "the search failed: {e}"),
            FailReason::TooManyHits { max } => write!(f, "more than {max} matches"),
            FailReason::RulesUnavailable => f.write_str("the masking rules could not be read"),
        }
    }
}

/// A masking that could not be completed. The text was then masked whole (every
/// character replaced): a rule that cannot be run to the end might have found anything,
/// so nothing is left in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskFailure {
    /// The rule whose search failed; `None` when no rule ran (text too long).
    pub rule: Option<Arc<RuleMeta>>,
    /// Why.
    pub reason: FailReason,
}

impl fmt::Display for MaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "rule {}: {}", rule.name, self.reason),
            None => self.reason.fmt(f),
        }
    }
}

/// The identity the hit of a failed-closed masking carries.
pub const FAIL_CLOSED_ID: &str = "PARLEY_FailClosed";

pub(super) fn fail_closed_meta() -> Arc<RuleMeta> {
    Arc::new(RuleMeta {
        id: FAIL_CLOSED_ID.to_owned(),
        name: FAIL_CLOSED_ID.to_owned(),
        description: "masking could not be completed, so the whole text was masked".to_owned(),
    })
}

/// A masked text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    /// The text with every hit masked.
    pub text: String,
    /// The hits, rule by rule in the rule set's order, left to right within a rule.
    pub hits: Vec<Hit>,
    /// Set when masking failed closed (then `hits` is one hit over the whole text).
    pub failure: Option<MaskFailure>,
}

/// The hits of one rule, as one `rule-NNNN` entry of `pii-cleanup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHits<'a> {
    /// `rule-0001`, `rule-0002`, ... in the order the rules hit.
    pub key: String,
    /// The rule.
    pub rule: &'a RuleMeta,
    /// Its hits, left to right.
    pub hits: Vec<&'a Hit>,
}

impl Masked {
    /// A text no rule matched.
    pub fn unchanged(text: &str) -> Masked {
        Masked {
            text: text.to_owned(),
            hits: Vec::new(),
            failure: None,
        }
    }

    /// Whether any rule matched (the text may still read the same: `digits` on a match
    /// without digits).
    pub fn has_hits(&self) -> bool {
        !self.hits.is_empty()
    }

    /// What one viewer is shown of the text whose masking this is (`clear`): in clear,
    /// the original without hits (nothing was masked for it); otherwise the masked text
    /// with its hits. The per-viewer projection of a message.
    pub fn shown<'a>(&'a self, clear: &'a str, in_clear: bool) -> (&'a str, &'a [Hit]) {
        if in_clear {
            (clear, &[])
        } else {
            (&self.text, &self.hits)
        }
    }

    /// The hits grouped by rule, for `GCTI_SYSTEM/pii-cleanup`: one entry per rule that
    /// hit, keyed `rule-0001` upwards in rule order.
    pub fn by_rule(&self) -> Vec<RuleHits<'_>> {
        by_rule(&self.hits)
    }
}

/// `hits` (in the order masking gives them: rule by rule) grouped by rule, for
/// `GCTI_SYSTEM/pii-cleanup`: one entry per rule that hit, keyed `rule-0001` upwards.
/// Rules are told apart by id, so hits read back from the store group as they did live.
pub fn by_rule(hits: &[Hit]) -> Vec<RuleHits<'_>> {
    let mut out: Vec<RuleHits<'_>> = Vec::new();
    for hit in hits {
        match out.last_mut() {
            Some(last) if last.rule.id == hit.rule.id => last.hits.push(hit),
            _ => out.push(RuleHits {
                key: format!("rule-{:04}", out.len() + 1),
                rule: &hit.rule,
                hits: vec![hit],
            }),
        }
    }
    out
}
