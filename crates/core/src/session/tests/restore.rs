//! Restoration from what the shell stored: parties marked left (code 8), read
//! confirmations annihilated, ids never reused, parties shown joining again.

use super::*;
use crate::event::{LeftReason, ORIGINAL_NICKNAME_KEY, PARTY_STYLE_KEY};
use crate::session::{EndedBy, EndedReason, SaveNotices};

fn later(fx: &mut Fx) {
    fx.advance(120_000);
}

#[test]
fn restoration_marks_every_present_party_left_for_restoration() {
    let mut fx = Fx::full_house();
    fx.join(agent("gone"));
    fx.ok(release("gone", AfterAction::KeepAlive));
    fx.sent(msg("cust", "hi"));
    let last = fx.s.last_event_id();
    later(&mut fx);
    let effects = fx.restore();
    let events = emitted(&effects);
    assert_eq!(
        events.len(),
        effects.len(),
        "no annihilation here: {effects:?}"
    );
    let got: Vec<(String, Visibility, EventId)> = events
        .iter()
        .map(|e| {
            assert!(matches!(
                e.body,
                EventBody::PartyLeft {
                    reason: LeftReason::Restoration,
                    after_action: AfterAction::KeepAlive,
                    text: None,
                    asker: None
                }
            ));
            assert_eq!(e.at, fx.now);
            (e.from.to_string(), e.visibility, e.id)
        })
        .collect();
    let expect = |who: &str, v, n| (who.to_owned(), v, EventId(last.0 + n));
    assert_eq!(
        got,
        vec![
            expect("cust", Visibility::All, 1),
            expect("agent", Visibility::All, 2),
            expect("sup", Visibility::All, 3),
            expect("mon", Visibility::Int, 4),
            expect("coach", Visibility::Vip, 5),
        ]
    );
    assert!(fx.s.parties().iter().all(|p| !p.present));
    assert_eq!(fx.s.parties().len(), 6);
    assert!(fx.s.end_info().is_none());
    assert_eq!(fx.s.created_at(), T0);
    assert_eq!(fx.s.id().as_str(), "sess-1");
    // The restored transcript is the stored one plus the removals.
    assert_eq!(fx.s.transcript(), fx.stored().events.as_slice());
}

#[test]
fn restoration_annihilates_every_read_confirm() {
    let settings = SessionSettings {
        save_notices: SaveNotices::All,
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, None, customer("cust"));
    fx.join(agent("agent"));
    let a = fx.sent(read_confirm("cust", "1"));
    let b = fx.sent(read_confirm("agent", "2"));
    let effects = fx.restore();
    assert_eq!(
        effects[..2],
        [
            Effect::Annihilate { id: a.id },
            Effect::Annihilate { id: b.id }
        ]
    );
    assert_eq!(emitted(&effects).len(), 2);
    assert!(!fx.s.transcript().iter().any(Event::is_read_confirm));
}

#[test]
fn restored_ids_continue_after_the_highest_ever_allocated() {
    // The newest ids were transient: the stored last id is above every kept event.
    let mut fx = Fx::with_agent_and_customer();
    fx.sent(msg("cust", "hi"));
    fx.sent(notice("cust", NoticeType::TypingStarted, None));
    let typing = fx.sent(notice("cust", NoticeType::TypingStopped, None));
    let effects = fx.restore();
    assert_eq!(emitted(&effects)[0].id, typing.id.next());
    // A stale stored last id: the kept events win.
    let mut stored = fx.stored();
    let max = stored.events.last().expect("events").id;
    stored.last_event_id = EventId(1);
    let (s, effects) = Session::restore(stored, SessionSettings::default(), fx.now);
    assert!(effects.is_empty(), "nobody was present: {effects:?}");
    assert_eq!(s.last_event_id(), max);
}

#[test]
fn every_emitted_id_is_new_across_restorations() {
    let mut fx = Fx::with_agent_and_customer();
    for round in 0..3 {
        fx.sent(msg("cust", "hi"));
        fx.sent(notice("agent", NoticeType::TypingStarted, None));
        fx.restore();
        fx.ok(attach("cust"));
        fx.ok(attach("agent"));
        let all: Vec<u64> = emitted(&fx.log).iter().map(|e| e.id.0).collect();
        assert!(
            all.windows(2).all(|w| w[0] < w[1]),
            "round {round}: {all:?}"
        );
    }
}

#[test]
fn a_party_coming_back_is_shown_joining_again_as_itself() {
    let mut fx = Fx::full_house();
    fx.join(bot("bot"));
    let before: Vec<crate::Party> = fx.s.parties().to_vec();
    let joins: Vec<Event> = before
        .iter()
        .map(|p| fx.event(p.join_event).clone())
        .collect();
    later(&mut fx);
    fx.restore();
    for (old, old_join) in before.iter().zip(&joins) {
        let id = old.id.to_string();
        let e = only_event(&fx.ok(Input::Attach {
            party: old.id.clone(),
        }));
        assert_eq!(
            (&e.from, e.visibility, e.at),
            (&old.id, old.visibility, fx.now),
            "{id}"
        );
        // Same body as the first join: nickname, type, style, version, key, user data.
        assert_eq!(e.body, old_join.body, "{id}");
        let p = fx.party(&id);
        assert!(p.present);
        assert_eq!(p.join_event, e.id);
        assert_eq!(
            (
                &p.nickname,
                p.party_type,
                p.visibility,
                p.style,
                p.client_version,
                p.key_hash
            ),
            (
                &old.nickname,
                old.party_type,
                old.visibility,
                old.style,
                old.client_version,
                old.key_hash
            )
        );
        // Attaching twice is harmless.
        assert_eq!(
            fx.ok(Input::Attach {
                party: old.id.clone()
            }),
            vec![]
        );
    }
    assert_eq!(
        join_data(fx.event(fx.party("bot").join_event))
            .get(PARTY_STYLE_KEY)
            .map(String::as_str),
        Some("BOT")
    );
    // The monitor's join again is hidden from the customer: every party but the
    // customer may see it, and it went live to the staff already back when it came.
    let e = fx.event(fx.party("mon").join_event).clone();
    assert_eq!(
        fx.seen_by(&e),
        ids(&["agent", "bot", "coach", "mon", "sup"])
    );
    assert_eq!(fx.audience(&e), ids(&["agent", "mon", "sup"]));
}

#[test]
fn a_party_that_left_before_the_restoration_cannot_attach() {
    let mut fx = Fx::with_agent_and_customer();
    fx.ok(release("agent", AfterAction::KeepAlive));
    fx.restore();
    fx.refused(attach("agent"), CoreError::NotAParty);
    fx.ok(attach("cust"));
}

fn renamed_customer() -> Fx {
    let mut fx = Fx::with_agent_and_customer();
    fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Bob")));
    fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Carl")));
    fx
}

fn assert_renamed(fx: &Fx, current: &str) {
    let p = fx.party("cust");
    assert_eq!(p.nickname, current);
    assert_eq!(p.original_nickname.as_deref(), Some("Nick-cust"));
    assert_eq!(
        join_data(fx.event(p.join_event))
            .get(ORIGINAL_NICKNAME_KEY)
            .map(String::as_str),
        Some("Nick-cust")
    );
}

#[test]
fn a_renamed_party_comes_back_with_its_current_nickname_and_original_record() {
    let mut fx = renamed_customer();
    fx.restore();
    assert_renamed(&fx, "Carl");
    let e = only_event(&fx.ok(attach("cust")));
    assert!(matches!(&e.body, EventBody::NewParty { nickname, .. } if nickname == "Carl"));
    assert_renamed(&fx, "Carl");
    fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Dora")));
    assert_renamed(&fx, "Dora");
}

#[test]
fn a_renamed_party_keeps_its_original_nickname_across_two_restorations() {
    let mut fx = renamed_customer();
    fx.restore();
    fx.ok(attach("cust"));
    fx.ok(attach("agent"));
    fx.restore();
    assert_renamed(&fx, "Carl");
    fx.ok(attach("cust"));
    assert_renamed(&fx, "Carl");
    fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Dora")));
    assert_renamed(&fx, "Dora");
}

#[test]
fn a_party_joining_anew_after_restoration_starts_a_fresh_nickname_record() {
    let mut fx = renamed_customer();
    fx.restore();
    // A new join request, not an attach: a new nickname and no original to keep.
    let mut req = customer("cust");
    req.nickname = "Zed".into();
    let e = fx.join(req);
    assert!(!join_data(&e).contains_key(ORIGINAL_NICKNAME_KEY));
    fx.restore();
    let p = fx.party("cust");
    assert_eq!(
        (p.nickname.as_str(), p.original_nickname.as_deref()),
        ("Zed", None)
    );
    fx.ok(attach("cust"));
    fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Yves")));
    let p = fx.party("cust");
    assert_eq!(p.original_nickname.as_deref(), Some("Zed"));
    assert_eq!(
        join_data(fx.event(p.join_event))
            .get(ORIGINAL_NICKNAME_KEY)
            .map(String::as_str),
        Some("Zed")
    );
}

#[test]
fn the_idempotency_window_survives_restoration() {
    let mut fx = Fx::with_agent_and_customer();
    let original = fx.sent(with_cid(msg("cust", "hello"), "m-1"));
    fx.restore();
    fx.ok(attach("cust"));
    let last = fx.s.last_event_id();
    assert_eq!(
        fx.send(with_cid(msg("cust", "hello"), "m-1")),
        Ok(vec![Effect::Duplicate { id: original.id }])
    );
    assert_eq!(fx.s.last_event_id(), last);
}

#[test]
fn the_session_password_survives_restoration() {
    let mut fx = Fx::create(SessionSettings::default(), Some("pw-1"), customer("cust"));
    fx.restore();
    assert_eq!(fx.s.password().map(SessionPassword::expose), Some("pw-1"));
    // Coming back needs no password; a new party still does.
    fx.ok(attach("cust"));
    fx.refused(Input::Join(agent("agent")), CoreError::WrongSessionPassword);
    fx.join(with_password(agent("agent"), "pw-1"));
}

#[test]
fn restoration_is_not_a_customer_leaving_first() {
    // The customer never comes back, over two restorations: the agent's release ends
    // the session.
    let mut fx = Fx::with_agent_and_customer();
    for _ in 0..2 {
        fx.restore();
        fx.ok(attach("agent"));
    }
    let effects = fx.ok(release("agent", AfterAction::KeepAlive));
    let Some(Effect::Closed(info)) = effects.last() else {
        panic!("the last visible party left: {effects:?}");
    };
    assert_eq!(
        (info.ended_by, info.reason),
        (EndedBy::Agent, EndedReason::Quit)
    );
    // A customer who really left before the restoration still counts.
    let mut fx = Fx::with_agent_and_customer();
    fx.join(customer("cust2"));
    fx.ok(release("cust", AfterAction::KeepAlive));
    fx.restore();
    fx.ok(attach("agent"));
    let effects = fx.ok(release("agent", AfterAction::ForceClose));
    let Some(Effect::Closed(info)) = effects.last() else {
        panic!("force close closes: {effects:?}");
    };
    assert_eq!(
        (info.ended_by, info.reason),
        (EndedBy::Client, EndedReason::Quit)
    );
}

#[test]
fn a_restored_session_nobody_returns_to_ends_after_the_reconnect_timeout() {
    let mut fx = Fx::with_agent_and_customer();
    later(&mut fx);
    fx.restore();
    let deadline =
        fx.s.next_deadline()
            .expect("a restored session waits, with a deadline");
    fx.advance(1);
    assert!(fx.ok(Input::Tick).is_empty(), "not yet");
    let wait = u64::try_from(deadline.0 - fx.now.0).unwrap();
    fx.advance(wait);
    let effects = fx.ok(Input::Tick);
    assert!(
        matches!(effects.last(), Some(Effect::Closed(end)) if end.ended_by == EndedBy::System),
        "{effects:?}"
    );
}

#[test]
fn a_restored_session_someone_returns_to_goes_on() {
    let mut fx = Fx::with_agent_and_customer();
    later(&mut fx);
    fx.restore();
    fx.ok(attach("cust"));
    fx.advance(10 * 60_000);
    assert!(fx.ok(Input::Tick).is_empty());
    assert!(fx.s.end_info().is_none());
}
