//! Masking over random chats with random rule sets and options: text a rule matches
//! never reaches, unmasked, a party, a replay, the stored transcript, the final record or
//! a log line that must see it masked, and a party entitled to the clear text gets it.
//!
//! The oracle is written here from the seed's rules, independently of the core's
//! `MaskPolicy::unmasked_audience`: with `apply-area = always`, a customer's message is in
//! clear for the active agents (visible staff; bots only with `allow-bot-unmask`, humans
//! only with `unmask-live-dialog`) present when it was sent, and for the customer when
//! one of them was present; everything else is masked for everyone. Other areas deliver
//! in clear. A restoration rebuilds from what was stored, so clear copies end there when
//! the stored transcript is masked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parley_core::mask::{builtin_rules, ApplyArea, MaskPolicy, RuleDef, RuleMeta, RuleSet, Style};
use parley_core::session::{JoinRequest, SendBody, SendRequest, SessionMasking, Stored};
use parley_core::{
    ClientVersion, Effect, Event, EventBody, EventId, Input, PartyId, PartyType, Protocol, Session,
    SessionSettings, UnixMillis, UserData, Visibility,
};
use proptest::prelude::*;

use crate::ops::pid;

/// Secrets the rules below find, each surrounded by spaces in a message.
const SECRETS: [&str; 4] = [
    "4111 1111 1111 1111",
    "078-05-1120",
    "(212) 555-7890",
    "zorp-42",
];

/// Who joins: kind, visibility, bot.
#[derive(Debug, Clone, Copy)]
enum Role {
    Customer,
    Agent,
    Supervisor,
    Monitor,
    Coach,
    Bot,
}

#[derive(Debug, Clone)]
enum Step {
    Join(Role),
    Leave(usize),
    /// A party (index among those who joined) sends; `Some(i)`: with secret `i`.
    Say(usize, Option<usize>),
    Restore,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => prop_oneof![
            Just(Role::Customer), Just(Role::Agent), Just(Role::Supervisor),
            Just(Role::Monitor), Just(Role::Coach), Just(Role::Bot)
        ].prop_map(Step::Join),
        1 => (0usize..8).prop_map(Step::Leave),
        5 => (0usize..8, prop::option::of(0usize..SECRETS.len()))
            .prop_map(|(p, s)| Step::Say(p, s)),
        1 => Just(Step::Restore),
    ]
}

fn area() -> impl Strategy<Value = ApplyArea> {
    prop_oneof![
        3 => Just(ApplyArea::Always),
        1 => Just(ApplyArea::HistoryAll),
        1 => Just(ApplyArea::HistoryFinal),
    ]
}

/// The built-in rules in a random order, some left out, plus a custom one.
fn rules() -> impl Strategy<Value = (Vec<RuleDef>, BTreeSet<usize>)> {
    (
        Just(builtin_rules()).prop_shuffle(),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(mut defs, drop, custom)| {
            defs.truncate(3 - drop);
            if custom {
                defs.push(RuleDef {
                    meta: RuleMeta {
                        id: "cfg:zorp".into(),
                        name: "Zorp".into(),
                        description: "zorp tokens".into(),
                    },
                    regex: r"\bzorp-\d+\b".into(),
                    spec: None,
                });
            }
            // Which secrets some rule finds.
            let found = SECRETS
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    defs.iter().any(|d| match *i {
                        0 => d.meta.name == "GCTI_CreditCards",
                        1 => d.meta.name == "GCTI_SSN",
                        2 => d.meta.name == "GCTI_PhoneNANPA",
                        _ => d.meta.name == "Zorp",
                    })
                })
                .map(|(i, _)| i)
                .collect();
            (defs, found)
        })
}

struct Joined {
    id: PartyId,
    role: Role,
    present: bool,
}

fn join_request(id: &PartyId, role: Role) -> JoinRequest {
    let (party_type, visibility) = match role {
        Role::Customer => (PartyType::Client, Visibility::All),
        Role::Agent | Role::Bot => (PartyType::Agent, Visibility::All),
        Role::Supervisor => (PartyType::Supervisor, Visibility::All),
        Role::Monitor => (PartyType::Supervisor, Visibility::Int),
        Role::Coach => (PartyType::Agent, Visibility::Vip),
    };
    let mut user_data = UserData::new();
    if matches!(role, Role::Bot) {
        user_data.insert("GCTI_Chat_SetPartyStyle".into(), "BOT".into());
    }
    JoinRequest {
        party: id.clone(),
        nickname: id.to_string(),
        party_type,
        visibility,
        protocol: Protocol::Basic,
        client_version: ClientVersion::LATEST,
        key_hash: None,
        person_id: None,
        user_data,
    }
}

/// The seed's rule: does `p`, present at send, unmask a customer's message?
fn unmasks(policy: &MaskPolicy, role: Role) -> bool {
    match role {
        Role::Agent | Role::Supervisor => policy.unmask_live_dialog,
        Role::Bot => policy.allow_bot_unmask,
        Role::Customer | Role::Monitor | Role::Coach => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn masked_text_reaches_only_those_entitled_to_it(
        apply_area in area(),
        unmask_live_dialog in any::<bool>(),
        allow_bot_unmask in any::<bool>(),
        (defs, found) in rules(),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let policy = MaskPolicy { apply_area, unmask_live_dialog, allow_bot_unmask, ..MaskPolicy::default() };
        let settings = SessionSettings {
            customer_join_by_id: true,
            masking: Some(SessionMasking {
                policy,
                rules: Arc::new(RuleSet::compile(defs, Style::default()).expect("rules compile")),
            }),
            ..SessionSettings::default()
        };
        let mut now = UnixMillis(1_700_000_000_000);
        let first = pid(0);
        let (mut s, effects) = Session::create("sess".parse().expect("id"), now, settings.clone(), None,
            join_request(&first, Role::Customer)).expect("created");
        let mut joined = vec![Joined { id: first, role: Role::Customer, present: true }];
        let mut stored: Vec<Event> = Vec::new();
        let mut last = EventId(0);
        // Per message: its secret and who must be shown it in clear.
        // `true`: every party, later joiners too (live delivery in clear).
        let mut secrets: BTreeMap<EventId, (&str, BTreeSet<PartyId>, bool)> = BTreeMap::new();
        let record = |effects: Vec<Effect>, s: &Session, stored: &mut Vec<Event>, last: &mut EventId| {
            for e in effects {
                if let Effect::Emit { event, keep, .. } = e {
                    *last = (*last).max(event.id);
                    if keep {
                        stored.push(event.stored(s.masks_intermediate()).into_owned());
                    }
                }
            }
        };
        record(effects, &s, &mut stored, &mut last);
        for step in steps {
            now = now.plus_ms(1000);
            match step {
                Step::Join(role) => {
                    let id = pid(joined.len());
                    if let Ok(eff) = s.handle(now, Input::Join(join_request(&id, role))) {
                        record(eff, &s, &mut stored, &mut last);
                        joined.push(Joined { id, role, present: true });
                    }
                }
                Step::Leave(i) => {
                    let Some(p) = joined.get_mut(i % 8) else { continue };
                    let input = Input::Release { party: p.id.clone(), after_action: parley_core::AfterAction::KeepAlive, text: None };
                    if let Ok(eff) = s.handle(now, input) {
                        p.present = false;
                        record(eff, &s, &mut stored, &mut last);
                    }
                }
                Step::Say(i, secret) => {
                    let Some(sender) = joined.get(i % 8) else { continue };
                    let secret_text = secret.filter(|i| found.contains(i)).map(|i| SECRETS[i]);
                    let text = match secret { Some(i) => format!("see {} now", SECRETS[i]), None => "hello".into() };
                    let req = SendRequest {
                        from: sender.id.clone(),
                        visibility: Visibility::All,
                        receiver: None,
                        client_msg_id: None,
                        body: SendBody::Message { text, message_type: None },
                    };
                    let Ok(eff) = s.handle(now, Input::Send(req)) else { continue };
                    let id = eff.iter().find_map(|e| match e { Effect::Emit { event, .. } => Some(event.id), _ => None }).expect("emitted");
                    if let Some(secret) = secret_text {
                        let mut clear = BTreeSet::new();
                        let everyone = apply_area != ApplyArea::Always;
                        if !everyone {
                            if matches!(sender.role, Role::Customer) {
                                let active: Vec<&Joined> = joined.iter()
                                    .filter(|p| p.present && p.id != sender.id && unmasks(&policy, p.role))
                                    .collect();
                                clear.extend(active.iter().map(|p| p.id.clone()));
                                if !active.is_empty() {
                                    clear.insert(sender.id.clone());
                                }
                            }
                        }
                        secrets.insert(id, (secret, clear, everyone));
                    }
                    record(eff, &s, &mut stored, &mut last);
                }
                Step::Restore => {
                    let (restored, eff) = Session::restore(Stored {
                        id: s.id().clone(),
                        created_at: s.created_at(),
                        password: None,
                        events: stored.clone(),
                        last_event_id: last,
                    }, settings.clone(), now);
                    s = restored;
                    for p in &mut joined { p.present = false; }
                    record(eff, &s, &mut stored, &mut last);
                    // Clear copies end where the stored transcript is masked; where it is
                    // not, live delivery was in clear anyway.
                    if apply_area != ApplyArea::HistoryFinal {
                        for (_, clear, everyone) in secrets.values_mut() {
                            clear.clear();
                            *everyone = false;
                        }
                    }
                }
            }
            // Every party's view of every kept message it may see.
            for p in s.parties() {
                for event in s.replay_for(&p.id, EventId(0), &stored) {
                    let Some((secret, clear, everyone)) = secrets.get(&event.id) else { continue };
                    let Some(view) = s.view_for(event, p) else { continue };
                    let EventBody::Message { text, .. } = &view.body else { continue };
                    let entitled = *everyone || clear.contains(&p.id);
                    prop_assert_eq!(text.contains(secret), entitled,
                        "{} sees {:?} of event {} ({:?})", p.id, text, event.id, apply_area);
                }
            }
            // The stored copies, the log line and the final record.
            for e in &stored {
                if let (Some((secret, ..)), EventBody::Message { text, .. }) = (secrets.get(&e.id), &e.body) {
                    prop_assert_eq!(text.contains(secret), apply_area == ApplyArea::HistoryFinal, "stored {:?}", text);
                    prop_assert!(!e.masked_text().unwrap_or_default().contains(secret), "log line of {:?}", text);
                }
            }
            for e in s.full_transcript(stored.clone()) {
                if let (Some((secret, ..)), EventBody::Message { text, .. }) = (secrets.get(&e.id), &e.body) {
                    prop_assert!(!text.contains(secret), "final record {:?}", text);
                }
            }
        }
    }
}
