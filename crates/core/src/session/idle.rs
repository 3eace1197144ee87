//! Regular inactivity control (`[inactivity-control]`, seed "Inactivity Monitoring"): the
//! settings, a workflow's per-session overrides (ESP `IdleControlConfigure`) and how both
//! are written into the transcript so a restored session finds them again.
//!
//! The timer itself (what counts as activity, alert, second alert, close) is in
//! `idle_timer.rs`. Texts are plain settings here: a later per-language lookup replaces
//! [`IdleSettings::message_alert`] and its siblings in the session's effective settings
//! before a text is sent ([`IdleSettings::text`] is the one place that reads them).

use serde::Deserialize;

use crate::party::UserData;

/// User-data key of an idle-control notice: when the running timer expires (ms since the
/// epoch, UTC). The view shows it as the `idleTimeExpire` attribute (ClientVersion 103).
pub const IDLE_TIME_EXPIRE_KEY: &str = "idleTimeExpire";
/// User-data key of an `IDLE_CONTROL_SET` notice: the overrides were reset first.
pub const RESET_PARAMETERS_KEY: &str = "reset-parameters";

/// Longest inactivity timeout, in seconds (the options' range ends at one day).
pub const MAX_IDLE_TIMEOUT_S: u64 = 86_400;

/// Which notices count as activity (`include-notices`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncludeNotices {
    /// No notice.
    None,
    /// Pushed URLs, file uploaded, file deleted.
    #[default]
    Major,
    /// As `major`, and custom notices.
    Major2,
    /// As `major`, and typing started.
    Typing,
    /// Every notice a party sends but read confirmations: custom, pushed URL, typing
    /// started and stopped, nickname update, file uploaded and deleted.
    All,
}

impl IncludeNotices {
    /// The value from its option text (`none`, `major`, `major2`, `typing`, `all`).
    pub fn parse(s: &str) -> Option<IncludeNotices> {
        Some(match s {
            "none" => IncludeNotices::None,
            "major" => IncludeNotices::Major,
            "major2" => IncludeNotices::Major2,
            "typing" => IncludeNotices::Typing,
            "all" => IncludeNotices::All,
            _ => return None,
        })
    }

    /// Its option text.
    pub fn name(self) -> &'static str {
        match self {
            IncludeNotices::None => "none",
            IncludeNotices::Major => "major",
            IncludeNotices::Major2 => "major2",
            IncludeNotices::Typing => "typing",
            IncludeNotices::All => "all",
        }
    }
}

/// The `[inactivity-control]` settings one session runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleSettings {
    /// Inactivity control is on.
    pub enabled: bool,
    /// Which notices count as activity.
    pub include_notices: IncludeNotices,
    /// Seconds without activity before the first alert.
    pub timeout_alert_s: u64,
    /// Seconds after the first alert before the second one; 0 = no second alert.
    pub timeout_alert2_s: u64,
    /// Seconds after the last alert before the session closes.
    pub timeout_close_s: u64,
    /// Text of the first alert; empty = no text (the timer still runs).
    pub message_alert: String,
    /// Text of the second alert; empty = no text.
    pub message_alert2: String,
    /// Text sent when the session closes; empty = no text.
    pub message_close: String,
}

impl Default for IdleSettings {
    /// The reference's defaults (off).
    fn default() -> Self {
        IdleSettings {
            enabled: false,
            include_notices: IncludeNotices::Major,
            timeout_alert_s: 255,
            timeout_alert2_s: 0,
            timeout_close_s: 45,
            message_alert:
                "Chat session will be closed soon due to inactivity of chat participants."
                    .to_owned(),
            message_alert2:
                "Chat session will be closed very soon due to inactivity of chat participants."
                    .to_owned(),
            message_close: "Chat session closed due to inactivity of chat participants.".to_owned(),
        }
    }
}

/// The three steps of the timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleStage {
    /// Waiting for `timeout-alert`.
    Alert,
    /// The first alert went out; waiting for `timeout-alert2`.
    Alert2,
    /// The last alert went out; waiting for `timeout-close`.
    Close,
}

impl IdleSettings {
    /// The text sent when `stage` expires; `None` when it is configured empty.
    pub fn text(&self, stage: IdleStage) -> Option<String> {
        let t = match stage {
            IdleStage::Alert => &self.message_alert,
            IdleStage::Alert2 => &self.message_alert2,
            IdleStage::Close => &self.message_close,
        };
        (!t.is_empty()).then(|| t.clone())
    }

    /// How long `stage` lasts, in milliseconds.
    pub fn duration_ms(&self, stage: IdleStage) -> u64 {
        let s = match stage {
            IdleStage::Alert => self.timeout_alert_s,
            IdleStage::Alert2 => self.timeout_alert2_s,
            IdleStage::Close => self.timeout_close_s,
        };
        s.saturating_mul(1000)
    }

    /// The stage after `stage`'s alert went out (`None` after the close).
    pub fn after(&self, stage: IdleStage) -> Option<IdleStage> {
        match stage {
            IdleStage::Alert if self.timeout_alert2_s > 0 => Some(IdleStage::Alert2),
            IdleStage::Alert | IdleStage::Alert2 => Some(IdleStage::Close),
            IdleStage::Close => None,
        }
    }
}

/// A workflow's changes to one session's settings (ESP `IdleControlConfigure`). A field
/// left `None` keeps the session's current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdleOverride {
    /// `reset-parameters=true`: back to the configuration first, then the rest applies.
    pub reset: bool,
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `include-notices`.
    pub include_notices: Option<IncludeNotices>,
    /// `timeout-alert` (seconds).
    pub timeout_alert_s: Option<u64>,
    /// `timeout-alert2` (seconds).
    pub timeout_alert2_s: Option<u64>,
    /// `timeout-close` (seconds).
    pub timeout_close_s: Option<u64>,
    /// `message-alert` (empty: no text).
    pub message_alert: Option<String>,
    /// `message-alert2`.
    pub message_alert2: Option<String>,
    /// `message-close`.
    pub message_close: Option<String>,
}

impl IdleOverride {
    /// Folds `later` onto these overrides: a reset drops what came before.
    pub fn then(&self, later: &IdleOverride) -> IdleOverride {
        let base = if later.reset {
            IdleOverride::default()
        } else {
            self.clone()
        };
        IdleOverride {
            reset: false,
            enabled: later.enabled.or(base.enabled),
            include_notices: later.include_notices.or(base.include_notices),
            timeout_alert_s: later.timeout_alert_s.or(base.timeout_alert_s),
            timeout_alert2_s: later.timeout_alert2_s.or(base.timeout_alert2_s),
            timeout_close_s: later.timeout_close_s.or(base.timeout_close_s),
            message_alert: later.message_alert.clone().or(base.message_alert),
            message_alert2: later.message_alert2.clone().or(base.message_alert2),
            message_close: later.message_close.clone().or(base.message_close),
        }
    }

    /// `configured` with these overrides on top.
    pub fn over(&self, configured: &IdleSettings) -> IdleSettings {
        let c = configured.clone();
        IdleSettings {
            enabled: self.enabled.unwrap_or(c.enabled),
            include_notices: self.include_notices.unwrap_or(c.include_notices),
            timeout_alert_s: self.timeout_alert_s.unwrap_or(c.timeout_alert_s),
            timeout_alert2_s: self.timeout_alert2_s.unwrap_or(c.timeout_alert2_s),
            timeout_close_s: self.timeout_close_s.unwrap_or(c.timeout_close_s),
            message_alert: self.message_alert.clone().unwrap_or(c.message_alert),
            message_alert2: self.message_alert2.clone().unwrap_or(c.message_alert2),
            message_close: self.message_close.clone().unwrap_or(c.message_close),
        }
    }

    /// The user data of the `IDLE_CONTROL_SET` notice that records this request in the
    /// transcript, under the ESP parameter names.
    pub fn to_user_data(&self) -> UserData {
        let mut d = UserData::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                d.insert(k.to_owned(), v);
            }
        };
        put(RESET_PARAMETERS_KEY, self.reset.then(|| "true".to_owned()));
        put("enabled", self.enabled.map(|b| b.to_string()));
        put(
            "include-notices",
            self.include_notices.map(|n| n.name().to_owned()),
        );
        put("timeout-alert", self.timeout_alert_s.map(|s| s.to_string()));
        put(
            "timeout-alert2",
            self.timeout_alert2_s.map(|s| s.to_string()),
        );
        put("timeout-close", self.timeout_close_s.map(|s| s.to_string()));
        put("message-alert", self.message_alert.clone());
        put("message-alert2", self.message_alert2.clone());
        put("message-close", self.message_close.clone());
        d
    }

    /// The request an `IDLE_CONTROL_SET` notice recorded (see [`Self::to_user_data`]);
    /// values it cannot read are left out, as they were validated when first applied.
    pub fn from_user_data(d: &UserData) -> IdleOverride {
        let secs = |k: &str| d.get(k).and_then(|v| v.parse::<u64>().ok());
        IdleOverride {
            reset: d.get(RESET_PARAMETERS_KEY).is_some_and(|v| v == "true"),
            enabled: d.get("enabled").and_then(|v| v.parse::<bool>().ok()),
            include_notices: d
                .get("include-notices")
                .and_then(|v| IncludeNotices::parse(v)),
            timeout_alert_s: secs("timeout-alert"),
            timeout_alert2_s: secs("timeout-alert2"),
            timeout_close_s: secs("timeout-close"),
            message_alert: d.get("message-alert").cloned(),
            message_alert2: d.get("message-alert2").cloned(),
            message_close: d.get("message-close").cloned(),
        }
    }
}
