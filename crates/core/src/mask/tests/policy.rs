//! The policy: each option's predicates, and the seed's unmask example step by step.

use super::super::{
    ApplyArea, CleanSubject, LiveView, MaskPolicy, PartyFacts, TypingPart, TypingPreview,
};
use crate::{
    ClientVersion, EventId, Party, PartyId, PartyStyle, PartyType, Protocol, UnixMillis, Visibility,
};

fn party(id: &str, party_type: PartyType, visibility: Visibility, style: PartyStyle) -> Party {
    Party {
        id: id.parse().expect("party id"),
        nickname: id.to_owned(),
        original_nickname: None,
        party_type,
        visibility,
        style,
        protocol: Protocol::Basic,
        client_version: ClientVersion::LATEST,
        key_hash: None,
        person_id: None,
        joined_at: UnixMillis(0),
        present: true,
        detached_since: None,
        join_event: EventId(1),
    }
}

fn customer() -> Party {
    party(
        "customer",
        PartyType::Client,
        Visibility::All,
        PartyStyle::Normal,
    )
}

fn agent(id: &str) -> Party {
    party(id, PartyType::Agent, Visibility::All, PartyStyle::Normal)
}

fn ids(parties: &[PartyId]) -> Vec<&str> {
    parties.iter().map(PartyId::as_str).collect()
}

fn unmasking() -> MaskPolicy {
    MaskPolicy {
        apply_area: ApplyArea::Always,
        unmask_live_dialog: true,
        ..MaskPolicy::default()
    }
}

/// The seed's example, "Unmasking Data for Active Agents": who is shown each of the
/// customer's three card numbers in clear, and what each party sees at the end.
#[test]
fn the_seeds_unmask_example_step_by_step() {
    let policy = unmasking();
    let c = customer();
    let mut session = vec![c.clone()];

    // 1. Before any agent: masked for everyone, the customer too.
    let first = policy.unmasked_audience(&c, &session);
    assert!(first.is_empty(), "{:?}", ids(&first));

    // 2. An agent joins: the first message was decided without it.
    session.push(agent("agent1"));
    assert!(!first.iter().any(|p| p.as_str() == "agent1"));

    // 3. The customer sends it again: the agent and the customer see it.
    let third = policy.unmasked_audience(&c, &session);
    assert_eq!(ids(&third), ["customer", "agent1"]);

    // 4. A second agent joins for a conference: every earlier message is masked for it.
    session.push(agent("agent2"));
    assert!(!first.iter().chain(&third).any(|p| p.as_str() == "agent2"));

    // 5. Sent again: both agents and the customer see it.
    let fifth = policy.unmasked_audience(&c, &session);
    assert_eq!(ids(&fifth), ["customer", "agent1", "agent2"]);

    // The stored transcript is masked throughout.
    assert!(policy.masks_intermediate() && policy.masks_final());
}

#[test]
fn monitors_coaches_and_bots_are_not_active_agents() {
    let policy = unmasking();
    let c = customer();
    let monitor = party(
        "monitor",
        PartyType::Supervisor,
        Visibility::Int,
        PartyStyle::Normal,
    );
    let coach = party(
        "coach",
        PartyType::Supervisor,
        Visibility::Vip,
        PartyStyle::Normal,
    );
    let bot = party("bot", PartyType::Agent, Visibility::All, PartyStyle::Bot);
    let session = vec![c.clone(), monitor.clone(), coach.clone(), bot.clone()];
    // Nobody present unmasks: not even the customer sees its message in clear.
    assert!(policy.unmasked_audience(&c, &session).is_empty());

    // A supervisor who barges in visibly is an active agent; the monitor still is not.
    let barged = party(
        "barged",
        PartyType::Supervisor,
        Visibility::All,
        PartyStyle::Normal,
    );
    let mut with_barge = session.clone();
    with_barge.push(barged);
    assert_eq!(
        ids(&policy.unmasked_audience(&c, &with_barge)),
        ["customer", "barged"]
    );

    // allow-bot-unmask makes the bot one, on its own.
    let bots = MaskPolicy {
        allow_bot_unmask: true,
        unmask_live_dialog: false,
        ..unmasking()
    };
    assert_eq!(
        ids(&bots.unmasked_audience(&c, &session)),
        ["customer", "bot"]
    );
    assert!(!bots.unmasks(PartyFacts::from(&agent("human"))));

    // A party that left is not there to be shown anything.
    let mut gone = agent("gone");
    gone.present = false;
    assert!(policy.unmasked_audience(&c, &[c.clone(), gone]).is_empty());
}

#[test]
fn only_customers_messages_are_unmasked() {
    let policy = unmasking();
    let a = agent("agent1");
    let session = vec![customer(), a.clone(), agent("agent2")];
    assert!(policy.unmasked_audience(&a, &session).is_empty());

    let view = LiveView {
        from_customer: false,
        viewer_is_sender: true,
        viewer: PartyFacts::from(&a),
        viewer_present_at_send: true,
        unmasker_present_at_send: true,
    };
    assert!(policy.masks_live_for(view));
    let joined_after = LiveView {
        from_customer: true,
        viewer_is_sender: false,
        viewer_present_at_send: false,
        ..view
    };
    assert!(policy.masks_live_for(joined_after));
    assert!(!policy.masks_live_for(LiveView {
        viewer_present_at_send: true,
        ..joined_after
    }));
}

#[test]
fn without_unmask_live_dialog_everyone_sees_it_masked() {
    let policy = MaskPolicy {
        apply_area: ApplyArea::Always,
        ..MaskPolicy::default()
    };
    let c = customer();
    assert!(policy
        .unmasked_audience(&c, &[c.clone(), agent("agent1")])
        .is_empty());
}

#[test]
fn apply_area_says_where() {
    let at = |apply_area| MaskPolicy {
        apply_area,
        unmask_live_dialog: true,
        clean_subject: CleanSubject::Both,
        ..MaskPolicy::default()
    };
    let table = [
        (ApplyArea::Always, [true, true, true, true]),
        (ApplyArea::HistoryAll, [true, false, true, true]),
        (ApplyArea::HistoryFinal, [true, false, false, true]),
        (ApplyArea::Never, [false, false, false, false]),
    ];
    for (area, [enabled, live, intermediate, last]) in table {
        let p = at(area);
        assert_eq!(
            [
                p.enabled(),
                p.masks_live(),
                p.masks_intermediate(),
                p.masks_final()
            ],
            [enabled, live, intermediate, last],
            "{area:?}"
        );
        assert_eq!(p.masks_subject_in_history(), enabled, "{area:?}");
    }
    // Outside `always`, live copies are never masked: everyone present is in clear, a
    // monitor too.
    let c = customer();
    let monitor = party(
        "m",
        PartyType::Supervisor,
        Visibility::Int,
        PartyStyle::Normal,
    );
    let history = at(ApplyArea::HistoryAll);
    assert_eq!(
        ids(&history.unmasked_audience(&c, &[c.clone(), monitor])),
        ["customer", "m"]
    );
}

#[test]
fn clean_subject_says_which_copy() {
    let at = |clean_subject| MaskPolicy {
        apply_area: ApplyArea::HistoryFinal,
        clean_subject,
        ..MaskPolicy::default()
    };
    for (clean, history, interaction) in [
        (CleanSubject::Never, false, false),
        (CleanSubject::History, true, false),
        (CleanSubject::Interaction, false, true),
        (CleanSubject::Both, true, true),
    ] {
        let p = at(clean);
        assert_eq!(
            (
                p.masks_subject_in_history(),
                p.masks_subject_in_interaction()
            ),
            (history, interaction),
            "{clean:?}"
        );
    }
}

#[test]
fn typing_preview_says_which_part() {
    for (preview, message, notice) in [
        (TypingPreview::Any, true, true),
        (TypingPreview::Message, true, false),
        (TypingPreview::Notice, false, true),
        (TypingPreview::None, false, false),
    ] {
        // Independent of apply-area, as the seed ties it to typing-preview alone.
        let p = MaskPolicy {
            typing_preview: preview,
            ..MaskPolicy::default()
        };
        assert_eq!(
            (
                p.masks_typing(TypingPart::Message),
                p.masks_typing(TypingPart::Notice)
            ),
            (message, notice),
            "{preview:?}"
        );
        let shown = p.mask_typing(TypingPart::Message, "4111 2");
        assert_eq!(shown, if message { "**** *" } else { "4111 2" });
    }
}

#[test]
fn defaults_are_the_references() {
    let p = MaskPolicy::default();
    assert_eq!(p.apply_area, ApplyArea::Never);
    assert_eq!(p.clean_subject, CleanSubject::Never);
    assert_eq!(p.typing_preview, TypingPreview::None);
    assert!(!p.unmask_live_dialog && !p.allow_bot_unmask);
    assert_eq!(p.style.repchar, '*');
    assert_eq!(p.style.default_spec.to_string(), "digits");
}
