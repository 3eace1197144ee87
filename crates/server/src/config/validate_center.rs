//! `Config::validate` for the contact-center sections (`[routing]`, `[queues.<name>]`,
//! `[agents.<login>]`, `[webhooks]`): their declared ranges, and by hand the rules no
//! declaration states (names, texts, queues that must exist, webhook URLs and secret).

use std::collections::BTreeSet;

use parley_core::routing::{AgentId, QueueName};

use super::center::{AgentConfig, MaxWaitAction, QueueConfig, Routing, Webhooks};
use super::declare::DeclaredSection;
use super::urls::check_webhook_url;
use super::validate::{ranges, show_str, QUEUE_NAME_RULE};
use super::{password, Config, ConfigProblem};

/// Minimum length of the webhook signing secret, in characters.
const MIN_WEBHOOK_SECRET_CHARS: usize = 32;

/// Longest `[routing] system-nickname`, in characters (and it must not be empty).
const MAX_NICKNAME_CHARS: usize = 64;

/// Longest queue text (`greeting`, `position-text`, `wait-text`, `max-wait-message`), in
/// characters.
const MAX_QUEUE_TEXT_CHARS: usize = 1000;

/// The queues section: `[queues.<name>]` tables.
const QUEUES: &str = <QueueConfig as DeclaredSection>::SPEC.name;
/// The agents section: `[agents.<login>]` tables.
const AGENTS: &str = <AgentConfig as DeclaredSection>::SPEC.name;

/// Every problem with the contact-center sections, in section order.
pub(super) fn problems(config: &Config, p: &mut Vec<ConfigProblem>) {
    routing(config, p);
    queues(config, p);
    agents(config, p);
    webhooks(config, p);
}

fn routing(config: &Config, p: &mut Vec<ConfigProblem>) {
    const SECTION: &str = <Routing as DeclaredSection>::SPEC.name;
    let r = &config.routing;
    ranges(r, p);
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
        q.range_problems(&section, p);
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
        a.range_problems(&section, p);
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
    const SECTION: &str = <Webhooks as DeclaredSection>::SPEC.name;
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
    ranges(w, p);
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
