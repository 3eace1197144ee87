//! The seed's contact-matching table, row by row, its "Speve" example, the rules for
//! several matches and missing attributes, normalisation, and properties of matching.

use proptest::prelude::*;

use super::*;

const TENANT: &str = "acme";

fn data(pairs: &[(&str, &str)]) -> UserData {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn contact_in(tenant: &str, id: &str, pairs: &[(&str, &str)]) -> Contact {
    let mut attributes = ContactAttributes::new();
    for (k, v) in pairs {
        attributes.set(k, v).expect("fixture attribute");
    }
    Contact {
        id: id.parse().expect("fixture contact id"),
        tenant: tenant.to_owned(),
        attributes,
        created_at: UnixMillis(1),
        updated_at: UnixMillis(1),
    }
}

fn contact(id: &str, pairs: &[(&str, &str)]) -> Contact {
    contact_in(TENANT, id, pairs)
}

fn id(s: &str) -> ContactId {
    s.parse().expect("fixture contact id")
}

/// Three contacts, each known by a different row of the table.
fn directory() -> Vec<Contact> {
    vec![
        contact(
            "by-email",
            &[
                (EMAIL_ADDRESS, "sjones@here"),
                (FIRST_NAME, "Steve"),
                (LAST_NAME, "Jones"),
            ],
        ),
        contact("by-phone", &[(PHONE_NUMBER, "555-654-6303")]),
        contact("by-name", &[(FIRST_NAME, "Ada"), (LAST_NAME, "Lovelace")]),
    ]
}

fn outcome(pairs: &[(&str, &str)]) -> MatchOutcome {
    match_contact(TENANT, &data(pairs), &directory())
}

#[test]
fn table_row_email_address_is_search_order_0() {
    // Every row has a match; the email address decides.
    let got = outcome(&[
        (EMAIL_ADDRESS, "sjones@here"),
        (PHONE_NUMBER, "555-654-6303"),
        (FIRST_NAME, "Ada"),
        (LAST_NAME, "Lovelace"),
    ]);
    assert_eq!(got, MatchOutcome::Matched(id("by-email")));
    // An email address nobody has means a new contact, though the phone is known.
    let got = outcome(&[(EMAIL_ADDRESS, "new@here"), (PHONE_NUMBER, "555-654-6303")]);
    let MatchOutcome::Create(attributes) = got else {
        panic!("expected Create, got {got:?}");
    };
    assert_eq!(attributes.get(EMAIL_ADDRESS), Some("new@here"));
    assert_eq!(attributes.get(PHONE_NUMBER), Some("555-654-6303"));
}

#[test]
fn table_row_phone_number_is_search_order_1() {
    let got = outcome(&[
        (PHONE_NUMBER, "555-654-6303"),
        (FIRST_NAME, "Ada"),
        (LAST_NAME, "Lovelace"),
    ]);
    assert_eq!(got, MatchOutcome::Matched(id("by-phone")));
    // A blank email address is no email address: the phone number comes first.
    let got = outcome(&[(EMAIL_ADDRESS, "  "), (PHONE_NUMBER, "555-654-6303")]);
    assert_eq!(got, MatchOutcome::Matched(id("by-phone")));
    let got = outcome(&[(PHONE_NUMBER, "555-000-0000"), (FIRST_NAME, "Ada")]);
    assert!(matches!(got, MatchOutcome::Create(_)), "{got:?}");
}

#[test]
fn table_rows_first_name_and_last_name_are_search_order_2_as_a_pair() {
    assert_eq!(
        outcome(&[(FIRST_NAME, "Ada"), (LAST_NAME, "Lovelace")]),
        MatchOutcome::Matched(id("by-name"))
    );
    // Both must match.
    for (first, last) in [("Ada", "Byron"), ("Augusta", "Lovelace")] {
        let got = outcome(&[(FIRST_NAME, first), (LAST_NAME, last)]);
        assert!(matches!(got, MatchOutcome::Create(_)), "{got:?}");
    }
}

/// Issue 13: a visitor who types only a first name (or only a last name) must not be
/// matched to the stored customer of that name, nor become a contact of its own.
#[test]
fn one_name_alone_identifies_nobody() {
    for pairs in [
        &[(FIRST_NAME, "Ada")][..],
        &[(LAST_NAME, "Lovelace")][..],
        &[(FIRST_NAME, "Ada"), (LAST_NAME, " ")][..],
        &[(FIRST_NAME, "Ada"), ("Subject", "Lovelace")][..],
    ] {
        assert_eq!(outcome(pairs), MatchOutcome::Unidentified, "{pairs:?}");
        assert_eq!(lookup(&data(pairs)), None, "{pairs:?}");
    }
}

#[test]
fn speve_example_matches_by_email_and_user_data_overrides_for_the_chat() {
    let steve = contact(
        "steve",
        &[
            (EMAIL_ADDRESS, "sjones@here"),
            (FIRST_NAME, "Steve"),
            (LAST_NAME, "Jones"),
            (PHONE_NUMBER, "555-1234"),
        ],
    );
    let typed = data(&[
        (EMAIL_ADDRESS, "sjones@here"),
        (FIRST_NAME, "Speve"),
        (LAST_NAME, "Jones"),
    ]);
    let candidates = [steve.clone()];
    assert_eq!(
        match_contact(TENANT, &typed, &candidates),
        MatchOutcome::Matched(id("steve")),
        "a single match on email wins over a different first name"
    );
    let merged = merged_user_data(&steve, &typed);
    assert_eq!(
        merged[FIRST_NAME], "Speve",
        "the user data preempts the stored name"
    );
    assert_eq!(
        merged[PHONE_NUMBER], "555-1234",
        "other stored attributes are returned"
    );
    assert_eq!(
        merged[EMAIL_ADDRESS], "sjones@here",
        "the matched attribute"
    );
    assert_eq!(merged[CONTACT_ID], "steve");
    assert_eq!(
        steve.attributes.get(FIRST_NAME),
        Some("Steve"),
        "the stored contact keeps the correct name"
    );
}

#[test]
fn several_matches_are_narrowed_by_the_next_order_with_a_value() {
    // The UCS example: one family address, two contacts; no phone given, names narrow.
    let family = [
        contact(
            "dora",
            &[
                (EMAIL_ADDRESS, "johnanddora@doefamily.net"),
                (FIRST_NAME, "dora"),
                (LAST_NAME, "doe"),
            ],
        ),
        contact(
            "john",
            &[
                (EMAIL_ADDRESS, "johnanddora@doefamily.net"),
                (FIRST_NAME, "john"),
                (LAST_NAME, "doe"),
                (PHONE_NUMBER, "555-654-6303"),
            ],
        ),
    ];
    let john = data(&[
        (EMAIL_ADDRESS, "johnanddora@doefamily.net"),
        (FIRST_NAME, "John"),
        (LAST_NAME, "Doe"),
    ]);
    assert_eq!(
        match_contact(TENANT, &john, &family),
        MatchOutcome::Matched(id("john"))
    );
    // The phone (order 1) narrows before the names do.
    let by_phone = data(&[
        (EMAIL_ADDRESS, "johnanddora@doefamily.net"),
        (PHONE_NUMBER, "5556546303"),
        (FIRST_NAME, "dora"),
        (LAST_NAME, "doe"),
    ]);
    assert_eq!(
        match_contact(TENANT, &by_phone, &family),
        MatchOutcome::Matched(id("john"))
    );
    // Narrowed to nobody: a new person at a known address.
    let jim = data(&[
        (EMAIL_ADDRESS, "johnanddora@doefamily.net"),
        (FIRST_NAME, "Jim"),
        (LAST_NAME, "Doe"),
    ]);
    assert!(matches!(
        match_contact(TENANT, &jim, &family),
        MatchOutcome::Create(_)
    ));
    // Nothing to narrow with: ambiguous, nobody chosen, nobody created. A first name
    // without the last is nothing to narrow with.
    for pairs in [
        &[(EMAIL_ADDRESS, "johnanddora@doefamily.net")][..],
        &[
            (EMAIL_ADDRESS, "johnanddora@doefamily.net"),
            (FIRST_NAME, "dora"),
        ][..],
        &[
            (EMAIL_ADDRESS, "johnanddora@doefamily.net"),
            (FIRST_NAME, "Jim"),
        ][..],
    ] {
        assert_eq!(
            match_contact(TENANT, &data(pairs), &family),
            MatchOutcome::Ambiguous(vec![id("dora"), id("john")]),
            "{pairs:?}"
        );
    }
}

#[test]
fn missing_attributes_identify_nobody() {
    for pairs in [
        &[][..],
        &[(EMAIL_ADDRESS, " "), (PHONE_NUMBER, "-"), (FIRST_NAME, "")][..],
        &[("Subject", "billing"), ("GCTI_LanguageName", "French")][..],
    ] {
        assert_eq!(outcome(pairs), MatchOutcome::Unidentified, "{pairs:?}");
        assert_eq!(lookup(&data(pairs)), None, "{pairs:?}");
    }
}

#[test]
fn attribute_names_must_be_exact() {
    for name in [
        "email_address",
        "emailaddress",
        "EMAILADDRESS",
        "EmailAddress ",
    ] {
        let got = outcome(&[(name, "sjones@here")]);
        assert_eq!(
            got,
            MatchOutcome::Unidentified,
            "{name:?} is not EmailAddress"
        );
    }
}

#[test]
fn a_new_contact_is_made_of_the_standard_attributes_trimmed() {
    let got = outcome(&[
        (EMAIL_ADDRESS, "  New@Here "),
        (TITLE, "Dr"),
        (LAST_NAME, ""),
        ("Subject", "billing"),
    ]);
    let MatchOutcome::Create(attributes) = got else {
        panic!("expected Create, got {got:?}");
    };
    let stored: Vec<(&str, &str)> = attributes.iter().collect();
    assert_eq!(stored, [(EMAIL_ADDRESS, "New@Here"), (TITLE, "Dr")]);
}

#[test]
fn normalisation_ignores_case_and_whitespace_and_phone_separators() {
    assert_eq!(
        normalize_email("  SJones@Here\t"),
        Some("sjones@here".into())
    );
    assert_eq!(normalize_email("   "), None);
    assert_eq!(
        normalize_phone("+1 (555) 654-6303"),
        Some("+15556546303".into())
    );
    assert_eq!(
        normalize_phone("555.654.6303"),
        normalize_phone("5556546303")
    );
    assert_eq!(normalize_phone(" - ( ) "), None);
    assert_eq!(normalize_name("  Mary   ANN\t"), Some("mary ann".into()));
    assert_eq!(normalize_name("ÉMILE"), normalize_name("émile"));
    assert_ne!(normalize_name("Mary Ann"), normalize_name("MaryAnn"));
    let got = outcome(&[(EMAIL_ADDRESS, " SJONES@here "), (FIRST_NAME, "x")]);
    assert_eq!(got, MatchOutcome::Matched(id("by-email")));
    assert_eq!(
        outcome(&[(PHONE_NUMBER, "(555) 654 6303")]),
        MatchOutcome::Matched(id("by-phone"))
    );
    assert_eq!(
        outcome(&[(FIRST_NAME, " ada "), (LAST_NAME, "LOVELACE")]),
        MatchOutcome::Matched(id("by-name"))
    );
}

#[test]
fn other_tenants_and_duplicates_do_not_count() {
    let twin = contact_in("other", "twin", &[(EMAIL_ADDRESS, "sjones@here")]);
    let mut candidates = directory();
    candidates.push(twin);
    candidates.push(candidates[0].clone());
    let got = match_contact(
        TENANT,
        &data(&[(EMAIL_ADDRESS, "sjones@here")]),
        &candidates,
    );
    assert_eq!(got, MatchOutcome::Matched(id("by-email")));
    let got = match_contact(
        "other",
        &data(&[(EMAIL_ADDRESS, "sjones@here")]),
        &candidates,
    );
    assert_eq!(got, MatchOutcome::Matched(id("twin")));
    // One contact listed twice, as read before and after an update: either listing
    // may match, whatever the order.
    let named = |id: &str, last: &str| {
        contact(
            id,
            &[
                (PHONE_NUMBER, "555-1"),
                (FIRST_NAME, "Jo"),
                (LAST_NAME, last),
            ],
        )
    };
    let (before, after, other) = (named("c1", "Lee"), named("c1", "Kim"), named("c2", "Kim"));
    let user = data(&[
        (PHONE_NUMBER, "5551"),
        (FIRST_NAME, "jo"),
        (LAST_NAME, "Lee"),
    ]);
    for listed in [
        [before.clone(), after.clone(), other.clone()],
        [after, before, other],
    ] {
        assert_eq!(
            match_contact(TENANT, &user, &listed),
            MatchOutcome::Matched(id("c1"))
        );
    }
}

#[test]
fn lookup_names_the_first_order_with_a_value() {
    let all = data(&[
        (EMAIL_ADDRESS, "A@B"),
        (PHONE_NUMBER, "1 2"),
        (LAST_NAME, "Doe"),
    ]);
    assert_eq!(lookup(&all), Some(Lookup::Email("a@b".into())));
    let phone = data(&[(PHONE_NUMBER, "1 2"), (LAST_NAME, "Doe")]);
    assert_eq!(lookup(&phone), Some(Lookup::Phone("12".into())));
    let name = data(&[(FIRST_NAME, "JANE"), (LAST_NAME, " Doe ")]);
    assert_eq!(
        lookup(&name),
        Some(Lookup::Name {
            first: "jane".into(),
            last: "doe".into()
        })
    );
    assert_eq!(
        lookup(&data(&[(LAST_NAME, " Doe ")])),
        None,
        "one name alone"
    );
    let orders: Vec<u8> = SearchOrder::ALL.iter().map(|o| o.number()).collect();
    assert_eq!(orders, [0, 1, 2]);
}

#[test]
fn merged_user_data_fills_in_stored_attributes_and_sets_contact_id() {
    let stored = contact(
        "c-1",
        &[
            (EMAIL_ADDRESS, "a@b"),
            (FIRST_NAME, "Ada"),
            ("Segment", "gold"),
        ],
    );
    let user = data(&[
        (FIRST_NAME, ""),
        ("Subject", "billing"),
        (CONTACT_ID, "spoofed"),
        ("Nickname", " "),
    ]);
    let merged = merged_user_data(&stored, &user);
    let want = data(&[
        (EMAIL_ADDRESS, "a@b"),
        (FIRST_NAME, "Ada"),
        ("Segment", "gold"),
        ("Subject", "billing"),
        (CONTACT_ID, "c-1"),
        ("Nickname", " "),
    ]);
    assert_eq!(
        merged, want,
        "a blank value does not override; ContactID is ours"
    );
}

#[test]
fn contact_ids_and_attributes_refuse_bad_shapes() {
    assert!("c-1_A".parse::<ContactId>().is_ok());
    assert!("".parse::<ContactId>().is_err());
    assert!("a b".parse::<ContactId>().is_err());
    assert!("x".repeat(65).parse::<ContactId>().is_err());
    assert!(serde_json::from_str::<ContactId>("\"../x\"").is_err());
    let mut attributes = ContactAttributes::new();
    assert!(attributes.set(CONTACT_ID, "x").is_err());
    assert!(attributes.set("", "x").is_err());
    attributes.set(FIRST_NAME, " Ada ").expect("set");
    assert_eq!(attributes.get(FIRST_NAME), Some("Ada"));
    attributes.set(FIRST_NAME, "  ").expect("set");
    assert!(attributes.is_empty(), "a blank value removes the attribute");
    assert_eq!(
        serde_json::to_string(&ContactAttributes::from_user_data(&data(&[(TITLE, "Dr")])))
            .expect("json"),
        r#"{"Title":"Dr"}"#
    );
}

/// Attribute values drawn from a few spellings, so that matches, near-misses and ties
/// are common.
fn value(choices: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(choices).prop_map(str::to_owned))
}

fn pairs() -> impl Strategy<Value = UserData> {
    (
        value(&["a@x", " A@X", "b@x", "", "email_address"]),
        value(&["555-1", "5551", "(555) 2", " "]),
        value(&["Ann", " ann", "Bob", "\t"]),
        value(&["Lee", "LEE ", "Kim"]),
        value(&["Dr", "note"]),
    )
        .prop_map(|(email, phone, first, last, other)| {
            let mut d = UserData::new();
            for (k, v) in [
                (EMAIL_ADDRESS, email),
                (PHONE_NUMBER, phone),
                (FIRST_NAME, first),
                (LAST_NAME, last),
                ("Other", other),
            ] {
                if let Some(v) = v {
                    d.insert(k.to_owned(), v);
                }
            }
            d
        })
}

fn contacts() -> impl Strategy<Value = Vec<Contact>> {
    prop::collection::vec((0u8..6, prop::bool::weighted(0.8), pairs()), 0..8).prop_map(|rows| {
        rows.into_iter()
            .map(|(n, home, d)| Contact {
                id: format!("c{n}").parse().expect("id"),
                tenant: if home { TENANT } else { "other" }.to_owned(),
                attributes: ContactAttributes::from_user_data(&d),
                created_at: UnixMillis(0),
                updated_at: UnixMillis(0),
            })
            .collect()
    })
}

/// What a store's lookup returns: the tenant's contacts matching the lookup.
fn store_lookup(all: &[Contact], lookup: &Lookup) -> Vec<Contact> {
    all.iter()
        .filter(|c| c.tenant == TENANT)
        .filter(|c| {
            let k = c.attributes.keys();
            match lookup {
                Lookup::Email(e) => k.email.as_ref() == Some(e),
                Lookup::Phone(p) => k.phone.as_ref() == Some(p),
                Lookup::Name { first, last } => {
                    k.first_name.as_ref() == Some(first) && k.last_name.as_ref() == Some(last)
                }
                Lookup::Identifier(i) => c.attributes.get(IDENTIFIER) == Some(i.as_str()),
            }
        })
        .cloned()
        .collect()
}

proptest! {
    #[test]
    fn matching_never_panics_and_is_deterministic(user in pairs(), all in contacts()) {
        let first = match_contact(TENANT, &user, &all);
        prop_assert_eq!(&first, &match_contact(TENANT, &user, &all));
        let mut reversed = all.clone();
        reversed.reverse();
        prop_assert_eq!(&first, &match_contact(TENANT, &user, &reversed), "order-free");
        match lookup(&user) {
            None => prop_assert_eq!(&first, &MatchOutcome::Unidentified),
            Some(l) => {
                let fetched = store_lookup(&all, &l);
                prop_assert_eq!(&first, &match_contact(TENANT, &user, &fetched), "lookup suffices");
            }
        }
        match &first {
            MatchOutcome::Matched(id) => {
                prop_assert!(all.iter().any(|c| &c.id == id && c.tenant == TENANT));
                // Issue 13: names identify only as a pair, and only both equal.
                let want = MatchKeys::of_user_data(&user);
                if want.email.is_none() && want.phone.is_none() {
                    let both = all.iter().any(|c| {
                        let k = c.attributes.keys();
                        &c.id == id && want.first_name.is_some() && k.first_name == want.first_name
                            && want.last_name.is_some() && k.last_name == want.last_name
                    });
                    prop_assert!(both, "{:?} matched {:?} without both names", user, id);
                }
            }
            MatchOutcome::Ambiguous(ids) => {
                prop_assert!(ids.len() >= 2);
                prop_assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
            }
            MatchOutcome::Create(_) | MatchOutcome::Unidentified => {}
        }
    }

    /// A verified visitor is only ever matched to a contact that holds its identifier,
    /// or that holds none and whose email or phone is the identifier itself; and what
    /// the shell's two lookups fetch suffices.
    #[test]
    fn verified_matching_never_follows_a_claim(
        user in pairs(),
        mut all in contacts(),
        holders in prop::collection::vec((0usize..8, prop::sample::select(&["u1", "u2", "a@x"][..])), 0..4),
        identifier in prop::sample::select(&["u1", "u2", "a@x", "5551"][..]),
    ) {
        for (i, id) in holders {
            if let Some(c) = all.get_mut(i) {
                c.attributes.set(IDENTIFIER, id).expect("attribute");
            }
        }
        let outcome = match_verified(TENANT, identifier, &user, &all);
        let (by_id, by_claims) = verified_lookups(identifier, &user);
        let mut fetched = store_lookup(&all, &by_id);
        if let Some(l) = by_claims.filter(|_| fetched.is_empty()) {
            fetched = store_lookup(&all, &l);
        }
        prop_assert_eq!(&outcome, &match_verified(TENANT, identifier, &user, &fetched), "lookups suffice");
        let signed = |c: &Contact| {
            let k = c.attributes.keys();
            k.email.is_some() && k.email == normalize_email(identifier)
                || k.phone.is_some() && k.phone == normalize_phone(identifier)
        };
        match &outcome {
            MatchOutcome::Matched(id) => {
                let ok = all.iter().any(|c| {
                    &c.id == id && c.tenant == TENANT && match c.attributes.get(IDENTIFIER) {
                        Some(held) => held == identifier,
                        None => signed(c),
                    }
                });
                prop_assert!(ok, "{:?} matched {:?}", identifier, id);
            }
            MatchOutcome::Create(attributes) => {
                prop_assert_eq!(attributes.get(IDENTIFIER), Some(identifier));
            }
            MatchOutcome::Ambiguous(ids) => prop_assert!(ids.len() >= 2),
            MatchOutcome::Unidentified => prop_assert!(false, "a verified visitor is identified"),
        }
    }

    #[test]
    fn normalisation_is_idempotent(s in "\\PC{0,12}") {
        for f in [normalize_email, normalize_phone, normalize_name] {
            if let Some(once) = f(&s) {
                prop_assert_eq!(f(&once), Some(once.clone()));
            }
        }
    }
}
