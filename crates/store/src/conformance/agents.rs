//! Checks of the agent directory. Logins are unique to the run, so the checks hold in a
//! shared database; listings are checked for the run's own rows only.

use parley_core::routing::{AgentId, QueueName};

use super::*;
use crate::{AgentRecord, AgentRole, AgentSource};

fn login(run: &Run, name: &str) -> AgentId {
    let text = format!("{}-{name}", run.prefix);
    text.parse()
        .unwrap_or_else(|e| panic!("fixture login {text:?}: {e}"))
}

fn queue(name: &str) -> QueueName {
    name.parse()
        .unwrap_or_else(|e| panic!("fixture queue {name:?}: {e}"))
}

fn agent(login: AgentId, source: AgentSource, at: i64) -> AgentRecord {
    AgentRecord {
        nickname: format!("Nick {login}"),
        login,
        role: AgentRole::Agent,
        queues: vec![queue("default"), queue("sales.chat-1")],
        capacity: 3,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        source,
        created_at: UnixMillis(T0 + at),
        updated_at: UnixMillis(T0 + at),
    }
}

async fn read<S: Store>(store: &S, login: &AgentId, check: &str) -> Option<AgentRecord> {
    match store.agent(login).await {
        Ok(found) => found,
        Err(e) => panic!("{check}: agent({login}): {e}"),
    }
}

/// An agent is read back as written; an upsert replaces every field but `created_at`;
/// a delete removes it once; an unknown login is absent.
pub(super) async fn agents_round_trip_upsert_and_delete<S: Store>(store: &S, run: &Run) {
    let check = "agents round trip";
    let anna = agent(login(run, "anna"), AgentSource::Admin, 0);
    store.upsert_agent(&anna).await.expect("upsert_agent");
    assert_eq!(
        read(store, &anna.login, check).await.as_ref(),
        Some(&anna),
        "{check}: read back as written"
    );

    let changed = AgentRecord {
        nickname: "Anna K.".into(),
        role: AgentRole::Supervisor,
        queues: vec![queue("vip")],
        capacity: 100,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$bmV3aGFzaA".into(),
        source: AgentSource::Config,
        created_at: UnixMillis(T0 + 5_000),
        updated_at: UnixMillis(T0 + 5_000),
        ..anna.clone()
    };
    store
        .upsert_agent(&changed)
        .await
        .expect("upsert_agent again");
    let want = AgentRecord {
        created_at: anna.created_at,
        ..changed.clone()
    };
    assert_eq!(
        read(store, &anna.login, check).await.as_ref(),
        Some(&want),
        "{check}: an upsert replaces all but created_at"
    );

    let none = AgentRecord {
        queues: Vec::new(),
        ..agent(login(run, "bob"), AgentSource::Admin, 1)
    };
    store.upsert_agent(&none).await.expect("upsert_agent bob");
    assert_eq!(
        read(store, &none.login, check).await.map(|a| a.queues),
        Some(Vec::new()),
        "{check}: no queues round-trips"
    );

    assert!(
        store.delete_agent(&anna.login).await.expect("delete_agent"),
        "{check}: delete of an existing agent"
    );
    assert!(
        !store.delete_agent(&anna.login).await.expect("delete_agent"),
        "{check}: delete of a deleted agent"
    );
    assert_eq!(read(store, &anna.login, check).await, None, "{check}: gone");
    assert_eq!(
        read(store, &login(run, "nobody"), check).await,
        None,
        "{check}: unknown login"
    );
}

/// `list_agents` returns every agent, ordered by login as bytes compare (the same on
/// both backends, whatever the database's collation).
pub(super) async fn agents_are_listed_by_login<S: Store>(store: &S, run: &Run) {
    let check = "agents listed";
    let names = ["l-zed", "l-amy", "l-mo"];
    for (i, name) in names.iter().enumerate() {
        let at = i64::try_from(i).unwrap_or(0);
        let record = agent(login(run, name), AgentSource::Admin, at);
        store.upsert_agent(&record).await.expect("upsert_agent");
    }
    let all = store.list_agents().await.expect("list_agents");
    let ours: Vec<String> = all
        .iter()
        .map(|a| a.login.to_string())
        .filter(|l| l.starts_with(&format!("{}-l-", run.prefix)))
        .collect();
    let want: Vec<String> = ["amy", "mo", "zed"]
        .iter()
        .map(|n| format!("{}-l-{n}", run.prefix))
        .collect();
    assert_eq!(ours, want, "{check}: the run's agents, by login");
    let mut sorted = all.iter().map(|a| a.login.clone()).collect::<Vec<_>>();
    sorted.sort();
    assert_eq!(
        all.iter().map(|a| a.login.clone()).collect::<Vec<_>>(),
        sorted,
        "{check}: ordered by login, bytewise"
    );
}

/// A token digest names its agent until it expires, is deleted, or its agent's tokens
/// are; an insert forgets expired tokens. Safe beside other runs in one database: only
/// the token meant to be forgotten (`b0`) expires before the prune's time.
pub(super) async fn agent_tokens_expire_and_are_revoked<S: Store>(store: &S, run: &Run) {
    let check = "agent tokens";
    let anna = login(run, "tok-anna");
    let bert = login(run, "tok-bert");
    let digest = |name: &str| format!("{}-{name}", run.prefix);
    let now = UnixMillis(T0);
    let soon = UnixMillis(T0 + 60_000);
    let later = UnixMillis(T0 + 1_000_000_000_000);
    for (d, who, until) in [
        ("b0", &bert, soon),
        ("a1", &anna, later),
        ("a2", &anna, later),
        ("b1", &bert, later),
    ] {
        store
            .insert_agent_token(&digest(d), who, until, now)
            .await
            .unwrap_or_else(|e| panic!("{check}: insert {d}: {e}"));
    }
    let read = |d: &'static str, at: UnixMillis| {
        let d = digest(d);
        async move { store.agent_token(&d, at).await.expect("agent_token") }
    };
    assert_eq!(
        read("a1", now).await,
        Some((anna.clone(), later)),
        "{check}: read back"
    );
    assert_eq!(
        read("b0", soon).await,
        None,
        "{check}: expired at expires_at"
    );
    assert_eq!(read("zz", now).await, None, "{check}: unknown digest");
    assert!(store
        .delete_agent_token(&digest("a1"))
        .await
        .expect("delete"));
    assert!(!store
        .delete_agent_token(&digest("a1"))
        .await
        .expect("delete"));
    assert_eq!(read("a1", now).await, None, "{check}: deleted");
    assert_eq!(store.delete_agent_tokens(&anna).await.expect("revoke"), 1);
    assert_eq!(
        read("a2", now).await,
        None,
        "{check}: revoked with its agent's"
    );
    assert_eq!(
        read("b1", now).await,
        Some((bert.clone(), later)),
        "{check}: another agent's token stays"
    );
    // An insert at a time past b0's expiry forgets it.
    store
        .insert_agent_token(&digest("b2"), &bert, later, UnixMillis(T0 + 120_000))
        .await
        .expect("insert b2");
    assert!(
        !store
            .delete_agent_token(&digest("b0"))
            .await
            .expect("delete"),
        "{check}: the expired token was forgotten by the insert"
    );
    assert_eq!(store.delete_agent_tokens(&bert).await.expect("revoke"), 2);
}
