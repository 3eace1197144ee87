//! Who receives messages and notices: visibility, monitors and coaches, direct events and
//! client versions. Every check looks at the three views: `audience` (live), `visible_to`
//! and `replay_for` (resume).

use super::*;
use crate::audience::{can_see, version_can_represent, Viewer};
use crate::view::VersionCaps;

const EVERYONE: &[&str] = &["agent", "coach", "cust", "mon", "sup"];
const STAFF: &[&str] = &["agent", "coach", "mon", "sup"];

/// Asserts the live audience, `visible_to` and the resume replay all equal `expected`.
fn assert_seen_by(fx: &Fx, e: &Event, expected: &[&str]) {
    assert_eq!(fx.audience(e), ids(expected), "audience of {e:?}");
    assert_eq!(fx.seen_by(e), ids(expected), "visible_to of {e:?}");
    assert_eq!(fx.replayed_to(e.id), ids(expected), "replay of {e:?}");
}

#[test]
fn message_visibility_all_reaches_every_party() {
    let mut fx = Fx::full_house();
    let e = fx.sent(msg("agent", "hello"));
    assert_eq!(e.visibility, Visibility::All);
    assert_seen_by(&fx, &e, EVERYONE);
    let e = fx.sent(msg("cust", "hi"));
    assert_seen_by(&fx, &e, EVERYONE);
}

#[test]
fn message_visibility_int_never_reaches_the_customer() {
    let mut fx = Fx::full_house();
    for from in ["agent", "sup"] {
        let e = fx.sent(vis(msg(from, "internal note"), Visibility::Int));
        assert_eq!(e.visibility, Visibility::Int);
        assert_seen_by(&fx, &e, STAFF);
    }
}

#[test]
fn message_visibility_vip_reaches_supervisors_and_coaches_only() {
    let mut fx = Fx::full_house();
    fx.join(agent("agent2"));
    let e = fx.sent(vis(msg("sup", "whisper"), Visibility::Vip));
    assert_eq!(e.visibility, Visibility::Vip);
    assert_seen_by(&fx, &e, &["coach", "mon", "sup"]);
    // The sender always sees its own event.
    let e = fx.sent(vis(msg("agent", "to the coach"), Visibility::Vip));
    assert_seen_by(&fx, &e, &["agent", "coach", "mon", "sup"]);
}

#[test]
fn notice_visibility_follows_the_message_rules() {
    let mut fx = Fx::full_house();
    let all = fx.sent(notice("agent", NoticeType::UserCustom, Some("x")));
    assert_seen_by(&fx, &all, EVERYONE);
    let int = fx.sent(vis(
        notice("agent", NoticeType::UserCustom, None),
        Visibility::Int,
    ));
    assert_seen_by(&fx, &int, STAFF);
    let vip = fx.sent(vis(
        notice("sup", NoticeType::UserCustom, None),
        Visibility::Vip,
    ));
    assert_seen_by(&fx, &vip, &["coach", "mon", "sup"]);
}

#[test]
fn a_customer_sends_only_with_visibility_all() {
    let mut fx = Fx::full_house();
    for v in [Visibility::Int, Visibility::Vip] {
        fx.refused(
            Input::Send(vis(msg("cust", "x"), v)),
            CoreError::NotAllowed("a customer sends with visibility ALL"),
        );
        fx.refused(
            Input::Send(vis(notice("cust", NoticeType::UserCustom, None), v)),
            CoreError::NotAllowed("a customer sends with visibility ALL"),
        );
    }
}

#[test]
fn a_monitors_or_coachs_all_is_narrowed_to_int() {
    let mut fx = Fx::full_house();
    for from in ["mon", "coach"] {
        let e = fx.sent(msg(from, "psst"));
        assert_eq!(e.visibility, Visibility::Int, "{from}");
        assert_seen_by(&fx, &e, STAFF);
        let n = fx.sent(notice(from, NoticeType::TypingStarted, None));
        assert_eq!(n.visibility, Visibility::Int, "{from}");
        assert_eq!(fx.audience(&n), ids(STAFF));
        let i = fx.sent(vis(msg(from, "int"), Visibility::Int));
        assert_eq!(i.visibility, Visibility::Int);
    }
    // A narrower request stays narrower.
    let e = fx.sent(vis(msg("coach", "vip"), Visibility::Vip));
    assert_eq!(e.visibility, Visibility::Vip);
    assert_seen_by(&fx, &e, &["coach", "mon", "sup"]);
    // A visible agent's ALL is not narrowed.
    assert_eq!(fx.sent(msg("agent", "x")).visibility, Visibility::All);
}

#[test]
fn a_monitors_and_coachs_leave_is_hidden_like_their_join() {
    let mut fx = Fx::full_house();
    let m = only_event(&fx.ok(release("mon", AfterAction::KeepAlive)));
    assert_eq!(m.visibility, Visibility::Int);
    // Never the customer; the leaver itself is told of its own leave.
    assert_eq!(fx.audience(&m), ids(&["agent", "coach", "mon", "sup"]));
    let c = only_event(&fx.ok(release("coach", AfterAction::KeepAlive)));
    assert_eq!(c.visibility, Visibility::Vip);
    assert_eq!(fx.audience(&c), ids(&["coach", "sup"]));
}

#[test]
fn parties_that_left_are_not_in_the_audience_but_replay_what_they_saw() {
    let mut fx = Fx::full_house();
    let before = fx.sent(msg("agent", "before"));
    fx.ok(release("sup", AfterAction::KeepAlive));
    let after = fx.sent(msg("agent", "after"));
    assert_eq!(fx.audience(&after), ids(&["agent", "coach", "cust", "mon"]));
    let replay: Vec<EventId> =
        fx.s.replay_for(&pid("sup"), EventId(0), &[])
            .into_iter()
            .map(|e| e.id)
            .collect();
    assert!(replay.contains(&before.id));
    assert!(fx.s.visible_to(fx.party("sup"), &after));
}

#[test]
fn resume_replays_only_the_visible_kept_events_after_the_given_id() {
    let mut fx = Fx::full_house();
    let a = fx.sent(msg("agent", "a"));
    let int = fx.sent(vis(msg("agent", "b"), Visibility::Int));
    fx.sent(notice("agent", NoticeType::TypingStarted, None));
    let c = fx.sent(msg("cust", "c"));
    let replay = |fx: &Fx, who: &str, after: EventId| -> Vec<EventId> {
        fx.s.replay_for(&pid(who), after, &[])
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    assert_eq!(replay(&fx, "cust", a.id), vec![c.id]);
    assert_eq!(replay(&fx, "agent", a.id), vec![int.id, c.id]);
    assert_eq!(
        replay(&fx, "agent", EventId(a.id.0 - 1)),
        vec![a.id, int.id, c.id]
    );
    assert_eq!(replay(&fx, "agent", c.id), vec![]);
    assert_eq!(replay(&fx, "nobody", EventId(0)), vec![]);
}

#[test]
fn direct_message_is_seen_by_exactly_sender_and_receiver() {
    let mut fx = Fx::full_house();
    let e = fx.sent(to(msg("agent", "private"), "cust"));
    assert_eq!(e.receiver, Some(pid("cust")));
    assert_seen_by(&fx, &e, &["agent", "cust"]);
    let e = fx.sent(to(msg("cust", "private back"), "agent"));
    assert_seen_by(&fx, &e, &["agent", "cust"]);
    // Supervisors, monitors and coaches see every INT and VIP event, but not this.
    let e = fx.sent(to(vis(msg("agent", "int"), Visibility::Int), "coach"));
    assert_seen_by(&fx, &e, &["agent", "coach"]);
    let e = fx.sent(to(msg("mon", "from the monitor"), "agent"));
    assert_seen_by(&fx, &e, &["agent", "mon"]);
}

#[test]
fn direct_notice_is_seen_by_exactly_sender_and_receiver() {
    let mut fx = Fx::full_house();
    for nt in [NoticeType::UserCustom, NoticeType::TypingStarted] {
        let e = fx.sent(to(notice("sup", nt, Some("n")), "agent"));
        assert_eq!(fx.audience(&e), ids(&["agent", "sup"]));
        assert_eq!(fx.seen_by(&e), ids(&["agent", "sup"]));
    }
    let e = fx.sent(to(
        notice("cust", NoticeType::UserPushedUrl, Some("https://x")),
        "sup",
    ));
    assert_seen_by(&fx, &e, &["cust", "sup"]);
}

#[test]
fn a_direct_event_never_carries_int_or_vip_to_a_customer() {
    let mut fx = Fx::full_house();
    // A silent monitor (whose ALL is narrowed to INT) may not whisper to the customer.
    for req in [
        to(msg("mon", "hello"), "cust"),
        to(vis(msg("agent", "int"), Visibility::Int), "cust"),
        to(vis(msg("sup", "vip"), Visibility::Vip), "cust"),
        to(vis(msg("sup", "vip"), Visibility::Vip), "agent"),
        to(notice("coach", NoticeType::UserCustom, None), "cust"),
    ] {
        fx.refused(
            Input::Send(req),
            CoreError::NotAllowed("the receiver may not see this visibility"),
        );
    }
    // And no view lets a customer see a direct INT event, whatever produced it.
    let forged = Event {
        id: EventId(99),
        at: T0,
        from: pid("agent"),
        visibility: Visibility::Int,
        receiver: Some(pid("cust")),
        body: EventBody::Message {
            text: "x".into(),
            message_type: None,
            client_msg_id: None,
        },
        pii: None,
    };
    assert!(!fx.s.visible_to(fx.party("cust"), &forged));
    assert_eq!(fx.live_audience(&forged), ids(&["agent"]));
}

#[test]
fn direct_events_need_another_present_receiver() {
    let mut fx = Fx::full_house();
    fx.ok(release("sup", AfterAction::KeepAlive));
    for receiver in ["agent", "sup", "nobody"] {
        fx.refused(
            Input::Send(to(msg("agent", "x"), receiver)),
            CoreError::NoSuchReceiver,
        );
    }
    fx.refused(Input::Send(msg("sup", "gone")), CoreError::NotAParty);
    fx.refused(Input::Send(msg("nobody", "x")), CoreError::NotAParty);
}

/// A session where each of `v101`..`v106` is a customer, visible agent or supervisor
/// registered with that client version.
fn versions_fx() -> Fx {
    let mut fx = Fx::create(
        SessionSettings::default(),
        None,
        with_version(customer("v101"), 101),
    );
    fx.join(with_version(agent("v102"), 102));
    fx.join(with_version(agent("v103"), 103));
    fx.join(with_version(supervisor("v104"), 104));
    fx.join(with_version(agent("v105"), 105));
    fx.join(with_version(agent("v106"), 106));
    fx
}

#[test]
fn client_version_below_102_never_gets_nickname_changes() {
    let mut fx = versions_fx();
    let e = fx.sent(notice("v105", NoticeType::UserUpdateNick, Some("Neo")));
    assert_seen_by(&fx, &e, &["v102", "v103", "v104", "v105", "v106"]);
    // Other notices and messages of version 101 reach it.
    let e = fx.sent(notice("v105", NoticeType::UserCustom, None));
    assert_seen_by(&fx, &e, &["v101", "v102", "v103", "v104", "v105", "v106"]);
}

#[test]
fn client_version_below_104_never_gets_system_commands() {
    let mut fx = versions_fx();
    let e = fx.sent(notice("v106", NoticeType::SysCommand, Some("app-command")));
    assert_seen_by(&fx, &e, &["v104", "v105", "v106"]);
    // Not even its own.
    let e = fx.sent(notice("v103", NoticeType::SysCommand, Some("app-command")));
    assert_seen_by(&fx, &e, &["v104", "v105", "v106"]);
}

fn notice_event(from: &str, notice_type: NoticeType) -> Event {
    Event {
        id: EventId(1),
        at: T0,
        from: pid(from),
        visibility: Visibility::All,
        receiver: None,
        body: EventBody::Notice {
            notice_type,
            text: None,
            user_data: UserData::new(),
            client_msg_id: None,
        },
        pii: None,
    }
}

#[test]
fn client_version_representation_table() {
    let idle = [
        NoticeType::IdleControlAlert,
        NoticeType::IdleControlClose,
        NoticeType::IdleControlSet,
    ];
    let message = Event {
        body: EventBody::Message {
            text: "t".into(),
            message_type: None,
            client_msg_id: None,
        },
        ..notice_event("a", NoticeType::UserCustom)
    };
    for v in 101..=106u16 {
        let version = ClientVersion::try_from(v).expect("valid");
        let rep = |nt: NoticeType, sender: PartyType| {
            version_can_represent(version, &notice_event("a", nt), sender)
        };
        for nt in [
            NoticeType::TypingStarted,
            NoticeType::TypingStopped,
            NoticeType::UserPushedUrl,
            NoticeType::UserCustom,
        ] {
            assert!(rep(nt, PartyType::Agent), "{v} {nt:?}");
        }
        assert_eq!(rep(NoticeType::UserUpdateNick, PartyType::Client), v >= 102);
        for nt in idle {
            assert_eq!(rep(nt, PartyType::System), v >= 103, "{v} {nt:?}");
            assert_eq!(rep(nt, PartyType::Agent), v >= 103, "{v} {nt:?}");
        }
        assert_eq!(rep(NoticeType::SysCommand, PartyType::Agent), v >= 104);
        // Anything from a SYSTEM sender needs 103, even a plain message.
        assert_eq!(
            version_can_represent(version, &message, PartyType::System),
            v >= 103
        );
        assert!(version_can_represent(version, &message, PartyType::Client));
        assert_eq!(
            VersionCaps::of(version),
            VersionCaps {
                notice_user_data: v >= 104,
                monitored: v >= 105,
                event_attributes: v >= 106,
            }
        );
    }
    assert!(ClientVersion::try_from(100).is_err());
    assert!(ClientVersion::try_from(107).is_err());
    assert_eq!(ClientVersion::default(), ClientVersion::V101);
}

#[test]
fn can_see_drops_what_the_viewers_version_cannot_represent() {
    let id = pid("viewer");
    let viewer = |v: u16| Viewer {
        id: &id,
        party_type: PartyType::Supervisor,
        joined_as: Visibility::All,
        version: ClientVersion::try_from(v).expect("valid"),
    };
    let alert = notice_event("server", NoticeType::IdleControlAlert);
    assert!(!can_see(viewer(102), &alert, PartyType::System));
    assert!(can_see(viewer(103), &alert, PartyType::System));
    let nick = notice_event("a", NoticeType::UserUpdateNick);
    assert!(!can_see(viewer(101), &nick, PartyType::Agent));
    assert!(can_see(viewer(102), &nick, PartyType::Agent));
    // Version wins over being the sender or the receiver.
    let own = notice_event("viewer", NoticeType::SysCommand);
    assert!(!can_see(viewer(103), &own, PartyType::Supervisor));
    let direct = Event {
        receiver: Some(pid("viewer")),
        ..notice_event("a", NoticeType::SysCommand)
    };
    assert!(!can_see(viewer(103), &direct, PartyType::Agent));
    assert!(can_see(viewer(104), &direct, PartyType::Agent));
}
