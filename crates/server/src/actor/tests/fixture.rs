//! The fixture of the actor tests: the production `Sessions` facade over a stub
//! pipeline, so the test plays the group-commit writer and chooses each commit's outcome,
//! and over a real SQLite store (the actor reads it only for restoration and documents).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parley_core::session::{JoinRequest, SendBody, SendRequest};
use parley_core::view::SessionSnapshot;
use parley_core::{
    ClientVersion, KeyHash, PartyId, PartyType, Protocol, Session, SessionId, UserData, Visibility,
};
use parley_store::{AnyStore, InstanceId, NewSession, SqliteStore, StoreError, Write};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::actor::{
    Acked, CmdError, Command, ConnId, Facts, Inbox, Push, PushError, Sessions, Subscriber,
};
use crate::config::Config;
use crate::counters::Counters;
use crate::persist::{Failed, Job, Pipeline};
use crate::policy::Policy;

/// A reply the test waits for.
pub(super) type Reply<T> = oneshot::Receiver<Result<T, CmdError>>;

/// Awaits `f`, failing the test after a few seconds: no test can hang.
pub(super) async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Gives the actor time to do what it should not, before a test checks it did not.
pub(super) async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The reply has not come yet.
pub(super) fn pending<T: std::fmt::Debug>(rx: &mut Reply<T>, what: &str) {
    match rx.try_recv() {
        Err(oneshot::error::TryRecvError::Empty) => {}
        other => panic!("{what} answered too early: {other:?}"),
    }
}

/// The reply, once it comes.
pub(super) async fn reply<T>(rx: Reply<T>, what: &str) -> Result<T, CmdError> {
    within(what, rx)
        .await
        .unwrap_or_else(|_| panic!("{what}: the reply was dropped"))
}

/// Answers a job: committed.
pub(super) fn commit(job: Job) {
    job.done.send(Ok(())).expect("the actor waits for its job");
}

/// Answers a job: failed with `error`, its writes handed back as the pipeline does.
pub(super) fn fail(job: Job, error: StoreError) {
    let Job { writes, done } = job;
    done.send(Err(Failed::store(error, writes)))
        .expect("the actor waits for its job");
}

/// A message from `from`.
pub(super) fn message(from: &PartyId, text: &str) -> SendRequest {
    SendRequest {
        from: from.clone(),
        visibility: Visibility::All,
        receiver: None,
        client_msg_id: None,
        body: SendBody::Message {
            text: text.into(),
            message_type: None,
        },
    }
}

/// A connection's inbox: what the actor pushes, for the test to read.
struct TestInbox(mpsc::UnboundedSender<Push>);

impl Inbox for TestInbox {
    fn push(&self, push: Box<Push>) -> Result<(), PushError> {
        self.0.send(*push).map_err(|_| PushError::Closed)
    }
}

/// A party as a test plays it: basic (one subscribed connection) or flex (none).
pub(super) struct Party {
    pub(super) id: PartyId,
    pub(super) key: KeyHash,
    party_type: PartyType,
    protocol: Protocol,
    sub: Option<Subscriber>,
    pushes: Option<mpsc::UnboundedReceiver<Push>>,
}

impl Party {
    fn new(name: &str, party_type: PartyType, protocol: Protocol) -> Party {
        let mut key = [0u8; 32];
        for (k, b) in key.iter_mut().zip(name.bytes().cycle()) {
            *k = b;
        }
        Party {
            id: name.parse().expect("party id"),
            key: KeyHash(key),
            party_type,
            protocol,
            sub: None,
            pushes: None,
        }
    }

    /// A party with a connection (`conn`) subscribed to the session's pushes.
    pub(super) fn basic(name: &str, party_type: PartyType, conn: ConnId) -> Party {
        let mut p = Party::new(name, party_type, Protocol::Basic);
        let (tx, rx) = mpsc::unbounded_channel();
        p.sub = Some(Subscriber {
            conn,
            party: p.id.clone(),
            inbox: Arc::new(TestInbox(tx)),
            kick: CancellationToken::new(),
        });
        p.pushes = Some(rx);
        p
    }

    /// A connectionless party: it reads by refreshing.
    pub(super) fn flex(name: &str, party_type: PartyType) -> Party {
        Party::new(name, party_type, Protocol::Flex)
    }

    pub(super) fn join_request(&self) -> JoinRequest {
        JoinRequest {
            party: self.id.clone(),
            nickname: self.id.to_string(),
            party_type: self.party_type,
            visibility: Visibility::All,
            protocol: self.protocol,
            client_version: ClientVersion::LATEST,
            key_hash: Some(self.key),
            person_id: None,
            user_data: UserData::new(),
        }
    }

    /// The key a connectionless caller presents with each command.
    fn command_key(&self) -> Option<KeyHash> {
        (self.protocol == Protocol::Flex).then_some(self.key)
    }

    fn inbox(&mut self) -> &mut mpsc::UnboundedReceiver<Push> {
        self.pushes.as_mut().expect("a party with a connection")
    }

    /// The next push to its connection.
    pub(super) async fn next_push(&mut self) -> Push {
        let what = format!("a push to {}", self.id);
        within(&what, self.inbox().recv())
            .await
            .expect("the inbox is open")
    }

    /// Asserts nothing was pushed to it (since the last push read).
    pub(super) fn no_push(&mut self) {
        if let Ok(p) = self.inbox().try_recv() {
            panic!("unexpected push to {}: {p:?}", self.id);
        }
    }

    /// Whether its connection was told to close.
    pub(super) fn kicked(&self) -> bool {
        self.sub.as_ref().expect("a connection").kick.is_cancelled()
    }
}

/// The facade under test, the receiving end of its pipeline, and its facts.
pub(super) struct Fixture {
    pub(super) sessions: Sessions,
    pub(super) facts: Facts,
    jobs: mpsc::Receiver<Job>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// A fixture over the default configuration as `tweak` changes it.
    pub(super) async fn new(tweak: impl FnOnce(&mut Config)) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let store = AnyStore::Sqlite(SqliteStore::open(&url).await.expect("open"));
        let mut config = Config::default();
        tweak(&mut config);
        let (pipeline, jobs) = Pipeline::stub();
        let masking = crate::masking::Masking::new(&config, store.clone()).expect("masking rules");
        let (sessions, facts) = Sessions::new(
            pipeline,
            store,
            Arc::new(Policy::from_config(&config)),
            Arc::new(Counters::default()),
            Arc::new(crate::limits::Limits::new(&config.settings)),
            masking,
            InstanceId("test".into()),
            CancellationToken::new(),
            TaskTracker::new(),
        );
        Fixture {
            sessions,
            facts,
            jobs,
            _dir: dir,
        }
    }

    /// Creates a session with `creator` as customer, as `customer::create_session` does;
    /// the reply is the creator's snapshot.
    pub(super) fn create(&self, creator: &Party) -> (SessionId, Reply<SessionSnapshot>) {
        let id: SessionId = "s-1".parse().expect("session id");
        let now = crate::clock::now();
        let policy = &self.sessions.policy;
        let (session, effects) = Session::create(
            id.clone(),
            now,
            policy.session.clone(),
            None,
            creator.join_request(),
        )
        .expect("created");
        let record = NewSession {
            id: id.clone(),
            created_at: now,
            tenant: "1".into(),
            endpoint: "default".into(),
            queue: "default".into(),
            subject: None,
            user_data: session.initial_user_data().cloned().unwrap_or_default(),
            password: session.password().cloned(),
            owner: self.sessions.instance.clone(),
            lease_until: now.plus_ms(policy.lease_ms),
        };
        let (tx, rx) = oneshot::channel();
        self.sessions
            .spawn_created(session, effects, record, creator.sub.clone(), tx);
        (id, rx)
    }

    /// Creates a session and commits its first batch; returns it with the snapshot.
    pub(super) async fn created(&mut self, creator: &Party) -> (SessionId, SessionSnapshot) {
        let (id, rx) = self.create(creator);
        commit(self.job().await);
        (id, reply(rx, "the creation").await.expect("created"))
    }

    /// Puts a command in the session's mailbox; returns the reply to wait for.
    pub(super) async fn command<T>(
        &self,
        id: &SessionId,
        make: impl FnOnce(oneshot::Sender<Result<T, CmdError>>) -> Command,
    ) -> Reply<T> {
        let handle = within("find", self.sessions.find(id))
            .await
            .expect("a live session");
        let (tx, rx) = oneshot::channel();
        within("the mailbox", handle.send(make(tx)))
            .await
            .expect("the actor runs");
        rx
    }

    /// `party` joins (subscribing its connection, if any).
    pub(super) async fn join(&self, id: &SessionId, party: &Party) -> Reply<SessionSnapshot> {
        self.command(id, |reply| Command::Join {
            req: party.join_request(),
            sub: party.sub.clone(),
            reply,
        })
        .await
    }

    /// `party` joins, and its batch commits.
    pub(super) async fn joined(&mut self, id: &SessionId, party: &Party) -> SessionSnapshot {
        let rx = self.join(id, party).await;
        commit(self.job().await);
        reply(rx, "the join").await.expect("joined")
    }

    /// `party` sends a message.
    pub(super) async fn say(&self, id: &SessionId, party: &Party, text: &str) -> Reply<Acked> {
        self.command(id, |reply| Command::Send {
            req: message(&party.id, text),
            key: party.command_key(),
            reply,
        })
        .await
    }

    /// The next job the actor submits.
    pub(super) async fn job(&mut self) -> Job {
        within("a job", self.jobs.recv())
            .await
            .expect("the pipeline is open")
    }

    /// Waits until the session's actor has ended and left the registry.
    pub(super) async fn ended(&self) {
        within("the actor to end", async {
            while self.sessions.live() != 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }
}

/// The writes of a job, comparable (`Write` has no `PartialEq`).
pub(super) fn shown(writes: &[Write]) -> String {
    format!("{writes:?}")
}
