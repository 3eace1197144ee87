//! The HTTP customers of the chaos run, GMS Chat API v2 and flex: connectionless, so a
//! failover is just their next request going to another instance, which re-admits them
//! once it has restored the session (until the dead owner's lease lapses it answers
//! `UNAVAILABLE`, 503). Each loop sends (paced by `Pace`) and refreshes from the position
//! it holds; what a refresh brings is checked against the ledger.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parley_proto::flex::{FlexReply, JoinRequest, LoginRequest, RefreshRequest, SendRequest};
use parley_proto::gms::GmsResponse;
use parley_proto::ErrorCode;
use serde::Serialize;

use super::chat::{text, Chat, CUSTOMER};
use super::party::{Fail, Pace, Run, RUNNING};

/// A GMS customer's identity.
pub struct Gms {
    chat_id: String,
    auth: Vec<(String, String)>,
    next: u64,
}

/// A flex customer's identity.
pub struct Flex {
    user_id: String,
    secure_key: String,
    session_id: String,
    next: u64,
}

fn transport(what: &str, e: &reqwest::Error) -> Fail {
    Fail::Retry(format!(
        "{what}: {}",
        crate::client::basic::short(&e.to_string())
    ))
}

async fn gms_post(
    run: &Run,
    url: &str,
    form: &[(&str, &str)],
    what: &str,
) -> Result<GmsResponse, Fail> {
    let r = run
        .http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| transport(what, &e))?;
    let status = r.status();
    let body: GmsResponse = r
        .json()
        .await
        .map_err(|e| Fail::Retry(format!("{what}: http {status}: {e}")))?;
    if body.status_code != 0 {
        let n = body
            .errors
            .as_ref()
            .and_then(|e| e.first())
            .map_or(5000, |e| e.code);
        return Err(Fail::code(
            ErrorCode::from_number(n).unwrap_or(ErrorCode::Internal),
            what,
        ));
    }
    Ok(body)
}

impl Gms {
    /// Requests a chat on instance `i`; returns the chat id too.
    pub async fn open(run: &Run, i: usize, nickname: &str) -> anyhow::Result<Gms> {
        let url = format!("{}/genesys/2/chat/{}", run.base(i), run.gms_service);
        let r = gms_post(
            run,
            &url,
            &[("nickname", nickname), ("subject", "chaos")],
            "request chat",
        )
        .await
        .map_err(|f| anyhow::anyhow!("{f:?}"))?;
        let (Some(user), Some(key), Some(chat_id)) = (r.user_id, r.secure_key, r.chat_id) else {
            anyhow::bail!("request-chat reply without userId/secureKey/chatId");
        };
        Ok(Gms {
            chat_id,
            auth: vec![
                ("userId".into(), user),
                ("secureKey".into(), key),
                ("alias".into(), r.alias.unwrap_or_default()),
            ],
            next: r.next_position.unwrap_or(1),
        })
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.chat_id
    }

    fn url(&self, run: &Run, i: usize, op: &str) -> String {
        format!(
            "{}/genesys/2/chat/{}/{}/{op}",
            run.base(i),
            run.gms_service,
            self.chat_id
        )
    }

    fn form<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut f: Vec<(&str, &str)> = self
            .auth
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        f.extend_from_slice(extra);
        f
    }

    async fn send(&self, run: &Run, i: usize, chat: &Chat, seq: u64) -> Result<(), Fail> {
        let t = text(chat.index, CUSTOMER, seq);
        let form = self.form(&[("message", &t), ("clientMessageId", &t)]);
        gms_post(run, &self.url(run, i, "send"), &form, "gms send")
            .await
            .map(drop)
    }

    async fn refresh(&mut self, run: &Run, i: usize, chat: &Chat) -> Result<(), Fail> {
        let pos = self.next.to_string();
        let form = self.form(&[("transcriptPosition", &pos)]);
        let r = gms_post(run, &self.url(run, i, "refresh"), &form, "gms refresh").await?;
        for m in r.messages.iter().flatten() {
            if m.index < self.next {
                chat.problem(format!(
                    "gms refresh from {} repeated index {}",
                    self.next, m.index
                ));
                continue;
            }
            if m.kind == "Message" {
                if let Some(t) = &m.text {
                    chat.received(CUSTOMER, t);
                }
            }
        }
        if let Some(n) = r.next_position {
            self.next = self.next.max(n);
        }
        if r.chat_ended == Some(true) {
            // Once the run drains, the agent closes each chat as soon as it has all the
            // customer sent: the normal end for a customer that has all the agent sent,
            // even if this refresh was on its way when the close came.
            if run.phase() != RUNNING && chat.has_all_for(CUSTOMER) {
                return Ok(());
            }
            return Err(Fail::Fatal("gms refresh: the chat ended".into()));
        }
        Ok(())
    }

    /// The customer's loop until the run drains.
    pub async fn run(
        mut self,
        run: Arc<Run>,
        chat: Arc<Chat>,
        mine: Arc<AtomicBool>,
        other: Arc<AtomicBool>,
    ) {
        let mut pace = Pace::new(CUSTOMER, run.interval / 2, mine);
        while !pace.done(&run, &chat, &other) {
            if let Some(seq) = pace.due(&run, &chat) {
                let i = chat.instance(&run.lb);
                match self.send(&run, i, &chat, seq).await {
                    Ok(()) => pace.acked(&run, &chat, i),
                    Err(f) => {
                        if !pace.failed(&run, &chat, i, f).await {
                            return;
                        }
                        continue;
                    }
                }
            }
            let i = chat.instance(&run.lb);
            if let Err(f) = self.refresh(&run, i, &chat).await {
                if !pace.failed(&run, &chat, i, f).await {
                    return;
                }
                continue;
            }
            tokio::time::sleep(pace.idle(&run)).await;
        }
    }
}

async fn flex_post<T: Serialize>(
    run: &Run,
    i: usize,
    op: &str,
    body: &T,
) -> Result<FlexReply, Fail> {
    let what = format!("flex {op}");
    let r = run
        .http
        .post(format!("{}/flex/v1/{op}", run.base(i)))
        .json(body)
        .send()
        .await
        .map_err(|e| transport(&what, &e))?;
    let status = r.status();
    let body: FlexReply = r
        .json()
        .await
        .map_err(|e| Fail::Retry(format!("{what}: http {status}: {e}")))?;
    match &body.error {
        Some(e) => Err(Fail::code(e.code, &what)),
        None => Ok(body),
    }
}

impl Flex {
    /// Logs in and starts a session on instance `i`.
    pub async fn open(run: &Run, i: usize, nickname: &str) -> anyhow::Result<Flex> {
        let bad = |f: Fail| anyhow::anyhow!("{f:?}");
        let login = flex_post(
            run,
            i,
            "login",
            &LoginRequest {
                nickname: Some(nickname.to_owned()),
                ..LoginRequest::default()
            },
        )
        .await
        .map_err(bad)?;
        let (Some(user_id), Some(secure_key)) = (login.user_id, login.secure_key) else {
            anyhow::bail!("flex login without userId/secureKey");
        };
        let joined = flex_post(
            run,
            i,
            "join",
            &JoinRequest {
                user_id: user_id.clone(),
                secure_key: secure_key.clone(),
                session_id: None,
                transcript_position: None,
                subject: Some("chaos".into()),
                endpoint: None,
                user_data: Default::default(),
            },
        )
        .await
        .map_err(bad)?;
        let (Some(session_id), Some(next)) = (joined.session_id, joined.next_position) else {
            anyhow::bail!("flex join without sessionId/nextPosition");
        };
        Ok(Flex {
            user_id,
            secure_key,
            session_id,
            next,
        })
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.session_id
    }

    async fn send(&self, run: &Run, i: usize, chat: &Chat, seq: u64) -> Result<(), Fail> {
        let t = text(chat.index, CUSTOMER, seq);
        let body = SendRequest {
            user_id: self.user_id.clone(),
            secure_key: self.secure_key.clone(),
            session_id: self.session_id.clone(),
            text: t.clone(),
            message_type: None,
            client_message_id: Some(t),
            transcript_position: None,
        };
        flex_post(run, i, "send", &body).await.map(drop)
    }

    async fn refresh(&mut self, run: &Run, i: usize, chat: &Chat) -> Result<(), Fail> {
        let body = RefreshRequest {
            user_id: self.user_id.clone(),
            secure_key: self.secure_key.clone(),
            session_id: self.session_id.clone(),
            transcript_position: self.next,
            wait_ms: 0,
        };
        let r = flex_post(run, i, "refresh", &body).await?;
        for e in r.events.iter().flatten() {
            if e.event_id < self.next {
                chat.problem(format!(
                    "flex refresh from {} repeated event {}",
                    self.next, e.event_id
                ));
                continue;
            }
            if e.kind == "message" {
                if let Some(t) = &e.text {
                    chat.received(CUSTOMER, t);
                }
            }
        }
        if let Some(n) = r.next_position {
            self.next = self.next.max(n);
        }
        Ok(())
    }

    /// The customer's loop until the run drains.
    pub async fn run(
        mut self,
        run: Arc<Run>,
        chat: Arc<Chat>,
        mine: Arc<AtomicBool>,
        other: Arc<AtomicBool>,
    ) {
        let mut pace = Pace::new(CUSTOMER, run.interval / 2, mine);
        while !pace.done(&run, &chat, &other) {
            if let Some(seq) = pace.due(&run, &chat) {
                let i = chat.instance(&run.lb);
                match self.send(&run, i, &chat, seq).await {
                    Ok(()) => pace.acked(&run, &chat, i),
                    Err(f) => {
                        if !pace.failed(&run, &chat, i, f).await {
                            return;
                        }
                        continue;
                    }
                }
            }
            let i = chat.instance(&run.lb);
            if let Err(f) = self.refresh(&run, i, &chat).await {
                if !pace.failed(&run, &chat, i, f).await {
                    return;
                }
                continue;
            }
            tokio::time::sleep(pace.idle(&run)).await;
        }
    }
}
