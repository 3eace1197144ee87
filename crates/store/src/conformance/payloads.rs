//! Checks that what is written comes back exactly: any Unicode, large texts, and a
//! thousand writes in one batch.

use super::*;

pub(super) async fn text_round_trips_exactly<S: Store>(store: &S, run: &Run) {
    let check = "text round trip";
    let (id, owner) = (run.session(), run.owner());
    let mixed = concat!(
        "👋🏽 héllo e\u{301} 世界 مرحبا 👩\u{200d}👩\u{200d}👧 ",
        "\"quotes\" 'single' \\ / <b>&amp;</b> \t\r\n \u{1}\u{0}end \u{10FFFF} \u{FEFF}",
    );
    let emoji_64k = "😀".repeat(64 * 1024 / 4);
    let ascii_64k = "0123456789abcdef".repeat(64 * 1024 / 16);
    assert_eq!((emoji_64k.len(), ascii_64k.len()), (65_536, 65_536));
    let mut new = new_session(&id, &owner, T0);
    new.subject = Some("Réclamation 📦 — ünïcödé".into());
    new.user_data = UserData::from([
        ("Nom 😀".to_owned(), mixed.replace('\0', "")),
        ("nul".to_owned(), "a\u{0}b".to_owned()),
        ("big".to_owned(), ascii_64k.clone()),
    ]);
    new.password = Some(SessionPassword::new("pässwörd-🔑"));
    commit_ok(store, vec![Write::CreateSession(new.clone())], check).await;
    let events = vec![
        joined(1, "Zoë 🦊"),
        message(2, mixed),
        message(3, &emoji_64k),
        message(4, &ascii_64k),
        read_confirm(5, 4),
    ];
    commit_ok(store, vec![append(&id, FIRST, events.clone(), 5)], check).await;
    let s = load(store, &id, check).await;
    assert_eq!(
        (&s.subject, &s.user_data),
        (&new.subject, &new.user_data),
        "{check}: session"
    );
    assert_eq!(s.password, new.password, "{check}: password");
    assert!(
        s.events == events,
        "{check}: events differ after a round trip"
    );

    commit_ok(store, vec![close(&id, FIRST, events.clone(), 5)], check).await;
    let record = store.interaction(&id).await;
    let transcript = record.ok().flatten().and_then(|r| r.transcript);
    assert!(
        transcript == Some(events),
        "{check}: final transcript differs after a round trip"
    );

    // NUL cannot be stored in a plain text column of every backend: refused alike.
    let nul_id = run.session();
    let mut nul = new_session(&nul_id, &owner, T0);
    nul.subject = Some("bad\u{0}subject".into());
    assert_conflict(
        &commit_one(store, Write::CreateSession(nul), check).await,
        check,
    );
    assert!(
        matches!(store.load_session(&nul_id).await, Ok(None)),
        "{check}: no session"
    );
    assert!(
        matches!(store.interaction(&nul_id).await, Ok(None)),
        "{check}: no interaction"
    );
}

pub(super) async fn thousand_writes_commit_in_one_call<S: Store>(store: &S, run: &Run) {
    let check = "1,000 writes in one batch";
    let owner = run.owner();
    let sessions: Vec<SessionId> = (0..100).map(|_| run.session()).collect();
    let mut batch: Vec<Write> = sessions
        .iter()
        .map(|id| Write::CreateSession(new_session(id, &owner, T0)))
        .collect();
    for n in 1..=9 {
        for id in &sessions {
            batch.push(append(
                id,
                FIRST,
                vec![message(n, &format!("{id} #{n}"))],
                n,
            ));
        }
    }
    assert_eq!(batch.len(), 1_000);
    commit_ok(store, batch, check).await;
    for id in &sessions {
        let s = load(store, id, check).await;
        assert_eq!(
            ids(&s.events),
            (1..=9).collect::<Vec<_>>(),
            "{check}: events of {id}"
        );
        assert_eq!(
            s.events[8],
            message(9, &format!("{id} #9")),
            "{check}: content of {id}"
        );
        assert_eq!(s.last_event_id, EventId(9), "{check}: high water of {id}");
    }
}
