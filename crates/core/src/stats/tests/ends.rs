//! The end reasons as attached: every value of `csg_SessionEndedBy`,
//! `csg_SessionEndedReason` and `csg_SessionEndedAgent`, and the seed's restoration corner
//! case.

use super::*;
use crate::session::EndedReason;
use crate::stats::AttachStatistics;

/// The three end keys a finished chat attaches.
fn ends(c: &Chat) -> (String, String, String) {
    let data = c.stats().attach(AttachStatistics::Fired);
    let get = |k: &str| {
        data.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing"))
    };
    (
        get("csg_SessionEndedBy"),
        get("csg_SessionEndedReason"),
        get("csg_SessionEndedAgent"),
    )
}

fn triple(by: &str, reason: &str, agent: &str) -> (String, String, String) {
    (by.to_owned(), reason.to_owned(), agent.to_owned())
}

#[test]
fn a_customer_who_leaves_first_ended_the_chat_whoever_closes_it() {
    let mut c = Chat::started();
    c.at(1)
        .join("a1", As::Agent)
        .at(2)
        .remove("cust", LeftReason::Disconnect);
    c.at(3).release("a1", AfterAction::KeepAlive);
    assert_eq!(ends(&c), triple("CLIENT", "DISCONNECT", "PRESENT"));

    let mut c = Chat::started();
    c.at(5).release("cust", AfterAction::KeepAlive);
    assert_eq!(ends(&c), triple("CLIENT", "QUIT", "ABSENT"));
}

#[test]
fn agents_supervisors_and_bots_that_close_are_named_with_how() {
    let mut c = Chat::started();
    c.join("sup", As::Supervisor)
        .at(4)
        .release("sup", AfterAction::ForceClose);
    assert_eq!(ends(&c), triple("SUPERVISOR", "FORCE", "PRESENT"));

    let mut c = Chat::started();
    c.join("a1", As::Agent)
        .at(4)
        .release("a1", AfterAction::CloseIfNoAgents);
    assert_eq!(ends(&c), triple("AGENT", "FORCE", "PRESENT"));

    // A chat without a customer, closed by its last party's own release or disconnect.
    let mut c = Chat::created_by(join_request("a1", As::Agent, None));
    c.at(4).release("a1", AfterAction::KeepAlive);
    assert_eq!(ends(&c), triple("AGENT", "QUIT", "PRESENT"));

    let mut c = Chat::created_by(join_request("bot", As::Bot, None));
    c.at(4).remove("bot", LeftReason::Disconnect);
    assert_eq!(ends(&c), triple("BOT", "DISCONNECT", "ABSENT"));
}

#[test]
fn the_server_closes_for_inactivity_or_a_storage_failure() {
    let mut c = Chat::started();
    c.join("a1", As::Agent)
        .at(1)
        .release("a1", AfterAction::KeepAlive);
    c.at(300).input(Input::SystemClose {
        reason: EndedReason::Inactive,
    });
    assert_eq!(ends(&c), triple("SYSTEM", "INACTIVE", "VISITED"));

    let mut c = Chat::started();
    c.at(3).input(Input::SystemClose {
        reason: EndedReason::DbError,
    });
    assert_eq!(ends(&c), triple("SYSTEM", "DB_ERROR", "ABSENT"));
}

/// 0 cust; 10 a1 joins; (no line); 50 restored; 51 cust back, a1 never; 55 cust "anyone?";
/// 60 cust leaves. The seed: ABSENT. With a line before the restoration: VISITED.
#[test]
fn an_agent_removed_by_a_restoration_before_any_line_was_never_there() {
    let mut c = Chat::started();
    c.at(10).join("a1", As::Agent).at(50).restore();
    c.at(51).reattach("cust").at(55).say("cust", "anyone?");
    c.at(60).release("cust", AfterAction::KeepAlive);
    assert_eq!(ends(&c), triple("CLIENT", "QUIT", "ABSENT"));
    assert_eq!(c.stats().agents, 1, "it still joined as an agent");

    let mut c = Chat::started();
    c.at(10)
        .join("a1", As::Agent)
        .at(20)
        .say("cust", "hello?")
        .at(50)
        .restore();
    c.at(51)
        .reattach("cust")
        .at(60)
        .release("cust", AfterAction::KeepAlive);
    assert_eq!(ends(&c), triple("CLIENT", "QUIT", "VISITED"));

    // An agent who comes back after the restoration took part.
    let mut c = Chat::started();
    c.at(10).join("a1", As::Agent).at(50).restore();
    c.at(51).reattach("cust").at(52).reattach("a1");
    c.at(53).release("a1", AfterAction::KeepAlive);
    c.at(60).release("cust", AfterAction::KeepAlive);
    assert_eq!(ends(&c), triple("CLIENT", "QUIT", "VISITED"));
}
