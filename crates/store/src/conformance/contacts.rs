//! Checks of contacts and their interaction history. Every check works in a tenant of
//! its own, so lookups and searches see only what the check wrote, even in a shared
//! database.

use parley_core::contacts::{
    lookup, match_contact, Contact, ContactAttributes, ContactId, MatchOutcome,
    MATCH_CANDIDATE_LIMIT,
};

use super::*;
use crate::SessionState;

/// A tenant no other check or run uses.
fn tenant(run: &Run) -> String {
    format!("{}-t{}", run.prefix, run.next())
}

/// A contact of `tenant`, created at `T0 + at`.
fn fixture(run: &Run, tenant: &str, pairs: &[(&str, &str)], at: i64) -> Contact {
    let mut attributes = ContactAttributes::new();
    for (k, v) in pairs {
        attributes
            .set(k, v)
            .unwrap_or_else(|e| panic!("fixture attribute {k}: {e}"));
    }
    let id = format!("{}-c{}", run.prefix, run.next());
    Contact {
        id: id
            .parse()
            .unwrap_or_else(|e| panic!("fixture contact id {id:?}: {e}")),
        tenant: tenant.to_owned(),
        attributes,
        created_at: UnixMillis(T0 + at),
        updated_at: UnixMillis(T0 + at),
    }
}

async fn stored<S: Store>(store: &S, contact: Contact, check: &str) -> Contact {
    if let Err(e) = store.create_contact(&contact).await {
        panic!("{check}: create_contact: {e}");
    }
    contact
}

fn ids_of(contacts: &[Contact]) -> Vec<&ContactId> {
    contacts.iter().map(|c| &c.id).collect()
}

/// A contact is read back as stored and found by email, by phone and by name, with
/// the lookup values normalised as the core normalises them.
pub(super) async fn contacts_are_found_each_way<S: Store>(store: &S, run: &Run) {
    let check = "contacts found each way";
    let t = tenant(run);
    let ada = fixture(
        run,
        &t,
        &[
            ("EmailAddress", "Ada.L@Example.test"),
            ("PhoneNumber", "+44 (20) 7946-0000"),
            ("FirstName", "Ada"),
            ("LastName", "Lovelace"),
            ("Title", "Countess"),
        ],
        0,
    );
    let ada = stored(store, ada, check).await;
    let read = store.contact(&ada.id).await.expect("contact");
    assert_eq!(read.as_ref(), Some(&ada), "{check}: read back as stored");
    let want = vec![&ada.id];
    let by_email = store.find_by_email(&t, "  ada.l@EXAMPLE.test ", 10).await;
    assert_eq!(
        ids_of(&by_email.expect("find_by_email")),
        want,
        "{check}: email"
    );
    let by_phone = store.find_by_phone(&t, "+442079460000", 10).await;
    assert_eq!(
        ids_of(&by_phone.expect("find_by_phone")),
        want,
        "{check}: phone"
    );
    for (first, last) in [("ADA", " lovelace"), ("  ada ", "LOVELACE")] {
        let found = store.find_by_name(&t, first, last, 10).await;
        assert_eq!(
            ids_of(&found.expect("find_by_name")),
            want,
            "{check}: name {first:?} {last:?}"
        );
    }
    // Names identify only as a pair (issue 13): one name alone finds nobody.
    let nobody = [
        store.find_by_name(&t, "ada", " ", 10).await,
        store.find_by_name(&t, "", "lovelace", 10).await,
        store.find_by_name(&t, "ada", "byron", 10).await,
        store.find_by_email(&t, "  ", 10).await,
        store
            .find_by_email(&tenant(run), "ada.l@example.test", 10)
            .await,
        store.find_by_phone(&t, "+44 20 7946 0001", 10).await,
    ];
    for (i, found) in nobody.into_iter().enumerate() {
        assert!(
            found.expect("find").is_empty(),
            "{check}: lookup {i} finds nobody"
        );
    }
    let unknown: ContactId = format!("{}-none", run.prefix).parse().expect("id");
    assert!(store.contact(&unknown).await.expect("contact").is_none());
    assert!(
        store.create_contact(&ada).await.is_err(),
        "{check}: contact ids are unique"
    );

    // What the chat server does: the core says which lookup, the store runs it.
    let user_data = UserData::from([
        ("EmailAddress".to_owned(), "ADA.L@example.test".to_owned()),
        ("FirstName".to_owned(), "Adda".to_owned()),
    ]);
    let l = lookup(&user_data).expect("identifying user data");
    let candidates = store
        .find_candidates(&t, &l, MATCH_CANDIDATE_LIMIT)
        .await
        .expect("find_candidates");
    assert_eq!(
        match_contact(&t, &user_data, &candidates),
        MatchOutcome::Matched(ada.id.clone()),
        "{check}: identified by email"
    );
}

/// Lookups return exactly the tenant's contacts that match, oldest first and bounded;
/// links and histories stay with their contact.
pub(super) async fn contacts_do_not_cross_talk<S: Store>(store: &S, run: &Run) {
    let check = "contacts cross-talk";
    let t = tenant(run);
    let bea_pairs = [
        ("EmailAddress", "bea@kim.test"),
        ("PhoneNumber", "111"),
        ("FirstName", "Bea"),
        ("LastName", "Kim"),
    ];
    let bea = stored(store, fixture(run, &t, &bea_pairs, 1), check).await;
    let cy_pairs = [
        ("EmailAddress", "cy@kim.test"),
        ("PhoneNumber", "222"),
        ("FirstName", "Bea"),
        ("LastName", "Kim"),
    ];
    let cy = stored(store, fixture(run, &t, &cy_pairs, 2), check).await;
    let elsewhere = stored(store, fixture(run, &tenant(run), &bea_pairs, 0), check).await;

    let found = store
        .find_by_email(&t, "bea@kim.test", 10)
        .await
        .expect("find");
    assert_eq!(ids_of(&found), [&bea.id], "{check}: email");
    let found = store.find_by_phone(&t, "222", 10).await.expect("find");
    assert_eq!(ids_of(&found), [&cy.id], "{check}: phone");
    let found = store
        .find_by_name(&t, "bea", "kim", 10)
        .await
        .expect("find");
    assert_eq!(ids_of(&found), [&bea.id, &cy.id], "{check}: oldest first");
    let found = store.find_by_name(&t, "bea", "kim", 1).await.expect("find");
    assert_eq!(ids_of(&found), [&bea.id], "{check}: bounded by the limit");
    let found = store.find_by_name(&t, "cy", "kim", 10).await;
    assert!(
        found.expect("find").is_empty(),
        "{check}: both names must match"
    );
    let found = store
        .find_by_email(&elsewhere.tenant, "bea@kim.test", 10)
        .await
        .expect("find");
    assert_eq!(ids_of(&found), [&elsewhere.id], "{check}: other tenant");

    let owner = run.owner();
    let (s1, s2) = (run.session(), run.session());
    create(store, &s1, &owner, i64::MAX).await;
    create(store, &s2, &owner, i64::MAX).await;
    for (c, s) in [(&bea.id, &s1), (&cy.id, &s2)] {
        assert!(store
            .link_interaction(c, s, UnixMillis(T0))
            .await
            .expect("link"));
    }
    let bea_history = store.contact_history(&bea.id, 10).await.expect("history");
    let cy_history = store.contact_history(&cy.id, 10).await.expect("history");
    let elsewhere_history = store.contact_history(&elsewhere.id, 10).await;
    assert_eq!(bea_history.iter().map(|r| &r.id).collect::<Vec<_>>(), [&s1]);
    assert_eq!(cy_history.iter().map(|r| &r.id).collect::<Vec<_>>(), [&s2]);
    assert!(
        elsewhere_history.expect("history").is_empty(),
        "{check}: no links"
    );
}

/// Search matches emails, phones, names and ids, ignores case, treats `%` and `_` as
/// themselves, is limited to the tenant when asked, newest first, and bounded.
pub(super) async fn contact_search_is_bounded_and_case_insensitive<S: Store>(store: &S, run: &Run) {
    let check = "contact search";
    let t = tenant(run);
    let mut made = Vec::new();
    for (i, first) in ["Ann", "Bob", "Cid"].into_iter().enumerate() {
        let email = format!("{}@la-mancha.test", first.to_lowercase());
        let pairs = [
            ("EmailAddress", email.as_str()),
            ("FirstName", first),
            ("LastName", "Quixote"),
            ("PhoneNumber", "555-0100"),
        ];
        let at = i64::try_from(i).unwrap_or(0);
        made.push(stored(store, fixture(run, &t, &pairs, at), check).await);
    }
    let other = [("EmailAddress", "zed@else.test"), ("FirstName", "Zed")];
    let zed = stored(store, fixture(run, &t, &other, 9), check).await;
    let newest_first: Vec<&ContactId> = made.iter().rev().map(|c| &c.id).collect();

    let search = |query: &'static str, limit: u32| {
        let t = t.clone();
        async move {
            let found = store.search_contacts(Some(&t), query, limit).await;
            found.unwrap_or_else(|e| panic!("{check}: search {query:?}: {e}"))
        }
    };
    assert_eq!(
        ids_of(&search("QUIXOTE", 10).await),
        newest_first,
        "{check}: name"
    );
    assert_eq!(ids_of(&search("bob QUIXOTE", 10).await), [&made[1].id]);
    assert_eq!(
        ids_of(&search("quixote", 2).await),
        newest_first[..2],
        "{check}: bounded by the limit"
    );
    assert!(search("quixote", 0).await.is_empty(), "{check}: limit 0");
    assert_eq!(
        search("LA-MANCHA.TEST", 10).await.len(),
        3,
        "{check}: email"
    );
    assert_eq!(search("(555) 0100", 10).await.len(), 3, "{check}: phone");
    assert!(search("%", 10).await.is_empty(), "{check}: % is literal");
    assert!(search("b_b", 10).await.is_empty(), "{check}: _ is literal");
    assert_eq!(
        search("", 10).await.len(),
        4,
        "{check}: empty query lists all"
    );
    let by_id = store
        .search_contacts(None, zed.id.as_str(), 10)
        .await
        .expect("search");
    assert_eq!(ids_of(&by_id), [&zed.id], "{check}: by id in every tenant");
    let elsewhere = store
        .search_contacts(Some(&tenant(run)), "quixote", 10)
        .await
        .expect("search");
    assert!(
        elsewhere.is_empty(),
        "{check}: other tenants are not searched"
    );
}

/// History lists the contact's linked interactions that have a record, newest first,
/// with final transcripts once closed; relinking moves an interaction.
pub(super) async fn contact_history_lists_interactions_with_transcripts<S: Store>(
    store: &S,
    run: &Run,
) {
    let check = "contact history";
    let t = tenant(run);
    let pairs = [("EmailAddress", "h@history.test")];
    let h = stored(store, fixture(run, &t, &pairs, 0), check).await;
    let g = stored(store, fixture(run, &t, &pairs, 1), check).await;
    let owner = run.owner();
    let (closed, alive, unrecorded) = (run.session(), run.session(), run.session());
    for (id, at) in [(&closed, 1), (&alive, 2)] {
        let mut new = new_session(id, &owner, i64::MAX);
        new.created_at = UnixMillis(T0 + at);
        commit_ok(store, vec![Write::CreateSession(new)], check).await;
    }
    let transcript = vec![joined(1, "Ada"), message(2, "first chat"), left(3)];
    commit_ok(
        store,
        vec![close(&closed, FIRST, transcript.clone(), 3)],
        check,
    )
    .await;
    for s in [&closed, &alive] {
        let linked = store.link_interaction(&h.id, s, UnixMillis(T0)).await;
        assert!(linked.expect("link"), "{check}: link {s}");
    }
    let unknown: ContactId = format!("{}-none", run.prefix).parse().expect("id");
    let batch = [
        (h.id.clone(), unrecorded.clone(), UnixMillis(T0)),
        (unknown.clone(), alive.clone(), UnixMillis(T0)),
    ];
    let linked = store.link_interactions(&batch).await.expect("link batch");
    assert_eq!(
        linked, 1,
        "{check}: a batch skips an unknown contact's link"
    );
    let linked = store
        .link_interaction(&unknown, &alive, UnixMillis(T0))
        .await;
    assert!(!linked.expect("link"), "{check}: unknown contact");

    let history = store.contact_history(&h.id, 10).await.expect("history");
    let ids: Vec<&SessionId> = history.iter().map(|r| &r.id).collect();
    assert_eq!(
        ids,
        [&alive, &closed],
        "{check}: newest first, recorded only"
    );
    assert_eq!(history[0].state, SessionState::Alive);
    assert!(
        history[0].transcript.is_none(),
        "{check}: no transcript yet"
    );
    assert_eq!(history[1].state, SessionState::Closed);
    assert_eq!(
        history[1].transcript.as_ref(),
        Some(&transcript),
        "{check}: the final transcript"
    );
    assert_eq!(history[1].end, Some(end_info()));
    let first = store.contact_history(&h.id, 1).await.expect("history");
    assert_eq!(first.len(), 1, "{check}: bounded by the limit");

    assert!(store
        .link_interaction(&g.id, &alive, UnixMillis(T0 + 1))
        .await
        .expect("link"));
    assert!(store
        .link_interaction(&h.id, &closed, UnixMillis(T0 + 1))
        .await
        .expect("link"));
    let h_ids: Vec<SessionId> = store
        .contact_history(&h.id, 10)
        .await
        .expect("history")
        .into_iter()
        .map(|r| r.id)
        .collect();
    let g_ids: Vec<SessionId> = store
        .contact_history(&g.id, 10)
        .await
        .expect("history")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        h_ids,
        [closed],
        "{check}: relinking moves, linking again keeps"
    );
    assert_eq!(g_ids, [alive], "{check}: the moved interaction");
    let none = store.contact_history(&unknown, 10).await.expect("history");
    assert!(none.is_empty(), "{check}: unknown contact has no history");
}

/// Replacing attributes replaces the lookup keys too; the creation time is kept.
pub(super) async fn contact_attributes_update<S: Store>(store: &S, run: &Run) {
    let check = "contact update";
    let t = tenant(run);
    let u = fixture(run, &t, &[("EmailAddress", "old@update.test")], 0);
    let u = stored(store, u, check).await;
    let mut attributes = ContactAttributes::new();
    for (k, v) in [
        ("EmailAddress", "New@Update.test"),
        ("FirstName", "Una"),
        ("LastName", "Ulm"),
        ("Segment", "gold ü"),
    ] {
        attributes.set(k, v).expect("attribute");
    }
    let at = UnixMillis(T0 + 5);
    let updated = store
        .update_contact_attributes(&u.id, &attributes, at)
        .await;
    assert!(updated.expect("update"), "{check}: the contact exists");
    let read = store
        .contact(&u.id)
        .await
        .expect("contact")
        .expect("exists");
    assert_eq!(read.attributes, attributes, "{check}: replaced");
    assert_eq!((read.created_at, read.updated_at), (u.created_at, at));
    let old = store.find_by_email(&t, "old@update.test", 10).await;
    assert!(old.expect("find").is_empty(), "{check}: old email gone");
    let new = store.find_by_email(&t, "new@update.test", 10).await;
    assert_eq!(ids_of(&new.expect("find")), [&u.id], "{check}: new email");
    let by_name = store.find_by_name(&t, "una", "ulm", 10).await;
    assert_eq!(
        ids_of(&by_name.expect("find")),
        [&u.id],
        "{check}: new name"
    );
    let unknown: ContactId = format!("{}-none", run.prefix).parse().expect("id");
    let updated = store
        .update_contact_attributes(&unknown, &attributes, at)
        .await;
    assert!(!updated.expect("update"), "{check}: unknown contact");
}

/// A contact is found by its `Identifier` exactly (case and all), within its tenant;
/// an update moves the key; search finds the exact identifier; and `match_verified`
/// agrees with the lookups.
pub(super) async fn contacts_are_found_by_identifier<S: Store>(store: &S, run: &Run) {
    use parley_core::contacts::{match_verified, verified_lookups};
    let check = "contacts by identifier";
    let t = tenant(run);
    let other = tenant(run);
    let vic = fixture(
        run,
        &t,
        &[("Identifier", "acct-42"), ("EmailAddress", "vic@id.test")],
        0,
    );
    let vic = stored(store, vic, check).await;
    let legacy = fixture(run, &t, &[("EmailAddress", "legacy@id.test")], 1);
    let legacy = stored(store, legacy, check).await;
    let elsewhere = fixture(run, &other, &[("Identifier", "acct-42")], 2);
    stored(store, elsewhere, check).await;

    let found = store.find_by_identifier(&t, " acct-42 ", 10).await;
    assert_eq!(ids_of(&found.expect("find")), [&vic.id], "{check}: exact");
    let upper = store.find_by_identifier(&t, "ACCT-42", 10).await;
    assert!(upper.expect("find").is_empty(), "{check}: case matters");

    let ud: parley_core::UserData = [("EmailAddress".to_owned(), "vic@id.test".to_owned())]
        .into_iter()
        .collect();
    let (by_id, by_claims) = verified_lookups("acct-42", &ud);
    assert!(
        by_claims.is_none(),
        "{check}: the email is not the identifier"
    );
    let candidates = store
        .find_candidates(&t, &by_id, MATCH_CANDIDATE_LIMIT)
        .await
        .expect("candidates");
    assert_eq!(
        match_verified(&t, "acct-42", &ud, &candidates),
        MatchOutcome::Matched(vic.id.clone()),
        "{check}: matched"
    );
    let searched = store.search_contacts(Some(&t), "acct-42", 10).await;
    assert_eq!(
        ids_of(&searched.expect("search")),
        [&vic.id],
        "{check}: search"
    );

    let mut attributes = legacy.attributes.clone();
    attributes.set("Identifier", "acct-7").expect("attribute");
    let updated = store
        .update_contact_attributes(&legacy.id, &attributes, UnixMillis(T0 + 9))
        .await;
    assert!(updated.expect("update"), "{check}: exists");
    let found = store.find_by_identifier(&t, "acct-7", 10).await;
    assert_eq!(ids_of(&found.expect("find")), [&legacy.id], "{check}: set");
    attributes.remove("Identifier");
    let updated = store
        .update_contact_attributes(&legacy.id, &attributes, UnixMillis(T0 + 10))
        .await;
    assert!(updated.expect("update"), "{check}: exists");
    let found = store.find_by_identifier(&t, "acct-7", 10).await;
    assert!(found.expect("find").is_empty(), "{check}: removed");
}
