//! The inactivity timer of a session (seed "Inactivity Monitoring", reference §2.7).
//!
//! - It runs only while inactivity control is enabled and at least one customer and one
//!   human (non-bot) agent take part visibly.
//! - Activity re-arms `timeout-alert`: an event every participant sees (visibility `ALL`,
//!   not direct) from a party that is not a bot: a join, a leave, a message, and the
//!   notices `include-notices` names. Coaching and monitoring lines are not seen by the
//!   customer, so they never count; nor do the server's own notices.
//! - On expiry: the alert (`IDLE_CONTROL_ALERT` with `message-alert`), then the second
//!   alert if `timeout-alert2` is not 0, then the close (`IDLE_CONTROL_CLOSE` with
//!   `message-close`), after which the session ends (SYSTEM / INACTIVE, reason code 7).
//!   Each notice carries the expiry of the timer that follows it (`idleTimeExpire`).
//! - The timer is a deadline in data: the shell wakes the session with `Tick`.
//!
//! Everything the timer needs is in the transcript (joins, leaves, lines, the idle
//! notices with their expiry, the `IDLE_CONTROL_SET` notices with a workflow's
//! overrides), so a restored session replays it (see [`Session::idle_replay`]). The
//! normalisation of a restoration (parties marked removed, then shown joining again when
//! they come back) is the server's doing, not activity: the timer runs on through it.

use super::idle::{IdleOverride, IdleSettings, IdleStage, IncludeNotices, IDLE_TIME_EXPIRE_KEY};
use super::{Effect, EndedReason, Session, FILE_DELETED, FILE_UPLOADED};
use crate::event::{Event, EventBody, LeftReason, NoticeType};
use crate::ids::{PartyId, UnixMillis};
use crate::party::{PartyStyle, PartyType, UserData, Visibility};

/// The sender id of the server's own events (not a party: shown as `SYSTEM`).
pub const SYSTEM_SENDER: &str = "system";

/// A session's inactivity-control state.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct IdleTracker {
    /// A workflow's overrides, folded (`IdleControlConfigure`).
    overrides: IdleOverride,
    /// The running timer: the stage waited for, and when it expires.
    timer: Option<(IdleStage, UnixMillis)>,
    /// Parties a restoration marked removed who have not come back yet: they still count
    /// as taking part, and their return is not activity.
    returning: Vec<PartyId>,
}

impl Session {
    /// The inactivity settings in force: the configuration with a workflow's overrides.
    pub fn idle_settings(&self) -> IdleSettings {
        self.idle.overrides.over(&self.settings.idle)
    }

    /// When the running inactivity timer expires, if one runs (`idleTimeExpire`).
    pub fn idle_expiry(&self) -> Option<UnixMillis> {
        self.idle.timer.map(|(_, due)| due)
    }

    /// The stage the running timer waits for.
    pub fn idle_stage(&self) -> Option<IdleStage> {
        self.idle.timer.map(|(stage, _)| stage)
    }

    /// Takes note of one event of an input; returns whether it is activity.
    pub(super) fn idle_observe(&mut self, event: &Event) -> bool {
        match &event.body {
            EventBody::PartyLeft {
                reason: LeftReason::Restoration,
                ..
            } => {
                if !self.idle.returning.contains(&event.from) {
                    self.idle.returning.push(event.from.clone());
                }
                return false;
            }
            EventBody::NewParty { .. } | EventBody::PartyLeft { .. } => {
                let before = self.idle.returning.len();
                self.idle.returning.retain(|p| p != &event.from);
                let came_back = before != self.idle.returning.len();
                if came_back && matches!(event.body, EventBody::NewParty { .. }) {
                    return false;
                }
            }
            _ => {}
        }
        let include = self
            .idle
            .overrides
            .include_notices
            .unwrap_or(self.settings.idle.include_notices);
        self.is_activity(event, include)
    }

    /// Whether `event` is activity: seen by every participant, from a party that is not
    /// a bot, and of a kind that counts.
    fn is_activity(&self, event: &Event, include: IncludeNotices) -> bool {
        if event.visibility != Visibility::All || event.receiver.is_some() {
            return false;
        }
        let Some(sender) = self.party(&event.from) else {
            return false;
        };
        if sender.style == PartyStyle::Bot || sender.visibility != Visibility::All {
            return false;
        }
        match &event.body {
            EventBody::NewParty { .. } | EventBody::PartyLeft { .. } => true,
            EventBody::Message { .. } => true,
            EventBody::Notice {
                notice_type, text, ..
            } => notice_counts(*notice_type, text.as_deref(), include),
        }
    }

    /// A customer and a human agent take part (or are expected back after a
    /// restoration).
    fn idle_parties_present(&self) -> bool {
        let taking_part = |want: fn(&crate::Party) -> bool| {
            self.parties.iter().any(|p| {
                (p.present || self.idle.returning.contains(&p.id))
                    && p.visibility == Visibility::All
                    && want(p)
            })
        };
        taking_part(|p| p.party_type == PartyType::Client) && taking_part(|p| p.is_visible_agent())
    }

    /// After an input (or a replayed event) at `now`: stops the timer when control is
    /// off or a side is missing, (re)arms `timeout-alert` on activity or when control
    /// starts.
    /// (Runs after every input: it reads the settings without copying their texts.)
    pub(super) fn idle_update(&mut self, now: UnixMillis, activity: bool) {
        let (o, c) = (&self.idle.overrides, &self.settings.idle);
        let enabled = o.enabled.unwrap_or(c.enabled);
        if self.over.is_some() || !enabled || !self.idle_parties_present() {
            self.idle.timer = None;
        } else if activity || self.idle.timer.is_none() {
            let alert_s = o.timeout_alert_s.unwrap_or(c.timeout_alert_s);
            self.idle.timer = Some((IdleStage::Alert, now.plus_ms(alert_s.saturating_mul(1000))));
        }
    }

    fn arm(&mut self, now: UnixMillis, stage: IdleStage, settings: &IdleSettings) {
        self.idle.timer = Some((stage, now.plus_ms(settings.duration_ms(stage))));
    }

    /// Fires the timer if it is due: an alert (and the next stage), or the close.
    pub(super) fn idle_tick(&mut self, now: UnixMillis) -> Vec<Effect> {
        let Some((stage, due)) = self.idle.timer else {
            return Vec::new();
        };
        if due > now {
            return Vec::new();
        }
        // A changed configuration applies at the expiry of the running timer.
        let settings = self.idle_settings();
        if !settings.enabled || !self.idle_parties_present() {
            self.idle.timer = None;
            return Vec::new();
        }
        match settings.after(stage) {
            Some(next) => {
                self.arm(now, next, &settings);
                let notice = self.idle_notice(
                    now,
                    NoticeType::IdleControlAlert,
                    settings.text(stage),
                    UserData::new(),
                );
                vec![notice]
            }
            None => {
                self.idle.timer = None;
                let notice = self.idle_notice(
                    now,
                    NoticeType::IdleControlClose,
                    settings.text(stage),
                    UserData::new(),
                );
                let mut effects = vec![notice];
                effects.extend(self.finish(now, None, EndedReason::Inactive));
                effects
            }
        }
    }

    /// A workflow changes this session's settings: they apply at once, the running timer
    /// is reset, and an `IDLE_CONTROL_SET` notice records the change and announces the
    /// new expiry.
    pub(super) fn idle_configure(&mut self, now: UnixMillis, change: IdleOverride) -> Vec<Effect> {
        self.idle.overrides = self.idle.overrides.then(&change);
        self.idle.timer = None;
        self.idle_update(now, true);
        vec![self.idle_notice(now, NoticeType::IdleControlSet, None, change.to_user_data())]
    }

    /// A server notice for every participant, carrying the running timer's expiry.
    fn idle_notice(
        &mut self,
        now: UnixMillis,
        notice_type: NoticeType,
        text: Option<String>,
        mut user_data: UserData,
    ) -> Effect {
        if let Some(due) = self.idle_expiry() {
            user_data.insert(IDLE_TIME_EXPIRE_KEY.to_owned(), due.0.to_string());
        }
        let from: PartyId = SYSTEM_SENDER.parse().expect("a valid party id");
        let body = EventBody::Notice {
            notice_type,
            text,
            user_data,
            client_msg_id: None,
        };
        self.emit(now, from, Visibility::All, None, body, true)
    }

    /// Replays one stored event into the timer (restoration): the same rules as live,
    /// and the server's idle notices set the timer they announced.
    pub(super) fn idle_replay(&mut self, event: &Event) {
        let activity = self.idle_observe(event);
        self.idle_update(event.at, activity);
        if self.party(&event.from).is_some() {
            return;
        }
        let EventBody::Notice {
            notice_type,
            user_data,
            ..
        } = &event.body
        else {
            return;
        };
        let expiry = user_data
            .get(IDLE_TIME_EXPIRE_KEY)
            .and_then(|v| v.parse::<i64>().ok())
            .map(UnixMillis);
        match notice_type {
            NoticeType::IdleControlSet => {
                let change = IdleOverride::from_user_data(user_data);
                self.idle.overrides = self.idle.overrides.then(&change);
                self.idle.timer = None;
                self.idle_update(event.at, true);
                if let (Some((stage, _)), Some(due)) = (self.idle.timer, expiry) {
                    self.idle.timer = Some((stage, due));
                }
            }
            NoticeType::IdleControlAlert => {
                let settings = self.idle_settings();
                let next = self.idle.timer.and_then(|(stage, _)| settings.after(stage));
                self.idle.timer = match (next, expiry) {
                    (Some(stage), Some(due)) => Some((stage, due)),
                    (Some(stage), None) => {
                        Some((stage, event.at.plus_ms(settings.duration_ms(stage))))
                    }
                    (None, _) => None,
                };
            }
            _ => {}
        }
    }
}

/// Whether a notice of `notice_type` (with `text`, for system commands) counts as
/// activity under `include`.
fn notice_counts(notice_type: NoticeType, text: Option<&str>, include: IncludeNotices) -> bool {
    let file = notice_type == NoticeType::SysCommand
        && matches!(text, Some(t) if t == FILE_UPLOADED || t == FILE_DELETED);
    let major = notice_type == NoticeType::UserPushedUrl || file;
    match include {
        IncludeNotices::None => false,
        IncludeNotices::Major => major,
        IncludeNotices::Major2 => major || notice_type == NoticeType::UserCustom,
        IncludeNotices::Typing => major || notice_type == NoticeType::TypingStarted,
        IncludeNotices::All => {
            major
                || matches!(
                    notice_type,
                    NoticeType::UserCustom
                        | NoticeType::TypingStarted
                        | NoticeType::TypingStopped
                        | NoticeType::UserUpdateNick
                )
        }
    }
}
