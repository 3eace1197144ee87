//! Operations shared by the connectionless customer front doors (flex protocol and the
//! GMS v2 facade) and, for session creation, the basic protocol. Each takes the caller's
//! identity and returns domain results; the front doors only translate shapes.

pub mod contact;
pub(crate) mod files;
mod login;

pub use files::{
    content_disposition, download, field, file_response, multipart_of, read_file, read_upload,
    store_upload, upload, upload_name,
};
pub use login::Login;

use std::time::Duration;

use parley_core::session::{JoinRequest, SendBody, SendRequest};
use parley_core::view::SessionSnapshot;
use parley_core::{
    ClientMsgId, ClientVersion, EventId, KeyHash, PartyId, PartyType, Protocol, Session, SessionId,
    UserData, Visibility,
};
use parley_proto::ErrorCode;
use parley_store::NewSession;
use tokio::sync::oneshot;
use tracing::info;

use crate::actor::{self, Acked, CmdError, Command, FileOp, Refreshed, Subscriber};
use crate::config::Config;
use crate::secrets;
use crate::state::AppState;

/// Who starts a session.
pub struct Creator {
    /// The user.
    pub party: PartyId,
    /// Digest of its secure key.
    pub key_hash: KeyHash,
    /// Nickname.
    pub nickname: String,
    /// Kind.
    pub party_type: PartyType,
    /// Capability level.
    pub version: ClientVersion,
    /// Protocol it uses.
    pub protocol: Protocol,
    /// Its connection, for the basic protocol.
    pub sub: Option<Subscriber>,
    /// Its client's address (`sessions-per-address`).
    pub address: std::net::IpAddr,
}

/// What the new session is for.
pub struct NewChat {
    /// `tenant:endpoint` or `endpoint`.
    pub endpoint: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// What the customer sent as the session's user data: its own join event carries
    /// exactly this (after the core drops the keys only the server sets).
    pub user_data: UserData,
    /// The stored contact the chat was identified as (`contact::identify`): its
    /// attributes go to the interaction, for staff, never to the customer's events.
    pub contact: Option<parley_core::contacts::Contact>,
}

/// `tenant:endpoint` or `endpoint` (in the first configured tenant); `default` when absent.
pub fn resolve_endpoint(config: &Config, requested: Option<&str>) -> (String, String) {
    let first_tenant = config
        .endpoints
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| "1".into());
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => (first_tenant, "default".into()),
        Some(r) => match r.split_once(':') {
            Some((t, e)) => (t.to_owned(), e.to_owned()),
            None => (first_tenant, r.to_owned()),
        },
    }
}

/// A new session: its id, its mailbox, and the creator's `sessionInfo` to come.
pub type Created = (
    SessionId,
    actor::SessionHandle,
    oneshot::Receiver<Result<SessionSnapshot, CmdError>>,
);

/// Creates a session with `creator` as its first party. The returned receiver resolves
/// with the creator's `sessionInfo` once the creation is durable.
pub async fn create_session(
    state: &AppState,
    creator: Creator,
    chat: NewChat,
) -> Result<Created, CmdError> {
    if state.drain.is_draining() {
        return Err(CmdError::new(
            ErrorCode::Unavailable,
            "this instance is draining: start the chat again (another instance takes it)",
        ));
    }
    state.limits.check()?;
    if creator.party_type == PartyType::Client {
        state.address_limits.session(creator.address).map_err(|e| {
            state.counters.rate_limited.inc();
            CmdError::from(e)
        })?;
    }
    let (tenant, endpoint) = resolve_endpoint(&state.config, chat.endpoint.as_deref());
    let queue = state
        .config
        .queue_for(&tenant, &endpoint)
        .ok_or_else(|| {
            CmdError::new(
                ErrorCode::InvalidField,
                format!("unknown endpoint {tenant}:{endpoint}"),
            )
        })?
        .to_owned();
    if chat.subject.as_ref().is_some_and(|s| s.len() > 1024) {
        return Err(CmdError::new(ErrorCode::LimitExceeded, "subject too long"));
    }
    let settings = state.sessions.settings_for(&tenant).await;
    let now = crate::clock::now();
    let id = secrets::new_session_id();
    let generated = state
        .policy
        .password_enforce
        .then(secrets::new_session_password);
    let join = JoinRequest {
        party: creator.party.clone(),
        nickname: creator.nickname,
        party_type: creator.party_type,
        visibility: Visibility::All,
        protocol: creator.protocol,
        client_version: creator.version,
        key_hash: Some(creator.key_hash),
        person_id: None,
        user_data: chat.user_data,
    };
    let (session, effects) = Session::create(id.clone(), now, settings, generated, join)?;
    let record = NewSession {
        id: id.clone(),
        created_at: now,
        tenant,
        endpoint: endpoint.clone(),
        queue: queue.clone(),
        subject: chat
            .subject
            .as_deref()
            .map(|s| session.subject_for(s, true)),
        user_data: contact::interaction_user_data(
            chat.contact.as_ref(),
            session.initial_user_data().unwrap_or(&UserData::new()),
        ),
        password: session.password().cloned(),
        owner: state.sessions.instance.clone(),
        lease_until: now.plus_ms(state.policy.lease_ms),
    };
    info!(
        session_id = %id,
        endpoint = %endpoint,
        queue = %queue,
        user_data = ?state.policy.log.user_data(&record.user_data),
        "session created"
    );
    state.counters.sessions_created.inc();
    let routed = (creator.party_type == PartyType::Client)
        .then(|| queue.parse::<parley_core::routing::QueueName>().ok())
        .flatten()
        .map(|queue| crate::center::Submitted {
            interaction: id.clone(),
            tenant: record.tenant.clone(),
            queue,
            subject: chat
                .subject
                .as_deref()
                .map(|s| session.subject_for(s, false)),
            user_data: record.user_data.clone(),
            customer: session
                .parties()
                .first()
                .map(|p| p.nickname.clone())
                .unwrap_or_default(),
            // Enforced, or chosen by a basic creator: staff joining the chat need it.
            password: session.password().map(|p| p.expose().to_owned()),
        });
    let (tx, rx) = oneshot::channel();
    let handle = state
        .sessions
        .spawn_created(session, effects, record, creator.sub, tx);
    let rx = match routed {
        Some(chat) => submit_when_created(state, chat, rx),
        None => rx,
    };
    Ok((id, handle, rx))
}

/// Submits a customer's chat to routing once its creation is durable (so the interaction
/// record exists when routing and workflows look at it), passing the creator's reply on.
fn submit_when_created(
    state: &AppState,
    chat: crate::center::Submitted,
    rx: oneshot::Receiver<Result<SessionSnapshot, CmdError>>,
) -> oneshot::Receiver<Result<SessionSnapshot, CmdError>> {
    let (tx, out) = oneshot::channel();
    let state = state.clone();
    tokio::spawn(async move {
        let result = reply(rx).await;
        if result.is_ok() {
            state.center.submit(chat);
        }
        let _ = tx.send(result);
    });
    out
}

/// Waits for a reply from an actor; a dropped reply means the session has ended (or the
/// server is shutting down and the session will be restored elsewhere).
pub async fn reply<T>(rx: oneshot::Receiver<Result<T, CmdError>>) -> Result<T, CmdError> {
    rx.await.unwrap_or_else(|_| {
        Err(CmdError::new(
            ErrorCode::SessionOver,
            "the chat session is over",
        ))
    })
}

/// A connectionless caller: who, with which key, in which session.
#[derive(Clone)]
pub struct Caller {
    /// The session.
    pub session: SessionId,
    /// The user.
    pub party: PartyId,
    /// Digest of the key it presented.
    pub key: KeyHash,
}

impl Caller {
    /// Parses and hashes what a request presented.
    pub fn parse(session: &str, user_id: &str, secure_key: &str) -> Result<Caller, CmdError> {
        if secure_key.is_empty() || secure_key.len() > 128 {
            return Err(CmdError::new(ErrorCode::BadSecureKey, "bad secure key"));
        }
        Ok(Caller {
            session: session.parse().map_err(CmdError::from)?,
            party: user_id.parse().map_err(CmdError::from)?,
            key: secrets::hash_key(secure_key),
        })
    }

    /// Calls the session with the command `make` builds around its reply channel.
    async fn call<T>(
        &self,
        state: &AppState,
        make: impl FnOnce(oneshot::Sender<Result<T, CmdError>>) -> Command,
    ) -> Result<T, CmdError> {
        state.sessions.call(&self.session, make).await
    }

    /// Joins an existing session as a flex party with the identity `login` gave.
    pub async fn join(
        &self,
        state: &AppState,
        nickname: String,
        version: ClientVersion,
        user_data: UserData,
    ) -> Result<SessionSnapshot, CmdError> {
        let req = JoinRequest {
            party: self.party.clone(),
            nickname,
            party_type: PartyType::Client,
            visibility: Visibility::All,
            protocol: Protocol::Flex,
            client_version: version,
            key_hash: Some(self.key),
            person_id: None,
            user_data,
        };
        self.call(state, |reply| Command::Join {
            req,
            sub: None,
            reply,
        })
        .await
    }

    /// Comes back to a session (reload, restart): what was missed after `last`.
    pub async fn resume(
        &self,
        state: &AppState,
        last: EventId,
    ) -> Result<SessionSnapshot, CmdError> {
        self.call(state, |reply| Command::Resume {
            party: self.party.clone(),
            key: self.key,
            party_type: PartyType::Client,
            last,
            sub: None,
            reply,
        })
        .await
    }

    /// Sends a message or notice.
    pub async fn send(
        &self,
        state: &AppState,
        body: SendBody,
        client_msg_id: Option<&str>,
    ) -> Result<Acked, CmdError> {
        let req = SendRequest {
            from: self.party.clone(),
            visibility: Visibility::All,
            receiver: None,
            client_msg_id: client_msg_id
                .map(str::parse::<ClientMsgId>)
                .transpose()
                .map_err(CmdError::from)?,
            body,
        };
        self.call(state, |reply| Command::Send {
            req,
            key: Some(self.key),
            reply,
        })
        .await
    }

    /// The events from `from` (long-polling up to `wait` when there are none). A session
    /// that has ended answers from its final transcript.
    pub async fn refresh(
        &self,
        state: &AppState,
        from: EventId,
        wait: Duration,
    ) -> Result<Refreshed, CmdError> {
        match self.live_refresh(state, from, wait).await {
            Err(e) if matches!(e.code, ErrorCode::SessionOver | ErrorCode::SessionNotFound) => {
                state
                    .sessions
                    .closed_refresh(&self.session, &self.party, &self.key, from)
                    .await
                    .map_err(|closed| {
                        if closed.code == ErrorCode::SessionNotFound {
                            e
                        } else {
                            closed
                        }
                    })
            }
            other => other,
        }
    }

    async fn live_refresh(
        &self,
        state: &AppState,
        from: EventId,
        wait: Duration,
    ) -> Result<Refreshed, CmdError> {
        let handle = state.sessions.find(&self.session).await?;
        let (tx, rx) = oneshot::channel();
        handle
            .send(Command::Refresh {
                party: self.party.clone(),
                key: self.key,
                from,
                wait: !wait.is_zero(),
                reply: tx,
            })
            .await?;
        match tokio::time::timeout(wait.max(Duration::from_millis(1)), rx).await {
            Ok(r) => r.unwrap_or_else(|_| {
                Err(CmdError::new(
                    ErrorCode::SessionOver,
                    "the chat session is over",
                ))
            }),
            // Nothing arrived in time: ask again without waiting, for the current end.
            Err(_) => Box::pin(self.live_refresh(state, from, Duration::ZERO)).await,
        }
    }

    /// Leaves the session (KeepAlive: the agent may still finish).
    pub async fn logout(&self, state: &AppState) -> Result<(), CmdError> {
        self.call(state, |reply| Command::Release {
            party: self.party.clone(),
            key: Some(self.key),
            action: parley_core::AfterAction::KeepAlive,
            text: None,
            reply,
        })
        .await
    }

    /// Merges keys into the session's user data (and its interaction's).
    pub async fn update_user_data(&self, state: &AppState, data: UserData) -> Result<(), CmdError> {
        self.call(state, |reply| Command::UpdateUserData {
            party: self.party.clone(),
            key: self.key,
            data,
            reply,
        })
        .await
    }

    /// A file operation; `op` builds the operation around its reply channel.
    pub async fn file<T>(
        &self,
        state: &AppState,
        op: impl FnOnce(oneshot::Sender<Result<T, CmdError>>) -> FileOp,
    ) -> Result<T, CmdError> {
        self.call(state, |reply| Command::File {
            party: self.party.clone(),
            key: self.key,
            op: op(reply),
        })
        .await
    }
}
