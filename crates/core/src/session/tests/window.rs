//! The memory window: stored messages and notices leave memory, structural events stay,
//! and readers that start before the window get the store's events merged in by the core.

use super::*;
use crate::event::{ORIGINAL_NICKNAME_KEY, READ_CONFIRM};
use crate::session::Limits;

/// Read confirmations are kept only with `transcript-save-notices = all`.
fn small_window() -> Fx {
    let settings = SessionSettings {
        save_notices: crate::session::SaveNotices::All,
        limits: Limits {
            window_events: 4,
            window_bytes: 1024,
            ..Limits::default()
        },
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, None, customer("cust"));
    fx.join(agent("agent"));
    fx.join(monitor("mon"));
    fx
}

/// Everything the session kept, as the shell stored it (every `Emit` with `keep`, minus
/// annihilations).
fn stored(fx: &Fx) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for e in &fx.log {
        match e {
            Effect::Emit {
                event, keep: true, ..
            } => out.push(event.clone()),
            Effect::Annihilate { id } => out.retain(|e| e.id != *id),
            _ => {}
        }
    }
    out
}

fn ids(events: &[&Event]) -> Vec<u64> {
    events.iter().map(|e| e.id.0).collect()
}

#[test]
fn stored_messages_leave_memory_and_readers_get_them_from_the_store() {
    let mut fx = small_window();
    fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Zoe")));
    let seen = fx.sent(msg("agent", "hello"));
    fx.sent(read_confirm("cust", &seen.id.to_string()));
    let private = fx.sent(vis(msg("agent", "psst"), Visibility::Int));
    for i in 0..20 {
        fx.sent(msg(if i % 2 == 0 { "cust" } else { "agent" }, "line"));
    }
    let last = fx.s.last_event_id();
    // Only what is stored may leave: nothing is committed yet.
    fx.s.trim(EventId(0));
    assert_eq!(fx.s.trimmed_upto(), EventId(0));
    fx.s.trim(last);
    let trimmed = fx.s.trimmed_upto();
    assert!(trimmed > private.id, "the window trimmed to {trimmed}");
    let window: Vec<&Event> =
        fx.s.transcript()
            .iter()
            .filter(|e| matches!(e.body, EventBody::Message { .. }))
            .collect();
    assert!(window.len() <= 4, "{} messages in memory", window.len());
    // Joins and the read confirmation stay.
    assert_eq!(
        fx.s.transcript()
            .iter()
            .filter(|e| matches!(e.body, EventBody::NewParty { .. }) || e.is_read_confirm())
            .count(),
        4
    );

    let store = stored(&fx);
    // A resume from the start needs the store, and gets exactly the unwindowed replay.
    assert_eq!(fx.s.older_range(EventId(0)), Some((EventId(0), trimmed)));
    assert_eq!(fx.s.older_range(trimmed), None);
    let want = |who: &str| -> Vec<u64> {
        store
            .iter()
            .filter(|e| fx.s.visible_to(fx.party(who), e))
            .map(|e| e.id.0)
            .collect()
    };
    for who in ["cust", "agent", "mon"] {
        let got = fx.s.replay_for(&pid(who), EventId(0), &store);
        assert_eq!(ids(&got), want(who), "replay for {who}");
    }
    // The customer never gets the INT line, from the store either.
    let cust = fx.s.replay_for(&pid("cust"), EventId(0), &store);
    assert!(!cust.iter().any(|e| e.id == private.id));
    // Without the store's events a reader would miss lines: the shell must pass them.
    let partial = fx.s.replay_for(&pid("agent"), EventId(0), &[]);
    assert!(partial.len() < want("agent").len());

    // The final transcript is the whole one, with the original nickname recorded.
    let older: Vec<Event> = store.iter().filter(|e| e.id <= trimmed).cloned().collect();
    let full = fx.s.full_transcript(older);
    assert_eq!(
        full.iter().map(|e| e.id).collect::<Vec<_>>(),
        store.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    let join = full.iter().find(|e| e.id == fx.party("cust").join_event);
    assert!(matches!(
        join.map(|e| &e.body),
        Some(EventBody::NewParty { user_data, .. })
            if user_data.get(ORIGINAL_NICKNAME_KEY) == fx.party("cust").original_nickname.as_ref()
    ));
    assert!(fx.party("cust").original_nickname.is_some());
}

#[test]
fn a_read_confirmation_that_outlived_the_window_is_still_annihilated() {
    let mut fx = small_window();
    let seen = fx.sent(msg("agent", "hello"));
    let first = fx.sent(read_confirm("cust", &seen.id.to_string()));
    for _ in 0..12 {
        fx.sent(msg("agent", "line"));
    }
    fx.s.trim(fx.s.last_event_id());
    assert!(fx.s.trimmed_upto() > first.id);
    let effects = fx.ok(Input::Send(read_confirm("cust", &seen.id.to_string())));
    assert!(effects.contains(&Effect::Annihilate { id: first.id }));
    assert!(matches!(
        &first.body,
        EventBody::Notice { text: Some(t), .. } if t == READ_CONFIRM
    ));
}

#[test]
fn trimmed_events_still_count_against_the_transcript_limits() {
    let settings = SessionSettings {
        limits: Limits {
            max_transcript_events: 8,
            window_events: 2,
            ..Limits::default()
        },
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, None, customer("cust"));
    fx.join(agent("agent"));
    for _ in 0..6 {
        fx.sent(msg("agent", "x"));
        fx.s.trim(fx.s.last_event_id());
    }
    assert!(fx.s.transcript().len() < 8);
    assert!(matches!(
        fx.send(msg("cust", "one too many")),
        Err(CoreError::LimitExceeded(_))
    ));
    // A full chat takes no one new either.
    assert!(matches!(
        fx.input(Input::Join(supervisor("sup"))),
        Err(CoreError::LimitExceeded(_))
    ));
}
