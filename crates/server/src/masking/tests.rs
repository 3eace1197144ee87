//! `MaskRules` on a real (in-memory SQLite) store: each `apply-config`, the cache and
//! its invalidation, disabled and broken stored rules.

use parley_core::mask::ApplyConfig;
use parley_core::UnixMillis;
use parley_store::{AnyStore, MaskingRuleRecord, MaskingRuleStore, RuleWrite};

use super::{Masking, RuleSource};
use crate::config::Config;

async fn store() -> AnyStore {
    parley_store::open("sqlite::memory:")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn config(apply_config: &str) -> Config {
    Config::from_toml_str(&format!(
        "[transcript-cleanup]\napply-area = \"always\"\napply-config = \"{apply_config}\"\n\
         default-repchar = \"#\"\n\
         [transcript-cleanup-rules.Words]\nregex = 'secret'\nspec = \"all\"\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn record(id: &str, tenant: &str, regex: &str, enabled: bool) -> MaskingRuleRecord {
    MaskingRuleRecord {
        id: id.to_owned(),
        tenant: tenant.to_owned(),
        name: format!("rule {id}"),
        description: String::new(),
        regex: regex.to_owned(),
        spec: Some("all".to_owned()),
        position: 0,
        enabled,
        created_at: UnixMillis(1),
        updated_at: UnixMillis(1),
    }
}

async fn add(store: &AnyStore, r: &MaskingRuleRecord) {
    assert_eq!(
        store.create_masking_rule(r).await.expect("create"),
        RuleWrite::Saved
    );
}

const TEXT: &str = "secret 4111 1111 1111 1111 zz";

async fn masked(m: &Masking, tenant: &str) -> (String, RuleSource) {
    let rules = m
        .rules
        .rules_for(tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (rules.set.mask(TEXT).text, rules.source)
}

#[tokio::test]
async fn each_apply_config_picks_its_rules() {
    let store = store().await;
    add(&store, &record("mr-1", "acme", "z+", true)).await;
    add(&store, &record("mr-2", "off", "z+", false)).await;

    let cfg = Masking::new(&config("cfg"), store.clone()).expect("masking");
    assert_eq!(cfg.policy.apply_config, ApplyConfig::Cfg);
    assert!(
        cfg.policy.masks_live(),
        "the core's predicates through Deref"
    );
    let built_in = (
        "###### #### #### #### #### zz".to_owned(),
        RuleSource::Config,
    );
    assert_eq!(masked(&cfg, "acme").await, built_in);

    let mix = Masking::new(&config("mix"), store.clone()).expect("masking");
    let stored = (
        "secret 4111 1111 1111 1111 ##".to_owned(),
        RuleSource::Stored,
    );
    assert_eq!(masked(&mix, "acme").await, stored);
    assert_eq!(masked(&mix, "nobody").await, built_in);
    // A tenant whose rules are all disabled has stored rules: nothing is masked.
    assert_eq!(
        masked(&mix, "off").await,
        (TEXT.to_owned(), RuleSource::Stored)
    );

    let ucs = Masking::new(&config("ucs"), store.clone()).expect("masking");
    assert_eq!(masked(&ucs, "acme").await, stored);
    assert_eq!(
        masked(&ucs, "nobody").await,
        (TEXT.to_owned(), RuleSource::Stored)
    );
}

#[tokio::test]
async fn stored_rules_are_kept_until_invalidated() {
    let store = store().await;
    let m = Masking::new(&config("mix"), store.clone()).expect("masking");
    assert_eq!(masked(&m, "acme").await.1, RuleSource::Config);
    add(&store, &record("mr-1", "acme", "z+", true)).await;
    assert_eq!(
        masked(&m, "acme").await.1,
        RuleSource::Config,
        "read again only after the TTL"
    );
    m.rules.invalidate("acme");
    assert_eq!(masked(&m, "acme").await.1, RuleSource::Stored);

    // A stored rule that no longer compiles is an error naming it, not a silent skip.
    let broken = MaskingRuleRecord {
        spec: Some("most".to_owned()),
        ..record("mr-2", "broken", "x", true)
    };
    add(&store, &broken).await;
    let err = m.rules.rules_for("broken").await.expect_err("broken");
    assert!(err.to_string().contains("rule mr-2"), "{err}");
}

/// The file rules docs/privacy.md shows load and do what it says.
#[tokio::test]
async fn the_privacy_docs_example_rules_work() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/privacy.md"
    ))
    .expect("docs/privacy.md");
    let block = doc
        .split("```toml")
        .find(|b| b.contains("AmexCards"))
        .and_then(|b| b.split("```").next())
        .expect("the file rules example");
    let text = format!("[transcript-cleanup]\napply-config = \"cfg\"\n{block}");
    let c = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let m = Masking::new(&c, store().await).expect("masking");
    let set = m.rules.rules_for("1").await.expect("rules").set;
    let masked = set.mask("amex 3782 822463 10005, visa 4111111111111111, call 212-555-0123");
    assert_eq!(
        masked.text,
        "amex *****************, visa ****************, call 212-555-0123"
    );
    assert_eq!(masked.hits[0].rule.id, "cfg:AmexCards");
}
