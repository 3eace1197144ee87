//! A flex-protocol customer: `login`, `join` (which creates the session), `send`, and a
//! long-poll `refresh` loop in its own task that feeds received messages to the ledger
//! the moment a reply arrives. Sends are HTTP requests that each wait for the durable
//! commit, so they run concurrently (bounded per customer) instead of one after another:
//! otherwise one slow commit would throttle the offered rate and hide the latency.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use parley_proto::flex::{FlexReply, JoinRequest, LoginRequest, RefreshRequest, SendRequest};
use serde::Serialize;
use tokio::sync::watch;

use super::background::Background;
use super::{is_end_code, Ctx};
use crate::client::basic::short;
use crate::ledger::{SharedLedger, CUSTOMER};
use crate::stats::Stats;

/// A flex customer with a session.
pub struct Customer {
    http: reqwest::Client,
    base: String,
    user_id: String,
    secure_key: String,
    /// The session.
    pub session_id: String,
    bg: Background,
}

/// POSTs `body` to `/flex/v1/{path}` and decodes the reply (HTTP errors carry a
/// `FlexReply` too).
async fn post<T: Serialize>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: &T,
) -> anyhow::Result<FlexReply> {
    let r = http
        .post(format!("{base}/flex/v1/{path}"))
        .json(body)
        .send()
        .await
        .map_err(|e| anyhow!("http: {}", short(&e.to_string())))?;
    let status = r.status();
    r.json::<FlexReply>()
        .await
        .map_err(|e| anyhow!("http {status}: undecodable reply: {e}"))
}

impl Customer {
    /// Logs in and starts a session.
    pub async fn open(
        ctx: &Arc<Ctx>,
        ledger: &SharedLedger,
        nickname: &str,
    ) -> anyhow::Result<Customer> {
        let http = ctx.http.client();
        let base = ctx.http.base.clone();
        let login = post(
            &http,
            &base,
            "login",
            &LoginRequest {
                nickname: Some(nickname.to_owned()),
                email_address: Some("bench@example.com".into()),
                ..LoginRequest::default()
            },
        )
        .await?;
        let (Some(user_id), Some(secure_key)) = (login.user_id, login.secure_key) else {
            bail!("login failed: {:?}", login.error);
        };
        let joined = post(
            &http,
            &base,
            "join",
            &JoinRequest {
                user_id: user_id.clone(),
                secure_key: secure_key.clone(),
                session_id: None,
                transcript_position: None,
                subject: Some("parley-bench".into()),
                endpoint: None,
                user_data: Default::default(),
            },
        )
        .await?;
        if let Some(e) = &joined.error {
            ctx.stats.error_code(e.code);
            bail!("join failed: {} {}", e.code.number(), e.message);
        }
        let (Some(session_id), Some(next)) = (joined.session_id, joined.next_position) else {
            bail!("join reply without sessionId/nextPosition");
        };
        let (tx, ended) = watch::channel(false);
        let poller = tokio::spawn(poll(
            http.clone(),
            base.clone(),
            RefreshRequest {
                user_id: user_id.clone(),
                secure_key: secure_key.clone(),
                session_id: session_id.clone(),
                transcript_position: next,
                wait_ms: ctx.flex_wait_ms,
            },
            ledger.clone(),
            ctx.stats.clone(),
            tx,
        ));
        Ok(Customer {
            http,
            base,
            user_id,
            secure_key,
            session_id,
            bg: Background::new(poller, ended, ctx.stats.clone()),
        })
    }

    /// Sends one generated message; the reply is handled by a task of its own.
    pub async fn send(&mut self, ledger: &SharedLedger, size: usize) {
        let stamp = ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next(CUSTOMER, self.bg.stats());
        let body = SendRequest {
            user_id: self.user_id.clone(),
            secure_key: self.secure_key.clone(),
            session_id: self.session_id.clone(),
            text: stamp.text(size),
            message_type: None,
            client_message_id: None,
            transcript_position: None,
        };
        let (http, base, ledger, stats) = (
            self.http.clone(),
            self.base.clone(),
            ledger.clone(),
            self.bg.stats().clone(),
        );
        self.bg
            .spawn_send(async move {
                let r = post(&http, &base, "send", &body).await;
                let mut l = ledger.lock().unwrap_or_else(|e| e.into_inner());
                match r {
                    Ok(FlexReply { error: Some(e), .. }) => {
                        stats.error_code(e.code);
                        l.failed(stamp.seq, &stats);
                    }
                    Ok(_) => l.acked(stamp.seq, &stats),
                    Err(e) => {
                        stats.error(format!("client: flex send: {e}"));
                        l.failed(stamp.seq, &stats);
                    }
                }
            })
            .await;
    }

    /// Waits until a refresh reports the chat ended.
    pub async fn wait_end(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.bg.wait_end(timeout, "flex").await
    }

    /// Stops the refresh loop and waits for sends still in flight.
    pub async fn close(self) {
        self.bg.close().await;
    }
}

/// The long-poll loop: refresh from the last `nextPosition` until the chat ends.
async fn poll(
    http: reqwest::Client,
    base: String,
    mut req: RefreshRequest,
    ledger: SharedLedger,
    stats: Arc<Stats>,
    ended: watch::Sender<bool>,
) {
    loop {
        match post(&http, &base, "refresh", &req).await {
            Ok(r) => {
                if let Some(e) = r.error {
                    if !is_end_code(e.code) {
                        stats.error_code(e.code);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    let _ = ended.send(true);
                    return;
                }
                if let Some(events) = &r.events {
                    let mut l = ledger.lock().unwrap_or_else(|e| e.into_inner());
                    for e in events.iter().filter(|e| e.kind == "message") {
                        if let Some(t) = &e.text {
                            l.delivered(CUSTOMER, t, &stats);
                        }
                    }
                }
                if let Some(n) = r.next_position {
                    req.transcript_position = n;
                }
                if r.chat_ended == Some(true) {
                    let _ = ended.send(true);
                    return;
                }
            }
            Err(e) => {
                stats.error(format!("client: flex refresh: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
