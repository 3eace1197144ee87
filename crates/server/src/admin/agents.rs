//! Agents and supervisors: `GET/PUT/DELETE /admin/v1/agents[/{login}]`. Agents defined in
//! the configuration file are shown but cannot be changed or deleted here
//! (`config-owned`): the file is rewritten into the store at every start, so a change
//! made here would silently come undone.

use std::collections::BTreeSet;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parley_core::routing::{AgentId, QueueName};
use parley_store::{AgentRecord, AgentRole, AgentSource};
use serde::Deserialize;
use serde_json::json;
use tracing::info;

use super::error::json_body;
use super::{render, AdminError, AdminKey};
use crate::center::directory::{check_password_hash, hash_password};
use crate::config::Config;
use crate::state::AppState;

/// Longest nickname accepted.
const MAX_NICKNAME: usize = 128;
/// Longest password accepted (argon2 takes any length; this bounds the work).
const MAX_PASSWORD: usize = 1024;
/// Most queues one agent may take chats from.
const MAX_QUEUES: usize = 100;
/// Capacity bounds, as for `[agents.<login>] capacity`.
const CAPACITY: std::ops::RangeInclusive<u32> = 1..=100;

/// Defaults of a new agent, as for `[agents.<login>]`.
const DEFAULT_CAPACITY: u32 = 3;
const DEFAULT_QUEUE: &str = "default";

/// The body of `PUT /admin/v1/agents/{login}`. Omitted fields keep their current values
/// (a new agent gets the `[agents.<login>]` defaults); a new agent needs `password` or
/// `passwordHash`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AgentBody {
    nickname: Option<String>,
    role: Option<String>,
    queues: Option<Vec<String>>,
    capacity: Option<u32>,
    password: Option<String>,
    password_hash: Option<String>,
}

pub(crate) fn parse_login(login: &str) -> Result<AgentId, AdminError> {
    login.parse().map_err(|_| {
        AdminError::invalid_field(
            "login",
            "must be 1 to 64 letters, digits, '-', '_', '.' or '@'",
        )
    })
}

/// `GET /admin/v1/agents`: every agent, by login.
pub(super) async fn list_agents(_: AdminKey, State(state): State<AppState>) -> Response {
    match state.center.directory.list().await {
        Ok(all) => Json(json!({"agents": all.iter().map(render::agent).collect::<Vec<_>>()}))
            .into_response(),
        Err(e) => AdminError::from(e).into_response(),
    }
}

/// `GET /admin/v1/agents/{login}`: one agent.
pub(super) async fn get_agent(
    _: AdminKey,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<serde_json::Value>, AdminError> {
    let login = parse_login(&login)?;
    match state.center.directory.agent(&login).await? {
        Some(record) => Ok(Json(render::agent(&record))),
        None => Err(AdminError::not_found("agent")),
    }
}

/// `PUT /admin/v1/agents/{login}`: creates or changes an agent; `201` when created.
pub(super) async fn put_agent(
    _: AdminKey,
    State(state): State<AppState>,
    Path(login): Path<String>,
    body: Result<Json<AgentBody>, JsonRejection>,
) -> Result<Response, AdminError> {
    let login = parse_login(&login)?;
    let body = json_body(body)?;
    let current = owned_by_api(&state, &login).await?;
    let record = record(&state, login, body, current.as_ref()).await?;
    let profile = state.center.directory.upsert(&record).await?;
    info!(agent = %record.login, created = current.is_none(), "agent saved (admin API)");
    state.center.agent_changed(profile);
    let status = if current.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(render::agent(&record))).into_response())
}

/// `DELETE /admin/v1/agents/{login}`: removes an agent (and ends its tokens); `204`.
pub(super) async fn delete_agent(
    _: AdminKey,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<StatusCode, AdminError> {
    let login = parse_login(&login)?;
    if owned_by_api(&state, &login).await?.is_none() {
        return Err(AdminError::not_found("agent"));
    }
    if !state.center.directory.remove(&login).await? {
        return Err(AdminError::not_found("agent"));
    }
    info!(agent = %login, "agent deleted (admin API)");
    state.center.agent_removed(&login);
    Ok(StatusCode::NO_CONTENT)
}

/// The stored agent, refusing one the configuration file owns.
async fn owned_by_api(
    state: &AppState,
    login: &AgentId,
) -> Result<Option<AgentRecord>, AdminError> {
    let current = state.center.directory.agent(login).await?;
    let in_file = state.config.agents.contains_key(login.as_str());
    if in_file || current.as_ref().map(|r| r.source) == Some(AgentSource::Config) {
        return Err(AdminError::config_owned(login.as_str()));
    }
    Ok(current)
}

/// The agent a valid body describes, over `current` if there is one.
async fn record(
    state: &AppState,
    login: AgentId,
    body: AgentBody,
    current: Option<&AgentRecord>,
) -> Result<AgentRecord, AdminError> {
    let checked = check_body(&state.config, body, current)?;
    let password_hash = match checked.password {
        Password::Hash(p) => hash_password(p).await.map_err(AdminError::internal)?,
        Password::Given(h) => h,
    };
    let now = crate::clock::now();
    Ok(AgentRecord {
        login,
        nickname: checked.nickname,
        role: checked.role,
        queues: checked.queues,
        capacity: checked.capacity,
        password_hash,
        source: AgentSource::Admin,
        created_at: current.map_or(now, |c| c.created_at),
        updated_at: now,
    })
}

/// A body's password: one to hash (the slow part, done by [`record`]), or a ready hash.
pub(crate) enum Password {
    /// A password to hash.
    Hash(String),
    /// A checked PHC string (given, or the current one).
    Given(String),
}

/// What a valid body sets, over `current` if there is one.
pub(crate) struct Checked {
    nickname: String,
    role: AgentRole,
    queues: Vec<QueueName>,
    capacity: u32,
    password: Password,
}

/// Checks every field of a body against the configuration and the current record. Pure.
pub(crate) fn check_body(
    config: &Config,
    body: AgentBody,
    current: Option<&AgentRecord>,
) -> Result<Checked, AdminError> {
    let nickname = match body.nickname {
        Some(n) => nickname(n)?,
        None => current.map(|c| c.nickname.clone()).unwrap_or_default(),
    };
    let role = match body.role.as_deref() {
        Some("agent") => AgentRole::Agent,
        Some("supervisor") => AgentRole::Supervisor,
        Some(_) => {
            return Err(AdminError::invalid_field(
                "role",
                "must be \"agent\" or \"supervisor\"",
            ))
        }
        None => current.map_or(AgentRole::Agent, |c| c.role),
    };
    let queues = match body.queues {
        Some(q) => queues(config, &q)?,
        None => match current {
            Some(c) => c.queues.clone(),
            None => queues(config, &[DEFAULT_QUEUE.to_owned()])?,
        },
    };
    let capacity = body
        .capacity
        .or(current.map(|c| c.capacity))
        .unwrap_or(DEFAULT_CAPACITY);
    if !CAPACITY.contains(&capacity) {
        return Err(AdminError::invalid_field(
            "capacity",
            "must be from 1 to 100",
        ));
    }
    let password = match (body.password, body.password_hash) {
        (Some(_), Some(_)) => {
            return Err(AdminError::invalid_field(
                "password",
                "send password or passwordHash, not both",
            ))
        }
        (Some(p), None) => {
            if p.is_empty() || p.len() > MAX_PASSWORD {
                return Err(AdminError::invalid_field(
                    "password",
                    "must be 1 to 1024 bytes",
                ));
            }
            Password::Hash(p)
        }
        (None, Some(h)) => {
            check_password_hash(&h).map_err(|_| {
                AdminError::invalid_field(
                    "passwordHash",
                    "must be an argon2 PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)",
                )
            })?;
            Password::Given(h)
        }
        (None, None) => match current {
            Some(c) => Password::Given(c.password_hash.clone()),
            None => {
                return Err(AdminError::invalid_field(
                    "password",
                    "a new agent needs password or passwordHash",
                ))
            }
        },
    };
    Ok(Checked {
        nickname,
        role,
        queues,
        capacity,
        password,
    })
}

fn nickname(n: String) -> Result<String, AdminError> {
    let n = n.trim().to_owned();
    if n.chars().count() > MAX_NICKNAME || n.chars().any(char::is_control) {
        return Err(AdminError::invalid_field(
            "nickname",
            "must be at most 128 characters, without control characters",
        ));
    }
    Ok(n)
}

/// Valid, configured, deduplicated queue names (in the order given).
fn queues(config: &Config, names: &[String]) -> Result<Vec<QueueName>, AdminError> {
    if names.len() > MAX_QUEUES {
        return Err(AdminError::invalid_field("queues", "at most 100 queues"));
    }
    let configured: BTreeSet<&str> = config
        .queues
        .keys()
        .map(String::as_str)
        .chain(
            config
                .endpoints
                .values()
                .flat_map(|e| e.values().map(String::as_str)),
        )
        .collect();
    let mut out: Vec<QueueName> = Vec::with_capacity(names.len());
    for name in names {
        let queue: QueueName = name.parse().map_err(|_| {
            AdminError::invalid_field(
                "queues",
                "names are 1 to 64 letters, digits, '-', '_' or '.'",
            )
        })?;
        if !configured.contains(name.as_str()) {
            return Err(AdminError::unknown_queue(name));
        }
        if !out.contains(&queue) {
            out.push(queue);
        }
    }
    Ok(out)
}
