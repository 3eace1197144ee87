//! The directory against a real SQLite store in a temp directory.

use std::net::{IpAddr, Ipv4Addr};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use parley_store::{AgentRecord, AgentRole, AgentSource, AgentStore, AnyStore, SqliteStore};

use super::*;
use crate::config::{AgentConfig, Secret};

/// A PHC string with tiny parameters: tests check logic, not argon2's cost.
fn cheap_hash(password: &str) -> String {
    let params = Params::new(8, 1, 1, None).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("hash")
        .to_string()
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
}

fn login(name: &str) -> AgentId {
    name.parse().expect("login")
}

fn file_agent(password: &str, nickname: &str) -> AgentConfig {
    AgentConfig {
        password_hash: Secret::new(cheap_hash(password)),
        nickname: nickname.into(),
        role: Role::Supervisor,
        queues: vec!["default".into(), "sales".into()],
        capacity: 2,
    }
}

fn admin_agent(name: &str, password: &str) -> AgentRecord {
    AgentRecord {
        login: login(name),
        nickname: String::new(),
        role: AgentRole::Agent,
        queues: vec!["default".parse().expect("queue")],
        capacity: 3,
        password_hash: cheap_hash(password),
        source: AgentSource::Admin,
        created_at: parley_core::UnixMillis(1),
        updated_at: parley_core::UnixMillis(1),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: AnyStore,
    config: Config,
}

async fn fixture(tweak: impl FnOnce(&mut Config)) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = AnyStore::Sqlite(SqliteStore::open(&url).await.expect("open"));
    let mut config = Config::default();
    config
        .agents
        .insert("sam".into(), file_agent("sam-secret", "Sam"));
    config.routing.login_max_failures = 3;
    tweak(&mut config);
    Fixture {
        _dir: dir,
        store,
        config,
    }
}

impl Fixture {
    async fn directory(&self) -> Directory {
        Directory::start(&self.config, self.store.clone())
            .await
            .expect("directory")
    }
}

#[tokio::test]
async fn file_agents_are_stored_and_log_in() {
    let f = fixture(|_| {}).await;
    let d = f.directory().await;
    let stored = f.store.agent(&login("sam")).await.expect("agent");
    assert_eq!(stored.map(|r| r.source), Some(AgentSource::Config));

    let (token, profile) = d.login("sam", "sam-secret", ip(1)).await.expect("login");
    assert_eq!(profile.nickname, "Sam");
    assert_eq!(profile.role, Role::Supervisor);
    assert_eq!(profile.capacity, 2);
    assert_eq!(profile.queues.len(), 2);
    assert_eq!(token.0.len(), 64, "256 bits as hex");
    assert_eq!(d.authenticate(&token.0).await, Some(profile.clone()));
    assert_eq!(format!("{token:?}"), "AgentToken(<redacted>)");
    assert!(!format!("{d:?}").contains(&token.0));

    let (second, _) = d.login("sam", "sam-secret", ip(1)).await.expect("again");
    assert_ne!(second.0, token.0, "every login gets a fresh token");
    d.revoke(&token.0).await;
    assert_eq!(d.authenticate(&token.0).await, None, "revoked");
    assert_eq!(
        d.authenticate(&second.0).await,
        Some(profile),
        "the other stays"
    );
    assert_eq!(d.authenticate("not-a-token").await, None);
}

#[tokio::test]
async fn the_file_wins_at_start_and_drops_what_it_no_longer_names() {
    let f = fixture(|_| {}).await;
    let _ = f.directory().await;
    // Someone changed sam in the store; a file agent "old" is stored too.
    let mut changed = admin_agent("sam", "other");
    changed.source = AgentSource::Config;
    f.store.upsert_agent(&changed).await.expect("upsert");
    let mut old = admin_agent("old", "pw");
    old.source = AgentSource::Config;
    f.store.upsert_agent(&old).await.expect("upsert");
    f.store
        .upsert_agent(&admin_agent("ada", "pw"))
        .await
        .expect("upsert");

    let d = f.directory().await;
    let sam = d.profile(&login("sam")).expect("sam");
    assert_eq!(sam.nickname, "Sam", "the file's values again");
    assert!(d.login("sam", "sam-secret", ip(1)).await.is_ok());
    assert!(d.profile(&login("old")).is_none(), "no longer in the file");
    assert!(f.store.agent(&login("old")).await.expect("read").is_none());
    assert!(d.profile(&login("ada")).is_some(), "admin agents stay");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_logins_look_alike_and_are_limited() {
    let f = fixture(|_| {}).await;
    let d = f.directory().await;
    for (who, pw) in [("sam", "wrong"), ("nobody", "x"), ("bad login!", "x")] {
        let err = d.login(who, pw, ip(2)).await.err();
        assert!(
            matches!(err, Some(LoginError::BadCredentials)),
            "{who}: {err:?}"
        );
    }
    // Three failures from this address: refused without a check, even with the right
    // password.
    let err = d.login("sam", "sam-secret", ip(2)).await.err();
    let Some(LoginError::RateLimited { retry_after_s }) = err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert!((1..=300).contains(&retry_after_s), "{retry_after_s}");
    // Another address may still log in; sam's own count is 1.
    assert!(d.login("sam", "sam-secret", ip(3)).await.is_ok());
    // Per login: three wrong passwords from three addresses.
    for i in 10..13 {
        assert!(d.login("sam", "wrong", ip(i)).await.is_err());
    }
    let err = d.login("sam", "sam-secret", ip(20)).await.err();
    assert!(
        matches!(err, Some(LoginError::RateLimited { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let f = fixture(|_| {}).await;
    let d = f.directory().await;
    let (token, _) = d.login("sam", "sam-secret", ip(1)).await.expect("login");
    let digest = tokens::digest(&token.0);
    let cached = |at: Instant| lock(&d.tokens).get(&digest, at);
    let now = Instant::now();
    assert_eq!(cached(now), tokens::Cached::Fresh(login("sam")));
    assert_eq!(d.token_lifetime(), Duration::from_secs(43_200));
    assert_eq!(
        cached(now + d.token_lifetime()),
        tokens::Cached::Unknown,
        "expired in the cache"
    );
    let stored = f
        .store
        .agent_token(&tokens::digest_hex(&digest), crate::clock::now())
        .await
        .expect("agent_token")
        .expect("kept in the store");
    let lifetime_ms = i64::try_from(d.token_lifetime().as_millis()).expect("ms");
    let left = stored.1 .0 - crate::clock::now().0;
    assert!(
        left > lifetime_ms - 60_000 && left <= lifetime_ms,
        "the store keeps it for the token lifetime: {left} ms left"
    );
}

#[tokio::test]
async fn tokens_are_honoured_and_revoked_across_instances() {
    let f = fixture(|_| {}).await;
    let here = f.directory().await;
    let there = f.directory().await;
    let (token, profile) = here.login("sam", "sam-secret", ip(1)).await.expect("login");
    assert_eq!(
        there.authenticate(&token.0).await,
        Some(profile),
        "another instance on the same store honours it"
    );
    there.revoke(&token.0).await;
    let third = f.directory().await;
    assert_eq!(
        third.authenticate(&token.0).await,
        None,
        "revoked everywhere"
    );
    assert_eq!(there.authenticate(&token.0).await, None);
}

#[tokio::test]
async fn admin_changes_update_profiles_and_tokens() {
    let f = fixture(|_| {}).await;
    let d = f.directory().await;
    let ada = admin_agent("ada", "first");
    let profile = d.upsert(&ada).await.expect("upsert");
    assert_eq!(profile.nickname, "ada", "the login when no nickname");
    let (token, _) = d.login("ada", "first", ip(1)).await.expect("login");

    let more = AgentRecord {
        capacity: 9,
        ..ada.clone()
    };
    assert_eq!(d.upsert(&more).await.expect("upsert").capacity, 9);
    assert_eq!(
        d.authenticate(&token.0).await.map(|p| p.capacity),
        Some(9),
        "same password: the token stays and sees the change"
    );
    let new_password = AgentRecord {
        password_hash: cheap_hash("second"),
        ..more
    };
    d.upsert(&new_password).await.expect("upsert");
    assert_eq!(
        d.authenticate(&token.0).await,
        None,
        "a new password revokes tokens"
    );
    assert!(d.login("ada", "first", ip(1)).await.is_err());
    let (token, _) = d.login("ada", "second", ip(1)).await.expect("login");

    assert!(d.remove(&login("ada")).await.expect("remove"));
    assert!(!d.remove(&login("ada")).await.expect("remove again"));
    assert_eq!(
        d.authenticate(&token.0).await,
        None,
        "removed agents' tokens end"
    );
    assert!(d.profile(&login("ada")).is_none());
    assert_eq!(d.list().await.expect("list").len(), 1, "sam only");
}

#[tokio::test]
async fn passwords_hash_to_checkable_phc_strings() {
    let phc = hash_password("correct horse").await.expect("hash");
    assert!(phc.starts_with("$argon2id$"));
    assert!(check_password_hash(&phc).is_ok());
    for bad in [
        "",
        "correct horse",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdA",
        "$2b$10$abc",
    ] {
        assert!(check_password_hash(bad).is_err(), "{bad}");
    }
}
