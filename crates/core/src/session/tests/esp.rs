//! Posts of workflow (ESP) parties: the EXTERNAL party joins on the first post under a
//! nickname and is reused after; visibility rules; close rules; restoration.

use super::leave::{closed, left};
use super::*;
use crate::event::LeftReason;
use crate::session::{
    EndedAgent, EndedBy, EndedReason, ExternalRequest, DEFAULT_EXTERNAL_NICKNAME,
};

fn post(nickname: &str, visibility: Visibility, text: &str) -> Input {
    Input::External(ExternalRequest {
        nickname: nickname.to_owned(),
        visibility,
        body: SendBody::Message {
            text: text.to_owned(),
            message_type: None,
        },
        client_msg_id: None,
    })
}

fn post_notice(nickname: &str, notice_type: NoticeType, text: Option<&str>) -> Input {
    Input::External(ExternalRequest {
        nickname: nickname.to_owned(),
        visibility: Visibility::All,
        body: SendBody::Notice {
            notice_type,
            text: text.map(str::to_owned),
            user_data: UserData::new(),
        },
        client_msg_id: None,
    })
}

/// The id of the workflow party posting as `nickname`.
fn wf(fx: &Fx, nickname: &str) -> String {
    fx.s.workflow_party(nickname)
        .expect("a workflow party")
        .id
        .to_string()
}

#[test]
fn the_first_post_joins_an_external_esp_party_then_posts() {
    let mut fx = Fx::with_agent_and_customer();
    let effects = fx.ok(post("Workflow", Visibility::All, "hello"));
    let events = emitted(&effects);
    assert_eq!(events.len(), 2, "{effects:?}");
    let (join, message) = (&events[0], &events[1]);
    assert!(matches!(
        &join.body,
        EventBody::NewParty {
            nickname,
            party_type: PartyType::External,
            protocol: Protocol::Esp,
            person_id: None,
            key_hash: None,
            ..
        } if nickname == "Workflow"
    ));
    assert_eq!(join.visibility, Visibility::All);
    assert!(matches!(&message.body, EventBody::Message { text, .. } if text == "hello"));
    assert_eq!(message.from, join.from);
    assert!(message.id > join.id);
    // The id is derived from the join event's id: deterministic, never a client's.
    assert_eq!(join.from.as_str(), format!("esp-{}", join.id));
    let p = fx.s.party(&join.from).expect("joined");
    assert!(p.present && p.is_workflow() && !p.is_visible_agent());
    assert_eq!(fx.s.sender_type(&join.from), PartyType::External);
    assert_eq!(
        fx.audience(message),
        ids(&["agent", "cust", &join.from.to_string()])
    );
}

#[test]
fn later_posts_under_the_same_nickname_reuse_the_party() {
    let mut fx = Fx::with_customer();
    fx.ok(post("System", Visibility::All, "one"));
    let id = wf(&fx, "System");
    let second = only_event(&fx.ok(post(" System ", Visibility::All, "two")));
    assert_eq!(second.from.to_string(), id);
    // Another nickname is another party.
    let other = emitted(&fx.ok(post("Bot Queue", Visibility::All, "three")));
    assert_eq!(other.len(), 2);
    assert_ne!(other[0].from.to_string(), id);
    let joins =
        fx.s.transcript()
            .iter()
            .filter(|e| {
                matches!(
                    e.body,
                    EventBody::NewParty {
                        party_type: PartyType::External,
                        ..
                    }
                )
            })
            .count();
    assert_eq!(joins, 2);
}

#[test]
fn the_default_nickname_is_system() {
    assert_eq!(DEFAULT_EXTERNAL_NICKNAME, "System");
}

#[test]
fn post_visibility_follows_the_audience_rules() {
    let mut fx = Fx::full_house();
    fx.ok(post("System", Visibility::All, "hi"));
    let w = wf(&fx, "System");
    let all = fx.event(fx.s.last_event_id()).clone();
    assert_eq!(
        fx.audience(&all),
        ids(&["agent", "coach", "cust", "mon", "sup", &w])
    );
    let int = only_event(&fx.ok(post("System", Visibility::Int, "staff only")));
    assert_eq!(int.visibility, Visibility::Int);
    assert_eq!(
        fx.audience(&int),
        ids(&["agent", "coach", "mon", "sup", &w])
    );
    let vip = only_event(&fx.ok(post("System", Visibility::Vip, "supervisors")));
    assert_eq!(vip.visibility, Visibility::Vip);
    assert_eq!(fx.audience(&vip), ids(&["coach", "mon", "sup", &w]));
    assert!(!fx.replayed_to(int.id).contains(&"cust".to_owned()));
}

#[test]
fn a_workflow_sends_pushed_urls_and_custom_notices_only() {
    let mut fx = Fx::with_customer();
    let url = only_event(&{
        fx.ok(post("System", Visibility::All, "x"));
        fx.ok(post_notice(
            "System",
            NoticeType::UserPushedUrl,
            Some("https://example.com/"),
        ))
    });
    assert!(matches!(
        url.body,
        EventBody::Notice {
            notice_type: NoticeType::UserPushedUrl,
            ..
        }
    ));
    let custom = only_event(&fx.ok(post_notice("System", NoticeType::UserCustom, None)));
    assert!(fx.s.transcript().contains(&custom));
    for t in [
        NoticeType::TypingStarted,
        NoticeType::UserUpdateNick,
        NoticeType::SysCommand,
        NoticeType::IdleControlAlert,
    ] {
        fx.refused(
            post_notice("System", t, Some("x")),
            CoreError::NotAllowed("a workflow sends USER_PUSHED_URL or USER_CUSTOM notices only"),
        );
    }
}

#[test]
fn a_refused_first_post_joins_nobody() {
    let mut fx = Fx::with_customer();
    fx.refused(
        post("System", Visibility::All, ""),
        CoreError::InvalidField {
            field: "text",
            reason: "a message needs text",
        },
    );
    fx.refused(
        post("System", Visibility::All, &"x".repeat(16 * 1024 + 1)),
        CoreError::LimitExceeded("message text too large"),
    );
    fx.refused(
        post_notice("System", NoticeType::UserPushedUrl, Some("  ")),
        CoreError::InvalidField {
            field: "text",
            reason: "a pushed URL needs the URL as text",
        },
    );
    fx.refused(
        post("   ", Visibility::All, "x"),
        CoreError::InvalidField {
            field: "nickname",
            reason: "must not be empty",
        },
    );
    fx.refused(
        post(&"n".repeat(65), Visibility::All, "x"),
        CoreError::LimitExceeded("nickname too long"),
    );
    assert!(fx.s.workflow_party("System").is_none());
}

#[test]
fn a_workflow_joins_a_password_protected_session_without_the_password() {
    let mut fx = Fx::create(SessionSettings::default(), Some("secret"), customer("cust"));
    assert_eq!(
        emitted(&fx.ok(post("System", Visibility::All, "hi"))).len(),
        2
    );
}

#[test]
fn the_customer_leaving_a_chat_with_only_workflow_parties_ends_it() {
    let mut fx = Fx::with_customer();
    fx.ok(post("System", Visibility::All, "hello"));
    fx.ok(post("Other", Visibility::All, "hello"));
    let effects = fx.ok(release("cust", AfterAction::KeepAlive));
    let info = closed(&effects);
    assert_eq!(
        (info.ended_by, info.reason, info.agent),
        (EndedBy::Client, EndedReason::Quit, EndedAgent::Absent)
    );
    let removed: Vec<_> = emitted(&effects).iter().skip(1).map(left).collect();
    assert_eq!(removed.len(), 2);
    assert!(removed.iter().all(
        |(_, reason, _, asker)| *reason == LeftReason::RemovedByParty
            && asker.as_deref() == Some("cust")
    ));
}

#[test]
fn a_workflow_party_is_not_an_agent_for_close_if_no_agents() {
    let mut fx = Fx::with_agent_and_customer();
    fx.ok(post("System", Visibility::All, "hello"));
    let info = closed(&fx.ok(release("agent", AfterAction::CloseIfNoAgents)));
    assert_eq!(info.agent, EndedAgent::Present);
    let mut fx = Fx::with_customer();
    fx.ok(post("System", Visibility::All, "hello"));
    let info = closed(&fx.ok(release("cust", AfterAction::CloseIfNoAgents)));
    assert_eq!(
        info.agent,
        EndedAgent::Absent,
        "a workflow is never the agent"
    );
}

#[test]
fn a_closed_session_refuses_posts() {
    let mut fx = Fx::with_customer();
    fx.ok(release("cust", AfterAction::KeepAlive));
    fx.refused(
        post("System", Visibility::All, "late"),
        CoreError::SessionOver,
    );
}

#[test]
fn after_restoration_the_same_nickname_rejoins_as_the_same_party() {
    let mut fx = Fx::with_agent_and_customer();
    fx.ok(post("System", Visibility::All, "before"));
    let id = wf(&fx, "System");
    fx.advance(1_000);
    fx.restore();
    assert!(!fx.s.workflow_party("System").expect("rebuilt").present);
    let effects = fx.ok(post("System", Visibility::All, "after"));
    let events = emitted(&effects);
    assert_eq!(events.len(), 2, "shown joining again: {effects:?}");
    assert!(matches!(events[0].body, EventBody::NewParty { .. }));
    assert_eq!(events[0].from.to_string(), id);
    assert_eq!(events[1].from.to_string(), id);
    let externals = fx.s.parties().iter().filter(|p| p.is_workflow()).count();
    assert_eq!(externals, 1);
}

#[test]
fn a_workflow_post_does_not_keep_a_restored_session_waiting_forever() {
    let mut fx = Fx::with_agent_and_customer();
    fx.advance(1_000);
    fx.restore();
    let deadline = fx.s.next_deadline().expect("waits for the parties");
    fx.ok(post("System", Visibility::All, "still there?"));
    assert_eq!(fx.s.next_deadline(), Some(deadline));
    fx.advance(u64::try_from(deadline.0 - fx.now.0).unwrap());
    let effects = fx.ok(Input::Tick);
    let info = closed(&effects);
    assert_eq!(info.ended_by, EndedBy::System);
    assert!(!fx.s.workflow_party("System").expect("known").present);
}

#[test]
fn a_customer_coming_back_to_a_restored_session_ends_the_wait_not_a_workflow() {
    let mut fx = Fx::with_customer();
    fx.advance(1_000);
    fx.restore();
    fx.ok(post("System", Visibility::All, "hi"));
    fx.ok(attach("cust"));
    fx.advance(10 * 60_000);
    assert!(fx.ok(Input::Tick).is_empty());
    assert!(fx.s.end_info().is_none());
}
