//! The declaration of `[inactivity-control]` (the Genesys section: closing chats whose
//! participants went quiet), and the core settings it makes.

use parley_core::session::{IdleSettings, IncludeNotices};

use super::declare::config_section;

config_section! {
    /// The Genesys Chat Server [inactivity-control] section: a chat with a customer and a
    /// human agent in it, where nothing happens that every participant sees, is warned and
    /// then closed (ended by SYSTEM, reason INACTIVE, parties removed with quit reason 7).
    /// Clients of ClientVersion 103 and later get IDLE_CONTROL_ALERT / IDLE_CONTROL_CLOSE
    /// notices with the time the next step is due (idleTimeExpire); older clients get the
    /// texts as plain messages. A workflow can change these settings for one chat with the
    /// ESP request IdleControlConfigure. The settings are read at start: a running timer
    /// keeps its deadline across a restart, and new values apply from the next activity
    /// or expiry. docs/inactivity.md explains it with examples.
    #[section("inactivity-control")]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct InactivityControl {
        /// Whether regular inactivity control is on. Only for clients that show the alerts
        /// (Parley's widget and desktop, GMS, basic clients): chats are closed without
        /// notice otherwise.
        #[option("enabled", Bool, default = false, example = true)]
        pub enabled: bool,

        /// Which notices count as activity, besides joins, leaves and messages:
        ///   none   = no notice;
        ///   major  = pushed URLs, file uploaded, file deleted;
        ///   major2 = as major, and custom notices;
        ///   typing = as major, and typing started;
        ///   all    = every notice a party sends (custom, pushed URL, typing started and
        ///            stopped, nickname update, files) but read confirmations.
        #[option("include-notices", Choice("none", "major", "major2", "typing", "all"),
            default = "major")]
        pub include_notices: IncludeNotices,

        /// Seconds without activity before the first alert (message-alert).
        #[option("timeout-alert", Int(1..=86_400, "seconds"), default = 255)]
        pub timeout_alert_s: u64,

        /// Seconds after the first alert before a second one (message-alert2); 0 = no second
        /// alert, the close timer starts after the first.
        #[option("timeout-alert2", Int(0..=86_400, "seconds"), default = 0)]
        pub timeout_alert2_s: u64,

        /// Seconds after the last alert before the chat is closed (message-close). Activity
        /// meanwhile stops it and starts timeout-alert again.
        #[option("timeout-close", Int(1..=86_400, "seconds"), default = 45)]
        pub timeout_close_s: u64,

        /// Text of the first alert. Empty = no text is sent (the timer still runs).
        #[option("message-alert", Str,
            default = "Chat session will be closed soon due to inactivity of chat participants.")]
        pub message_alert: String,

        /// Text of the second alert. Empty = no text.
        #[option("message-alert2", Str,
            default = "Chat session will be closed very soon due to inactivity of chat participants.")]
        pub message_alert2: String,

        /// Text sent when the chat is closed. Empty = no text.
        #[option("message-close", Str,
            default = "Chat session closed due to inactivity of chat participants.")]
        pub message_close: String,
    }
}

impl InactivityControl {
    /// The core settings every session starts with.
    pub fn settings(&self) -> IdleSettings {
        IdleSettings {
            enabled: self.enabled,
            include_notices: self.include_notices,
            timeout_alert_s: self.timeout_alert_s,
            timeout_alert2_s: self.timeout_alert2_s,
            timeout_close_s: self.timeout_close_s,
            message_alert: self.message_alert.clone(),
            message_alert2: self.message_alert2.clone(),
            message_close: self.message_close.clone(),
        }
    }
}
