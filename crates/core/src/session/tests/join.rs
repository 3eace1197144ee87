//! Party types, bot style, join visibility and the session password.

use super::*;
use crate::event::ORIGINAL_NICKNAME_KEY;
use crate::event::PARTY_STYLE_KEY;
use crate::party::PartyStyle;
use crate::session::{EndedAgent, EndedBy, EndedReason};

#[test]
fn creator_join_is_event_1_at_now_with_every_party_fact() {
    let req = with_data(with_version(customer("cust"), 103), "topic", "billing");
    let fx = Fx::create(SessionSettings::default(), None, req);
    let [Effect::Emit {
        event, keep: true, ..
    }] = fx.log.as_slice()
    else {
        panic!("creation must emit one kept join: {:?}", fx.log);
    };
    assert_eq!(event.id, EventId(1));
    assert_eq!(event.at, T0);
    assert_eq!(event.from, pid("cust"));
    assert_eq!(event.visibility, Visibility::All);
    assert_eq!(event.receiver, None);
    let EventBody::NewParty {
        nickname,
        party_type,
        style,
        protocol,
        client_version,
        user_data,
        person_id,
        key_hash,
    } = &event.body
    else {
        panic!("not a join");
    };
    assert_eq!(nickname, "Nick-cust");
    assert_eq!(*party_type, PartyType::Client);
    assert_eq!(*style, PartyStyle::Normal);
    assert_eq!(*protocol, Protocol::Basic);
    assert_eq!(client_version.get(), 103);
    assert_eq!(user_data.get("topic").map(String::as_str), Some("billing"));
    assert_eq!(user_data.len(), 1);
    assert_eq!(*person_id, None);
    assert!(key_hash.is_some());
    let p = fx.party("cust");
    assert!(p.present && p.detached_since.is_none());
    assert_eq!((p.join_event, p.joined_at), (EventId(1), T0));
    assert_eq!(fx.s.transcript(), std::slice::from_ref(event));
    assert_eq!(fx.s.initial_user_data(), Some(user_data));
}

#[test]
fn party_types_are_kept_on_the_party_and_its_join_event() {
    let mut fx = Fx::with_customer();
    for (id, t) in [
        ("a", PartyType::Agent),
        ("s", PartyType::Supervisor),
        ("x", PartyType::External),
    ] {
        let e = fx.join(joiner(id, t, Visibility::All));
        assert!(matches!(e.body, EventBody::NewParty { party_type, .. } if party_type == t));
        assert_eq!(fx.party(id).party_type, t);
        assert_eq!(fx.s.sender_type(&pid(id)), t);
    }
    assert_eq!(fx.party("cust").party_type, PartyType::Client);
    // SYSTEM is the server's own type, and a customer only joins visibly.
    fx.refused(
        Input::Join(joiner("sys", PartyType::System, Visibility::All)),
        CoreError::NotAllowed("SYSTEM is the server's own party type"),
    );
    for v in [Visibility::Int, Visibility::Vip] {
        fx.refused(
            Input::Join(joiner("c2", PartyType::Client, v)),
            CoreError::NotAllowed("a customer joins with visibility ALL"),
        );
    }
    // An unknown sender is the server itself.
    assert_eq!(fx.s.sender_type(&pid("nobody")), PartyType::System);
}

#[test]
fn bot_style_is_set_only_for_agents_and_supervisors() {
    let mut fx = Fx::with_customer();
    let a = fx.join(bot("bot-a"));
    let s = fx.join(with_data(supervisor("bot-s"), SET_PARTY_STYLE_KEY, "bot"));
    for (id, e) in [("bot-a", &a), ("bot-s", &s)] {
        assert_eq!(fx.party(id).style, PartyStyle::Bot);
        assert!(matches!(
            e.body,
            EventBody::NewParty {
                style: PartyStyle::Bot,
                ..
            }
        ));
        assert_eq!(
            join_data(e).get(PARTY_STYLE_KEY).map(String::as_str),
            Some("BOT")
        );
        assert!(!fx.party(id).is_visible_agent());
    }
    let c = fx.join(with_data(customer("c2"), SET_PARTY_STYLE_KEY, "BOT"));
    let x = fx.join(with_data(
        joiner("x", PartyType::External, Visibility::All),
        SET_PARTY_STYLE_KEY,
        "BOT",
    ));
    let h = fx.join(with_data(agent("h"), SET_PARTY_STYLE_KEY, "HUMAN"));
    for (id, e) in [("c2", &c), ("x", &x), ("h", &h)] {
        assert_eq!(fx.party(id).style, PartyStyle::Normal, "{id}");
        assert!(matches!(
            e.body,
            EventBody::NewParty {
                style: PartyStyle::Normal,
                ..
            }
        ));
        assert!(!join_data(e).contains_key(PARTY_STYLE_KEY), "{id}");
    }
    assert!(fx.party("h").is_visible_agent());
}

#[test]
fn bots_do_not_count_as_agents_for_close_if_no_agents() {
    // With a human agent left, CloseIfNoAgents keeps the session open...
    let mut fx = Fx::with_agent_and_customer();
    fx.join(agent("agent2"));
    fx.ok(release("agent", AfterAction::CloseIfNoAgents));
    assert!(fx.s.end_info().is_none());
    // ...but a bot does not keep it open.
    let mut fx = Fx::with_agent_and_customer();
    fx.join(bot("bot"));
    let effects = fx.ok(release("agent", AfterAction::CloseIfNoAgents));
    let Some(Effect::Closed(info)) = effects.last() else {
        panic!("a bot must not keep the session open: {effects:?}");
    };
    assert_eq!(info.ended_by, EndedBy::Agent);
    assert_eq!(info.reason, EndedReason::Force);
    assert!(!fx.party("bot").present && !fx.party("cust").present);
}

#[test]
fn bots_do_not_count_as_agents_for_ended_agent() {
    // Only a bot ever took part: the session was abandoned.
    let mut fx = Fx::with_customer();
    fx.join(bot("bot"));
    let effects = fx.ok(release("bot", AfterAction::ForceClose));
    let Some(Effect::Closed(info)) = effects.last() else {
        panic!("force close closes");
    };
    assert_eq!(info.ended_by, EndedBy::Bot);
    assert_eq!(info.reason, EndedReason::Force);
    assert_eq!(info.agent, EndedAgent::Absent);
    // A bot present at the close does not make a human agent present.
    let mut fx = Fx::with_agent_and_customer();
    fx.join(bot("bot"));
    fx.ok(release("agent", AfterAction::KeepAlive));
    let effects = fx.ok(release("cust", AfterAction::KeepAlive));
    assert!(fx.party("bot").present, "a bot keeps the session open");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Closed(_))));
    let effects = fx.ok(release("bot", AfterAction::ForceClose));
    let Some(Effect::Closed(info)) = effects.last() else {
        panic!("force close closes");
    };
    assert_eq!(info.ended_by, EndedBy::Client);
    assert_eq!(info.agent, EndedAgent::Visited);
}

#[test]
fn join_visibility_all_is_seen_by_every_party() {
    let mut fx = Fx::full_house();
    let e = fx.join(agent("agent2"));
    assert_eq!(
        fx.audience(&e),
        ids(&["agent", "agent2", "coach", "cust", "mon", "sup"])
    );
}

#[test]
fn monitor_join_int_is_hidden_from_the_customer() {
    let mut fx = Fx::full_house();
    let e = fx.join(monitor("mon2"));
    assert_eq!(e.visibility, Visibility::Int);
    assert_eq!(fx.party("mon2").visibility, Visibility::Int);
    assert_eq!(
        fx.audience(&e),
        ids(&["agent", "coach", "mon", "mon2", "sup"])
    );
    assert!(fx.s.monitored());
}

#[test]
fn coach_join_vip_reaches_only_supervisors_and_coaches() {
    let mut fx = Fx::full_house();
    let e = fx.join(coach("coach2"));
    assert_eq!(e.visibility, Visibility::Vip);
    assert_eq!(fx.audience(&e), ids(&["coach", "coach2", "mon", "sup"]));
    assert_eq!(fx.seen_by(&e), fx.audience(&e));
}

#[test]
fn session_is_monitored_only_while_a_monitor_or_coach_is_present() {
    let mut fx = Fx::with_agent_and_customer();
    assert!(!fx.s.monitored());
    fx.join(coach("coach"));
    assert!(fx.s.monitored());
    fx.ok(release("coach", AfterAction::KeepAlive));
    assert!(!fx.s.monitored());
}

#[test]
fn a_present_party_cannot_join_again() {
    let mut fx = Fx::with_agent_and_customer();
    fx.refused(Input::Join(agent("agent")), CoreError::AlreadyJoined);
}

#[test]
fn a_party_that_left_joins_again_as_the_same_party() {
    let mut fx = Fx::with_agent_and_customer();
    fx.ok(release("agent", AfterAction::KeepAlive));
    let e = fx.join(agent("agent"));
    assert_eq!(fx.s.parties().len(), 2);
    let p = fx.party("agent");
    assert!(p.present);
    assert_eq!(p.join_event, e.id);
}

#[test]
fn join_nicknames_are_trimmed_and_checked() {
    let mut fx = Fx::with_customer();
    let mut req = agent("a");
    req.nickname = "  Ann  ".into();
    fx.join(req);
    assert_eq!(fx.party("a").nickname, "Ann");
    for (nick, err) in [
        (
            " ",
            CoreError::InvalidField {
                field: "nickname",
                reason: "must not be empty",
            },
        ),
        (
            "x".repeat(65).as_str(),
            CoreError::LimitExceeded("nickname too long"),
        ),
        (
            "a\u{7}b",
            CoreError::InvalidField {
                field: "nickname",
                reason: "must not contain control characters",
            },
        ),
    ] {
        let mut req = agent("b");
        req.nickname = nick.into();
        fx.refused(Input::Join(req), err);
    }
}

const PW: &str = "s3cret-generated";

fn password_keys_in(events: &[Event]) -> usize {
    events
        .iter()
        .map(|e| match &e.body {
            EventBody::NewParty { user_data, .. } | EventBody::Notice { user_data, .. } => {
                user_data
                    .iter()
                    .filter(|(k, v)| k.as_str() == SESSION_PASSWORD_KEY || v.contains("s3cret"))
                    .count()
            }
            _ => 0,
        })
        .sum()
}

#[test]
fn generated_session_password_is_required_on_every_later_join() {
    let mut fx = Fx::create(SessionSettings::default(), Some(PW), customer("cust"));
    assert_eq!(fx.s.password().map(SessionPassword::expose), Some(PW));
    for id in ["agent", "agent2"] {
        fx.refused(Input::Join(agent(id)), CoreError::WrongSessionPassword);
        fx.refused(
            Input::Join(with_password(agent(id), "s3cret-generatee")),
            CoreError::WrongSessionPassword,
        );
        fx.refused(
            Input::Join(with_password(agent(id), "")),
            CoreError::WrongSessionPassword,
        );
        fx.join(with_password(agent(id), PW));
    }
    // A party that left needs it again to come back.
    fx.ok(release("agent", AfterAction::KeepAlive));
    fx.refused(Input::Join(agent("agent")), CoreError::WrongSessionPassword);
    fx.join(with_password(agent("agent"), PW));
    assert_eq!(password_keys_in(fx.s.transcript()), 0);
    assert_eq!(password_keys_in(&emitted(&fx.log)), 0);
}

#[test]
fn creator_chosen_password_replaces_the_generated_one() {
    let creator = with_data(with_password(customer("cust"), "mine-123"), "k", "v");
    let mut fx = Fx::create(SessionSettings::default(), Some(PW), creator);
    assert_eq!(
        fx.s.password().map(SessionPassword::expose),
        Some("mine-123")
    );
    fx.refused(
        Input::Join(with_password(agent("agent"), PW)),
        CoreError::WrongSessionPassword,
    );
    let e = fx.join(with_password(agent("agent"), "mine-123"));
    assert!(join_data(&e).is_empty());
    let creator_data = join_data(&fx.s.transcript()[0]);
    assert_eq!(creator_data.len(), 1, "only k=v remains: {creator_data:?}");
    assert_eq!(fx.s.initial_user_data(), Some(creator_data));
}

/// The seed: "Only in basic chat protocol it is possible to specify a user-defined
/// session password". A flex (or GMS, which creates as flex) creator's choice is dropped.
#[test]
fn only_a_basic_creator_may_choose_the_password() {
    let mut flex = with_data(with_password(customer("cust"), "mine-123"), "k", "v");
    flex.protocol = Protocol::Flex;
    let fx = Fx::create(SessionSettings::default(), Some(PW), flex.clone());
    assert_eq!(
        fx.s.password().map(SessionPassword::expose),
        Some(PW),
        "enforced: the generated one"
    );
    assert_eq!(password_keys_in(fx.s.transcript()), 0);
    assert!(!format!("{:?}", fx.s.transcript()).contains("mine-123"));

    let mut fx = Fx::create(SessionSettings::default(), None, flex);
    assert!(fx.s.password().is_none(), "not enforced: none at all");
    assert_eq!(password_keys_in(fx.s.transcript()), 0);
    fx.join(agent("agent"));
}

#[test]
fn creator_empty_password_falls_back_to_the_generated_one() {
    let fx = Fx::create(
        SessionSettings::default(),
        Some(PW),
        with_password(customer("cust"), ""),
    );
    assert_eq!(fx.s.password().map(SessionPassword::expose), Some(PW));
    assert!(join_data(&fx.s.transcript()[0]).is_empty());
}

#[test]
fn without_a_password_joins_are_free_and_a_presented_one_is_dropped() {
    let mut fx = Fx::with_customer();
    assert!(fx.s.password().is_none());
    fx.join(agent("a1"));
    let e = fx.join(with_password(agent("a2"), "anything"));
    assert!(join_data(&e).is_empty());
    assert_eq!(password_keys_in(fx.s.transcript()), 0);
}

#[test]
fn session_password_never_prints_itself() {
    let fx = Fx::create(SessionSettings::default(), Some(PW), customer("cust"));
    assert!(!format!("{:?}", fx.s).contains(PW));
}

#[test]
fn a_client_cannot_set_the_keys_only_the_server_sets() {
    let mut fx = Fx::with_customer();
    let req = with_data(
        with_data(customer("mallory"), PARTY_STYLE_KEY, "BOT"),
        ORIGINAL_NICKNAME_KEY,
        "Admin",
    );
    let joined = fx.join(req);
    let data = join_data(&joined);
    assert_eq!(data.get(PARTY_STYLE_KEY), None, "no fake bot style");
    assert_eq!(
        data.get(ORIGINAL_NICKNAME_KEY),
        None,
        "no preset original nickname"
    );
    assert_eq!(fx.party("mallory").style, PartyStyle::Normal);
}

#[test]
fn by_default_a_customer_joins_anothers_chat_only_with_its_password() {
    let refusal = CoreError::NotAllowed(
        "a customer joins another customer's chat only with its session password",
    );
    // No password: the chat id alone lets no customer in; staff join as before.
    let mut fx = Fx::create(SessionSettings::default(), None, customer("cust"));
    fx.refused(Input::Join(customer("eve")), refusal.clone());
    fx.refused(
        Input::Join(with_password(customer("eve"), "a guess")),
        refusal,
    );
    fx.join(agent("agent"));
    // With a password, presenting it is what lets a second customer in.
    let mut fx = Fx::create(SessionSettings::default(), Some(PW), customer("cust"));
    fx.refused(
        Input::Join(customer("friend")),
        CoreError::WrongSessionPassword,
    );
    fx.join(with_password(customer("friend"), PW));
}
