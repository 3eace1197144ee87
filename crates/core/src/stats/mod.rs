//! Reporting statistics of a finished chat (the seed's "Chat Server Reporting Data"):
//! computed from the transcript alone — events with their timestamps — and the end facts,
//! so a session restored on another instance, or re-read from the store, gives the same
//! numbers as the one that ran uninterrupted. Nothing here reads a clock.
//!
//! The words of the seed, as Parley applies them:
//! - an *agent* is a human agent or supervisor who takes part visibly (joined `ALL`, not a
//!   bot): the one the customer sees. Coaches (`VIP`), silent monitors (`INT`) and bots are
//!   counted in their own statistics and never as agents;
//! - a message *visible to the customer* has visibility `ALL` and is either not direct or
//!   direct to a customer;
//! - "a few messages in a row" from one side (customer, or agents) form one turn: a wait
//!   runs from the turn's last message to the other side's next message, a reply from the
//!   turn's first message to that same answer.
//!
//! Layout: `mod.rs` the inputs, the result and [`compute`]; `roles.rs` who each party is
//! for reporting; `walk.rs` the one pass over the transcript (presence periods, messages,
//! idle gaps); `turns.rs` the wait/reply statistics; `kvp.rs` the user-data keys and which
//! of them `attach-session-statistics` attaches.

mod kvp;
mod roles;
mod turns;
mod walk;

#[cfg(test)]
mod tests;

use serde::Deserialize;

pub use kvp::{format_timestamp, LANGUAGE_KEY, MEDIA_ORIGIN_KEY, MEDIA_TYPE_CHAT};
pub use roles::{agent_visited, Role};

use crate::event::{Event, EventBody};
use crate::ids::{SessionId, UnixMillis};
use crate::party::UserData;
use crate::session::EndInfo;

/// `attach-session-statistics`: which statistics go into the interaction's user data when
/// its chat ends. `ChatServerSessionStartedAt`/`ClosedAt` (and the always-attached media
/// type and tenant) go whatever the value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachStatistics {
    /// Only the always-attached keys (the Genesys default).
    #[default]
    None,
    /// Only the statistics that occurred: no zero counts, no times of things that never
    /// happened (what Genesys recommends with historical reporting).
    Fired,
    /// Every statistic, zero ones included (what Genesys Info Mart needs).
    All,
}

/// One kind of repeated duration: how many, their total and the longest (milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many times it happened.
    pub count: u64,
    /// Their summed duration.
    pub total_ms: u64,
    /// The longest one.
    pub max_ms: u64,
}

impl Tally {
    /// Counts one more duration.
    pub(crate) fn add(&mut self, ms: u64) {
        self.count += 1;
        self.total_ms += ms;
        self.max_ms = self.max_ms.max(ms);
    }
}

/// Messages from one kind of party: how many and their characters (spaces included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageTally {
    /// Number of messages.
    pub count: u64,
    /// Characters (Unicode scalar values) of their texts.
    pub chars: u64,
}

/// What the statistics need besides the transcript. Filled by the shell at session end.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The session (`csg_ChatSessionID`).
    pub session: &'a SessionId,
    /// When it was created (`ChatServerSessionStartedAt`).
    pub created_at: UnixMillis,
    /// How it ended (the closing instant is `ChatServerSessionClosedAt`).
    pub end: EndInfo,
    /// Its tenant (`csg_TenantId`).
    pub tenant: &'a str,
    /// The language the session runs in, once sessions have one (`ConfigureSession`); until
    /// then `None`, and the initial user data's `GCTI_LanguageName` is reported, as the
    /// seed says.
    pub language: Option<&'a str>,
    /// The inactivity threshold of `cse_ActiveIdle*` (the first alert of regular
    /// inactivity control), when inactivity control is on.
    pub idle_threshold_ms: Option<u64>,
}

/// The statistics of one finished chat, in milliseconds; rendered to the seed's keys (in
/// whole seconds) by [`Statistics::attach`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    /// `csg_ChatSessionID`.
    pub session: SessionId,
    /// `ChatServerSessionStartedAt`.
    pub started_at: UnixMillis,
    /// `ChatServerSessionClosedAt`.
    pub closed_at: UnixMillis,
    /// `csg_TenantId`.
    pub tenant: String,
    /// `csg_LanguageName`, when the session has a language.
    pub language: Option<String>,
    /// `csg_MediaOrigin`, when the initial user data names one.
    pub media_origin: Option<String>,
    /// `csg_SessionEndedBy`, `csg_SessionEndedReason`, `csg_SessionEndedAgent`.
    pub end: EndInfo,
    /// `csg_MessagesFromAgents*`: visible agents' messages the customer sees.
    pub from_agents: MessageTally,
    /// `csg_MessagesFromCustomers*`.
    pub from_customers: MessageTally,
    /// `csg_MessagesFromBots*`: bots' messages the customer sees.
    pub from_bots: MessageTally,
    /// `csg_PartiesAsAgentCount` (unique parties).
    pub agents: u64,
    /// `csg_PartiesAsCoachCount`.
    pub coaches: u64,
    /// `csg_PartiesAsMonitorCount`.
    pub monitors: u64,
    /// `csg_PartiesAsBotCount`.
    pub bots: u64,
    /// `csg_SessionTotalTime`.
    pub total_ms: u64,
    /// `csg_SessionUntilFirstAgentTime`, if an agent joined.
    pub until_first_agent_ms: Option<u64>,
    /// `csg_SessionUntilFirstReplyTime`, if an agent sent a visible message.
    pub until_first_reply_ms: Option<u64>,
    /// `csg_SessionUntilFirstBotTime`, if a bot joined.
    pub until_first_bot_ms: Option<u64>,
    /// `csg_SessionWithCustomerTime`, if a customer took part.
    pub with_customer_ms: Option<u64>,
    /// `cse_SessionHandle*`: periods with at least one agent present.
    pub handle: Tally,
    /// `cse_ActiveIdle*`: inactivity beyond the threshold while an agent was present.
    pub active_idle: Tally,
    /// `cse_AgentReply*`.
    pub agent_reply: Tally,
    /// `cse_AgentWait*`.
    pub agent_wait: Tally,
    /// `cse_CustomerReply*`.
    pub customer_reply: Tally,
    /// `cse_CustomerWait*`.
    pub customer_wait: Tally,
}

/// The statistics of a finished chat from its whole transcript (every kept event, in id
/// order, the leaves of its close included).
pub fn compute(input: &ReportInput<'_>, transcript: &[Event]) -> Statistics {
    let closed_at = input.end.closed_at;
    let walked = walk::walk(
        transcript,
        input.created_at,
        closed_at,
        input.idle_threshold_ms,
    );
    let turns = turns::turns(&walked.turns);
    let initial = initial_user_data(transcript);
    let since_start = |at: UnixMillis| span_ms(input.created_at, at);
    Statistics {
        session: input.session.clone(),
        started_at: input.created_at,
        closed_at,
        tenant: input.tenant.to_owned(),
        language: input
            .language
            .map(str::to_owned)
            .or_else(|| initial.and_then(|d| d.get(LANGUAGE_KEY)).cloned())
            .filter(|l| !l.is_empty()),
        media_origin: initial
            .and_then(|d| d.get(MEDIA_ORIGIN_KEY))
            .filter(|o| !o.is_empty())
            .cloned(),
        end: input.end,
        from_agents: walked.from_agents,
        from_customers: walked.from_customers,
        from_bots: walked.from_bots,
        agents: walked.roster.count(Role::Agent),
        coaches: walked.roster.count(Role::Coach),
        monitors: walked.roster.count(Role::Monitor),
        bots: walked.roster.count(Role::Bot),
        total_ms: span_ms(input.created_at, closed_at),
        until_first_agent_ms: walked.first_agent.map(since_start),
        until_first_reply_ms: walked.first_reply.map(since_start),
        until_first_bot_ms: walked.first_bot.map(since_start),
        with_customer_ms: walked.with_customer_ms,
        handle: walked.handle,
        active_idle: walked.active_idle,
        agent_reply: turns.agent_reply,
        agent_wait: turns.agent_wait,
        customer_reply: turns.customer_reply,
        customer_wait: turns.customer_wait,
    }
}

impl Statistics {
    /// The user-data keys `mode` attaches, with their values (times in whole seconds,
    /// instants in ISO 8601 UTC).
    pub fn attach(&self, mode: AttachStatistics) -> UserData {
        kvp::attach(self, mode)
    }
}

/// The user data the session's creator joined with (its initial user data).
fn initial_user_data(transcript: &[Event]) -> Option<&UserData> {
    transcript.iter().find_map(|e| match &e.body {
        EventBody::NewParty { user_data, .. } => Some(user_data),
        _ => None,
    })
}

/// Milliseconds from `from` to `to`, never negative (a clock stepping back between two
/// events gives zero, not a wrapped number).
pub(crate) fn span_ms(from: UnixMillis, to: UnixMillis) -> u64 {
    u64::try_from(to.0.saturating_sub(from.0)).unwrap_or(0)
}
