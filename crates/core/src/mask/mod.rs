//! Masking sensitive data (the seed's "Masking Sensitive Data", `[transcript-cleanup]`):
//! ordered rules of Perl-compatible regular expressions whose matches are replaced by a
//! replacement character, as pure text transforms, and the option values that say where
//! and for whom masking applies.
//!
//! - `rule.rs`    [`Rule`] (compiled, bounded by [`Limits`]), [`RuleDef`], [`RuleMeta`],
//!   [`RuleError`] naming the rule refused
//! - `spec.rs`    [`Spec`]: `all`, `digits`, `digits,keep-last=N`
//! - `set.rs`     [`RuleSet`]: the ordered rules and [`RuleSet::mask`]; [`Style`]
//!   (`default-repchar`, `default-spec`)
//! - `masked.rs`  [`Masked`] and its [`Hit`]s: character positions, `start-end`
//!   inclusive, as `GCTI_SYSTEM/pii-cleanup` reports them; failing closed
//! - `builtin.rs` the built-in rules `GCTI_CreditCards`, `GCTI_SSN`, `GCTI_PhoneNANPA`
//! - `preview.rs` [`mask_digits`] for typing previews
//! - `policy.rs`  [`MaskPolicy`]: the option values and the decisions delivery asks of
//!   them, who is shown a message in clear among them
//!
//! Matching is bounded so that no rule and no message can stall a session: a text over
//! [`Limits::max_text_bytes`] is not searched, each search stops after
//! [`Limits::backtrack_limit`] backtracking steps, and a rule may hit at most
//! [`Limits::max_hits_per_rule`] times. Reaching a limit masks the whole text (fails
//! closed) and says so in [`Masked::failure`], for the shell to log (by rule, never with
//! the text).

mod builtin;
mod masked;
mod policy;
mod preview;
mod rule;
mod set;
mod spec;
#[cfg(test)]
mod tests;

pub use builtin::{builtin_rules, Builtin, AFTER, BEFORE, BUILTINS};
pub use builtin::{CREDIT_CARDS, PHONE_NANPA, SSN};
pub use masked::{by_rule, FailReason, Hit, MaskFailure, Masked, RuleHits, FAIL_CLOSED_ID};
pub use policy::{
    ApplyArea, ApplyConfig, CleanSubject, LiveView, MaskPolicy, PartyFacts, TypingPart,
    TypingPreview,
};
pub use preview::mask_digits;
pub use rule::{Limits, Rule, RuleDef, RuleError, RuleMeta};
pub use set::{RuleSet, Style};
pub use spec::{Replaced, Spec, SpecError};
