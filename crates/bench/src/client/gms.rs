//! A GMS Chat API v2 customer (`/genesys/2/chat/{service}`): request a chat, send, and
//! refresh. The v2 refresh answers at once (it does not long-poll), so, like a real GMS
//! web client, this one polls every `--gms-poll-ms`; its delivery latency therefore
//! includes up to one poll interval by design. Forms are urlencoded.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use parley_proto::gms::GmsResponse;
use parley_proto::ErrorCode;
use tokio::sync::watch;

use super::background::Background;
use super::{is_end_code, Ctx};
use crate::client::basic::short;
use crate::ledger::{SharedLedger, CUSTOMER};
use crate::stats::Stats;

/// A GMS customer with a chat.
pub struct Customer {
    http: reqwest::Client,
    /// `http://addr/genesys/2/chat/{service}/{chatId}`.
    chat_url: String,
    auth: Arc<[(String, String); 3]>,
    /// The chat (session) id.
    pub chat_id: String,
    bg: Background,
}

/// POSTs a form and decodes the v2 envelope.
async fn post(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<GmsResponse> {
    let r = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| anyhow!("http: {}", short(&e.to_string())))?;
    let status = r.status();
    r.json::<GmsResponse>()
        .await
        .map_err(|e| anyhow!("http {status}: undecodable reply: {e}"))
}

/// The first error code of a failed reply.
fn error_of(r: &GmsResponse) -> Option<ErrorCode> {
    if r.status_code == 0 {
        return None;
    }
    let n = r.errors.as_ref()?.first()?.code;
    Some(ErrorCode::from_number(n).unwrap_or(ErrorCode::Internal))
}

impl Customer {
    /// Requests a chat.
    pub async fn open(
        ctx: &Arc<Ctx>,
        ledger: &SharedLedger,
        nickname: &str,
    ) -> anyhow::Result<Customer> {
        let http = ctx.http.client();
        let service_url = format!("{}/genesys/2/chat/{}", ctx.http.base, ctx.gms_service);
        let r = post(
            &http,
            &service_url,
            &[
                ("nickname", nickname),
                ("emailAddress", "bench@example.com"),
                ("subject", "parley-bench"),
            ],
        )
        .await?;
        if let Some(code) = error_of(&r) {
            ctx.stats.error_code(code);
            bail!("request chat failed: {} {}", code.number(), code.name());
        }
        let (Some(user_id), Some(secure_key), Some(chat_id)) = (r.user_id, r.secure_key, r.chat_id)
        else {
            bail!("request-chat reply without userId/secureKey/chatId");
        };
        let auth = Arc::new([
            ("userId".to_owned(), user_id),
            ("secureKey".to_owned(), secure_key),
            ("alias".to_owned(), r.alias.unwrap_or_default()),
        ]);
        let chat_url = format!("{service_url}/{chat_id}");
        let (tx, ended) = watch::channel(false);
        let poller = tokio::spawn(poll(
            http.clone(),
            chat_url.clone(),
            auth.clone(),
            r.next_position.unwrap_or(1),
            ctx.gms_poll,
            ledger.clone(),
            ctx.stats.clone(),
            tx,
        ));
        Ok(Customer {
            http,
            chat_url,
            auth,
            chat_id,
            bg: Background::new(poller, ended, ctx.stats.clone()),
        })
    }

    /// Sends one generated message; the reply is handled by a task of its own.
    pub async fn send(&mut self, ledger: &SharedLedger, size: usize) {
        let stamp = ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next(CUSTOMER, self.bg.stats());
        let text = stamp.text(size);
        let (http, url, auth, ledger, stats) = (
            self.http.clone(),
            format!("{}/send", self.chat_url),
            self.auth.clone(),
            ledger.clone(),
            self.bg.stats().clone(),
        );
        self.bg
            .spawn_send(async move {
                let mut form: Vec<(&str, &str)> =
                    auth.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                form.push(("message", &text));
                let r = post(&http, &url, &form).await;
                let mut l = ledger.lock().unwrap_or_else(|e| e.into_inner());
                match r {
                    Ok(r) => match error_of(&r) {
                        Some(code) => {
                            stats.error_code(code);
                            l.failed(stamp.seq, &stats);
                        }
                        None => l.acked(stamp.seq, &stats),
                    },
                    Err(e) => {
                        stats.error(format!("client: gms send: {e}"));
                        l.failed(stamp.seq, &stats);
                    }
                }
            })
            .await;
    }

    /// Waits until a refresh reports the chat ended.
    pub async fn wait_end(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.bg.wait_end(timeout, "GMS").await
    }

    /// Stops polling and waits for sends still in flight.
    pub async fn close(self) {
        self.bg.close().await;
    }
}

/// The polling loop: refresh from the last `nextPosition` every `every` until the chat
/// ends.
#[allow(clippy::too_many_arguments)]
async fn poll(
    http: reqwest::Client,
    chat_url: String,
    auth: Arc<[(String, String); 3]>,
    mut next: u64,
    every: Duration,
    ledger: SharedLedger,
    stats: Arc<Stats>,
    ended: watch::Sender<bool>,
) {
    let url = format!("{chat_url}/refresh");
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let pos = next.to_string();
        let mut form: Vec<(&str, &str)> =
            auth.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form.push(("transcriptPosition", &pos));
        match post(&http, &url, &form).await {
            Ok(r) => {
                if let Some(code) = error_of(&r) {
                    if is_end_code(code) {
                        let _ = ended.send(true);
                        return;
                    }
                    stats.error_code(code);
                    continue;
                }
                if let Some(msgs) = &r.messages {
                    let mut l = ledger.lock().unwrap_or_else(|e| e.into_inner());
                    for m in msgs.iter().filter(|m| m.kind == "Message") {
                        if let Some(t) = &m.text {
                            l.delivered(CUSTOMER, t, &stats);
                        }
                    }
                }
                if let Some(n) = r.next_position {
                    next = n;
                }
                if r.chat_ended == Some(true) {
                    let _ = ended.send(true);
                    return;
                }
            }
            Err(e) => stats.error(format!("client: gms refresh: {e}")),
        }
    }
}
