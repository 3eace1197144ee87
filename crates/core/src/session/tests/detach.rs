//! Detach and attach: a party whose connection dropped waits `reconnect_timeout_ms`
//! for it to come back; `next_deadline` reports when, and a `Tick` removes it.

use super::leave::{closed, left};
use super::*;
use crate::event::LeftReason;
use crate::session::{EndedAgent, EndedBy, EndedReason};

const TIMEOUT: u64 = 30_000;

fn reconnecting() -> Fx {
    let settings = SessionSettings {
        reconnect_timeout_ms: TIMEOUT,
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, None, customer("cust"));
    fx.join(agent("agent"));
    fx
}

#[test]
fn a_detached_party_is_removed_for_disconnect_after_the_reconnect_timeout() {
    let mut fx = reconnecting();
    assert_eq!(fx.s.next_deadline(), None);
    fx.advance(1_000);
    let detached_at = fx.now;
    assert_eq!(fx.input(detach("agent")), Ok(vec![]));
    let deadline = detached_at.plus_ms(TIMEOUT);
    assert_eq!(fx.s.next_deadline(), Some(deadline));
    assert!(fx.party("agent").present);
    // A second drop does not push the deadline back.
    fx.advance(5_000);
    fx.ok(detach("agent"));
    assert_eq!(fx.s.next_deadline(), Some(deadline));
    fx.now = UnixMillis(deadline.0 - 1);
    assert_eq!(fx.ok(Input::Tick), vec![]);
    assert!(fx.party("agent").present);
    fx.now = deadline;
    let e = only_event(&fx.ok(Input::Tick));
    assert_eq!(
        left(&e),
        (
            "agent".into(),
            LeftReason::Disconnect,
            AfterAction::KeepAlive,
            None
        )
    );
    assert_eq!(e.at, deadline);
    assert!(!fx.party("agent").present);
    assert_eq!(fx.s.next_deadline(), None);
    assert!(fx.s.end_info().is_none());
}

#[test]
fn attach_before_the_deadline_cancels_it() {
    let mut fx = reconnecting();
    fx.ok(detach("agent"));
    fx.advance(TIMEOUT - 1);
    assert_eq!(fx.ok(attach("agent")), vec![]);
    assert_eq!(fx.s.next_deadline(), None);
    fx.advance(10 * TIMEOUT);
    assert_eq!(fx.ok(Input::Tick), vec![]);
    assert!(fx.party("agent").present && fx.party("agent").detached_since.is_none());
}

#[test]
fn next_deadline_is_the_earliest_and_ticks_remove_every_due_party() {
    let mut fx = reconnecting();
    fx.join(agent("agent2"));
    fx.ok(detach("agent2"));
    fx.advance(2_000);
    fx.ok(detach("agent"));
    assert_eq!(fx.s.next_deadline(), Some(T0.plus_ms(TIMEOUT)));
    fx.advance(TIMEOUT);
    let facts: Vec<_> = emitted(&fx.ok(Input::Tick)).iter().map(left).collect();
    assert_eq!(
        facts
            .iter()
            .map(|f| (f.0.as_str(), f.1))
            .collect::<Vec<_>>(),
        vec![
            ("agent", LeftReason::Disconnect),
            ("agent2", LeftReason::Disconnect)
        ]
    );
}

#[test]
fn a_disconnected_last_customer_closes_the_session_as_a_client_disconnect() {
    let settings = SessionSettings {
        reconnect_timeout_ms: TIMEOUT,
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, None, customer("cust"));
    fx.ok(detach("cust"));
    fx.advance(TIMEOUT);
    let info = closed(&fx.ok(Input::Tick));
    assert_eq!(
        (info.ended_by, info.reason, info.agent),
        (EndedBy::Client, EndedReason::Disconnect, EndedAgent::Absent)
    );
}

#[test]
fn detach_and_attach_need_a_party_of_the_session() {
    let mut fx = reconnecting();
    fx.refused(detach("nobody"), CoreError::NotAParty);
    fx.refused(attach("nobody"), CoreError::NotAParty);
    fx.ok(release("agent", AfterAction::KeepAlive));
    fx.refused(detach("agent"), CoreError::NotAParty);
    // Only a restoration lets a party that left come back by attaching.
    fx.refused(attach("agent"), CoreError::NotAParty);
}
