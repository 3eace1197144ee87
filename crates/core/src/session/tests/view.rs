//! What one viewer sees (`crate::view`): the resolved sender, the sender-only client
//! message id, the version caps (104 notice user data, 105 `monitored`, 106 system
//! attributes) and the session snapshot (creator-only password, hidden parties).

use super::*;
use crate::event::LeftReason;
use crate::view::{PartyView, SystemAttributes, SYSTEM_NICKNAME};

/// `event` as the party `viewer` sees it (it must be allowed to).
fn view(fx: &Fx, event: &Event, viewer: &str) -> crate::view::EventView {
    fx.s.view_for(event, fx.party(viewer))
        .unwrap_or_else(|| panic!("{viewer} may see {event:?}"))
}

/// A notice carrying user data.
fn notice_with_data(from: &str) -> SendRequest {
    let mut req = notice(from, NoticeType::UserCustom, Some("x"));
    if let SendBody::Notice { user_data, .. } = &mut req.body {
        user_data.insert("k".into(), "v".into());
    }
    req
}

fn notice_data(body: &EventBody) -> &UserData {
    match body {
        EventBody::Notice { user_data, .. } => user_data,
        other => panic!("not a notice: {other:?}"),
    }
}

fn client_id(body: &EventBody) -> Option<&crate::ClientMsgId> {
    match body {
        EventBody::Message { client_msg_id, .. } | EventBody::Notice { client_msg_id, .. } => {
            client_msg_id.as_ref()
        }
        other => panic!("no client id on {other:?}"),
    }
}

#[test]
fn a_viewer_who_may_not_see_an_event_gets_no_view() {
    let mut fx = Fx::full_house();
    let e = fx.sent(vis(msg("agent", "note"), Visibility::Int));
    assert_eq!(fx.s.view_for(&e, fx.party("cust")), None);
    assert!(fx.s.view_for(&e, fx.party("mon")).is_some());
}

#[test]
fn the_client_message_id_is_shown_to_its_sender_only() {
    let mut fx = Fx::with_agent_and_customer();
    let m = fx.sent(with_cid(msg("cust", "hi"), "c-1"));
    assert_eq!(client_id(&view(&fx, &m, "cust").body), Some(&cid("c-1")));
    assert_eq!(client_id(&view(&fx, &m, "agent").body), None);
    let n = fx.sent(with_cid(notice_with_data("agent"), "c-2"));
    assert_eq!(client_id(&view(&fx, &n, "agent").body), Some(&cid("c-2")));
    assert_eq!(client_id(&view(&fx, &n, "cust").body), None);
}

#[test]
fn notice_user_data_needs_version_104() {
    let mut fx = Fx::with_customer();
    fx.join(with_version(agent("old"), 103));
    fx.join(with_version(agent("new"), 104));
    let n = fx.sent(notice_with_data("cust"));
    assert!(notice_data(&view(&fx, &n, "old").body).is_empty());
    assert_eq!(
        notice_data(&view(&fx, &n, "new").body)
            .get("k")
            .map(String::as_str),
        Some("v")
    );
    // Everything else is the event's own.
    let seen = view(&fx, &n, "old");
    assert_eq!((seen.id, seen.at, &seen.from), (n.id, n.at, &n.from));
    assert_eq!(
        (seen.visibility, &seen.receiver),
        (n.visibility, &n.receiver)
    );
}

#[test]
fn monitored_is_told_to_staff_from_version_105() {
    let mut fx = Fx::with_customer();
    fx.join(with_version(agent("a104"), 104));
    fx.join(with_version(agent("a105"), 105));
    fx.join(with_version(supervisor("s106"), 106));
    assert_eq!(fx.s.monitored_for(fx.party("a105")), Some(false));
    fx.join(monitor("mon"));
    assert_eq!(fx.s.monitored_for(fx.party("a105")), Some(true));
    assert_eq!(fx.s.monitored_for(fx.party("s106")), Some(true));
    assert_eq!(fx.s.monitored_for(fx.party("a104")), None);
    // A customer is never told, whatever its version.
    assert_eq!(fx.party("cust").client_version, crate::ClientVersion::V106);
    assert_eq!(fx.s.monitored_for(fx.party("cust")), None);
}

#[test]
fn system_attributes_need_version_106() {
    let mut fx = Fx::with_customer();
    fx.join(with_version(agent("a105"), 105));
    fx.join(bot("bot"));
    let from_bot = fx.sent(msg("bot", "beep"));
    assert_eq!(
        view(&fx, &from_bot, "cust").system,
        Some(SystemAttributes {
            bot: true,
            quit_reason_code: None,
            pii: Vec::new(),
        })
    );
    assert!(view(&fx, &from_bot, "cust").sender.bot);
    assert_eq!(view(&fx, &from_bot, "a105").system, None);
    // An ordinary message has none.
    let plain = fx.sent(msg("cust", "hi"));
    assert_eq!(view(&fx, &plain, "cust").system, None);
    // A leave carries its reason code.
    let left = only_event(&fx.ok(Input::Remove {
        party: pid("bot"),
        reason: LeftReason::RemovedByParty,
        asker: None,
    }));
    assert_eq!(
        view(&fx, &left, "cust").system,
        Some(SystemAttributes {
            bot: true,
            quit_reason_code: Some(LeftReason::RemovedByParty.code()),
            pii: Vec::new(),
        })
    );
    assert_eq!(view(&fx, &left, "a105").system, None);
}

#[test]
fn a_join_shows_the_nickname_it_was_made_with() {
    let mut fx = Fx::with_agent_and_customer();
    let join = fx.event(fx.party("cust").join_event).clone();
    fx.sent(notice("cust", NoticeType::UserUpdateNick, Some("Renamed")));
    let later = fx.sent(msg("cust", "hi"));
    assert_eq!(view(&fx, &join, "agent").sender.nickname, "Nick-cust");
    assert_eq!(view(&fx, &later, "agent").sender.nickname, "Renamed");
}

#[test]
fn an_event_from_no_party_is_from_the_system() {
    let mut fx = Fx::with_customer();
    fx.advance(3_500);
    let event = Event {
        id: EventId(99),
        at: fx.now,
        from: pid("server"),
        visibility: Visibility::All,
        receiver: None,
        body: EventBody::Notice {
            notice_type: NoticeType::IdleControlAlert,
            text: None,
            user_data: UserData::new(),
            client_msg_id: None,
        },
        pii: None,
    };
    let seen = view(&fx, &event, "cust");
    assert_eq!(seen.sender.nickname, SYSTEM_NICKNAME);
    assert_eq!(seen.sender.party_type, PartyType::System);
    assert_eq!(seen.sender.participant, None);
    assert!(!seen.sender.bot);
    assert_eq!(seen.time_shift, 3);
}

#[test]
fn the_participant_number_follows_the_order_of_first_joins() {
    let mut fx = Fx::with_agent_and_customer();
    fx.join(agent("agent2"));
    let m = fx.sent(msg("agent2", "x"));
    assert_eq!(view(&fx, &m, "cust").sender.participant, Some(3));
    // A party that leaves and joins again keeps its number.
    fx.ok(release("agent", AfterAction::KeepAlive));
    fx.join(agent("agent"));
    let m = fx.sent(msg("agent", "back"));
    assert_eq!(view(&fx, &m, "cust").sender.participant, Some(2));
    assert_eq!(view(&fx, &m, "cust").sender.party_type, PartyType::Agent);
}

#[test]
fn a_party_key_digest_is_never_in_a_view() {
    let fx = Fx::with_agent_and_customer();
    let join = fx.event(fx.party("agent").join_event).clone();
    assert!(matches!(
        &join.body,
        EventBody::NewParty {
            key_hash: Some(_),
            ..
        }
    ));
    assert!(matches!(
        view(&fx, &join, "agent").body,
        EventBody::NewParty { key_hash: None, .. }
    ));
}

#[test]
fn only_the_creators_snapshot_holds_the_password() {
    let mut fx = Fx::create(
        SessionSettings::default(),
        None,
        with_password(customer("cust"), "pw-1"),
    );
    let upto = fx.s.last_event_id();
    let snap = fx.s.snapshot_for(&pid("cust"), EventId(0), upto, true, &[]);
    assert_eq!(snap.password.as_ref().map(|p| p.expose()), Some("pw-1"));
    fx.join(with_password(agent("agent"), "pw-1"));
    let upto = fx.s.last_event_id();
    let snap =
        fx.s.snapshot_for(&pid("agent"), EventId(0), upto, false, &[]);
    assert_eq!(snap.password, None);
    assert_eq!(snap.session_id, *fx.s.id());
    assert_eq!(snap.created_at, T0);
    assert_eq!(snap.last_event_id, upto);
}

#[test]
fn a_silent_monitor_is_not_listed_to_the_customer() {
    let fx = Fx::full_house();
    let upto = fx.s.last_event_id();
    let listed = |who: &str| -> Vec<String> {
        fx.s.snapshot_for(&pid(who), EventId(0), upto, false, &[])
            .parties
            .iter()
            .map(|p| p.id.to_string())
            .collect()
    };
    assert_eq!(listed("cust"), ["cust", "agent", "sup"]);
    assert_eq!(listed("agent"), ["cust", "agent", "sup", "mon"]);
    assert_eq!(listed("sup"), ["cust", "agent", "sup", "mon", "coach"]);
    let snap = fx.s.snapshot_for(&pid("sup"), EventId(0), upto, false, &[]);
    assert_eq!(snap.parties[3], PartyView::from(fx.party("mon")));
    assert_eq!(snap.monitored, Some(true));
    assert_eq!(
        fx.s.snapshot_for(&pid("cust"), EventId(0), upto, false, &[])
            .monitored,
        None
    );
}

#[test]
fn a_snapshot_holds_the_visible_events_after_the_resume_point_up_to_upto() {
    let mut fx = Fx::full_house();
    let after = fx.s.last_event_id();
    let a = fx.sent(msg("agent", "a"));
    fx.sent(vis(msg("agent", "internal"), Visibility::Int));
    let c = fx.sent(msg("agent", "c"));
    let upto = c.id;
    fx.sent(msg("agent", "d"));
    let snap = fx.s.snapshot_for(&pid("cust"), after, upto, false, &[]);
    let ids: Vec<EventId> = snap.events.iter().map(|e| e.id).collect();
    assert_eq!(ids, [a.id, c.id]);
    assert_eq!(snap.events[0], view(&fx, &a, "cust"));
    // Unknown parties get nothing.
    let none =
        fx.s.snapshot_for(&pid("nobody"), EventId(0), upto, false, &[]);
    assert!(none.parties.is_empty() && none.events.is_empty());
    assert_eq!(none.monitored, None);
}
