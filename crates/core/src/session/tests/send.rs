//! A transcript's bounds: parties are refused once it is full, the chat still ends.

use super::*;
use crate::session::Limits;

#[test]
fn a_full_transcript_refuses_parties_but_the_chat_still_ends() {
    let settings = SessionSettings {
        limits: Limits {
            max_transcript_events: 6,
            max_transcript_bytes: 10,
            ..Limits::default()
        },
        ..SessionSettings::default()
    };
    let mut fx = Fx::create(settings, None, customer("cust"));
    fx.join(agent("agent"));
    let full = CoreError::LimitExceeded(
        "the chat's transcript is full (max-transcript-events, max-transcript-size)",
    );
    // 10 bytes of text fit, the 11th does not.
    fx.sent(msg("cust", "12345"));
    fx.sent(msg("agent", "12345"));
    fx.refused(Input::Send(msg("cust", "x")), full.clone());
    // Events fill up too: 2 joins + 2 messages, then 2 empty notices, then no more.
    let mut fx = Fx::create(
        SessionSettings {
            limits: Limits {
                max_transcript_events: 4,
                ..Limits::default()
            },
            ..SessionSettings::default()
        },
        None,
        customer("cust"),
    );
    fx.join(agent("agent"));
    fx.sent(msg("cust", "a"));
    fx.sent(msg("agent", "b"));
    fx.refused(Input::Send(msg("agent", "c")), full);
    // Leaving and the end still go in.
    let effects = fx.ok(release("cust", AfterAction::ForceClose));
    assert!(effects.iter().any(|e| matches!(e, Effect::Closed(_))));
}
