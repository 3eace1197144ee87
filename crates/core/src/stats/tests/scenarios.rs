//! Hand-computed chats. Each test's comment is its timeline in seconds since creation;
//! the expected numbers are worked out from it.

use super::*;
use crate::session::{EndedAgent, EndedBy, EndedReason};

/// 0 cust creates; 2 "one", 4 "two", 6 "three"; 10 a1 joins; 15 "hi Rita", 20 "bye";
/// 30 a1 leaves with ForceClose.
#[test]
fn a_simple_chat_counts_messages_parties_and_times() {
    let mut c = Chat::started_with(&[("MediaOrigin", "web"), ("GCTI_LanguageName", "English")]);
    c.at(2).say("cust", "one").at(4).say("cust", "two");
    c.at(6).say("cust", "three").at(10).join("a1", As::Agent);
    c.at(15).say("a1", "hi Rita").at(20).say("a1", "bye");
    c.at(30).release("a1", AfterAction::ForceClose);
    let st = c.stats();
    assert_eq!(st.from_customers, texts(3, 11));
    assert_eq!(st.from_agents, texts(2, 10));
    assert_eq!(st.from_bots, texts(0, 0));
    assert_eq!((st.agents, st.coaches, st.monitors, st.bots), (1, 0, 0, 0));
    assert_eq!(st.total_ms, s(30));
    assert_eq!(st.until_first_agent_ms, Some(s(10)));
    assert_eq!(st.until_first_reply_ms, Some(s(15)));
    assert_eq!(st.until_first_bot_ms, None);
    assert_eq!(st.with_customer_ms, Some(s(30)));
    assert_eq!(st.handle, tally(1, 20, 20));
    // The customer's three lines are one turn: wait from "three", reply from "one".
    assert_eq!(st.customer_wait, tally(1, 9, 9));
    assert_eq!(st.agent_reply, tally(1, 13, 13));
    assert_eq!(st.agent_wait, tally(0, 0, 0));
    assert_eq!(st.customer_reply, tally(0, 0, 0));
    assert_eq!(st.active_idle, tally(0, 0, 0));
    assert_eq!(st.media_origin.as_deref(), Some("web"));
    assert_eq!(st.language.as_deref(), Some("English"));
    assert_eq!(st.tenant, "Environment");
    assert_eq!(
        (st.end.ended_by, st.end.reason, st.end.agent),
        (EndedBy::Agent, EndedReason::Force, EndedAgent::Present)
    );
}

/// 0 cust creates, a1 joins; 1 a1 "Hello"; 5 "hi", 7 "q1", 8 "q2" (cust); 20 "ans1",
/// 22 "ans2" (a1); 40 "thanks" (cust); 41 "bye" (a1); 50 cust leaves; 60 a1 leaves.
#[test]
fn a_few_messages_in_a_row_are_one_turn() {
    let mut c = Chat::started();
    c.join("a1", As::Agent).at(1).say("a1", "Hello");
    c.at(5)
        .say("cust", "hi")
        .at(7)
        .say("cust", "q1")
        .at(8)
        .say("cust", "q2");
    c.at(20).say("a1", "ans1").at(22).say("a1", "ans2");
    c.at(40).say("cust", "thanks").at(41).say("a1", "bye");
    c.at(50).release("cust", AfterAction::KeepAlive);
    c.at(60).release("a1", AfterAction::KeepAlive);
    let st = c.stats();
    // A→C at 5: agent waited 5-1, customer replied 5-1. C→A at 20: customer waited 20-8,
    // agent replied 20-5. A→C at 40: waited 40-22, replied 40-20. C→A at 41: 1 and 1.
    assert_eq!(st.agent_wait, tally(2, 22, 18));
    assert_eq!(st.customer_reply, tally(2, 24, 20));
    assert_eq!(st.customer_wait, tally(2, 13, 12));
    assert_eq!(st.agent_reply, tally(2, 16, 15));
    assert_eq!(st.until_first_agent_ms, Some(0));
    assert_eq!(st.until_first_reply_ms, Some(s(1)));
    assert_eq!(st.with_customer_ms, Some(s(50)));
    assert_eq!(st.handle, tally(1, 60, 60));
    assert_eq!(st.from_customers, texts(4, 12));
    assert_eq!(st.from_agents, texts(4, 16));
    assert_eq!(
        (st.end.ended_by, st.end.reason),
        (EndedBy::Client, EndedReason::Quit)
    );
}

/// 0 cust; 10 a1 joins; 12 "hello"; 14 cust "need help"; 20 a2 joins (conference); 25 a2
/// "I am Bob"; 30 a1 leaves (transfer to a2); 40 a2 leaves, the customer waits alone; 55
/// a1 comes back under a new user id (a3, same login); 60 cust "hi again"; 62 a3 "yes";
/// 70 a3 leaves with CloseIfNoAgents.
#[test]
fn conferences_and_transfers_count_unique_agents_and_handle_periods() {
    let mut c = Chat::started();
    c.at(10).join("a1", As::Agent).at(12).say("a1", "hello");
    c.at(14)
        .say("cust", "need help")
        .at(20)
        .join("a2", As::Agent);
    c.at(25)
        .say("a2", "I am Bob")
        .at(30)
        .release("a1", AfterAction::KeepAlive);
    c.at(40).release("a2", AfterAction::KeepAlive);
    c.at(55).join_as_login("a3", As::Agent, "a1");
    c.at(60).say("cust", "hi again").at(62).say("a3", "yes");
    c.at(70).release("a3", AfterAction::CloseIfNoAgents);
    let st = c.stats();
    assert_eq!(st.agents, 2, "a1 and a3 are one agent");
    assert_eq!(st.from_agents, texts(3, 16));
    assert_eq!(st.from_customers, texts(2, 17));
    // 10→40 with an agent, 40→55 without, 55→70 with.
    assert_eq!(st.handle, tally(2, 45, 30));
    assert_eq!(st.with_customer_ms, Some(s(70)));
    assert_eq!(st.agent_wait, tally(2, 37, 35));
    assert_eq!(st.customer_reply, tally(2, 37, 35));
    assert_eq!(st.customer_wait, tally(2, 13, 11));
    assert_eq!(st.agent_reply, tally(2, 13, 11));
    assert_eq!(
        (st.end.ended_by, st.end.reason, st.end.agent),
        (EndedBy::Agent, EndedReason::Force, EndedAgent::Present)
    );
}

/// 0 cust; 5 a1 joins; 10 sup monitors (INT); 12 coach joins (VIP); 13 coach "psst" (VIP);
/// 14 sup "note" (INT); 15 a1 "internal" (INT); 16 a1 "hi"; 18 a1 "private" to cust; 19
/// a1 "aside" to the coach; 20 sup2 joins visibly; 21 sup2 "I'm the supervisor"; 22 cust
/// "ok"; 30 cust leaves; 40 a1 force-closes.
#[test]
fn coaches_and_monitors_are_counted_apart_and_their_lines_are_not_the_agents() {
    let mut c = Chat::started();
    c.at(5)
        .join("a1", As::Agent)
        .at(10)
        .join("sup", As::Monitor);
    c.at(12).join("coach", As::Coach);
    c.at(13).send("coach", "psst", Visibility::Vip, None);
    c.at(14).send("sup", "note", Visibility::Int, None);
    c.at(15).send("a1", "internal", Visibility::Int, None);
    c.at(16).say("a1", "hi");
    c.at(18)
        .send("a1", "private", Visibility::All, Some("cust"));
    c.at(19).send("a1", "aside", Visibility::All, Some("coach"));
    c.at(20)
        .join("sup2", As::Supervisor)
        .at(21)
        .say("sup2", "I'm the supervisor");
    c.at(22)
        .say("cust", "ok")
        .at(30)
        .release("cust", AfterAction::KeepAlive);
    c.at(40).release("a1", AfterAction::ForceClose);
    let st = c.stats();
    assert_eq!((st.agents, st.coaches, st.monitors, st.bots), (2, 1, 1, 0));
    assert_eq!(
        st.from_agents,
        texts(3, 27),
        "hi, private, I'm the supervisor"
    );
    assert_eq!(st.from_customers, texts(1, 2));
    assert_eq!(st.with_customer_ms, Some(s(30)));
    assert_eq!(st.handle, tally(1, 35, 35));
    assert_eq!(st.until_first_agent_ms, Some(s(5)));
    assert_eq!(st.until_first_reply_ms, Some(s(16)));
    // Agents 16, 18, 21 then the customer at 22: one wait (22-21), one reply (22-16).
    assert_eq!(st.agent_wait, tally(1, 1, 1));
    assert_eq!(st.customer_reply, tally(1, 6, 6));
    assert_eq!(st.customer_wait, tally(0, 0, 0));
    assert_eq!(
        (st.end.ended_by, st.end.reason),
        (EndedBy::Client, EndedReason::Quit)
    );
}

/// 0 cust; 1 bot joins; 2 bot "Hi I'm a bot"; 3 bot "staff only" (INT); 5 cust "human
/// please"; 8 bot leaves; 20 a1 joins; 25 a1 "hello"; 30 a1 force-closes.
#[test]
fn bots_have_their_own_statistics_and_are_never_agents() {
    let mut c = Chat::started();
    c.at(1)
        .join("bot", As::Bot)
        .at(2)
        .say("bot", "Hi I'm a bot");
    c.at(3).send("bot", "staff only", Visibility::Int, None);
    c.at(5)
        .say("cust", "human please")
        .at(8)
        .release("bot", AfterAction::KeepAlive);
    c.at(20).join("a1", As::Agent).at(25).say("a1", "hello");
    c.at(30).release("a1", AfterAction::ForceClose);
    let st = c.stats();
    assert_eq!((st.agents, st.bots), (1, 1));
    assert_eq!(st.from_bots, texts(1, 12));
    assert_eq!(st.from_agents, texts(1, 5));
    assert_eq!(st.until_first_bot_ms, Some(s(1)));
    assert_eq!(st.until_first_agent_ms, Some(s(20)));
    assert_eq!(st.until_first_reply_ms, Some(s(25)));
    // The bot's line is no reply: the customer waited from 5 to the agent's 25.
    assert_eq!(st.customer_wait, tally(1, 20, 20));
    assert_eq!(st.agent_reply, tally(1, 20, 20));
    assert_eq!(st.handle, tally(1, 10, 10));
}

/// 0 cust; 1 bot joins; 4 bot "bye"; 10 the bot force-closes: no agent ever.
#[test]
fn a_chat_only_a_bot_answered_is_abandoned_and_ended_by_the_bot() {
    let mut c = Chat::started();
    c.at(1).join("bot", As::Bot).at(4).say("bot", "bye");
    c.at(10).release("bot", AfterAction::ForceClose);
    let st = c.stats();
    assert_eq!(
        (st.end.ended_by, st.end.reason, st.end.agent),
        (EndedBy::Bot, EndedReason::Force, EndedAgent::Absent)
    );
    assert_eq!((st.agents, st.bots), (0, 1));
    assert_eq!(st.until_first_agent_ms, None);
    assert_eq!(st.handle, tally(0, 0, 0));
    assert_eq!(st.from_bots, texts(1, 3));
}

/// 0 cust; 10 a1 joins; 20 a1 "hi"; 70 cust "hey"; 80 a1 "ok"; 200 a1 force-closes. With a
/// 30 s threshold the quiet 20→70 and 80→200 are idle; 10→20 is not.
#[test]
fn active_idle_counts_the_quiet_periods_beyond_the_threshold_while_an_agent_is_in() {
    let mut c = Chat::started();
    c.at(10).join("a1", As::Agent).at(20).say("a1", "hi");
    c.at(30)
        .join("bot", As::Bot)
        .at(40)
        .say("bot", "a bot's line is no activity");
    c.at(70).say("cust", "hey").at(80).say("a1", "ok");
    c.at(200).release("a1", AfterAction::ForceClose);
    assert_eq!(c.stats_idle(Some(s(30))).active_idle, tally(2, 170, 120));
    assert_eq!(c.stats_idle(Some(s(60))).active_idle, tally(1, 120, 120));
    assert_eq!(c.stats_idle(None).active_idle, tally(0, 0, 0));
}

/// 0 cust; 10 a1 joins; 12 cust "hi"; 15 a1 "hello"; 100 the instance fails and the
/// session is restored; 101 cust comes back; 102 a1 comes back; 110 a1 "welcome back";
/// 120 a1 force-closes.
#[test]
fn a_restored_chat_gives_the_numbers_of_its_whole_transcript() {
    let mut c = Chat::started();
    c.at(10).join("a1", As::Agent).at(12).say("cust", "hi");
    c.at(15).say("a1", "hello").at(100).restore();
    c.at(101).reattach("cust").at(102).reattach("a1");
    c.at(110).say("a1", "welcome back");
    c.at(120).release("a1", AfterAction::ForceClose);
    let st = c.stats();
    assert_eq!(st.with_customer_ms, Some(s(119)));
    assert_eq!(st.handle, tally(2, 108, 90));
    assert_eq!(st.agents, 1);
    assert_eq!(st.from_agents, texts(2, 17));
    assert_eq!(st.from_customers, texts(1, 2));
    assert_eq!(st.customer_wait, tally(1, 3, 3));
    assert_eq!(st.agent_reply, tally(1, 3, 3));
    assert_eq!(st.total_ms, s(120));
    assert_eq!(
        (st.end.ended_by, st.end.reason, st.end.agent),
        (EndedBy::Agent, EndedReason::Force, EndedAgent::Present)
    );
    // The live session's transcript and the stored one give the same numbers.
    let live = compute(
        &ReportInput {
            session: c.s.id(),
            created_at: T0,
            end: c.end(),
            tenant: "Environment",
            language: None,
            idle_threshold_ms: None,
        },
        c.s.transcript(),
    );
    assert_eq!(live, st);
}
