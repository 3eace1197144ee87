//! `Config::validate`: ranges, cross-option rules, endpoint tables, GMS services, CORS
//! origins, API keys, and the contact-center sections (routing, queues, agents,
//! webhooks). Every problem is collected; nothing stops at the first.

use std::collections::BTreeSet;

use parley_core::routing::{AgentId, QueueName};
use toml::Value;

use super::center::MaxWaitAction;
use super::schema::{
    self, Range, AGENTS, ENDPOINTS, GMS_CHAT_SERVICES, MAX_FILE_TYPE_CHARS, MAX_NICKNAME_CHARS,
    MAX_QUEUE_TEXT_CHARS, MIN_API_KEY_CHARS, MIN_WEBHOOK_SECRET_CHARS, QUEUES,
};
use super::{password, Config, ConfigProblem, Secret};

/// What a queue name may be (`QueueName`).
const QUEUE_NAME_RULE: &str = "queue names must be 1 to 64 ASCII letters, digits, -, _ or .";

/// Every problem with `config`, in section order.
pub(super) fn problems(config: &Config) -> Vec<ConfigProblem> {
    let mut p = Vec::new();
    server(config, &mut p);
    settings(config, &mut p);
    client_file_transfer(config, &mut p);
    endpoints(config, &mut p);
    gms_chat_services(config, &mut p);
    web(config, &mut p);
    security(config, &mut p);
    routing(config, &mut p);
    queues(config, &mut p);
    agents(config, &mut p);
    webhooks(config, &mut p);
    p
}

/// Pushes `[section] option = value: allowed range is ...` when `value` is outside `r`.
fn in_range(p: &mut Vec<ConfigProblem>, section: &str, option: &str, value: u64, r: Range) {
    if !r.contains(value) {
        p.push(ConfigProblem::new(section, option, r.describe()).with_value(value));
    }
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
        "flex-disconnect-timeout",
        s.flex_disconnect_timeout_s,
        schema::FLEX_DISCONNECT_TIMEOUT,
    );
    range(
        "flex-refresh-max-wait",
        s.flex_refresh_max_wait_s,
        schema::FLEX_REFRESH_MAX_WAIT,
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
    if s.flex_refresh_max_wait_s >= s.flex_disconnect_timeout_s {
        p.push(
            ConfigProblem::new(
                "settings",
                "flex-refresh-max-wait",
                format!(
                    "must be less than flex-disconnect-timeout ({}), since a client waiting \
                     in a refresh sends no other request",
                    s.flex_disconnect_timeout_s
                ),
            )
            .with_value(s.flex_refresh_max_wait_s),
        );
    }
}

fn client_file_transfer(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = "client-file-transfer";
    let f = &config.client_file_transfer;
    let mut range = |option: &str, value: u64, r: Range| {
        if !r.contains(value) {
            p.push(ConfigProblem::new(SECTION, option, r.describe()).with_value(value));
        }
    };
    range(
        "upload-max-files",
        f.upload_max_files,
        schema::UPLOAD_MAX_FILES,
    );
    range(
        "upload-max-file-size",
        f.upload_max_file_size_bytes,
        schema::UPLOAD_MAX_FILE_SIZE,
    );
    range(
        "upload-max-total-size",
        f.upload_max_total_size_bytes,
        schema::UPLOAD_MAX_TOTAL_SIZE,
    );
    range(
        "download-attempts",
        f.download_attempts,
        schema::DOWNLOAD_ATTEMPTS,
    );
    if f.upload_file_types.is_empty() {
        return;
    }
    for entry in f.upload_file_types.split(':') {
        let valid = (1..=MAX_FILE_TYPE_CHARS).contains(&entry.len())
            && entry.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            p.push(
                ConfigProblem::new(
                    SECTION,
                    "upload-file-types",
                    format!(
                        "entry {entry:?} is not an extension; write extensions without dots, \
                         each 1 to {MAX_FILE_TYPE_CHARS} ASCII letters and digits, separated \
                         by `:` (e.g. \"pdf:png:jpg\"), or \"\" to allow any type"
                    ),
                )
                .with_value(show_str(&f.upload_file_types)),
            );
        }
    }
}

/// A string as TOML writes it, cut when long.
fn show_str(s: &str) -> String {
    schema::show(&Value::String(s.to_owned()))
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
        if !is_plain_name(tenant) {
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
            } else if queue.parse::<QueueName>().is_err() {
                p.push(
                    ConfigProblem::new(
                        &section,
                        endpoint,
                        format!("is not a queue name; {QUEUE_NAME_RULE}"),
                    )
                    .with_value(show_str(queue)),
                );
            }
        }
    }
}

/// Whether `name` is non-empty and uses only A-Z, a-z, 0-9, `_` and `-`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn gms_chat_services(config: &Config, p: &mut Vec<ConfigProblem>) {
    for (service, target) in &config.gms_chat_services {
        if !is_plain_name(service) {
            p.push(ConfigProblem::new(
                GMS_CHAT_SERVICES,
                format!("{service:?}"),
                "service names must be non-empty and use only A-Z, a-z, 0-9, _ and - (they \
                 appear in /genesys/2/chat/<service>)",
            ));
        }
        let problem = |message: String| {
            ConfigProblem::new(GMS_CHAT_SERVICES, service, message).with_value(show_str(target))
        };
        let Some((tenant, endpoint)) = target
            .split_once(':')
            .filter(|(t, e)| !t.is_empty() && !e.is_empty())
        else {
            p.push(problem(
                "must be \"<tenant>:<endpoint>\", naming an endpoint of [endpoints.<tenant>], \
                 such as \"1:default\""
                    .into(),
            ));
            continue;
        };
        match config.endpoints.get(tenant) {
            None => p.push(problem(format!(
                "names tenant {tenant:?}, which has no [endpoints.{tenant}] section; \
                 configured tenants are {}",
                list(config.endpoints.keys())
            ))),
            Some(eps) if !eps.contains_key(endpoint) => p.push(problem(format!(
                "names endpoint {endpoint:?}, which [endpoints.{tenant}] does not define; \
                 its endpoints are {}",
                list(eps.keys())
            ))),
            Some(_) => {}
        }
    }
}

/// `a, b, c`, or `none`.
fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn web(config: &Config, p: &mut Vec<ConfigProblem>) {
    let w = &config.web;
    for origin in &w.cors_allowed_origins {
        if let Err(why) = check_origin(origin) {
            p.push(ConfigProblem::new(
                "web",
                "cors-allowed-origins",
                format!(
                    "entry {} {why}; each entry must be \"*\" or an http or https origin \
                     without a path, such as \"https://shop.example\" or \
                     \"http://localhost:3000\"",
                    show_str(origin)
                ),
            ));
        }
    }
    if w.web_dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
        p.push(ConfigProblem::new(
            "web",
            "web-dir",
            "must not be empty; leave it unset to serve the files compiled into the binary",
        ));
    }
}

/// `Ok` for `*` and `http(s)://host[:port]`; otherwise what is wrong.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin == "*" {
        return Ok(());
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err("has no scheme");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("is not http or https");
    }
    // Browsers send the origin serialized: lower case, without the scheme's default port.
    // An entry in another form would never match.
    if origin.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("has upper-case letters (browsers send origins in lower case)");
    }
    if rest.contains(['/', '?', '#']) {
        return Err("has a path (an origin ends after the host and port, without `/`)");
    }
    if rest.contains('@') {
        return Err("has user information");
    }
    if let Some(number) = host_and_port(rest)? {
        if (scheme, number) == ("http", 80) || (scheme, number) == ("https", 443) {
            return Err("has its scheme's default port (browsers leave it out of the origin)");
        }
    }
    Ok(())
}

/// Checks `host[:port]` (a DNS name or IPv4 address, or `[IPv6]`); returns the port, if
/// one is given, or what is wrong.
fn host_and_port(authority: &str) -> Result<Option<u16>, &'static str> {
    let port = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err("has an unclosed IPv6 address");
        };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err("has an invalid IPv6 address");
        }
        if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':').ok_or("has an invalid port")?)
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err("has no host");
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return Err("has an invalid host");
        }
        port
    };
    let Some(port) = port else {
        return Ok(None);
    };
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0 && port.chars().all(|c| c.is_ascii_digit()))
        .map(Some)
        .ok_or("has an invalid port")
}

fn security(config: &Config, p: &mut Vec<ConfigProblem>) {
    let s = &config.security;
    api_keys(p, "api-keys", &s.api_keys);
    api_keys(p, "esp-api-keys", &s.esp_api_keys);
    api_keys(p, "admin-api-keys", &s.admin_api_keys);
}

/// The rules of every `[security]` key list: each key at least [`MIN_API_KEY_CHARS`]
/// characters, no key twice. Keys are named by position, never shown.
fn api_keys(p: &mut Vec<ConfigProblem>, option: &str, keys: &[Secret]) {
    for (i, key) in keys.iter().enumerate() {
        let chars = key.expose().chars().count();
        if chars < MIN_API_KEY_CHARS {
            p.push(ConfigProblem::new(
                "security",
                option,
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
                option,
                format!(
                    "key #{} repeats key #{}; each key must be different",
                    i + 1,
                    j + 1
                ),
            ));
        }
    }
}

fn routing(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = "routing";
    let r = &config.routing;
    in_range(
        p,
        SECTION,
        "agent-disconnect-timeout",
        r.agent_disconnect_timeout_s,
        schema::AGENT_DISCONNECT_TIMEOUT,
    );
    in_range(
        p,
        SECTION,
        "agent-token-lifetime",
        r.agent_token_lifetime_s,
        schema::AGENT_TOKEN_LIFETIME,
    );
    in_range(
        p,
        SECTION,
        "login-max-failures",
        u64::from(r.login_max_failures),
        schema::LOGIN_MAX_FAILURES,
    );
    in_range(
        p,
        SECTION,
        "login-failure-window",
        r.login_failure_window_s,
        schema::LOGIN_FAILURE_WINDOW,
    );
    let chars = r.system_nickname.chars().count();
    if chars > MAX_NICKNAME_CHARS || r.system_nickname.trim().is_empty() {
        p.push(
            ConfigProblem::new(
                SECTION,
                "system-nickname",
                format!(
                    "has {chars} characters; it must have 1 to {MAX_NICKNAME_CHARS}, not all \
                     blank"
                ),
            )
            .with_value(show_str(&r.system_nickname)),
        );
    }
}

/// Every queue that exists: the `[queues.<name>]` sections and the queues of endpoints.
fn known_queues(config: &Config) -> BTreeSet<&str> {
    config
        .queues
        .keys()
        .chain(config.endpoints.values().flat_map(|eps| eps.values()))
        .map(String::as_str)
        .collect()
}

fn queues(config: &Config, p: &mut Vec<ConfigProblem>) {
    for (name, q) in &config.queues {
        if name.parse::<QueueName>().is_err() {
            p.push(ConfigProblem::new(
                QUEUES,
                format!("{name:?}"),
                QUEUE_NAME_RULE,
            ));
        }
        let section = format!("{QUEUES}.{name}");
        in_range(
            p,
            &section,
            "position-interval",
            q.position_interval_s,
            schema::POSITION_INTERVAL,
        );
        in_range(
            p,
            &section,
            "offer-timeout",
            q.offer_timeout_s,
            schema::OFFER_TIMEOUT,
        );
        in_range(p, &section, "max-wait", q.max_wait_s, schema::MAX_WAIT);
        for (option, text) in [
            ("greeting", &q.greeting),
            ("position-text", &q.position_text),
            ("wait-text", &q.wait_text),
            ("max-wait-message", &q.max_wait_message),
        ] {
            let chars = text.chars().count();
            if chars > MAX_QUEUE_TEXT_CHARS {
                p.push(ConfigProblem::new(
                    &section,
                    option,
                    format!("has {chars} characters; at most {MAX_QUEUE_TEXT_CHARS} are allowed"),
                ));
            }
        }
        if q.max_wait_action == MaxWaitAction::KeepWaiting && q.max_wait_s == 0 {
            p.push(
                ConfigProblem::new(
                    &section,
                    "max-wait-action",
                    "has no effect without max-wait (0 = no limit); set max-wait, or leave \
                     max-wait-action out",
                )
                .with_value("\"keep-waiting\""),
            );
        }
    }
}

fn agents(config: &Config, p: &mut Vec<ConfigProblem>) {
    let known = known_queues(config);
    for (login, a) in &config.agents {
        if login.parse::<AgentId>().is_err() {
            p.push(ConfigProblem::new(
                AGENTS,
                format!("{login:?}"),
                "agent logins must be 1 to 64 ASCII letters, digits, -, _, . or @",
            ));
        }
        let section = format!("{AGENTS}.{login}");
        // The hash is a secret: the message never repeats it.
        if let Err(why) = password::check_phc(a.password_hash.expose()) {
            p.push(ConfigProblem::new(&section, "password-hash", why));
        }
        in_range(
            p,
            &section,
            "capacity",
            u64::from(a.capacity),
            schema::AGENT_CAPACITY,
        );
        for queue in &a.queues {
            if !known.contains(queue.as_str()) {
                p.push(ConfigProblem::new(
                    &section,
                    "queues",
                    format!(
                        "names queue {}, which has no [{QUEUES}.<name>] section and is no \
                         endpoint's queue; known queues are {}",
                        show_str(queue),
                        list_str(&known)
                    ),
                ));
            }
        }
    }
}

/// `a, b, c`, or `none`.
fn list_str(names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

fn webhooks(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = "webhooks";
    let w = &config.webhooks;
    // URLs may carry credentials: entries are named by position, never shown.
    for (i, url) in w.urls.iter().enumerate() {
        if let Err(why) = check_webhook_url(url) {
            p.push(ConfigProblem::new(
                SECTION,
                "urls",
                format!(
                    "entry #{} {why}; each entry must be an http:// or https:// URL with a \
                     host and without user information, such as \
                     \"https://hooks.example/parley\"",
                    i + 1
                ),
            ));
        }
        if let Some(j) = w.urls[..i].iter().position(|earlier| earlier == url) {
            p.push(ConfigProblem::new(
                SECTION,
                "urls",
                format!(
                    "entry #{} repeats entry #{}; each URL must be different",
                    i + 1,
                    j + 1
                ),
            ));
        }
    }
    match &w.secret {
        None if !w.urls.is_empty() => p.push(ConfigProblem::new(
            SECTION,
            "secret",
            format!(
                "missing; it is required when urls is set (the key of the \
                 X-Parley-Signature header, at least {MIN_WEBHOOK_SECRET_CHARS} characters)"
            ),
        )),
        Some(secret) if secret.expose().chars().count() < MIN_WEBHOOK_SECRET_CHARS => {
            p.push(ConfigProblem::new(
                SECTION,
                "secret",
                format!(
                    "has {} characters; it needs at least {MIN_WEBHOOK_SECRET_CHARS}",
                    secret.expose().chars().count()
                ),
            ));
        }
        _ => {}
    }
    in_range(
        p,
        SECTION,
        "attempts",
        u64::from(w.attempts),
        schema::WEBHOOK_ATTEMPTS,
    );
    in_range(
        p,
        SECTION,
        "retry-delay",
        w.retry_delay_ms,
        schema::WEBHOOK_RETRY_DELAY,
    );
    in_range(
        p,
        SECTION,
        "max-retry-delay",
        w.max_retry_delay_ms,
        schema::WEBHOOK_MAX_RETRY_DELAY,
    );
    in_range(p, SECTION, "timeout", w.timeout_ms, schema::WEBHOOK_TIMEOUT);
    in_range(
        p,
        SECTION,
        "queue-size",
        to_u64(w.queue_size),
        schema::WEBHOOK_QUEUE_SIZE,
    );
    if w.retry_delay_ms > w.max_retry_delay_ms {
        p.push(
            ConfigProblem::new(
                SECTION,
                "retry-delay",
                format!(
                    "must not exceed max-retry-delay ({}), the longest wait between retries",
                    w.max_retry_delay_ms
                ),
            )
            .with_value(w.retry_delay_ms),
        );
    }
}

/// `Ok` for `http(s)://host[:port][/path][?query]` without user information; otherwise
/// what is wrong.
fn check_webhook_url(url: &str) -> Result<(), &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has spaces or control characters");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("has no scheme");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("is not http or https");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("has user information (the secret signs requests; URLs carry none)");
    }
    host_and_port(authority).map(drop)
}
