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
