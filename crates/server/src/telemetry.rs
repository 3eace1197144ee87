//! Tracing setup and the log filters of the Genesys options: `message-log-print-size`,
//! `hide-attached-data` and `[log-filter-data]`. Secrets never reach a log line: they are
//! held in types whose `Debug` redacts them, and frames are never logged whole.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{self, Config};

/// Installs the global subscriber, writing `format` (`[server] log-format`) to standard
/// error. `RUST_LOG` overrides the default filter, except that
/// trace events come only from Parley's own crates: other crates print whole frames and
/// payloads at trace (tungstenite logs every WebSocket message it sends and receives,
/// with API keys, secure keys and message text), and `RUST_LOG=trace` must not turn an
/// operator's debugging session into a leak.
pub fn init(format: config::LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("parley_server=info,parley=info,tower_http=info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(std::io::stderr);
    // JSON: one object per line, with the current span and the spans around it (the
    // request or connection id), as log shippers expect.
    let layer = match format {
        config::LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).boxed(),
        config::LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(
            layer
                .with_filter(filter_fn(|m| allowed(m.level(), m.target())))
                .with_filter(filter),
        )
        .try_init();
}

/// Whether an event at `level` from `target` may reach the log at all.
fn allowed(level: &Level, target: &str) -> bool {
    *level != Level::TRACE || target.starts_with("parley")
}

/// How text and data may appear in logs.
#[derive(Debug, Clone, Copy)]
pub struct LogPolicy {
    /// Leading characters of a message printed (0: none).
    pub print_size: usize,
    /// Attached user data kept out of logs.
    pub hide_attached_data: bool,
    /// `[log-filter-data] Transcript`.
    pub transcript: config::FilterAction,
}

impl LogPolicy {
    /// From a validated configuration.
    pub fn from_config(c: &Config) -> LogPolicy {
        LogPolicy {
            print_size: c.settings.message_log_print_size_chars,
            hide_attached_data: c.settings.hide_attached_data,
            transcript: c.log_filter_data.transcript,
        }
    }

    /// The part of a message the log may show, given the text *after masking*: the first
    /// `message-log-print-size` characters, with `[truncated from size=N]` (N characters)
    /// when cut; at 0 the marker alone, as the seed says ("where a message occurs, the log
    /// shows [truncated from size=x]").
    pub fn message_text(&self, masked: &str) -> String {
        let size = masked.chars().count();
        if size <= self.print_size {
            return masked.to_owned();
        }
        let head: String = masked.chars().take(self.print_size).collect();
        format!("{head}[truncated from size={size}]")
    }

    /// User data as the log may show it (`None` when `hide-attached-data` is on).
    pub fn user_data(&self, data: &BTreeMap<String, String>) -> Option<String> {
        (!self.hide_attached_data).then(|| format!("{data:?}"))
    }

    /// A transcript as the log may show it: `copy` prints it, `hide` prints a
    /// placeholder with its size, `skip` leaves it out (`None`).
    pub fn transcript(&self, events: &[parley_core::Event]) -> Option<String> {
        match self.transcript {
            config::FilterAction::Copy => Some(format!("{events:?}")),
            config::FilterAction::Hide => Some(format!("<hidden: {} events>", events.len())),
            config::FilterAction::Skip => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parleys_own_crates_log_at_trace() {
        assert!(allowed(&Level::TRACE, "parley_server::basic"));
        assert!(allowed(&Level::TRACE, "parley_store"));
        assert!(!allowed(&Level::TRACE, "tungstenite::protocol"));
        assert!(!allowed(&Level::TRACE, "hyper::proto::h1::io"));
        assert!(allowed(&Level::DEBUG, "tungstenite::protocol"));
    }

    fn policy(print_size: usize) -> LogPolicy {
        LogPolicy {
            print_size,
            hide_attached_data: true,
            transcript: config::FilterAction::Hide,
        }
    }

    #[test]
    fn message_text_is_cut_with_the_genesys_marker() {
        assert_eq!(policy(0).message_text("hello"), "[truncated from size=5]");
        assert_eq!(policy(0).message_text(""), "");
        assert_eq!(policy(10).message_text("hello"), "hello");
        assert_eq!(
            policy(3).message_text("héllo"),
            "hél[truncated from size=5]"
        );
    }

    #[test]
    fn attached_data_and_transcripts_follow_the_filters() {
        let data = BTreeMap::from([("EmailAddress".to_owned(), "a@b.c".to_owned())]);
        assert_eq!(policy(0).user_data(&data), None);
        let shown = LogPolicy {
            hide_attached_data: false,
            ..policy(0)
        };
        assert!(shown.user_data(&data).unwrap().contains("a@b.c"));
        assert_eq!(
            policy(0).transcript(&[]).as_deref(),
            Some("<hidden: 0 events>")
        );
        let skip = LogPolicy {
            transcript: config::FilterAction::Skip,
            ..policy(0)
        };
        assert_eq!(skip.transcript(&[]), None);
    }
}
