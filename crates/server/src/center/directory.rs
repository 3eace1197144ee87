//! The agent directory: agents and supervisors from `[agents.<login>]` and the admin API
//! (kept in the store), argon2 password checks, login tokens, and rate-limited failures.
//!
//! - The file's agents are written to the store at every start (source `config`: the
//!   file wins for the logins it names, and file agents it no longer names are removed);
//!   the admin API adds its own (source `admin`).
//! - Profiles (what routing and the desktop need) are cached in memory, so
//!   [`Directory::authenticate`] is a map lookup on the request path, and refreshed from
//!   the store at every login and on every admin change.
//! - Passwords are argon2 PHC strings, checked on the blocking pool (argon2 is slow by
//!   design) and a few at a time. An unknown login is checked against a dummy hash, so it
//!   takes the same path and time as a wrong password.
//! - Tokens: `tokens.rs`. Failure limits: `limits.rs`.
//!
//! Nothing secret is logged or shown by `Debug`: not passwords, not hashes, not tokens.

mod limits;
mod tokens;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::{Argon2, Params};
use parley_core::routing::{AgentId, QueueName};
use parley_store::{AgentRecord, AgentRole, AgentSource, AgentStore, AnyStore, StoreError};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::config::{Config, Role};
use limits::Failures;
use tokens::Tokens;

/// Password checks running at once: argon2 takes tens of milliseconds of CPU and
/// 19 MiB each, so a burst of logins queues here rather than starving the runtime.
const CONCURRENT_CHECKS: usize = 4;

/// What the rest of the server knows about an agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgentProfile {
    /// Login.
    pub login: AgentId,
    /// Name shown to customers.
    pub nickname: String,
    /// Agent or supervisor.
    pub role: Role,
    /// Queues it takes chats from.
    pub queues: BTreeSet<QueueName>,
    /// Most chats at once.
    pub capacity: u32,
}

impl AgentProfile {
    /// The profile of a stored agent.
    pub fn of(record: &AgentRecord) -> AgentProfile {
        AgentProfile {
            login: record.login.clone(),
            nickname: if record.nickname.is_empty() {
                record.login.to_string()
            } else {
                record.nickname.clone()
            },
            role: match record.role {
                AgentRole::Agent => Role::Agent,
                AgentRole::Supervisor => Role::Supervisor,
            },
            queues: record.queues.iter().cloned().collect(),
            capacity: record.capacity,
        }
    }
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown login or wrong password (never says which).
    #[error("wrong login or password")]
    BadCredentials,
    /// Too many failures recently.
    #[error("too many failed logins; try again in {retry_after_s} s")]
    RateLimited {
        /// Seconds until a new attempt is accepted.
        retry_after_s: u64,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] parley_store::StoreError),
}

/// A login token (opaque, 256 bits from the OS CSPRNG, hex). `Debug` hides it.
pub struct AgentToken(pub String);

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentToken(<redacted>)")
    }
}

/// Why a password could not be hashed or a hash is unusable.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Not an argon2 PHC string with a salt, a hash and valid parameters.
    #[error("not a usable argon2 PHC string")]
    Invalid,
    /// Hashing failed (or its task did).
    #[error("hashing failed: {0}")]
    Failed(String),
}

/// The directory (cheap to share behind the server state).
pub struct Directory {
    store: AnyStore,
    profiles: Mutex<HashMap<AgentId, AgentProfile>>,
    tokens: Mutex<Tokens>,
    failures: Mutex<Failures>,
    checks: Semaphore,
    /// Verified against when the login is unknown, so that case costs what a wrong
    /// password costs. Made from a random password, with the parameters the admin API
    /// hashes with, at the first login attempt of any kind (so no server pays for it
    /// unless agents log in, and the first attempt is slow whoever it names).
    dummy_hash: tokio::sync::OnceCell<String>,
    lifetime: Duration,
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directory")
            .field("agents", &lock(&self.profiles).len())
            .field("tokens", &lock(&self.tokens).len())
            .field("failures_tracked", &lock(&self.failures).tracked())
            .finish_non_exhaustive()
    }
}

/// A std mutex's guard; a panic while holding it leaves plain data, still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> parley_core::UnixMillis {
    crate::clock::now()
}

/// The store row of a file agent (`None`, with a warning, if the login or a queue does
/// not parse: validation refuses such a file before the server starts).
fn config_record(
    login: &str,
    agent: &crate::config::AgentConfig,
    now: parley_core::UnixMillis,
) -> Option<AgentRecord> {
    let Ok(id) = login.parse::<AgentId>() else {
        warn!(login, "[agents]: login is not a valid agent id; skipped");
        return None;
    };
    let mut queues = Vec::with_capacity(agent.queues.len());
    for q in &agent.queues {
        let Ok(q) = q.parse::<QueueName>() else {
            warn!(login, queue = %q, "[agents]: queue name is not valid; agent skipped");
            return None;
        };
        if !queues.contains(&q) {
            queues.push(q);
        }
    }
    Some(AgentRecord {
        login: id,
        nickname: agent.nickname.clone(),
        role: match agent.role {
            Role::Agent => AgentRole::Agent,
            Role::Supervisor => AgentRole::Supervisor,
        },
        queues,
        capacity: agent.capacity,
        password_hash: agent.password_hash.expose().to_owned(),
        source: AgentSource::Config,
        created_at: now,
        updated_at: now,
    })
}

impl Directory {
    /// Loads the directory: the file's agents are written to the store (the file wins for
    /// the logins it names; file agents it no longer names are removed), then every
    /// stored agent's profile is cached.
    pub async fn start(config: &Config, store: AnyStore) -> Result<Directory, StoreError> {
        let now = now_ms();
        for (login, agent) in &config.agents {
            if let Some(record) = config_record(login, agent, now) {
                store.upsert_agent(&record).await?;
            }
        }
        for stale in store.list_agents().await? {
            let named = config.agents.contains_key(stale.login.as_str());
            if stale.source == AgentSource::Config && !named {
                info!(agent = %stale.login, "agent no longer in [agents]: removed");
                store.delete_agent(&stale.login).await?;
            }
        }
        let directory = Directory {
            store,
            profiles: Mutex::default(),
            tokens: Mutex::default(),
            failures: Mutex::new(Failures::new(
                config.routing.login_max_failures,
                Duration::from_secs(config.routing.login_failure_window_s),
            )),
            checks: Semaphore::new(CONCURRENT_CHECKS),
            dummy_hash: tokio::sync::OnceCell::new(),
            lifetime: Duration::from_secs(config.routing.agent_token_lifetime_s),
        };
        directory.reload().await?;
        Ok(directory)
    }

    /// Re-reads every agent's profile from the store.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let all = self.store.list_agents().await?;
        let profiles = all
            .iter()
            .map(|r| (r.login.clone(), AgentProfile::of(r)))
            .collect();
        *lock(&self.profiles) = profiles;
        Ok(())
    }

    /// Checks a password and issues a token. Unknown logins and wrong passwords take the
    /// same path; after too many failures (per login or per client address) the password
    /// is not checked at all.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<(AgentToken, AgentProfile), LoginError> {
        lock(&self.failures)
            .begin(login, client, Instant::now())
            .map_err(|retry_after_s| LoginError::RateLimited { retry_after_s })?;
        let dummy = self.dummy_hash().await;
        let record = match login.parse::<AgentId>() {
            Ok(id) => match self.store.agent(&id).await {
                Ok(record) => record,
                Err(e) => {
                    // Our failure, not the caller's: it does not count against them.
                    lock(&self.failures).take_back(login, client);
                    return Err(e.into());
                }
            },
            Err(_) => None,
        };
        let hash = record.as_ref().map_or(dummy, |r| r.password_hash.clone());
        let verified = self.verify(password, hash).await;
        let Some(record) = record.filter(|_| verified) else {
            return Err(LoginError::BadCredentials);
        };
        lock(&self.failures).take_back(login, client);
        let profile = AgentProfile::of(&record);
        lock(&self.profiles).insert(record.login.clone(), profile.clone());
        let token = crate::secrets::new_agent_token();
        let digest = tokens::digest(&token);
        let lifetime_ms = i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX);
        let wall = now_ms();
        self.store
            .insert_agent_token(
                &tokens::digest_hex(&digest),
                &record.login,
                parley_core::UnixMillis(wall.0.saturating_add(lifetime_ms)),
                wall,
            )
            .await?;
        let now = Instant::now();
        lock(&self.tokens).insert(
            digest,
            record.login,
            tokens::expiry(now, self.lifetime),
            now,
        );
        Ok((AgentToken(token), profile))
    }

    /// The dummy hash (see the field), made on first use.
    async fn dummy_hash(&self) -> String {
        let made = self
            .dummy_hash
            .get_or_try_init(|| hash_password(crate::secrets::new_agent_token()))
            .await;
        match made {
            Ok(hash) => hash.clone(),
            Err(e) => {
                // Verifying against an unparsable hash fails at once: the unknown login
                // is still refused, only faster.
                warn!(error = %e, "could not make the dummy password hash");
                String::new()
            }
        }
    }

    /// Whether `password` matches the PHC string `hash`, checked on the blocking pool.
    async fn verify(&self, password: &str, hash: String) -> bool {
        // The semaphore is never closed; a failure here only means "not verified".
        let Ok(_permit) = self.checks.acquire().await else {
            return false;
        };
        let password = password.as_bytes().to_vec();
        let checked = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Err(());
            };
            Ok(Argon2::default()
                .verify_password(&password, &parsed)
                .is_ok())
        })
        .await;
        match checked {
            Ok(Ok(ok)) => ok,
            Ok(Err(())) => {
                warn!("an agent's stored password hash does not parse; login refused");
                false
            }
            Err(e) => {
                warn!(error = %e, "password check task failed");
                false
            }
        }
    }

    /// The agent a live token belongs to (`None` once it expired, was revoked, or its
    /// agent was removed), on any instance: the cache answers, and the store when the
    /// cache does not know the token or last asked more than `tokens::REVALIDATE` ago
    /// (the agent's profile is read again with it, so a change made through another
    /// instance shows). If the store cannot answer, a token this instance knew stays
    /// good: a database hiccup does not log agents out.
    pub async fn authenticate(&self, token: &str) -> Option<AgentProfile> {
        if token.is_empty() || token.len() > tokens::MAX_TOKEN_LEN {
            return None;
        }
        let digest = tokens::digest(token);
        let cached = lock(&self.tokens).get(&digest, Instant::now());
        let login = match cached {
            tokens::Cached::Fresh(login) => login,
            tokens::Cached::Stale(_) | tokens::Cached::Unknown => {
                match self.confirm(digest).await {
                    Ok(Some(login)) => login,
                    Ok(None) => {
                        lock(&self.tokens).remove(&digest);
                        return None;
                    }
                    Err(e) => {
                        warn!(error = %e, "could not check an agent token in the store");
                        match cached {
                            tokens::Cached::Stale(login) => login,
                            _ => return None,
                        }
                    }
                }
            }
        };
        lock(&self.profiles).get(&login).cloned()
    }

    /// Asks the store about a token and caches its answer, with the agent's profile.
    async fn confirm(&self, digest: tokens::Digest32) -> Result<Option<AgentId>, StoreError> {
        let wall = now_ms();
        let Some((login, expires_at)) = self
            .store
            .agent_token(&tokens::digest_hex(&digest), wall)
            .await?
        else {
            return Ok(None);
        };
        let Some(record) = self.store.agent(&login).await? else {
            return Ok(None);
        };
        lock(&self.profiles).insert(login.clone(), AgentProfile::of(&record));
        let now = Instant::now();
        let left = u64::try_from(expires_at.0.saturating_sub(wall.0)).unwrap_or(0);
        let expires = tokens::expiry(now, Duration::from_millis(left));
        lock(&self.tokens).insert(digest, login.clone(), expires, now);
        Ok(Some(login))
    }

    /// Ends a token, on every instance (others stop honouring it within
    /// `tokens::REVALIDATE`).
    pub async fn revoke(&self, token: &str) {
        if token.len() > tokens::MAX_TOKEN_LEN {
            return;
        }
        let digest = tokens::digest(token);
        lock(&self.tokens).remove(&digest);
        if let Err(e) = self
            .store
            .delete_agent_token(&tokens::digest_hex(&digest))
            .await
        {
            warn!(error = %e, "could not revoke an agent token in the store");
        }
    }

    /// How long a new token lives.
    pub fn token_lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The cached profile of an agent.
    pub fn profile(&self, login: &AgentId) -> Option<AgentProfile> {
        lock(&self.profiles).get(login).cloned()
    }

    /// A stored agent (password hash included: callers must not show it).
    pub async fn agent(&self, login: &AgentId) -> Result<Option<AgentRecord>, StoreError> {
        self.store.agent(login).await
    }

    /// Every stored agent, by login.
    pub async fn list(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.store.list_agents().await
    }

    /// Creates or replaces an agent; its profile is updated at once, and a changed
    /// password revokes its tokens. Returns the new profile.
    pub async fn upsert(&self, record: &AgentRecord) -> Result<AgentProfile, StoreError> {
        let before = self.store.agent(&record.login).await?;
        self.store.upsert_agent(record).await?;
        if before.is_some_and(|b| b.password_hash != record.password_hash) {
            lock(&self.tokens).remove_login(&record.login);
            self.store.delete_agent_tokens(&record.login).await?;
        }
        let profile = AgentProfile::of(record);
        lock(&self.profiles).insert(record.login.clone(), profile.clone());
        Ok(profile)
    }

    /// Removes an agent and revokes its tokens; false when there was none.
    pub async fn remove(&self, login: &AgentId) -> Result<bool, StoreError> {
        self.store.delete_agent_tokens(login).await?;
        let removed = self.store.delete_agent(login).await?;
        lock(&self.profiles).remove(login);
        lock(&self.tokens).remove_login(login);
        Ok(removed)
    }
}

/// The argon2id PHC string of `password` (argon2's default parameters, a fresh salt from
/// the OS CSPRNG), computed on the blocking pool.
pub async fn hash_password(password: impl Into<String>) -> Result<String, HashError> {
    let password = password.into();
    tokio::task::spawn_blocking(move || crate::config::hash_password(&password))
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// `Ok` if `phc` is an argon2 PHC string with a salt, a hash and usable parameters.
pub fn check_password_hash(phc: &str) -> Result<(), HashError> {
    let hash = PasswordHash::new(phc).map_err(|_| HashError::Invalid)?;
    let argon2_variant = ["argon2id", "argon2i", "argon2d"].contains(&hash.algorithm.as_str());
    if !argon2_variant || hash.salt.is_none() || hash.hash.is_none() {
        return Err(HashError::Invalid);
    }
    Params::try_from(&hash).map_err(|_| HashError::Invalid)?;
    Ok(())
}

#[cfg(test)]
mod tests;
