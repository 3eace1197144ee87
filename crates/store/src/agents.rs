//! The agent directory (Genesys Configuration Server's persons), on both backends: who may
//! log in to the desktop, with which role, queues and capacity. Rows come from the
//! configuration file (rewritten at every start) or from the admin API; which one is
//! recorded, so the API can refuse to change what the file owns.
//!
//! Only the JSON columns differ between the dialects; the two impls are one macro over
//! the statements of each.

use std::fmt;
use std::str::FromStr;

use parley_core::routing::{AgentId, QueueName};
use parley_core::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{AgentStore, StoreError};

/// The most agents [`AgentStore::list_agents`] returns: a bound on one answer, far above
/// any contact center's head count.
pub const MAX_AGENTS: u32 = 10_000;

/// An agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentRole {
    /// Takes chats.
    Agent,
    /// Takes chats, and monitors, coaches and barges in.
    Supervisor,
}

impl AgentRole {
    /// `agent` or `supervisor` (also the stored value).
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Agent => "agent",
            AgentRole::Supervisor => "supervisor",
        }
    }
}

impl FromStr for AgentRole {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<AgentRole, StoreError> {
        match s {
            "agent" => Ok(AgentRole::Agent),
            "supervisor" => Ok(AgentRole::Supervisor),
            other => Err(StoreError::Backend(format!("corrupt agent role {other:?}"))),
        }
    }
}

/// Who owns an agent's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentSource {
    /// `[agents.<login>]` in the configuration file: rewritten at every start, read-only
    /// through the admin API.
    Config,
    /// Created through the admin API.
    Admin,
}

impl AgentSource {
    /// `config` or `admin` (also the stored value).
    pub fn as_str(self) -> &'static str {
        match self {
            AgentSource::Config => "config",
            AgentSource::Admin => "admin",
        }
    }
}

impl FromStr for AgentSource {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<AgentSource, StoreError> {
        match s {
            "config" => Ok(AgentSource::Config),
            "admin" => Ok(AgentSource::Admin),
            other => Err(StoreError::Backend(format!(
                "corrupt agent source {other:?}"
            ))),
        }
    }
}

/// A stored agent or supervisor.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// The login (Genesys employee id).
    pub login: AgentId,
    /// The name customers see.
    pub nickname: String,
    /// Agent or supervisor.
    pub role: AgentRole,
    /// The queues it takes chats from.
    pub queues: Vec<QueueName>,
    /// Most chats at once, offers included.
    pub capacity: u32,
    /// The argon2 PHC string of its password. Not a secret in itself, but an offline
    /// guessing target: never logged, never returned by the API (`Debug` hides it).
    pub password_hash: String,
    /// File or admin API.
    pub source: AgentSource,
    /// When the row was first written (kept by later upserts).
    pub created_at: UnixMillis,
    /// When it was last written.
    pub updated_at: UnixMillis,
}

impl fmt::Debug for AgentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentRecord")
            .field("login", &self.login)
            .field("nickname", &self.nickname)
            .field("role", &self.role)
            .field("queues", &self.queues)
            .field("capacity", &self.capacity)
            .field("password_hash", &"<redacted>")
            .field("source", &self.source)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// The statements of one dialect.
struct Sql {
    upsert: &'static str,
    by_login: &'static str,
    all: &'static str,
}

/// The statements, given the dialect's cast of a JSON parameter, how it reads the
/// queues column, and how it orders logins bytewise (SQLite's default; PostgreSQL's
/// database collation might order `a.b` and `ab` either way).
macro_rules! sql {
    ($json_in:literal, $queues_out:literal, $by_login:literal) => {
        Sql {
            upsert: concat!(
                "INSERT INTO agents (login, nickname, role, queues, capacity, password_hash, ",
                "source, created_at, updated_at) VALUES ($1, $2, $3, $4",
                $json_in,
                ", $5, $6, $7, $8, $9) ON CONFLICT (login) DO UPDATE SET ",
                "nickname = excluded.nickname, role = excluded.role, ",
                "queues = excluded.queues, capacity = excluded.capacity, ",
                "password_hash = excluded.password_hash, source = excluded.source, ",
                "updated_at = excluded.updated_at"
            ),
            by_login: concat!(
                "SELECT login, nickname, role, ",
                $queues_out,
                ", capacity, password_hash, source, created_at, updated_at FROM agents ",
                "WHERE login = $1"
            ),
            all: concat!(
                "SELECT login, nickname, role, ",
                $queues_out,
                ", capacity, password_hash, source, created_at, updated_at FROM agents ",
                "ORDER BY ",
                $by_login,
                " LIMIT $1"
            ),
        }
    };
}

const SQLITE: Sql = sql!("", "queues", "login");
const POSTGRES: Sql = sql!("::json", "queues::text AS queues", "login COLLATE \"C\"");

const DELETE: &str = "DELETE FROM agents WHERE login = $1";

// Login tokens: the same statements in both dialects.
const TOKEN_INSERT: &str = "INSERT INTO agent_tokens (digest, login, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (digest) DO UPDATE SET login = excluded.login, \
     expires_at = excluded.expires_at";
const TOKENS_EXPIRED: &str = "DELETE FROM agent_tokens WHERE expires_at <= $1";
const TOKEN_BY_DIGEST: &str =
    "SELECT login, expires_at FROM agent_tokens WHERE digest = $1 AND expires_at > $2";
const TOKEN_DELETE: &str = "DELETE FROM agent_tokens WHERE digest = $1";
const TOKENS_OF_LOGIN: &str = "DELETE FROM agent_tokens WHERE login = $1";

/// An `agents` row as read.
#[derive(sqlx::FromRow)]
struct AgentRow {
    login: String,
    nickname: String,
    role: String,
    queues: String,
    capacity: i32,
    password_hash: String,
    source: String,
    created_at: i64,
    updated_at: i64,
}

impl AgentRow {
    fn into_record(self) -> Result<AgentRecord, StoreError> {
        let corrupt = |e: String| StoreError::Backend(format!("corrupt agent row: {e}"));
        Ok(AgentRecord {
            login: self.login.parse().map_err(|e| corrupt(format!("{e}")))?,
            nickname: self.nickname,
            role: self.role.parse()?,
            queues: serde_json::from_str(&self.queues).map_err(|e| corrupt(e.to_string()))?,
            capacity: u32::try_from(self.capacity).map_err(|e| corrupt(e.to_string()))?,
            password_hash: self.password_hash,
            source: self.source.parse()?,
            created_at: UnixMillis(self.created_at),
            updated_at: UnixMillis(self.updated_at),
        })
    }
}

macro_rules! agent_store {
    ($store:ty, $reader:ident, $writer:ident, $sql:expr) => {
        impl AgentStore for $store {
            async fn upsert_agent(&self, agent: &AgentRecord) -> Result<(), StoreError> {
                let queues = crate::codec::to_json(&agent.queues)?;
                let capacity = i32::try_from(agent.capacity)
                    .map_err(|_| StoreError::Backend("agent capacity out of range".into()))?;
                sqlx::query($sql.upsert)
                    .bind(agent.login.as_str())
                    .bind(&agent.nickname)
                    .bind(agent.role.as_str())
                    .bind(queues)
                    .bind(capacity)
                    .bind(&agent.password_hash)
                    .bind(agent.source.as_str())
                    .bind(agent.created_at.0)
                    .bind(agent.updated_at.0)
                    .execute(&self.$writer)
                    .await?;
                Ok(())
            }

            async fn agent(&self, login: &AgentId) -> Result<Option<AgentRecord>, StoreError> {
                let row: Option<AgentRow> = sqlx::query_as($sql.by_login)
                    .bind(login.as_str())
                    .fetch_optional(&self.$reader)
                    .await?;
                row.map(AgentRow::into_record).transpose()
            }

            async fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
                let rows: Vec<AgentRow> = sqlx::query_as($sql.all)
                    .bind(i64::from(MAX_AGENTS))
                    .fetch_all(&self.$reader)
                    .await?;
                rows.into_iter().map(AgentRow::into_record).collect()
            }

            async fn delete_agent(&self, login: &AgentId) -> Result<bool, StoreError> {
                let done = sqlx::query(DELETE)
                    .bind(login.as_str())
                    .execute(&self.$writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_agent_token(
                &self,
                digest: &str,
                login: &AgentId,
                expires_at: UnixMillis,
                now: UnixMillis,
            ) -> Result<(), StoreError> {
                let mut tx = self.$writer.begin().await?;
                sqlx::query(TOKENS_EXPIRED)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(TOKEN_INSERT)
                    .bind(digest)
                    .bind(login.as_str())
                    .bind(expires_at.0)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn agent_token(
                &self,
                digest: &str,
                now: UnixMillis,
            ) -> Result<Option<(AgentId, UnixMillis)>, StoreError> {
                let row: Option<(String, i64)> = sqlx::query_as(TOKEN_BY_DIGEST)
                    .bind(digest)
                    .bind(now.0)
                    .fetch_optional(&self.$reader)
                    .await?;
                row.map(|(login, expires)| {
                    let login = login.parse().map_err(|e| {
                        StoreError::Backend(format!("corrupt agent token row: {e}"))
                    })?;
                    Ok((login, UnixMillis(expires)))
                })
                .transpose()
            }

            async fn delete_agent_token(&self, digest: &str) -> Result<bool, StoreError> {
                let done = sqlx::query(TOKEN_DELETE)
                    .bind(digest)
                    .execute(&self.$writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_agent_tokens(&self, login: &AgentId) -> Result<u64, StoreError> {
                let done = sqlx::query(TOKENS_OF_LOGIN)
                    .bind(login.as_str())
                    .execute(&self.$writer)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

agent_store!(SqliteStore, reader, writer, SQLITE);
agent_store!(PgStore, pool, pool, POSTGRES);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password_hash() {
        let record = AgentRecord {
            login: "anna".parse().expect("login"),
            nickname: "Anna".into(),
            role: AgentRole::Agent,
            queues: vec!["default".parse().expect("queue")],
            capacity: 3,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            source: AgentSource::Admin,
            created_at: UnixMillis(1),
            updated_at: UnixMillis(2),
        };
        let shown = format!("{record:?}");
        assert!(!shown.contains("argon2"), "{shown}");
        assert!(shown.contains("anna") && shown.contains("<redacted>"));
        for role in [AgentRole::Agent, AgentRole::Supervisor] {
            assert_eq!(role.as_str().parse::<AgentRole>().ok(), Some(role));
        }
        for source in [AgentSource::Config, AgentSource::Admin] {
            assert_eq!(source.as_str().parse::<AgentSource>().ok(), Some(source));
        }
    }
}
