//! Checks of the masking rules. Tenants are unique to the run, so the checks hold in a
//! shared database.

use super::*;
use crate::{MaskingRuleRecord, RuleWrite};

fn rule(run: &Run, tenant: &str, name: &str, at: i64) -> MaskingRuleRecord {
    MaskingRuleRecord {
        id: format!("{}-mr{}", run.prefix, run.next()),
        tenant: tenant.to_owned(),
        name: name.to_owned(),
        description: format!("finds {name}"),
        regex: r#"(?<=[\s"'])\d{4}(?!\d)"#.to_owned(),
        spec: Some("digits,keep-last=2".to_owned()),
        position: 0,
        enabled: true,
        created_at: UnixMillis(T0 + at),
        updated_at: UnixMillis(T0 + at),
    }
}

async fn listed<S: Store>(store: &S, tenant: &str, check: &str) -> Vec<MaskingRuleRecord> {
    store
        .masking_rules(tenant)
        .await
        .unwrap_or_else(|e| panic!("{check}: masking_rules({tenant}): {e}"))
}

fn names(rules: &[MaskingRuleRecord]) -> Vec<&str> {
    rules.iter().map(|r| r.name.as_str()).collect()
}

/// Rules are created after the tenant's last one, read back as written (the regex
/// byte for byte), updated in everything but tenant, position and creation time,
/// deleted once; names are unique per tenant only; tenants do not see each other's.
pub(super) async fn masking_rules_round_trip<S: Store>(store: &S, run: &Run) {
    let check = "masking rules round trip";
    let tenant = format!("{}-t{}", run.prefix, run.next());
    let other = format!("{}-t{}", run.prefix, run.next());
    assert!(
        listed(store, &tenant, check).await.is_empty(),
        "{check}: none yet"
    );

    let mut first = rule(run, &tenant, "Cards", 0);
    let second = MaskingRuleRecord {
        spec: None,
        enabled: false,
        ..rule(run, &tenant, "Écoles ✓", 1)
    };
    for r in [&first, &second] {
        let done = store.create_masking_rule(r).await.expect("create");
        assert_eq!(done, RuleWrite::Saved, "{check}: create {}", r.name);
    }
    let same_name = rule(run, &tenant, "Cards", 2);
    assert_eq!(
        store.create_masking_rule(&same_name).await.expect("create"),
        RuleWrite::NameTaken,
        "{check}: a name is unique in its tenant"
    );
    let elsewhere = rule(run, &other, "Cards", 2);
    assert_eq!(
        store.create_masking_rule(&elsewhere).await.expect("create"),
        RuleWrite::Saved,
        "{check}: another tenant may use the name"
    );
    let same_id = MaskingRuleRecord {
        name: "Other".into(),
        ..first.clone()
    };
    assert_eq!(
        store.create_masking_rule(&same_id).await.expect("create"),
        RuleWrite::NameTaken,
        "{check}: an id in use is refused"
    );

    let rules = listed(store, &tenant, check).await;
    assert_eq!(
        names(&rules),
        ["Cards", "Écoles ✓"],
        "{check}: in creation order"
    );
    first.position = 1;
    assert_eq!(rules[0], first, "{check}: read back as written");
    assert_eq!(rules[1].position, 2, "{check}: after the last one");
    assert_eq!(rules[1].spec, None);
    assert!(!rules[1].enabled);
    assert_eq!(names(&listed(store, &other, check).await), ["Cards"]);

    let changed = MaskingRuleRecord {
        tenant: other.clone(),
        name: "Cards v2".into(),
        description: String::new(),
        regex: r"\b\d{3}\b".into(),
        spec: None,
        position: 99,
        enabled: false,
        created_at: UnixMillis(T0 + 50),
        updated_at: UnixMillis(T0 + 60),
        ..first.clone()
    };
    assert_eq!(
        store.update_masking_rule(&changed).await.expect("update"),
        RuleWrite::Saved
    );
    let read = store.masking_rule(&first.id).await.expect("read");
    let want = MaskingRuleRecord {
        tenant: tenant.clone(),
        position: 1,
        created_at: first.created_at,
        ..changed.clone()
    };
    assert_eq!(
        read,
        Some(want),
        "{check}: tenant, position, created_at stay"
    );
    let clash = MaskingRuleRecord {
        name: "Écoles ✓".into(),
        ..changed.clone()
    };
    assert_eq!(
        store.update_masking_rule(&clash).await.expect("update"),
        RuleWrite::NameTaken,
        "{check}: renaming onto another rule's name"
    );
    let unknown = MaskingRuleRecord {
        id: format!("{}-nope", run.prefix),
        ..changed
    };
    assert_eq!(
        store.update_masking_rule(&unknown).await.expect("update"),
        RuleWrite::NotFound
    );

    assert!(store.delete_masking_rule(&first.id).await.expect("delete"));
    assert!(!store.delete_masking_rule(&first.id).await.expect("delete"));
    assert_eq!(store.masking_rule(&first.id).await.expect("read"), None);
    assert_eq!(names(&listed(store, &tenant, check).await), ["Écoles ✓"]);
    // A new rule goes after the highest position left.
    let third = rule(run, &tenant, "Third", 3);
    store.create_masking_rule(&third).await.expect("create");
    let rules = listed(store, &tenant, check).await;
    assert_eq!(
        rules.last().map(|r| r.position),
        Some(3),
        "{check}: after the last"
    );
}

/// A reorder gives the tenant's rules the order asked for, in one go, and refuses a list
/// that is not exactly the tenant's rules.
pub(super) async fn masking_rules_reorder<S: Store>(store: &S, run: &Run) {
    let check = "masking rules reorder";
    let tenant = format!("{}-t{}", run.prefix, run.next());
    let other = format!("{}-t{}", run.prefix, run.next());
    let mut ids = Vec::new();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let r = rule(run, &tenant, name, i64::try_from(i).unwrap_or(0));
        store.create_masking_rule(&r).await.expect("create");
        ids.push(r.id);
    }
    let foreign = rule(run, &other, "x", 9);
    store.create_masking_rule(&foreign).await.expect("create");

    let now = UnixMillis(T0 + 1_000);
    let order = vec![ids[2].clone(), ids[0].clone(), ids[1].clone()];
    assert!(store
        .reorder_masking_rules(&tenant, &order, now)
        .await
        .expect("reorder"));
    let rules = listed(store, &tenant, check).await;
    assert_eq!(
        names(&rules),
        ["c", "a", "b"],
        "{check}: the order asked for"
    );
    let positions: Vec<i64> = rules.iter().map(|r| r.position).collect();
    assert_eq!(positions, [1, 2, 3]);
    assert!(rules.iter().all(|r| r.updated_at == now));

    for bad in [
        vec![ids[0].clone(), ids[1].clone()],
        vec![ids[0].clone(), ids[1].clone(), ids[1].clone()],
        vec![
            ids[0].clone(),
            ids[1].clone(),
            ids[2].clone(),
            foreign.id.clone(),
        ],
        vec![ids[0].clone(), ids[1].clone(), foreign.id.clone()],
    ] {
        assert!(
            !store
                .reorder_masking_rules(&tenant, &bad, now)
                .await
                .expect("reorder"),
            "{check}: {bad:?} refused"
        );
    }
    assert_eq!(
        names(&listed(store, &tenant, check).await),
        ["c", "a", "b"],
        "{check}: a refused reorder changes nothing"
    );
    assert_eq!(names(&listed(store, &other, check).await), ["x"]);
}
