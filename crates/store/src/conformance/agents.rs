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
