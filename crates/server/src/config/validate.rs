//! `Config::validate`: ranges, cross-option rules, endpoint tables and API keys. Every
//! problem is collected; nothing stops at the first.

use super::schema::{self, Range, ENDPOINTS, MIN_API_KEY_CHARS};
use super::{Config, ConfigProblem};

/// Every problem with `config`, in section order.
pub(super) fn problems(config: &Config) -> Vec<ConfigProblem> {
    let mut p = Vec::new();
    server(config, &mut p);
    settings(config, &mut p);
    endpoints(config, &mut p);
    security(config, &mut p);
    p
}

fn server(config: &Config, p: &mut Vec<ConfigProblem>) {
    let s = &config.server;
    if s.data_dir.as_os_str().is_empty() {
        p.push(ConfigProblem::new(
            "server",
            "data-dir",
            "must not be empty",
        ));
    }
    if let Some(url) = &s.store_url {
        if !has_scheme(url) {
            // The URL may hold a password: the message never repeats it.
            p.push(ConfigProblem::new(
                "server",
                "store-url",
                "must be a URL with a scheme, such as sqlite:///var/lib/parley/parley.db or \
                 postgres://parley@db.example/parley",
            ));
        }
    }
}

/// `scheme:` per RFC 3986: a letter, then letters, digits, `+`, `-` or `.`.
fn has_scheme(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn settings(config: &Config, p: &mut Vec<ConfigProblem>) {
    let s = &config.settings;
    let mut range = |option: &str, value: u64, r: Range| {
        if !r.contains(value) {
            p.push(ConfigProblem::new("settings", option, r.describe()).with_value(value));
        }
    };
    range(
        "transcript-resend-attempts",
        u64::from(s.transcript_resend_attempts),
        schema::TRANSCRIPT_RESEND_ATTEMPTS,
    );
    range(
        "transcript-resend-delay",
        s.transcript_resend_delay_s,
        schema::TRANSCRIPT_RESEND_DELAY,
    );
    range(
        "user-register-timeout",
        s.user_register_timeout_s,
        schema::USER_REGISTER_TIMEOUT,
    );
    range(
        "message-log-print-size",
        to_u64(s.message_log_print_size_chars),
        schema::MESSAGE_LOG_PRINT_SIZE,
    );
    range(
        "max-frame-size",
        to_u64(s.max_frame_size_bytes),
        schema::MAX_FRAME_SIZE,
    );
    range(
        "max-message-size",
        to_u64(s.max_message_size_bytes),
        schema::MAX_MESSAGE_SIZE,
    );
    range(
        "basic-reconnect-timeout",
        s.basic_reconnect_timeout_s,
        schema::BASIC_RECONNECT_TIMEOUT,
    );
    range(
        "ws-ping-interval",
        s.ws_ping_interval_s,
        schema::WS_PING_INTERVAL,
    );
    range(
        "session-lease-timeout",
        s.session_lease_timeout_s,
        schema::SESSION_LEASE_TIMEOUT,
    );
    range(
        "commit-batch-max",
        to_u64(s.commit_batch_max),
        schema::COMMIT_BATCH_MAX,
    );
    range(
        "shutdown-timeout",
        s.shutdown_timeout_s,
        schema::SHUTDOWN_TIMEOUT,
    );
    if s.max_message_size_bytes >= s.max_frame_size_bytes {
        p.push(
            ConfigProblem::new(
                "settings",
                "max-message-size",
                format!(
                    "must be less than max-frame-size ({}), since a message travels inside \
                     a frame",
                    s.max_frame_size_bytes
                ),
            )
            .with_value(s.max_message_size_bytes),
        );
    }
}

fn to_u64(v: usize) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn endpoints(config: &Config, p: &mut Vec<ConfigProblem>) {
    if config.endpoints.is_empty() {
        p.push(ConfigProblem::new(
            ENDPOINTS,
            "",
            "at least one tenant is required, such as [endpoints.1] with default = \"<queue>\"",
        ));
    }
    for (tenant, eps) in &config.endpoints {
        let valid_name = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            p.push(ConfigProblem::new(
                ENDPOINTS,
                format!("{tenant:?}"),
                "tenant names must be non-empty and use only A-Z, a-z, 0-9, _ and -",
            ));
        }
        let section = format!("{ENDPOINTS}.{tenant}");
        if !eps.contains_key("default") {
            p.push(ConfigProblem::new(
                &section,
                "default",
                "missing; every tenant must map `default` to the queue that receives new chats",
            ));
        }
        for (endpoint, queue) in eps {
            if endpoint.is_empty()
                || endpoint.contains(':')
                || endpoint
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control())
            {
                p.push(ConfigProblem::new(
                    &section,
                    format!("{endpoint:?}"),
                    "endpoint names must be non-empty, without `:`, spaces or control \
                     characters (clients write <tenant>:<endpoint>)",
                ));
            }
            if queue.trim().is_empty() {
                p.push(ConfigProblem::new(
                    &section,
                    endpoint,
                    "queue name must not be empty",
                ));
            }
        }
    }
}

fn security(config: &Config, p: &mut Vec<ConfigProblem>) {
    let keys = &config.security.api_keys;
    for (i, key) in keys.iter().enumerate() {
        let chars = key.expose().chars().count();
        if chars < MIN_API_KEY_CHARS {
            p.push(ConfigProblem::new(
                "security",
                "api-keys",
                format!(
                    "key #{} has {chars} characters; each key needs at least \
                     {MIN_API_KEY_CHARS}",
                    i + 1
                ),
            ));
        }
        if let Some(j) = keys[..i].iter().position(|earlier| earlier == key) {
            p.push(ConfigProblem::new(
                "security",
                "api-keys",
                format!(
                    "key #{} repeats key #{}; each key must be different",
                    i + 1,
                    j + 1
                ),
            ));
        }
    }
}
