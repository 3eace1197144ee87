//! Property tests of the session state machine over random input sequences.
//!
//! A model (`model.rs`), fed only with the effects the session returns, as the shell
//! would be, tracks the parties, the stored transcript, the remembered client ids and
//! the reconnect deadlines. An oracle written there from the seed's rules (visibility,
//! direct messages, client versions) says who may see each event; the live audience
//! each `Emit` carries (the parties present before or after the step that may see the
//! event) and the resume replay must match it exactly. `ops.rs` generates the inputs;
//! `hostile.rs` feeds arbitrary text and instants.
//!
//! Checked on every step: `handle` never panics; event ids strictly increase across
//! restorations and `at` is `now`; audiences and replays equal the oracle's (a customer
//! never gets `INT`/`VIP`, a direct event reaches exactly its sender and receiver); a
//! refusal changes nothing; after `Closed` every input but `Tick`/`Detach` is
//! `SessionOver`; plus the rules of sends, joins, leaves, nicknames, read
//! confirmations, idempotency and deadlines noted where they are checked.

mod hostile;
mod masking;
mod model;
mod ops;

use parley_core::event::{ORIGINAL_NICKNAME_KEY, SESSION_PASSWORD_KEY};
use parley_core::session::{Limits, SaveNotices, SendBody, SendRequest, Stored};
use parley_core::{
    AfterAction, CoreError, Effect, Event, EventBody, EventId, Input, LeftReason, NoticeType,
    Party, PartyId, PartyType, Session, SessionId, SessionPassword, SessionSettings, UnixMillis,
    Visibility,
};
use proptest::prelude::*;

use model::{effective, min_version, Model};
use ops::{input_for, join_request, scenario, Op, Scenario, PASSWORD, RECONNECT_MS};

/// A small idempotency window, so that forgetting is exercised too.
const WINDOW: usize = 4;

/// A small memory window, so that most replays read from the "store" (`Model::kept`).
const WINDOW_EVENTS: usize = 3;

/// The events a session keeps in memory for good (see the core's `session/window.rs`).
fn structural(e: &Event) -> bool {
    matches!(
        e.body,
        EventBody::NewParty { .. } | EventBody::PartyLeft { .. }
    ) || e.is_read_confirm()
}

/// What a refusal must leave untouched.
type Snapshot = (Vec<Event>, Vec<Party>, EventId, Option<UnixMillis>, bool);

fn snapshot(s: &Session) -> Snapshot {
    (
        s.transcript().to_vec(),
        s.parties().to_vec(),
        s.last_event_id(),
        s.next_deadline(),
        s.end_info().is_some(),
    )
}

/// Checks every emitted event's live audience against the oracle, then the views that
/// must agree between steps: the transcript, the last id and every party's replay.
///
/// The live audience is the one the server delivers to: every party present when the
/// step's input arrived or after it was applied that may see the event.
fn check_views(s: &Session, m: &Model, effects: &[Effect]) -> Result<(), TestCaseError> {
    for effect in effects {
        let Effect::Emit {
            event, audience, ..
        } = effect
        else {
            continue;
        };
        let mut got: Vec<PartyId> = audience.clone();
        got.sort();
        let want: Vec<PartyId> = m
            .parties
            .keys()
            .filter(|id| m.live(id) && m.may_see(id, event))
            .cloned()
            .collect();
        prop_assert_eq!(&got, &want, "audience of {:?}", event);
        if event.visibility != Visibility::All {
            prop_assert!(got
                .iter()
                .all(|id| m.parties[id].party_type != PartyType::Client));
        }
        if let Some(r) = &event.receiver {
            prop_assert!(got.iter().all(|id| id == r || id == &event.from));
            let need = min_version(event, m.sender_type(event));
            let reaches = |id: &PartyId| m.live(id) && m.parties[id].version >= need;
            if reaches(r) && reaches(&event.from) {
                prop_assert_eq!(got.len(), 2, "direct {:?} reaches {:?}", event, got);
            }
        }
    }
    // The shell stores every kept event (`m.kept`) and trims the session after each step
    // (see `run`): the whole transcript is memory plus the store, and readers that start
    // before the window get the store's events too, as the actor passes them.
    let stored: Vec<EventId> = s
        .full_transcript(m.kept.clone())
        .iter()
        .map(|e| e.id)
        .collect();
    let kept: Vec<EventId> = m.kept.iter().map(|e| e.id).collect();
    prop_assert_eq!(&stored, &kept, "the transcript is what the shell stored");
    let in_memory = s.transcript().len() - s.transcript().iter().filter(|e| structural(e)).count();
    prop_assert!(
        in_memory <= WINDOW_EVENTS,
        "the window holds {} events",
        in_memory
    );
    prop_assert_eq!(s.last_event_id().0, m.last_id);
    for id in m.parties.keys() {
        let replay: Vec<EventId> = s
            .replay_for(id, EventId(0), &m.kept)
            .into_iter()
            .map(|e| e.id)
            .collect();
        let want: Vec<EventId> = m
            .kept
            .iter()
            .filter(|e| m.may_see(id, e))
            .map(|e| e.id)
            .collect();
        prop_assert_eq!(&replay, &want, "replay for {}", id);
        // A resume from the middle replays the rest.
        let after = EventId(m.last_id / 2);
        let rest: Vec<EventId> = s
            .replay_for(id, after, &m.kept)
            .into_iter()
            .map(|e| e.id)
            .collect();
        let want: Vec<EventId> = want.into_iter().filter(|e| *e > after).collect();
        prop_assert_eq!(&rest, &want, "replay for {} after {}", id, after);
    }
    check_nicknames(s, m)
}

/// Nicknames change many times; the first change records the original nickname, on the
/// party and in the user data of its join event, and a party that comes back keeps it.
fn check_nicknames(s: &Session, m: &Model) -> Result<(), TestCaseError> {
    for (id, mp) in &m.parties {
        let p = s.party(id);
        prop_assert!(p.is_some(), "{} unknown to the session", id);
        let Some(p) = p else { continue };
        prop_assert_eq!(&p.nickname, &mp.nickname);
        prop_assert_eq!(&p.original_nickname, &mp.original);
        prop_assert_eq!(p.join_event, mp.join_event);
        let join = s.transcript().iter().find(|e| e.id == mp.join_event);
        let recorded = match join.map(|e| &e.body) {
            Some(EventBody::NewParty { user_data, .. }) => user_data.get(ORIGINAL_NICKNAME_KEY),
            _ => {
                return Err(TestCaseError::fail(format!(
                    "join event of {id} not stored"
                )))
            }
        };
        prop_assert_eq!(
            recorded,
            mp.original.as_ref(),
            "original nickname of {}",
            id
        );
    }
    Ok(())
}

/// Checks a send's outcome against the model taken before it.
fn check_send(
    m: &Model,
    req: &SendRequest,
    out: &Result<Vec<Effect>, CoreError>,
) -> Result<(), TestCaseError> {
    if !m.present(&req.from) {
        prop_assert_eq!(out, &Err(CoreError::NotAParty));
        return Ok(());
    }
    let remembered = req
        .client_msg_id
        .as_ref()
        .and_then(|c| m.cids.get(&(req.from.clone(), c.clone())));
    if let Some(id) = remembered {
        prop_assert_eq!(out, &Ok(vec![Effect::Duplicate { id: *id }]));
        return Ok(());
    }
    let sender = &m.parties[&req.from];
    if sender.party_type == PartyType::Client && req.visibility != Visibility::All {
        prop_assert!(out.is_err());
    }
    if let Ok(effects) = out {
        let Some(Effect::Emit { event, .. }) = effects.last() else {
            return Err(TestCaseError::fail(format!("a send emits: {effects:?}")));
        };
        prop_assert_eq!(&event.from, &req.from);
        prop_assert_eq!(event.client_msg_id(), req.client_msg_id.as_ref());
        prop_assert_eq!(&event.receiver, &req.receiver);
        // A nickname change is told to everyone who may see the party.
        let asked = match &req.body {
            SendBody::Notice {
                notice_type: NoticeType::UserUpdateNick,
                ..
            } => Visibility::All,
            _ => req.visibility,
        };
        prop_assert_eq!(event.visibility, effective(sender.joined, asked));
        if let EventBody::Notice { notice_type, .. } = &event.body {
            let SendBody::Notice {
                notice_type: asked, ..
            } = &req.body
            else {
                return Err(TestCaseError::fail("a message became a notice"));
            };
            prop_assert_eq!(notice_type, asked);
        }
        if let EventBody::Notice {
            notice_type: NoticeType::UserPushedUrl,
            text,
            ..
        } = &event.body
        {
            prop_assert!(text.as_ref().is_some_and(|t| !t.trim().is_empty()));
        }
    }
    Ok(())
}

fn settings(save_all: bool) -> SessionSettings {
    SessionSettings {
        save_notices: if save_all {
            SaveNotices::All
        } else {
            SaveNotices::Default
        },
        reconnect_timeout_ms: RECONNECT_MS,
        idempotency_window: WINDOW,
        limits: Limits {
            window_events: WINDOW_EVENTS,
            window_bytes: 64,
            ..Limits::default()
        },
        ..SessionSettings::default()
    }
}

/// Whether a leave closes the session (session/leave.rs, seed after-actions): on
/// `ForceClose`; on `CloseIfNoAgents` when no visible human agent remains (bots,
/// monitors and coaches do not count); and whenever nobody visible remains.
fn closes(m: &Model, leaver: &PartyId, action: AfterAction) -> bool {
    let remaining: Vec<_> = m
        .parties
        .iter()
        .filter(|(id, p)| p.present && *id != leaver)
        .map(|(_, p)| p)
        .collect();
    let asked = match action {
        AfterAction::ForceClose => true,
        AfterAction::CloseIfNoAgents => !remaining.iter().any(|p| p.is_visible_agent()),
        AfterAction::KeepAlive => false,
    };
    asked || !remaining.iter().any(|p| p.joined == Visibility::All)
}

/// Checks a join against the password rule: a new party presents the session password.
fn check_join(
    m: &Model,
    password: Option<&str>,
    input: &Input,
    out: &Result<Vec<Effect>, CoreError>,
) -> Result<(), TestCaseError> {
    let Input::Join(req) = input else {
        return Ok(());
    };
    let presented = req.user_data.get(SESSION_PASSWORD_KEY).map(String::as_str);
    if !m.present(&req.party) && password.is_some() && presented != password {
        prop_assert_eq!(out, &Err(CoreError::WrongSessionPassword));
    }
    if m.present(&req.party) {
        prop_assert!(out.is_err(), "joined twice");
    }
    Ok(())
}

/// Restores the session from what the model stored, as another instance would.
fn restore(
    s: &mut Session,
    m: &mut Model,
    settings: &SessionSettings,
    now: UnixMillis,
    lost_counter: bool,
) -> Result<(), TestCaseError> {
    let mut stored = Stored {
        id: s.id().clone(),
        created_at: s.created_at(),
        password: s.password().cloned(),
        events: m.kept.clone(),
        last_event_id: EventId(m.last_id),
    };
    if lost_counter
        && stored
            .events
            .last()
            .is_some_and(|e| e.id == stored.last_event_id)
    {
        stored.last_event_id = EventId(0);
    }
    m.remember_stored();
    m.start_restore();
    let (restored, effects) = Session::restore(stored, settings.clone(), now);
    *s = restored;
    m.apply(now, &effects)?;
    s.trim(EventId(m.last_id));
    m.orphan_since = Some(now);
    for effect in &effects {
        if let Effect::Emit { event, .. } = effect {
            let restoration = matches!(
                event.body,
                EventBody::PartyLeft {
                    reason: LeftReason::Restoration,
                    after_action: AfterAction::KeepAlive,
                    asker: None,
                    ..
                }
            );
            prop_assert!(restoration, "{:?}", event);
        }
    }
    prop_assert!(m.parties.values().all(|p| !p.present));
    prop_assert!(!m.kept.iter().any(Event::is_read_confirm));
    check_views(s, m, &effects)
}

/// After the close: nothing but `Tick` and `Detach` is accepted, and nothing changes.
fn check_closed(s: &mut Session, m: &Model, now: UnixMillis, op: &Op) -> Result<(), TestCaseError> {
    let before = snapshot(s);
    let out = s.handle(now, input_for(s, m, op));
    if matches!(op, Op::Tick | Op::Restore(_) | Op::Detach(_)) {
        prop_assert_eq!(out, Ok(vec![]));
    } else {
        prop_assert_eq!(out, Err(CoreError::SessionOver));
    }
    prop_assert_eq!(snapshot(s), before);
    prop_assert_eq!(s.next_deadline(), None);
    Ok(())
}

fn run((password, save_all, creator, steps): Scenario) -> Result<(), TestCaseError> {
    let settings = settings(save_all);
    let mut now = UnixMillis(1_700_000_000_000);
    let id: SessionId = "prop".parse().expect("valid");
    let generated = password.then(|| SessionPassword::new(PASSWORD));
    let creator = join_request(&creator, None);
    let chosen = creator.user_data.get(SESSION_PASSWORD_KEY).cloned();
    let created = Session::create(id, now, settings.clone(), generated, creator);
    let Ok((mut s, effects)) = created else {
        return Ok(()); // an invalid creator (a hidden customer, say) starts nothing
    };
    // The creator's own password wins over the generated one.
    let expected = chosen.or_else(|| password.then(|| PASSWORD.to_owned()));
    prop_assert_eq!(
        s.password().map(SessionPassword::expose),
        expected.as_deref()
    );
    let mut m = Model::new(save_all, WINDOW);
    let mut after_close = 0;
    m.apply(now, &effects)?;
    check_views(&s, &m, &effects)?;

    for (wait, op) in steps {
        now = now.plus_ms(if matches!(op, Op::Tick) {
            wait * 4
        } else {
            wait
        });
        if m.closed {
            after_close += 1;
            if after_close > 12 {
                break;
            }
            check_closed(&mut s, &m, now, &op)?;
            continue;
        }
        if let Op::Restore(lost_counter) = op {
            restore(&mut s, &mut m, &settings, now, lost_counter)?;
            continue;
        }

        let input = input_for(&s, &m, &op);
        let before = snapshot(&s);
        let password = s.password().map(|p| p.expose().to_owned());
        let due = s.next_deadline().is_some_and(|d| d <= now);
        m.start_step();
        let out = s.handle(now, input.clone());
        if let Input::Send(req) = &input {
            check_send(&m, req, &out)?;
        }
        check_join(&m, password.as_deref(), &input, &out)?;
        let Ok(effects) = &out else {
            prop_assert_eq!(snapshot(&s), before, "refused {:?} changed it", input);
            continue;
        };
        let closed = matches!(effects.last(), Some(Effect::Closed(_)));
        match &input {
            Input::Release {
                party,
                after_action,
                ..
            } => {
                prop_assert_eq!(closed, closes(&m, party, *after_action), "{:?}", input);
            }
            Input::Remove { party, .. } => {
                prop_assert_eq!(closed, closes(&m, party, AfterAction::KeepAlive));
            }
            Input::Detach { party } => {
                prop_assert!(effects.is_empty());
                if let Some(p) = m.parties.get_mut(party) {
                    p.detached_since.get_or_insert(now);
                }
            }
            Input::Attach { party } if effects.is_empty() => {
                if let Some(p) = m.parties.get_mut(party) {
                    p.detached_since = None;
                }
            }
            Input::Tick => {
                prop_assert_eq!(effects.is_empty(), !due, "tick {:?}", effects);
                // A due orphan deadline fires once, whatever it closed.
                if m.orphan_since
                    .is_some_and(|t| t.plus_ms(RECONNECT_MS) <= now)
                {
                    m.orphan_since = None;
                }
            }
            _ => {}
        }
        m.attaching = matches!(input, Input::Attach { .. });
        m.apply(now, effects)?;
        m.attaching = false;
        s.trim(EventId(m.last_id));
        check_views(&s, &m, effects)?;
        // Deadlines are data: the earliest reconnect deadline, none once closed.
        let deadline = m.next_deadline(RECONNECT_MS).filter(|_| !m.closed);
        prop_assert_eq!(s.next_deadline(), deadline);
        if matches!(input, Input::Tick) {
            prop_assert!(
                deadline.is_none_or(|d| d > now),
                "a tick fires every due deadline"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_keep_every_invariant(scenario in scenario()) {
        run(scenario)?;
    }
}
