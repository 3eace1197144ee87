//! One handler per basic-protocol request. Each checks the request, hands it to the
//! session actor and turns the answer into a frame. Errors become `error` frames with
//! the request id; the connection always goes on.

use std::sync::Arc;

use futures::FutureExt;
use parley_core::session::{
    JoinRequest, SendBody, SendRequest, UploadedFile, FILE_DELETED, FILE_UPLOADED,
};
use parley_core::NoticeType;
use parley_core::{ClientMsgId, EventId, PartyId, PartyType, Protocol, SessionId};
use parley_proto::basic::{
    ClientFrame, Credentials, ResumeIdentity, ServerFrame, UserData, PROTOCOL_VERSION,
};
use parley_proto::ErrorCode;
use parley_store::DocumentStore;
use tokio::sync::oneshot;
use tracing::debug;

use super::decode::decode;
use super::map;
use super::{Conn, Pending, User};
use crate::actor::{self, CmdError, Command, FileOp, ReplyGate, SessionHandle, Subscriber};
use crate::customer::{self, Creator, NewChat};
use crate::secrets;
use parley_core::view::SessionSnapshot;

type Reply = Result<Pending, CmdError>;

fn parse<T: std::str::FromStr<Err = parley_core::CoreError>>(s: &str) -> Result<T, CmdError> {
    s.parse::<T>().map_err(CmdError::from)
}

fn with_request_id(mut frame: ServerFrame, id: Option<u64>) -> ServerFrame {
    match &mut frame {
        ServerFrame::SessionInfo { request_id, .. }
        | ServerFrame::Registered { request_id, .. }
        | ServerFrame::Ack { request_id, .. }
        | ServerFrame::Released { request_id, .. }
        | ServerFrame::Error { request_id, .. } => *request_id = id,
        _ => {}
    }
    frame
}

fn error_frame(request_id: Option<u64>, session: Option<&str>, e: CmdError) -> ServerFrame {
    let mut frame = ServerFrame::error(request_id, session.map(str::to_owned), e.code, e.message);
    if let (ServerFrame::Error { retry_after_ms, .. }, Some(after)) = (&mut frame, e.retry_after) {
        *retry_after_ms = Some(u64::try_from(after.as_millis()).unwrap_or(u64::MAX).max(1));
    }
    frame
}

impl Conn {
    /// Handles one text frame: an immediate reply is queued here; a reply that waits for
    /// a durable commit is returned as a future.
    pub(crate) async fn handle_text(&mut self, text: &str) -> Option<Pending> {
        let frame = match decode(text, self.state.policy.max_frame_bytes) {
            Ok(f) => f,
            Err(e) => {
                debug!(code = e.code.name(), "bad frame");
                self.reply(ServerFrame::error(e.request_id, None, e.code, e.message))
                    .await;
                return None;
            }
        };
        let (request_id, session) = frame_ids(&frame);
        // A session piped to the instance holding it: the frame goes there as written.
        if let Some(s) = &session {
            if self.relay(s, text).await {
                return None;
            }
        }
        let meets_owner = matches!(frame, ClientFrame::Join { .. } | ClientFrame::Resume { .. });
        let result = match frame {
            ClientFrame::Register {
                nickname,
                party_type,
                client_version,
                credentials,
                resume,
                ..
            } => {
                self.register(
                    request_id,
                    nickname,
                    party_type,
                    client_version,
                    credentials,
                    resume,
                )
                .await
            }
            ClientFrame::CreateSession {
                user_data,
                subject,
                endpoint,
                ..
            } => {
                self.create_session(request_id, user_data, subject, endpoint)
                    .await
            }
            ClientFrame::Join {
                session_id,
                visibility,
                user_data,
                ..
            } => {
                self.join(request_id, &session_id, visibility, user_data)
                    .await
            }
            ClientFrame::Resume {
                session_id,
                last_event_id,
                ..
            } => self.resume(request_id, &session_id, last_event_id).await,
            ClientFrame::Message {
                session_id,
                text,
                visibility,
                receiver_id,
                message_type,
                client_message_id,
                ..
            } => {
                let body = SendBody::Message { text, message_type };
                self.send(
                    request_id,
                    &session_id,
                    visibility,
                    receiver_id,
                    client_message_id,
                    body,
                )
                .await
            }
            ClientFrame::Notify {
                session_id,
                notice_type,
                text,
                user_data,
                visibility,
                receiver_id,
                client_message_id,
                ..
            } => match map::notice_type(&notice_type) {
                Ok(NoticeType::SysCommand)
                    if matches!(text.as_deref(), Some(FILE_UPLOADED | FILE_DELETED)) =>
                {
                    self.file_notice(request_id, &session_id, text.as_deref(), user_data)
                        .await
                }
                Ok(notice_type) => {
                    let body = SendBody::Notice {
                        notice_type,
                        text,
                        user_data,
                    };
                    self.send(
                        request_id,
                        &session_id,
                        visibility,
                        receiver_id,
                        client_message_id,
                        body,
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            },
            ClientFrame::Release {
                session_id,
                after_action,
                text,
                ..
            } => {
                self.release(request_id, &session_id, after_action, text)
                    .await
            }
        };
        match result {
            Ok(pending) => Some(pending),
            // Nothing was done here: the owner carries the request out.
            Err(CmdError {
                held_by: Some(held),
                ..
            }) if meets_owner && self.pipe(&held, text).await => None,
            Err(e) => {
                debug!(code = e.code.name(), message = %e.message, "request refused");
                self.reply(error_frame(request_id, session.as_deref(), e))
                    .await;
                None
            }
        }
    }

    fn user(&self) -> Result<&User, CmdError> {
        self.user
            .as_ref()
            .ok_or_else(|| CmdError::new(ErrorCode::NotRegistered, "send register first"))
    }

    /// A subscription for `party` whose pushes wait behind the gate until the reply
    /// that starts it is queued (`actor::ReplyGate`).
    fn subscriber(&self, party: &PartyId) -> (Subscriber, Arc<ReplyGate>) {
        let gate = ReplyGate::new(self.inbox.clone());
        let sub = Subscriber {
            conn: self.id,
            party: party.clone(),
            inbox: gate.clone(),
            kick: self.kick.clone(),
        };
        (sub, gate)
    }

    /// `register`: who this connection is.
    async fn register(
        &mut self,
        request_id: Option<u64>,
        nickname: String,
        party_type: parley_proto::basic::PartyType,
        client_version: Option<u16>,
        credentials: Option<Credentials>,
        resume: Option<ResumeIdentity>,
    ) -> Reply {
        if self.user.is_some() {
            return Err(CmdError::new(
                ErrorCode::AlreadyRegistered,
                "already registered",
            ));
        }
        let version = map::client_version(client_version)?;
        let replay = (nickname.clone(), party_type, credentials.clone());
        let party_type = map::party_type(party_type);
        let agent = match credentials.as_ref().and_then(|c| c.agent_token.as_deref()) {
            Some(token) => Some(self.directory_agent(token, party_type).await?),
            None => None,
        };
        let nickname = match &agent {
            Some(a) => a.nickname.clone(),
            None => nickname.trim().to_owned(),
        };
        if nickname.is_empty()
            || nickname.chars().count() > 64
            || nickname.chars().any(char::is_control)
        {
            return Err(CmdError::new(
                ErrorCode::InvalidField,
                "nickname must be 1 to 64 characters, without control characters",
            ));
        }
        match party_type {
            PartyType::Client => {}
            PartyType::System => {
                return Err(CmdError::new(
                    ErrorCode::NotAllowed,
                    "SYSTEM is the server's own party type",
                ))
            }
            _ if agent.is_some() => {}
            _ => {
                let presented = credentials.and_then(|c| c.api_key).unwrap_or_default();
                let ok = self.state.config.security.accepts_api_key(&presented);
                if !ok {
                    self.state.counters.logins_failed.inc();
                    tracing::warn!(client = %self.address, party_type = ?party_type,
                        "basic register refused: invalid apiKey");
                    return Err(CmdError::new(
                        ErrorCode::Unauthorized,
                        "agents, supervisors and external parties need a valid apiKey",
                    ));
                }
            }
        }
        let (id, key) = match resume {
            Some(r) => {
                if r.secure_key.is_empty() || r.secure_key.len() > 128 {
                    return Err(CmdError::new(
                        ErrorCode::InvalidField,
                        "secureKey has the wrong size",
                    ));
                }
                (parse::<PartyId>(&r.user_id)?, r.secure_key)
            }
            None => (secrets::new_party_id(), secrets::new_secure_key()),
        };
        let frame = ServerFrame::Registered {
            request_id,
            user_id: id.to_string(),
            secure_key: key.clone(),
            client_version: version.get(),
            protocol_version: PROTOCOL_VERSION,
        };
        self.replay_register = serde_json::to_string(&ClientFrame::Register {
            request_id: None,
            nickname: replay.0,
            party_type: replay.1,
            client_version,
            credentials: replay.2,
            resume: Some(ResumeIdentity {
                user_id: id.to_string(),
                secure_key: key.clone(),
            }),
        })
        .ok();
        self.user = Some(User {
            id,
            key_hash: secrets::hash_key(&key),
            nickname,
            party_type,
            version,
            agent: agent.map(|a| a.login),
        });
        Ok(futures::future::ready((frame, None)).boxed())
    }

    /// The directory agent a login token belongs to, if it may register as `party_type`
    /// (agents as `AGENT`; supervisors as `SUPERVISOR` or `AGENT`).
    async fn directory_agent(
        &self,
        token: &str,
        party_type: PartyType,
    ) -> Result<crate::center::AgentProfile, CmdError> {
        let profile = self
            .state
            .center
            .directory
            .authenticate(token)
            .await
            .ok_or_else(|| CmdError::new(ErrorCode::Unauthorized, "bad or expired agentToken"))?;
        let allowed = match profile.role {
            crate::config::Role::Agent => party_type == PartyType::Agent,
            crate::config::Role::Supervisor => {
                matches!(party_type, PartyType::Agent | PartyType::Supervisor)
            }
        };
        if !allowed {
            return Err(CmdError::new(
                ErrorCode::NotAllowed,
                format!("a {} registers as AGENT", profile.role.as_str())
                    + if profile.role == crate::config::Role::Supervisor {
                        " or SUPERVISOR"
                    } else {
                        ""
                    },
            ));
        }
        Ok(profile)
    }

    /// `createSession`: a new session with this user as its first party.
    async fn create_session(
        &mut self,
        request_id: Option<u64>,
        user_data: UserData,
        subject: Option<String>,
        endpoint: Option<String>,
    ) -> Reply {
        let user = self.user()?;
        let (sub, gate) = self.subscriber(&user.id);
        let creator = Creator {
            party: user.id.clone(),
            key_hash: user.key_hash,
            nickname: user.nickname.clone(),
            party_type: user.party_type,
            version: user.version,
            protocol: Protocol::Basic,
            sub: Some(sub),
            address: self.address,
        };
        let mut chat = NewChat {
            endpoint,
            subject,
            user_data,
            contact: None,
        };
        let contact =
            customer::contact::identify(&self.state, &mut chat, creator.party_type).await?;
        let (id, handle, rx) = customer::create_session(&self.state, creator, chat).await?;
        customer::contact::link(&self.state, contact, &id).await;
        self.sessions.insert(id.clone(), handle);
        Ok(info_reply(rx, request_id, id, gate))
    }

    /// `join`: join an existing session.
    async fn join(
        &mut self,
        request_id: Option<u64>,
        session_id: &str,
        visibility: parley_proto::basic::Visibility,
        mut user_data: UserData,
    ) -> Reply {
        let user = self.user()?;
        let id: SessionId = parse(session_id)?;
        crate::identity::strip_proofs(&mut user_data);
        let mut visibility = map::visibility(visibility);
        // Found first: a session held by another instance is joined there, where
        // routing gave it (and the grant is checked).
        let handle = self.state.sessions.find(&id).await?;
        if let Some(agent) = &user.agent {
            // Directory agents join only what routing gave them, the way it gave it.
            visibility = self
                .state
                .center
                .join_grant(agent, &id)
                .await
                .ok_or_else(|| {
                    CmdError::new(
                        ErrorCode::NotAllowed,
                        "join only the chats routing assigned to you",
                    )
                })?;
        }
        let req = JoinRequest {
            party: user.id.clone(),
            nickname: user.nickname.clone(),
            party_type: user.party_type,
            visibility,
            protocol: Protocol::Basic,
            client_version: user.version,
            key_hash: Some(user.key_hash),
            person_id: user.agent.as_ref().map(ToString::to_string),
            user_data,
        };
        let (tx, rx) = oneshot::channel();
        let (sub, gate) = self.subscriber(&user.id);
        handle
            .send(Command::Join {
                req,
                sub: Some(sub),
                reply: tx,
            })
            .await?;
        self.sessions.insert(id.clone(), handle);
        Ok(info_reply(rx, request_id, id, gate))
    }

    /// `resume`: come back to a session after a reconnect (or a server restart).
    async fn resume(&mut self, request_id: Option<u64>, session_id: &str, last: u64) -> Reply {
        let user = self.user()?;
        let id: SessionId = parse(session_id)?;
        let handle = self.state.sessions.find(&id).await?;
        let (tx, rx) = oneshot::channel();
        let (sub, gate) = self.subscriber(&user.id);
        let cmd = Command::Resume {
            party: user.id.clone(),
            key: user.key_hash,
            party_type: user.party_type,
            last: EventId(last),
            sub: Some(sub),
            reply: tx,
        };
        handle.send(cmd).await?;
        self.sessions.insert(id.clone(), handle);
        Ok(info_reply(rx, request_id, id, gate))
    }

    fn session(&self, id: &SessionId) -> Result<SessionHandle, CmdError> {
        self.sessions.get(id).cloned().ok_or_else(|| {
            CmdError::new(
                ErrorCode::NoSuchUser,
                "join or resume the session on this connection first",
            )
        })
    }

    /// `message` and `notify`.
    async fn send(
        &mut self,
        request_id: Option<u64>,
        session_id: &str,
        visibility: parley_proto::basic::Visibility,
        receiver: Option<String>,
        client_msg_id: Option<String>,
        body: SendBody,
    ) -> Reply {
        let user = self.user()?;
        let id: SessionId = parse(session_id)?;
        let handle = self.session(&id)?;
        let req = SendRequest {
            from: user.id.clone(),
            visibility: map::visibility(visibility),
            receiver: receiver.as_deref().map(parse::<PartyId>).transpose()?,
            client_msg_id: client_msg_id
                .as_deref()
                .map(parse::<ClientMsgId>)
                .transpose()?,
            body,
        };
        let (tx, rx) = oneshot::channel();
        handle
            .send(Command::Send {
                req,
                key: None,
                reply: tx,
            })
            .await?;
        Ok(ack_reply(rx, request_id, id))
    }

    /// `notify` `SYS_COMMAND` `file-uploaded` (announce a document stored through
    /// `POST /basic/v1/documents`, named by `file-document-id`) or `file-deleted` (by
    /// `file-id`).
    async fn file_notice(
        &mut self,
        request_id: Option<u64>,
        session_id: &str,
        command: Option<&str>,
        user_data: UserData,
    ) -> Reply {
        let user = self.user()?;
        let id: SessionId = parse(session_id)?;
        let handle = self.session(&id)?;
        let (party, key) = (user.id.clone(), user.key_hash);
        let (tx, rx) = oneshot::channel();
        let op = if command == Some(FILE_DELETED) {
            let file_id = user_data
                .get("file-id")
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| {
                    CmdError::new(
                        ErrorCode::InvalidField,
                        "file-deleted needs a numeric file-id",
                    )
                })?;
            FileOp::Delete { file_id, reply: tx }
        } else {
            let document_id = user_data.get("file-document-id").ok_or_else(|| {
                CmdError::new(
                    ErrorCode::InvalidField,
                    "file-uploaded needs file-document-id",
                )
            })?;
            let doc = self
                .state
                .store
                .get_document(document_id)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "could not read a document");
                    CmdError::new(ErrorCode::Internal, "the document could not be read")
                })?
                .filter(|d| d.session == id)
                .ok_or_else(|| {
                    CmdError::new(ErrorCode::InvalidField, "no such document in this session")
                })?;
            let file = UploadedFile {
                document_id: doc.id,
                name: doc.name,
                size: doc.content.len() as u64,
                mime: doc.mime,
                description: user_data.get("file-description").cloned(),
            };
            FileOp::Upload { file, reply: tx }
        };
        handle.send(Command::File { party, key, op }).await?;
        Ok(ack_reply(rx, request_id, id))
    }

    /// `release`: leave a session.
    async fn release(
        &mut self,
        request_id: Option<u64>,
        session_id: &str,
        action: parley_proto::basic::AfterAction,
        text: Option<String>,
    ) -> Reply {
        let user = self.user()?;
        let id: SessionId = parse(session_id)?;
        let handle = self.session(&id)?;
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Release {
            party: user.id.clone(),
            key: None,
            action: map::after_action(action),
            text,
            reply: tx,
        };
        handle.send(cmd).await?;
        self.sessions.remove(&id);
        let sid = id.to_string();
        Ok(async move {
            match rx.await {
                Ok(Ok(())) => ServerFrame::Released {
                    request_id,
                    session_id: sid,
                },
                Ok(Err(e)) => error_frame(request_id, Some(&sid), e),
                Err(_) => ServerFrame::error(
                    request_id,
                    Some(sid),
                    ErrorCode::SessionOver,
                    "the chat session is over",
                ),
            }
        }
        .map(|frame| (frame, None))
        .boxed())
    }
}

/// The future of an `ack` reply.
fn ack_reply(
    rx: oneshot::Receiver<Result<actor::Acked, CmdError>>,
    request_id: Option<u64>,
    id: SessionId,
) -> Pending {
    async move {
        match customer::reply(rx).await {
            Ok(ack) => ServerFrame::Ack {
                request_id,
                session_id: id.to_string(),
                event_id: ack.event_id.0,
                duplicate: ack.duplicate,
            },
            Err(e) => error_frame(request_id, Some(id.as_str()), e),
        }
    }
    .map(|frame| (frame, None))
    .boxed()
}

/// The future of a `sessionInfo` reply, which opens `gate` (the subscription's pushes
/// follow the reply).
fn info_reply(
    rx: oneshot::Receiver<Result<SessionSnapshot, CmdError>>,
    request_id: Option<u64>,
    id: SessionId,
    gate: Arc<ReplyGate>,
) -> Pending {
    async move {
        match rx.await {
            Ok(Ok(snapshot)) => with_request_id(map::render_snapshot(snapshot), request_id),
            Ok(Err(e)) => error_frame(request_id, Some(id.as_str()), e),
            Err(_) => ServerFrame::error(
                request_id,
                Some(id.to_string()),
                ErrorCode::SessionOver,
                "the chat session is over",
            ),
        }
    }
    .map(move |frame| (frame, Some(gate)))
    .boxed()
}

/// The request id and session id of a frame, for error replies.
fn frame_ids(frame: &ClientFrame) -> (Option<u64>, Option<String>) {
    match frame {
        ClientFrame::Register { request_id, .. }
        | ClientFrame::CreateSession { request_id, .. } => (*request_id, None),
        ClientFrame::Join {
            request_id,
            session_id,
            ..
        }
        | ClientFrame::Resume {
            request_id,
            session_id,
            ..
        }
        | ClientFrame::Message {
            request_id,
            session_id,
            ..
        }
        | ClientFrame::Notify {
            request_id,
            session_id,
            ..
        }
        | ClientFrame::Release {
            request_id,
            session_id,
            ..
        } => (*request_id, Some(session_id.clone())),
    }
}
