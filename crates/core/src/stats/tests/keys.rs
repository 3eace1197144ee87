//! Which keys each `attach-session-statistics` value attaches, and their rendering.

use super::*;
use crate::stats::{format_timestamp, AttachStatistics};

/// 0 cust (web); 2 "one", 4 "two", 6 "three"; 10 a1 joins; 15 "hi Rita", 20 "bye"; 30 a1
/// force-closes (the acceptance check's chat).
fn simple() -> Chat {
    let mut c = Chat::started_with(&[("MediaOrigin", "web")]);
    c.at(2).say("cust", "one").at(4).say("cust", "two");
    c.at(6).say("cust", "three").at(10).join("a1", As::Agent);
    c.at(15).say("a1", "hi Rita").at(20).say("a1", "bye");
    c.at(30).release("a1", AfterAction::ForceClose);
    c
}

fn keys(data: &UserData) -> Vec<&str> {
    data.keys().map(String::as_str).collect()
}

#[test]
fn none_attaches_only_what_the_seed_always_attaches() {
    let data = simple().stats().attach(AttachStatistics::None);
    assert_eq!(
        data,
        UserData::from([
            (
                "ChatServerSessionStartedAt".to_owned(),
                "2023-11-14T22:13:20Z".to_owned()
            ),
            (
                "ChatServerSessionClosedAt".to_owned(),
                "2023-11-14T22:13:50Z".to_owned()
            ),
            ("csg_MediaType".to_owned(), "chat".to_owned()),
            ("csg_TenantId".to_owned(), "Environment".to_owned()),
        ])
    );
}

#[test]
fn fired_attaches_the_statistics_that_occurred_with_their_values_in_seconds() {
    let data = simple().stats().attach(AttachStatistics::Fired);
    let want = [
        ("csg_ChatSessionID", "chat-1"),
        ("csg_MediaOrigin", "web"),
        ("csg_SessionEndedBy", "AGENT"),
        ("csg_SessionEndedReason", "FORCE"),
        ("csg_SessionEndedAgent", "PRESENT"),
        ("csg_MessagesFromAgentsCount", "2"),
        ("csg_MessagesFromAgentsSize", "10"),
        ("csg_MessagesFromCustomersCount", "3"),
        ("csg_MessagesFromCustomersSize", "11"),
        ("csg_PartiesAsAgentCount", "1"),
        ("csg_SessionTotalTime", "30"),
        ("csg_SessionUntilFirstAgentTime", "10"),
        ("csg_SessionUntilFirstReplyTime", "15"),
        ("csg_SessionWithCustomerTime", "30"),
        ("cse_SessionHandleTotalCount", "1"),
        ("cse_SessionHandleTotalTime", "20"),
        ("cse_SessionHandleMaxTime", "20"),
        ("cse_CustomerWaitTotalCount", "1"),
        ("cse_CustomerWaitTotalTime", "9"),
        ("cse_CustomerWaitMaxTime", "9"),
        ("cse_AgentReplyTotalCount", "1"),
        ("cse_AgentReplyTotalTime", "13"),
        ("cse_AgentReplyMaxTime", "13"),
    ];
    for (k, v) in want {
        assert_eq!(data.get(k).map(String::as_str), Some(v), "{k}");
    }
    // 4 always-attached keys and the ones above; nothing that did not happen.
    assert_eq!(data.len(), 4 + want.len(), "{:?}", keys(&data));
    for absent in [
        "csg_LanguageName",
        "csg_PartiesAsBotCount",
        "csg_PartiesAsCoachCount",
        "csg_SessionUntilFirstBotTime",
        "cse_AgentWaitTotalCount",
        "cse_ActiveIdleTotalCount",
    ] {
        assert!(!data.contains_key(absent), "{absent}");
    }
}

#[test]
fn all_attaches_every_statistic_zero_ones_included() {
    let data = simple().stats().attach(AttachStatistics::All);
    for (k, v) in [
        ("csg_MessagesFromBotsCount", "0"),
        ("csg_MessagesFromBotsSize", "0"),
        ("csg_PartiesAsBotCount", "0"),
        ("csg_PartiesAsCoachCount", "0"),
        ("csg_PartiesAsMonitorCount", "0"),
        ("csg_SessionUntilFirstBotTime", "0"),
        ("cse_AgentWaitTotalCount", "0"),
        ("cse_AgentWaitTotalTime", "0"),
        ("cse_AgentWaitMaxTime", "0"),
        ("cse_CustomerReplyTotalCount", "0"),
        ("cse_CustomerReplyTotalTime", "0"),
        ("cse_CustomerReplyMaxTime", "0"),
        ("cse_ActiveIdleTotalCount", "0"),
        ("cse_ActiveIdleTotalTime", "0"),
        ("cse_ActiveIdleMaxTime", "0"),
        ("csg_MessagesFromCustomersCount", "3"),
    ] {
        assert_eq!(data.get(k).map(String::as_str), Some(v), "{k}");
    }
    // Session characteristics (6 without a language), end reasons (3), messages (6),
    // parties (4), session times (5), six tallies of three.
    assert_eq!(data.len(), 6 + 3 + 6 + 4 + 5 + 18, "{:?}", keys(&data));
    assert!(
        !data.contains_key("csg_LanguageName"),
        "no language, no key"
    );
}

#[test]
fn times_are_whole_seconds_rounded_down() {
    let mut c = Chat::started();
    c.at(0).join("a1", As::Agent);
    c.now = T0.plus_ms(1_999);
    c.say("a1", "hi");
    c.now = T0.plus_ms(4_500);
    c.release("a1", AfterAction::ForceClose);
    let data = c.stats().attach(AttachStatistics::All);
    assert_eq!(data["csg_SessionUntilFirstReplyTime"], "1");
    assert_eq!(data["csg_SessionTotalTime"], "4");
}

#[test]
fn instants_are_iso_8601_utc() {
    assert_eq!(format_timestamp(UnixMillis(0)), "1970-01-01T00:00:00Z");
    assert_eq!(
        format_timestamp(UnixMillis(951_782_400_999)),
        "2000-02-29T00:00:00Z"
    );
    assert_eq!(format_timestamp(T0), "2023-11-14T22:13:20Z");
    assert_eq!(format_timestamp(UnixMillis(-1)), "1969-12-31T23:59:59Z");
}

#[test]
fn the_language_the_session_runs_in_wins_over_the_initial_user_data() {
    let c = Chat::started_with(&[("GCTI_LanguageName", "English")]);
    let mut c = c;
    c.at(1).release("cust", AfterAction::KeepAlive);
    let session = c.s.id().clone();
    let input = ReportInput {
        session: &session,
        created_at: T0,
        end: c.end(),
        tenant: "Environment",
        language: Some("French"),
        idle_threshold_ms: None,
    };
    let data = compute(&input, &c.stored().events).attach(AttachStatistics::Fired);
    assert_eq!(data["csg_LanguageName"], "French");
    assert_eq!(
        c.stats().attach(AttachStatistics::Fired)["csg_LanguageName"],
        "English"
    );
}
