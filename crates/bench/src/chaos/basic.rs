//! Basic-protocol parties of the chaos run (WebSocket): the basic customer, and the agent
//! of every chat (registered as AGENT with the API key, joined to the session by id —
//! the agent kind `AgentKind::BasicApiKey`). When its connection drops or the instance
//! answers `UNAVAILABLE`, a party reconnects (to the next instance up if that fails),
//! registers again with its `resume` identity and sends `resume` with the last event id
//! it has; it is then sent exactly what it missed.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use parley_proto::basic::{
    AfterAction, ClientFrame, Credentials, PartyType, ResumeIdentity, ServerFrame, Visibility,
    WireEvent,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::chat::{text, Chat, AGENT, CUSTOMER};
use super::party::{Fail, Pace, Run};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One basic party: its identity and, while connected, its socket.
pub struct Basic {
    party: usize,
    nickname: String,
    user_id: String,
    secure_key: String,
    session: String,
    /// The highest event id received (what `resume` names).
    last_event: u64,
    /// Every event id received: on a `resume`, events emitted after it may arrive before
    /// its reply, which carries the missed ones, so ids are de-duplicated as a set (as the
    /// widget does), not against the highest.
    seen: std::collections::HashSet<u64>,
    next_request: u64,
    conn: Option<(Ws, usize)>,
    /// The instance of the last connection attempt.
    tried: usize,
    /// Releasing: the end of the session is expected.
    closing: bool,
}

fn party_type(party: usize) -> PartyType {
    if party == AGENT {
        PartyType::Agent
    } else {
        PartyType::Client
    }
}

async fn connect(run: &Run, i: usize) -> Result<Ws, Fail> {
    let url = format!("ws://{}/basic", run.lb.addrs[i]);
    match tokio::time::timeout(run.timeout, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(Fail::Retry(format!(
            "connect: {}",
            crate::client::basic::short(&e.to_string())
        ))),
        Err(_) => Err(Fail::Retry("connect: timed out".into())),
    }
}

impl Basic {
    fn credentials(&self, run: &Run) -> Option<Credentials> {
        (self.party == AGENT).then(|| Credentials {
            api_key: Some(run.api_key.clone()),
            agent_token: None,
        })
    }

    fn request_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Sends `frame` and waits for the reply to `id`, handing every event that arrives
    /// meanwhile to the ledger.
    async fn call(
        &mut self,
        run: &Run,
        chat: &Chat,
        id: u64,
        frame: &ClientFrame,
        what: &str,
    ) -> Result<ServerFrame, Fail> {
        let json = serde_json::to_string(frame).map_err(|e| Fail::Fatal(e.to_string()))?;
        let Some((ws, _)) = self.conn.as_mut() else {
            return Err(Fail::Retry(format!("{what}: not connected")));
        };
        if let Err(e) = ws.send(Message::Text(json.into())).await {
            self.conn = None;
            return Err(Fail::Retry(format!("{what}: send: {e}")));
        }
        let deadline = tokio::time::Instant::now() + run.timeout;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.read()).await {
                Err(_) => {
                    self.conn = None;
                    return Err(Fail::Retry(format!(
                        "{what}: no reply within {:?}",
                        run.timeout
                    )));
                }
                Ok(Err(f)) => return Err(f),
                Ok(Ok(f)) => f,
            };
            match frame {
                ServerFrame::Error {
                    request_id: Some(r),
                    code,
                    ..
                } if r == id => {
                    if code == parley_proto::ErrorCode::Unavailable {
                        self.conn = None;
                    }
                    return Err(Fail::code(code, what));
                }
                f if reply_id(&f) == Some(id) => return Ok(f),
                f => self.handle(chat, f)?,
            }
        }
    }

    /// The next frame; a closed connection is a `Retry`.
    async fn read(&mut self) -> Result<ServerFrame, Fail> {
        let Some((ws, _)) = self.conn.as_mut() else {
            return Err(Fail::Retry("not connected".into()));
        };
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(&t)
                        .map_err(|e| Fail::Fatal(format!("undecodable frame: {e}")));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    self.conn = None;
                    return Err(Fail::Retry("connection closed".into()));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    fn event(&mut self, chat: &Chat, e: &WireEvent) {
        if !self.seen.insert(e.event_id) {
            // A repeat: a message counts as received twice (a duplicate).
            chat.problem(format!(
                "party {} got event {} again",
                self.party, e.event_id
            ));
        } else if e.event_id < self.last_event {
            chat.note_out_of_order();
        }
        self.last_event = self.last_event.max(e.event_id);
        if e.kind == "message" {
            if let Some(t) = &e.text {
                chat.received(self.party, t);
            }
        }
    }

    /// An unsolicited frame.
    fn handle(&mut self, chat: &Chat, f: ServerFrame) -> Result<(), Fail> {
        match f {
            ServerFrame::Event { event, .. } => self.event(chat, &event),
            ServerFrame::SessionOver { end, .. } if !self.closing => {
                return Err(Fail::Fatal(format!(
                    "session over: {} {}",
                    end.ended_by, end.reason
                )));
            }
            _ => {}
        }
        Ok(())
    }

    async fn register(&mut self, run: &Run, chat: &Chat, resume: bool) -> Result<(), Fail> {
        let id = self.request_id();
        let frame = ClientFrame::Register {
            request_id: Some(id),
            nickname: self.nickname.clone(),
            party_type: party_type(self.party),
            client_version: Some(106),
            credentials: self.credentials(run),
            resume: resume.then(|| ResumeIdentity {
                user_id: self.user_id.clone(),
                secure_key: self.secure_key.clone(),
            }),
        };
        match self.call(run, chat, id, &frame, "register").await? {
            ServerFrame::Registered {
                user_id,
                secure_key,
                ..
            } => {
                self.user_id = user_id;
                self.secure_key = secure_key;
                Ok(())
            }
            other => Err(Fail::Fatal(format!("register: unexpected {other:?}"))),
        }
    }

    fn info(&mut self, chat: &Chat, f: ServerFrame, what: &str) -> Result<String, Fail> {
        match f {
            ServerFrame::SessionInfo {
                session_id, events, ..
            } => {
                for e in &events {
                    self.event(chat, e);
                }
                Ok(session_id)
            }
            other => Err(Fail::Fatal(format!("{what}: unexpected {other:?}"))),
        }
    }

    /// A party connected to instance `i`; the customer creates the session (`session`
    /// None), the agent joins it.
    pub async fn open(
        run: &Run,
        chat: &Chat,
        party: usize,
        i: usize,
        session: Option<&str>,
    ) -> anyhow::Result<Basic> {
        let bad = |f: Fail| anyhow::anyhow!("{f:?}");
        let mut b = Basic {
            party,
            nickname: if party == AGENT {
                format!("Agent{}", chat.index)
            } else {
                format!("Cust{}", chat.index)
            },
            user_id: String::new(),
            secure_key: String::new(),
            session: String::new(),
            last_event: 0,
            seen: Default::default(),
            next_request: 1 << 40,
            conn: Some((connect(run, i).await.map_err(bad)?, i)),
            tried: i,
            closing: false,
        };
        b.register(run, chat, false).await.map_err(bad)?;
        let id = b.request_id();
        let (frame, what) = match session {
            None => (
                ClientFrame::CreateSession {
                    request_id: Some(id),
                    user_data: Default::default(),
                    subject: Some("chaos".into()),
                    endpoint: None,
                },
                "createSession",
            ),
            Some(s) => (
                ClientFrame::Join {
                    request_id: Some(id),
                    session_id: s.to_owned(),
                    visibility: Visibility::All,
                    user_data: Default::default(),
                },
                "join",
            ),
        };
        let reply = b.call(run, chat, id, &frame, what).await.map_err(bad)?;
        b.session = b.info(chat, reply, what).map_err(bad)?;
        Ok(b)
    }

    /// The session id.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// Connects to the chat's instance and resumes, unless connected.
    async fn ensure(&mut self, run: &Run, chat: &Chat) -> Result<usize, Fail> {
        if let Some((_, i)) = &self.conn {
            return Ok(*i);
        }
        let i = chat.instance(&run.lb);
        self.tried = i;
        self.conn = Some((connect(run, i).await?, i));
        self.register(run, chat, true).await?;
        let id = self.request_id();
        let frame = ClientFrame::Resume {
            request_id: Some(id),
            session_id: self.session.clone(),
            last_event_id: self.last_event,
        };
        let reply = self.call(run, chat, id, &frame, "resume").await?;
        self.info(chat, reply, "resume")?;
        Ok(i)
    }

    async fn send(&mut self, run: &Run, chat: &Chat, seq: u64) -> Result<usize, Fail> {
        let i = self.ensure(run, chat).await?;
        let t = text(chat.index, self.party, seq);
        let id = self.request_id();
        let frame = ClientFrame::Message {
            request_id: Some(id),
            session_id: self.session.clone(),
            text: t.clone(),
            visibility: Visibility::All,
            receiver_id: None,
            message_type: None,
            client_message_id: Some(t),
        };
        match self.call(run, chat, id, &frame, "message").await? {
            ServerFrame::Ack { .. } => Ok(i),
            other => Err(Fail::Fatal(format!("message: unexpected {other:?}"))),
        }
    }

    /// Reads events for up to `wait`.
    async fn listen(&mut self, run: &Run, chat: &Chat, wait: Duration) -> Result<(), Fail> {
        self.ensure(run, chat).await?;
        match tokio::time::timeout(wait, self.read()).await {
            Err(_) => Ok(()),
            Ok(Err(f)) => Err(f),
            Ok(Ok(f)) => self.handle(chat, f),
        }
    }

    /// The party's loop until the run drains; the agent then closes the chat
    /// (`release` with `ForceClose`).
    pub async fn run(
        mut self,
        run: Arc<Run>,
        chat: Arc<Chat>,
        mine: Arc<AtomicBool>,
        other: Arc<AtomicBool>,
    ) {
        let mut pace = Pace::new(
            self.party,
            if self.party == CUSTOMER {
                run.interval / 2
            } else {
                run.interval
            },
            mine,
        );
        while !pace.done(&run, &chat, &other) {
            let result = match pace.due(&run, &chat) {
                Some(seq) => self.send(&run, &chat, seq).await.map(Some),
                None => self
                    .listen(&run, &chat, pace.idle(&run))
                    .await
                    .map(|()| None),
            };
            match result {
                Ok(Some(i)) => pace.acked(&run, &chat, i),
                Ok(None) => {}
                Err(f) => {
                    self.conn = None;
                    if !pace.failed(&run, &chat, self.tried, f).await {
                        return;
                    }
                }
            }
        }
        if self.party == AGENT && !chat.broken.load(std::sync::atomic::Ordering::SeqCst) {
            self.close(&run, &chat).await;
        }
    }

    /// `release` with `ForceClose`, retried on the next instance while it fails.
    async fn close(&mut self, run: &Run, chat: &Chat) {
        self.closing = true;
        let mut fails = 0;
        let deadline = tokio::time::Instant::now() + run.timeout * 4;
        loop {
            let r = async {
                self.ensure(run, chat).await?;
                let id = self.request_id();
                let frame = ClientFrame::Release {
                    request_id: Some(id),
                    session_id: self.session.clone(),
                    after_action: AfterAction::ForceClose,
                    text: None,
                };
                self.call(run, chat, id, &frame, "release").await
            }
            .await;
            match r {
                Ok(ServerFrame::Released { .. }) => return,
                Ok(other) => {
                    chat.give_up(format!("release: unexpected {other:?}"));
                    return;
                }
                Err(Fail::Fatal(m)) => {
                    chat.give_up(format!("release: {m}"));
                    return;
                }
                Err(Fail::Retry(m)) => {
                    if tokio::time::Instant::now() > deadline {
                        chat.give_up(format!("release never succeeded: {m}"));
                        return;
                    }
                    self.conn = None;
                    chat.rotate(&run.lb, self.tried);
                    fails += 1;
                    tokio::time::sleep(super::chat::backoff(fails)).await;
                }
            }
        }
    }
}

/// The request id a reply answers.
fn reply_id(f: &ServerFrame) -> Option<u64> {
    match f {
        ServerFrame::Registered { request_id, .. }
        | ServerFrame::SessionInfo { request_id, .. }
        | ServerFrame::Ack { request_id, .. }
        | ServerFrame::Released { request_id, .. }
        | ServerFrame::Error { request_id, .. } => *request_id,
        _ => None,
    }
}
