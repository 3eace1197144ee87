//! Masking in a session (`[transcript-cleanup]`): the seed's unmask example step by
//! step, each `apply-area`, typing previews, the `pii-cleanup` positions, restoration.
//! Everything is checked through the production projection (`view_for`), the stored
//! copies the shell writes (`Event::stored`) and the final record (`full_transcript`).

use std::sync::Arc;

use super::*;
use crate::mask::{builtin_rules, ApplyArea, MaskPolicy, RuleSet, Style, TypingPreview};
use crate::session::SessionMasking;

const CARD: &str = "4111 1111 1111 1111";
const MASKED: &str = "**** **** **** ****";

fn card_text() -> String {
    format!("my card is {CARD} thanks")
}
fn masked_text() -> String {
    format!("my card is {MASKED} thanks")
}

fn settings(policy: MaskPolicy) -> SessionSettings {
    SessionSettings {
        customer_join_by_id: true,
        masking: Some(SessionMasking {
            policy,
            rules: Arc::new(RuleSet::compile(builtin_rules(), Style::default()).expect("built-in")),
        }),
        ..SessionSettings::default()
    }
}

fn policy(apply_area: ApplyArea) -> MaskPolicy {
    MaskPolicy {
        apply_area,
        unmask_live_dialog: true,
        ..MaskPolicy::default()
    }
}

fn fx(policy: MaskPolicy) -> Fx {
    Fx::create(settings(policy), None, customer("cust"))
}

/// The text `viewer` is shown of `event`, and whether positions came with it.
fn shown(fx: &Fx, event: &Event, viewer: &str) -> (String, bool) {
    let party = fx.s.party(&pid(viewer)).expect("a party");
    let view = fx.s.view_for(event, party).expect("visible");
    let text = match view.body {
        EventBody::Message { text, .. } => text,
        other => panic!("not a message: {other:?}"),
    };
    let positions = view.system.is_some_and(|s| !s.pii.is_empty());
    (text, positions)
}

fn text_for(fx: &Fx, event: &Event, viewer: &str) -> String {
    shown(fx, event, viewer).0
}

/// The messages of the final record, as stored.
fn final_texts(fx: &Fx) -> Vec<String> {
    fx.s.full_transcript(Vec::new())
        .into_iter()
        .filter_map(|e| e.masked_text().map(str::to_owned))
        .collect()
}

fn stored_texts(fx: &Fx) -> Vec<String> {
    fx.stored()
        .events
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Message { text, .. } => Some(text),
            _ => None,
        })
        .collect()
}

#[test]
fn the_seeds_unmask_example_step_by_step() {
    let mut fx = fx(policy(ApplyArea::Always));
    // 1. Before any agent the card number is masked for everyone, the customer too.
    let m1 = fx.sent(msg("cust", &card_text()));
    assert_eq!(text_for(&fx, &m1, "cust"), masked_text());
    // 2. An agent joins: the earlier message is masked for it.
    fx.join(agent("a1"));
    assert_eq!(text_for(&fx, &m1, "a1"), masked_text());
    // Monitors and coaches never see unmasked data.
    fx.join(monitor("mon"));
    fx.join(coach("coach"));
    // 3. Sent with the active agent present: in clear for it and the customer.
    let m3 = fx.sent(msg("cust", &card_text()));
    assert_eq!(text_for(&fx, &m3, "cust"), card_text());
    assert_eq!(text_for(&fx, &m3, "a1"), card_text());
    assert_eq!(text_for(&fx, &m3, "mon"), masked_text());
    assert_eq!(text_for(&fx, &m3, "coach"), masked_text());
    // 4. A second agent sees every earlier message masked.
    fx.join(agent("a2"));
    assert_eq!(text_for(&fx, &m1, "a2"), masked_text());
    assert_eq!(text_for(&fx, &m3, "a2"), masked_text());
    assert_eq!(
        text_for(&fx, &m3, "a1"),
        card_text(),
        "a1 keeps its clear copy"
    );
    // 5. Sent with both agents present: in clear for both and the customer.
    let m5 = fx.sent(msg("cust", &card_text()));
    for viewer in ["cust", "a1", "a2"] {
        assert_eq!(text_for(&fx, &m5, viewer), card_text(), "{viewer}");
    }
    assert_eq!(text_for(&fx, &m5, "mon"), masked_text());
    // The join snapshot of a later party replays everything masked.
    fx.join(supervisor("late"));
    let snap =
        fx.s.snapshot_for(&pid("late"), EventId(0), fx.s.last_event_id(), false, &[]);
    let replayed: Vec<String> = snap
        .events
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Message { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(replayed, vec![masked_text(); 3]);
    // The stored transcript and the final record are masked throughout.
    assert_eq!(stored_texts(&fx), vec![masked_text(); 3]);
    assert_eq!(final_texts(&fx), vec![masked_text(); 3]);
}

#[test]
fn an_agents_message_is_masked_for_everyone_the_agent_too() {
    let mut fx = fx(policy(ApplyArea::Always));
    fx.join(agent("a1"));
    let m = fx.sent(msg("a1", &card_text()));
    assert_eq!(text_for(&fx, &m, "a1"), masked_text());
    assert_eq!(text_for(&fx, &m, "cust"), masked_text());
}

#[test]
fn without_unmask_live_dialog_everyone_sees_it_masked() {
    let mut fx = fx(MaskPolicy {
        unmask_live_dialog: false,
        ..policy(ApplyArea::Always)
    });
    fx.join(agent("a1"));
    let m = fx.sent(msg("cust", &card_text()));
    assert_eq!(text_for(&fx, &m, "a1"), masked_text());
    assert_eq!(text_for(&fx, &m, "cust"), masked_text());
}

#[test]
fn a_bot_unmasks_only_with_allow_bot_unmask() {
    for allow in [false, true] {
        let mut fx = fx(MaskPolicy {
            unmask_live_dialog: false,
            allow_bot_unmask: allow,
            ..policy(ApplyArea::Always)
        });
        fx.join(bot("bot"));
        let m = fx.sent(msg("cust", &card_text()));
        let expected = if allow { card_text() } else { masked_text() };
        assert_eq!(
            text_for(&fx, &m, "bot"),
            expected,
            "allow-bot-unmask={allow}"
        );
        assert_eq!(text_for(&fx, &m, "cust"), expected);
    }
}

#[test]
fn history_all_delivers_in_clear_and_stores_masked() {
    let mut fx = fx(policy(ApplyArea::HistoryAll));
    let m = fx.sent(msg("cust", &card_text()));
    fx.join(agent("a1"));
    assert_eq!(text_for(&fx, &m, "cust"), card_text());
    assert_eq!(text_for(&fx, &m, "a1"), card_text());
    assert_eq!(stored_texts(&fx), [masked_text()]);
    assert_eq!(final_texts(&fx), [masked_text()]);
    // A restored session is rebuilt from what was stored: masked live from then on.
    fx.restore();
    fx.join(agent("a2"));
    let restored = fx.event(m.id).clone();
    assert_eq!(text_for(&fx, &restored, "a2"), masked_text());
}

#[test]
fn history_final_masks_only_the_final_record() {
    let mut fx = fx(policy(ApplyArea::HistoryFinal));
    let m = fx.sent(msg("cust", &card_text()));
    assert_eq!(text_for(&fx, &m, "cust"), card_text());
    assert_eq!(stored_texts(&fx), [card_text()]);
    assert_eq!(final_texts(&fx), [masked_text()]);
    // Restored from the clear stored copy, the final record is still masked.
    fx.restore();
    assert_eq!(final_texts(&fx), [masked_text()]);
}

#[test]
fn never_masks_nothing() {
    let mut fx = fx(policy(ApplyArea::Never));
    let m = fx.sent(msg("cust", &card_text()));
    assert!(m.pii.is_none());
    assert_eq!(text_for(&fx, &m, "cust"), card_text());
    assert_eq!(stored_texts(&fx), [card_text()]);
    assert_eq!(final_texts(&fx), [card_text()]);
}

#[test]
fn restoration_under_always_shows_everyone_the_masked_text() {
    let mut fx = fx(policy(ApplyArea::Always));
    fx.join(agent("a1"));
    let m = fx.sent(msg("cust", &card_text()));
    assert_eq!(text_for(&fx, &m, "a1"), card_text());
    fx.restore();
    fx.join(agent("a1b"));
    let restored = fx.event(m.id).clone();
    assert_eq!(text_for(&fx, &restored, "a1b"), masked_text());
    let (_, positions) = shown(&fx, &restored, "a1b");
    assert!(positions, "the positions survive the store");
}

#[test]
fn positions_come_with_a_masked_text_only_and_from_version_106() {
    let mut fx = fx(policy(ApplyArea::Always));
    fx.join(agent("a1"));
    fx.join(with_version(monitor("old"), 105));
    fx.join(monitor("new"));
    let m = fx.sent(msg("cust", &format!("call 555-234-5678 or use {CARD}")));
    assert_eq!(shown(&fx, &m, "a1").1, false, "in clear: nothing to report");
    assert_eq!(
        shown(&fx, &m, "old").1,
        false,
        "below 106: no event attributes"
    );
    let party = fx.s.party(&pid("new")).expect("party");
    let view = fx.s.view_for(&m, party).expect("visible");
    let hits = view.system.expect("attributes").pii;
    let got: Vec<(String, String, &str)> = hits
        .iter()
        .map(|h| (h.rule.name.clone(), h.position_key(), h.replaced.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("GCTI_CreditCards".to_owned(), "25-43".to_owned(), "digits"),
            ("GCTI_PhoneNANPA".to_owned(), "5-16".to_owned(), "digits"),
        ]
    );
}

#[test]
fn typing_previews_mask_digits_by_the_part_they_came_in() {
    use crate::mask::ApplyArea::Never;
    let cases = [
        (TypingPreview::None, "4111 2", "4111 2"),
        (TypingPreview::Any, "**** *", "**** *"),
        (TypingPreview::Notice, "**** *", "4111 2"),
        (TypingPreview::Message, "4111 2", "**** *"),
    ];
    for (preview, basic, flex) in cases {
        // Masking of messages off: previews follow `typing-preview` alone.
        let mut fx = fx(MaskPolicy {
            typing_preview: preview,
            ..policy(Never)
        });
        let mut flex_join = agent("a1");
        flex_join.party_type = PartyType::Client;
        flex_join.party = pid("web");
        flex_join.protocol = Protocol::Flex;
        fx.join(agent("a2"));
        fx.join(flex_join);
        for (from, expected) in [("cust", basic), ("web", flex)] {
            let e = fx.sent(notice(from, NoticeType::TypingStarted, Some("4111 2")));
            let got = match &e.body {
                EventBody::Notice { text, .. } => text.clone(),
                other => panic!("{other:?}"),
            };
            assert_eq!(got.as_deref(), Some(expected), "{preview:?} from {from}");
        }
    }
}

#[test]
fn the_subject_is_masked_where_clean_subject_says() {
    use crate::mask::CleanSubject;
    let subject = format!("refund to {CARD}");
    let masked = format!("refund to {MASKED}");
    for (clean, history, live) in [
        (CleanSubject::Never, &subject, &subject),
        (CleanSubject::History, &masked, &subject),
        (CleanSubject::Interaction, &subject, &masked),
        (CleanSubject::Both, &masked, &masked),
    ] {
        let fx = fx(MaskPolicy {
            clean_subject: clean,
            ..policy(ApplyArea::Always)
        });
        assert_eq!(&fx.s.subject_for(&subject, true), history, "{clean:?}");
        assert_eq!(&fx.s.subject_for(&subject, false), live, "{clean:?}");
    }
}

#[test]
fn rules_that_cannot_be_read_mask_every_message_whole() {
    let mut settings = settings(policy(ApplyArea::Always));
    if let Some(m) = &mut settings.masking {
        m.rules = Arc::new(RuleSet::unavailable(Style::default()));
    }
    let mut fx = Fx::create(settings, None, customer("cust"));
    let m = fx.sent(msg("cust", "hello"));
    fx.join(agent("a1"));
    assert_eq!(text_for(&fx, &m, "a1"), "*****");
    assert!(m.pii.as_ref().and_then(|p| p.failure.as_ref()).is_some());
}
