//! The declarations of `[transcript-cleanup]` (the Genesys section: masking sensitive
//! data) and `[transcript-cleanup-rules.<name>]` (Parley's own: rules in the file), their
//! checks, and the `cfg` rule list they make with the built-in rules.

use parley_core::mask::{
    ApplyArea, ApplyConfig, Builtin, CleanSubject, Limits, MaskPolicy, Rule, RuleDef, RuleMeta,
    Spec, Style, TypingPreview,
};

use super::declare::{config_section, DeclaredSection};
use super::validate::{ranges, show_str};
use super::{Config, ConfigProblem};

/// The order of a file rule that sets none: after the built-in rules (1 to 3).
pub const DEFAULT_RULE_ORDER: u32 = 100;

/// What a rule name (the table key) may be.
pub const RULE_NAME_RULE: &str = "rule names must be 1 to 64 ASCII letters, digits, - or _";

config_section! {
    /// The Genesys Chat Server [transcript-cleanup] section: masking sensitive data (card,
    /// social security and phone numbers, ...) in chat messages, transcripts and typing
    /// previews. Each chat message is examined with an ordered set of regular expressions
    /// (Perl syntax), and what they match is replaced by default-repchar as default-spec
    /// says. The rules come from apply-config: the built-in GCTI_CreditCards, GCTI_SSN and
    /// GCTI_PhoneNANPA with those of [transcript-cleanup-rules.<name>], or each tenant's
    /// rules managed with the admin API (/admin/v1/masking-rules). docs/privacy.md, "Masking
    /// rules", explains every option with examples.
    #[section("transcript-cleanup")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TranscriptCleanup {
        /// Where masking applies:
        ///   always        = live, for every party (see unmask-live-dialog), and in the
        ///                   transcripts saved while the chat goes on and at its end;
        ///   history-all   = in the saved transcripts only (a session restored after a
        ///                   failover is rebuilt from them, so it is masked live too);
        ///   history-final = in the final transcript only;
        ///   never         = nowhere.
        #[option("apply-area", Choice("always", "history-all", "history-final", "never"),
            default = "never", example = "always")]
        pub apply_area: ApplyArea,

        /// Where the rules come from:
        ///   cfg = the built-in rules and those of [transcript-cleanup-rules.<name>];
        ///   ucs = the tenant's rules stored with the admin API (none stored: nothing is
        ///         masked);
        ///   mix = the tenant's stored rules if it has any (enabled or not), else as cfg.
        #[option("apply-config", Choice("cfg", "mix", "ucs"), default = "mix")]
        pub apply_config: ApplyConfig,

        /// Whether the chat's subject is masked too: never; history = in the stored
        /// interaction record and contact history; interaction = in the live interaction
        /// (routing, the desktop, webhooks); both.
        #[option("clean-subject", Choice("never", "history", "interaction", "both"),
            default = "never")]
        pub clean_subject: CleanSubject,

        /// The replacement character: the first character of the value. Not a digit (masked
        /// text would read as data) nor a control character.
        #[option("default-repchar", Str, default = "*")]
        pub default_repchar: String,

        /// How a match is replaced, for rules without a spec of their own:
        ///   all                = every character of the match;
        ///   digits             = only its digits (4111-1111 becomes ****-****);
        ///   digits,keep-last=N = its digits but the last N (0 to 32).
        #[option("default-spec", Str, default = "digits", example = "digits,keep-last=4")]
        pub default_spec: String,

        /// Which typing previews agents see with every digit replaced by default-repchar
        /// (whatever apply-area says): message = previews sent as the message part of a typing
        /// notification; notice = as the notice text; any = both; none = neither.
        #[option("typing-preview", Choice("any", "message", "notice", "none"),
            default = "none")]
        pub typing_preview: TypingPreview,

        /// Whether bots (parties with GCTI_Chat_SetPartyStyle=BOT) are shown customers'
        /// messages in clear when apply-area is always, as active agents are with
        /// unmask-live-dialog.
        #[option("allow-bot-unmask", Bool, default = false)]
        pub allow_bot_unmask: bool,

        /// With apply-area always: whether active agents (those visible to the customer, not
        /// monitors or coaches) see in clear what customers send while they are in the chat,
        /// and the customer its own messages then. Everything sent before an agent joined
        /// stays masked for it; stored transcripts are masked throughout.
        #[option("unmask-live-dialog", Bool, default = false)]
        pub unmask_live_dialog: bool,
    }
}

config_section! {
    /// Parley's own. One section per masking rule of apply-config cfg (and mix, for
    /// tenants without stored rules), run with the built-in rules in order. A section named
    /// like a built-in rule (GCTI_CreditCards, GCTI_SSN, GCTI_PhoneNANPA) changes it: its
    /// order, spec, description, regex, or enabled = false to turn it off. Any other
    /// section is a new rule and needs a regex. A rule that does not compile is refused at
    /// start, naming it.
    ///
    /// Default: no section (the built-in rules alone). An example:
    #[section("transcript-cleanup-rules", key = "name", example_key = "AccountNumbers")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CleanupRuleConfig {
        /// The regular expression, in Perl syntax (lookbehind, atomic groups and
        /// backreferences work); at most 2048 bytes. In TOML, prefer a literal string
        /// ('...'), where a backslash is itself.
        #[option("regex", Str, unset, example = "\\bACCT-\\d{8}\\b")]
        pub regex: Option<String>,

        /// What the rule finds, shown with its hits (GCTI_SYSTEM/pii-cleanup).
        #[option("description", Str, unset, example = "Account number")]
        pub description: Option<String>,

        /// How its matches are replaced, as default-spec (all, digits, digits,keep-last=N);
        /// unset takes default-spec.
        #[option("spec", Str, unset, example = "all")]
        pub spec: Option<String>,

        /// Its place among the rules: lower runs first, equal ones by name. The built-in
        /// rules are 1, 2 and 3; a new rule that sets none is 100.
        #[option("order", Int(0..=1_000_000), unset, example = 10)]
        pub order: Option<u32>,

        /// Whether the rule masks.
        #[option("enabled", Bool, default = true)]
        pub enabled: bool,
    }
}

impl TranscriptCleanup {
    /// The replacement character (the first of `default-repchar`; `*` if it is empty,
    /// which `validate()` refuses).
    pub fn repchar(&self) -> char {
        self.default_repchar.chars().next().unwrap_or('*')
    }

    /// `default-spec` (`digits` if it does not parse, which `validate()` refuses).
    pub fn spec(&self) -> Spec {
        self.default_spec.parse().unwrap_or_default()
    }

    /// The options as the core's masking policy.
    pub fn policy(&self) -> MaskPolicy {
        MaskPolicy {
            apply_area: self.apply_area,
            clean_subject: self.clean_subject,
            typing_preview: self.typing_preview,
            unmask_live_dialog: self.unmask_live_dialog,
            allow_bot_unmask: self.allow_bot_unmask,
            style: Style {
                repchar: self.repchar(),
                default_spec: self.spec(),
            },
        }
    }
}

/// One rule of the `cfg` list, with the order it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedRule {
    /// Its order.
    pub order: u32,
    /// Whether it masks.
    pub enabled: bool,
    /// The rule.
    pub def: RuleDef,
}

impl Config {
    /// The rules of `apply-config = "cfg"`, enabled or not: the built-in rules as
    /// `[transcript-cleanup-rules.<name>]` changes them, and the file's own, by order then
    /// name. Rules whose spec does not parse take the default (`validate()` refuses them).
    pub fn cleanup_rules(&self) -> Vec<OrderedRule> {
        let mut out: Vec<OrderedRule> = Vec::new();
        for builtin in parley_core::mask::BUILTINS {
            let mut rule = OrderedRule {
                order: builtin.order,
                enabled: true,
                def: builtin.def(),
            };
            if let Some(c) = self.transcript_cleanup_rules.get(builtin.name) {
                rule.order = c.order.unwrap_or(builtin.order);
                rule.enabled = c.enabled;
                if let Some(regex) = &c.regex {
                    rule.def.regex.clone_from(regex);
                }
                if let Some(description) = &c.description {
                    rule.def.meta.description.clone_from(description);
                }
                rule.def.spec = c.spec.as_deref().and_then(|s| s.parse().ok());
            }
            out.push(rule);
        }
        for (name, c) in &self.transcript_cleanup_rules {
            if Builtin::named(name).is_some() {
                continue;
            }
            out.push(OrderedRule {
                order: c.order.unwrap_or(DEFAULT_RULE_ORDER),
                enabled: c.enabled,
                def: RuleDef {
                    meta: RuleMeta {
                        id: format!("cfg:{name}"),
                        name: name.clone(),
                        description: c.description.clone().unwrap_or_default(),
                    },
                    regex: c.regex.clone().unwrap_or_default(),
                    spec: c.spec.as_deref().and_then(|s| s.parse().ok()),
                },
            });
        }
        out.sort_by(|a, b| (a.order, &a.def.meta.name).cmp(&(b.order, &b.def.meta.name)));
        out
    }
}

/// Whether `name` may name a masking rule (a file rule's table key, a stored rule's
/// name).
pub fn valid_rule_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why `repchar` may not be the replacement character, if it may not.
pub(crate) fn repchar_problem(repchar: &str) -> Option<&'static str> {
    match repchar.chars().next() {
        None => Some("must not be empty (its first character replaces masked ones)"),
        Some(c) if c.is_numeric() => {
            Some("must not start with a digit: masked text would read as data")
        }
        Some(c) if c.is_control() => Some("must not start with a control character"),
        Some(_) => None,
    }
}

/// The problems of `[transcript-cleanup]` and `[transcript-cleanup-rules.<name>]`.
pub(super) fn problems(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = <TranscriptCleanup as DeclaredSection>::SPEC.name;
    const RULES: &str = <CleanupRuleConfig as DeclaredSection>::SPEC.name;
    let c = &config.transcript_cleanup;
    ranges(c, p);
    if let Some(why) = repchar_problem(&c.default_repchar) {
        p.push(ConfigProblem::new(SECTION, "default-repchar", why));
    }
    if let Err(e) = c.default_spec.parse::<Spec>() {
        p.push(ConfigProblem::new(SECTION, "default-spec", e.to_string()));
    }
    for (name, rule) in &config.transcript_cleanup_rules {
        let section = format!("{RULES}.{name}");
        rule.range_problems(&section, p);
        if !valid_rule_name(name) {
            p.push(ConfigProblem::new(
                RULES,
                format!("{name:?}"),
                format!("{} is not a rule name: {RULE_NAME_RULE}", show_str(name)),
            ));
        }
        if let Some(Err(e)) = rule.spec.as_deref().map(str::parse::<Spec>) {
            p.push(ConfigProblem::new(&section, "spec", e.to_string()));
        }
        if rule.regex.is_none() && Builtin::named(name).is_none() {
            p.push(ConfigProblem::new(
                &section,
                "regex",
                "missing; a rule that does not change a built-in one needs a regex",
            ));
        }
        // A rule the file writes must compile (a disabled one too, so that enabling it
        // later cannot fail); the message names the rule.
        if let Some(regex) = &rule.regex {
            let def = RuleDef {
                meta: RuleMeta {
                    id: format!("cfg:{name}"),
                    name: name.clone(),
                    description: String::new(),
                },
                regex: regex.clone(),
                spec: None,
            };
            if let Err(e) = Rule::compile(def, &Limits::DEFAULT) {
                p.push(ConfigProblem::new(&section, "regex", e.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Config {
        Config::from_toml_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_defaults_are_the_references() {
        let c = Config::default();
        let t = &c.transcript_cleanup;
        assert_eq!(t.apply_area, ApplyArea::Never);
        assert_eq!(t.apply_config, ApplyConfig::Mix);
        assert_eq!(t.clean_subject, CleanSubject::Never);
        assert_eq!(t.typing_preview, TypingPreview::None);
        assert_eq!((t.repchar(), t.spec()), ('*', Spec::DIGITS));
        assert!(!t.allow_bot_unmask && !t.unmask_live_dialog);
        assert_eq!(t.policy(), MaskPolicy::default());
        let names: Vec<String> = c
            .cleanup_rules()
            .into_iter()
            .map(|r| r.def.meta.name)
            .collect();
        assert_eq!(names, ["GCTI_CreditCards", "GCTI_SSN", "GCTI_PhoneNANPA"]);
    }

    #[test]
    fn file_rules_join_and_change_the_built_in_ones() {
        let c = load(
            "[transcript-cleanup]\napply-area = \"history-all\"\ndefault-repchar = \"#x\"\n\
             default-spec = \"all\"\n\
             [transcript-cleanup-rules.GCTI_SSN]\nenabled = false\n\
             [transcript-cleanup-rules.GCTI_PhoneNANPA]\norder = 0\nspec = \"digits,keep-last=4\"\n\
             [transcript-cleanup-rules.Zeta]\nregex = 'z\\d+'\n\
             [transcript-cleanup-rules.Alpha]\nregex = 'a\\d+'\ndescription = \"A\"\n\
             [transcript-cleanup-rules.Early]\nregex = 'e\\d+'\norder = 2\n",
        );
        let p = c.transcript_cleanup.policy();
        assert_eq!(
            (p.apply_area, p.style.repchar),
            (ApplyArea::HistoryAll, '#')
        );
        assert_eq!(p.style.default_spec, Spec::All);
        let rules = c.cleanup_rules();
        let shown: Vec<(u32, &str, &str, bool)> = rules
            .iter()
            .map(|r| {
                (
                    r.order,
                    r.def.meta.id.as_str(),
                    r.def.meta.name.as_str(),
                    r.enabled,
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (0, "GCTI_PhoneNANPA", "GCTI_PhoneNANPA", true),
                (1, "GCTI_CreditCards", "GCTI_CreditCards", true),
                (2, "cfg:Early", "Early", true),
                (2, "GCTI_SSN", "GCTI_SSN", false),
                (100, "cfg:Alpha", "Alpha", true),
                (100, "cfg:Zeta", "Zeta", true),
            ]
        );
        assert_eq!(rules[0].def.spec, Some(Spec::Digits { keep_last: 4 }));
        assert_eq!(rules[0].def.regex, parley_core::mask::PHONE_NANPA);
        assert_eq!(rules[4].def.meta.description, "A");
        assert_eq!(rules[4].def.regex, "a\\d+");
    }

    #[test]
    fn problems_name_the_option_and_the_rule() {
        let err = Config::from_toml_str(
            "[transcript-cleanup]\ndefault-repchar = \"\"\n\
             [transcript-cleanup-rules.\"bad name\"]\nregex = 'x'\n\
             [transcript-cleanup-rules.Broken]\nregex = '(x'\nenabled = false\n",
        )
        .expect_err("problems");
        let lines: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("[transcript-cleanup] default-repchar")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("\"bad name\" is not a rule name")),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "[transcript-cleanup-rules.Broken] regex: rule Broken: the regex does not compile"
            )),
            "{lines:#?}"
        );
        let env = [(
            "PARLEY_TRANSCRIPT_CLEANUP__APPLY_AREA".to_owned(),
            "always".to_owned(),
        )];
        let c = Config::load(None, env, &super::super::CliOverrides::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.transcript_cleanup.apply_area, ApplyArea::Always);
    }
}
