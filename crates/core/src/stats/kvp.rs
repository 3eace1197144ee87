//! The seed's user-data keys and which of them `attach-session-statistics` attaches:
//! - always: `ChatServerSessionStartedAt`, `ChatServerSessionClosedAt`, `csg_MediaType`,
//!   `csg_TenantId` (the seed's "always attached");
//! - unless `none`: `csg_ChatSessionID`, `csg_LanguageName` and `csg_MediaOrigin` when
//!   known, the end reasons;
//! - `all`: every statistic, zero ones included; `fired`: only those that occurred (a
//!   count above zero, a time of something that happened).
//!
//! Times are whole seconds (rounded down), instants ISO 8601 in UTC.

use super::{AttachStatistics, MessageTally, Statistics, Tally};
use crate::ids::UnixMillis;
use crate::party::UserData;
use crate::session::{EndedAgent, EndedBy, EndedReason};

/// Initial user-data key naming the session's language (`csg_LanguageName`).
pub const LANGUAGE_KEY: &str = "GCTI_LanguageName";
/// Initial user-data key naming where the chat came from (`csg_MediaOrigin`).
pub const MEDIA_ORIGIN_KEY: &str = "MediaOrigin";
/// `csg_MediaType` of a chat interaction.
pub const MEDIA_TYPE_CHAT: &str = "chat";

/// Collects the attached keys.
struct Out {
    data: UserData,
    all: bool,
}

impl Out {
    fn put(&mut self, key: &str, value: impl ToString) {
        self.data.insert(key.to_owned(), value.to_string());
    }

    /// A statistic that occurred when `fired`, attached then, or always with `all`.
    fn stat(&mut self, key: &str, fired: bool, value: u64) {
        if fired || self.all {
            self.put(key, value);
        }
    }

    /// A time that exists only if what it measures happened (0 under `all` otherwise).
    fn time(&mut self, key: &str, ms: Option<u64>) {
        match ms {
            Some(ms) => self.put(key, secs(ms)),
            None if self.all => self.put(key, 0),
            None => {}
        }
    }

    fn messages(&mut self, prefix: &str, t: MessageTally) {
        self.stat(&format!("{prefix}Count"), t.count > 0, t.count);
        self.stat(&format!("{prefix}Size"), t.count > 0, t.chars);
    }

    fn tally(&mut self, prefix: &str, t: Tally) {
        self.stat(&format!("{prefix}TotalCount"), t.count > 0, t.count);
        self.stat(&format!("{prefix}TotalTime"), t.count > 0, secs(t.total_ms));
        self.stat(&format!("{prefix}MaxTime"), t.count > 0, secs(t.max_ms));
    }
}

/// Whole seconds of `ms`, rounded down.
fn secs(ms: u64) -> u64 {
    ms / 1000
}

pub(super) fn attach(s: &Statistics, mode: AttachStatistics) -> UserData {
    let mut out = Out {
        data: UserData::new(),
        all: mode == AttachStatistics::All,
    };
    out.put("ChatServerSessionStartedAt", format_timestamp(s.started_at));
    out.put("ChatServerSessionClosedAt", format_timestamp(s.closed_at));
    out.put("csg_MediaType", MEDIA_TYPE_CHAT);
    out.put("csg_TenantId", &s.tenant);
    if mode == AttachStatistics::None {
        return out.data;
    }
    out.put("csg_ChatSessionID", &s.session);
    if let Some(language) = &s.language {
        out.put("csg_LanguageName", language);
    }
    if let Some(origin) = &s.media_origin {
        out.put("csg_MediaOrigin", origin);
    }
    out.put("csg_SessionEndedBy", ended_by(s.end.ended_by));
    out.put("csg_SessionEndedReason", ended_reason(s.end.reason));
    out.put("csg_SessionEndedAgent", ended_agent(s.end.agent));

    out.messages("csg_MessagesFromAgents", s.from_agents);
    out.messages("csg_MessagesFromCustomers", s.from_customers);
    out.messages("csg_MessagesFromBots", s.from_bots);
    out.stat("csg_PartiesAsAgentCount", s.agents > 0, s.agents);
    out.stat("csg_PartiesAsCoachCount", s.coaches > 0, s.coaches);
    out.stat("csg_PartiesAsMonitorCount", s.monitors > 0, s.monitors);
    out.stat("csg_PartiesAsBotCount", s.bots > 0, s.bots);
    out.time("csg_SessionTotalTime", Some(s.total_ms));
    out.time("csg_SessionUntilFirstAgentTime", s.until_first_agent_ms);
    out.time("csg_SessionUntilFirstReplyTime", s.until_first_reply_ms);
    out.time("csg_SessionUntilFirstBotTime", s.until_first_bot_ms);
    out.time("csg_SessionWithCustomerTime", s.with_customer_ms);
    out.tally("cse_SessionHandle", s.handle);
    out.tally("cse_ActiveIdle", s.active_idle);
    out.tally("cse_AgentReply", s.agent_reply);
    out.tally("cse_AgentWait", s.agent_wait);
    out.tally("cse_CustomerReply", s.customer_reply);
    out.tally("cse_CustomerWait", s.customer_wait);
    out.data
}

/// `csg_SessionEndedBy`. Exhaustive: a new kind of closer must be given its name here.
fn ended_by(by: EndedBy) -> &'static str {
    match by {
        EndedBy::Client => "CLIENT",
        EndedBy::Agent => "AGENT",
        EndedBy::Supervisor => "SUPERVISOR",
        EndedBy::Bot => "BOT",
        EndedBy::System => "SYSTEM",
    }
}

/// `csg_SessionEndedReason`. Exhaustive: a new end reason must be given its name here.
fn ended_reason(reason: EndedReason) -> &'static str {
    match reason {
        EndedReason::Disconnect => "DISCONNECT",
        EndedReason::Quit => "QUIT",
        EndedReason::Force => "FORCE",
        EndedReason::Inactive => "INACTIVE",
        EndedReason::DbError => "DB_ERROR",
    }
}

/// `csg_SessionEndedAgent`.
fn ended_agent(agent: EndedAgent) -> &'static str {
    match agent {
        EndedAgent::Absent => "ABSENT",
        EndedAgent::Present => "PRESENT",
        EndedAgent::Visited => "VISITED",
    }
}

/// An instant as ISO 8601 UTC to the second (`2026-12-06T03:00:42Z`), the form reporting
/// tools parse without a time-zone table.
pub fn format_timestamp(at: UnixMillis) -> String {
    let secs = at.0.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
