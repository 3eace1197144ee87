//! A basic-protocol party over one WebSocket. A reader task takes every frame off the
//! socket as it arrives — message events and acks go straight to the session's ledger,
//! so latency is measured when the frame is read, not when the script gets round to it;
//! everything else (replies to control requests, `sessionOver`) goes to the script over
//! a channel. Message sends use their sequence number as `requestId`, control requests
//! ids from `CTL_BASE` up, so the reader can tell an ack of a message from any other
//! reply without a lookup table.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use parley_proto::basic::{
    AfterAction, ClientFrame, Credentials, PartyType, ServerFrame, Visibility,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::Ctx;
use crate::ledger::SharedLedger;
use crate::stats::Stats;

/// First request id of control requests; message sends use their sequence number.
const CTL_BASE: u64 = 1 << 48;

type Ws = WebSocketStream<TcpStream>;

/// One WebSocket party.
pub struct Party {
    sink: SplitSink<Ws, Message>,
    ctl: mpsc::UnboundedReceiver<ServerFrame>,
    reader: JoinHandle<()>,
    closing: Arc<AtomicBool>,
    next_ctl: u64,
    index: u8,
    session: Option<String>,
    session_over: bool,
    stats: Arc<Stats>,
    timeout: Duration,
}

impl Party {
    /// Opens the WebSocket. `index` is the party's bit in the ledger.
    pub async fn connect(ctx: &Ctx, index: u8, ledger: &SharedLedger) -> anyhow::Result<Party> {
        let stream = ctx.target.connect().await?;
        // Small buffers: tens of thousands of idle connections must not cost 256 KiB
        // each on our side (tungstenite's defaults are 128 KiB read + 128 KiB write).
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0);
        let url = format!("ws://{}/basic", ctx.target.addr);
        let (ws, _) = tokio::time::timeout(
            ctx.timeout,
            tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
        )
        .await
        .map_err(|_| anyhow!("websocket handshake timed out"))?
        .context("while opening the websocket")?;
        ctx.stats.c.conns_live.inc();
        let (sink, stream) = ws.split();
        let (tx, ctl) = mpsc::unbounded_channel();
        let closing = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(read_loop(
            stream,
            index,
            ledger.clone(),
            ctx.stats.clone(),
            tx,
            closing.clone(),
        ));
        Ok(Party {
            sink,
            ctl,
            reader,
            closing,
            next_ctl: CTL_BASE,
            index,
            session: None,
            session_over: false,
            stats: ctx.stats.clone(),
            timeout: ctx.timeout,
        })
    }

    async fn send_frame(&mut self, frame: &ClientFrame) -> anyhow::Result<()> {
        let text = serde_json::to_string(frame)?;
        self.sink
            .send(Message::Text(text.into()))
            .await
            .context("while sending a frame")
    }

    fn ctl_id(&mut self) -> u64 {
        self.next_ctl += 1;
        self.next_ctl
    }

    /// Sends a control request and waits for its reply; an `error` reply is an error.
    async fn call(&mut self, id: u64, frame: ClientFrame) -> anyhow::Result<ServerFrame> {
        self.send_frame(&frame).await?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ctl.recv())
                .await
                .map_err(|_| anyhow!("no reply within {:?}", self.timeout))?
                .ok_or_else(|| anyhow!("connection closed while waiting for a reply"))?;
            match frame {
                ServerFrame::SessionOver { .. } => self.session_over = true,
                ServerFrame::Error {
                    request_id: Some(r),
                    code,
                    message,
                    ..
                } if r == id => {
                    bail!("{} {}: {message}", code.number(), code.name())
                }
                f if reply_id(&f) == Some(id) => return Ok(f),
                _ => {}
            }
        }
    }

    /// `register`.
    pub async fn register(
        &mut self,
        nickname: &str,
        party_type: PartyType,
        api_key: Option<&str>,
    ) -> anyhow::Result<()> {
        let id = self.ctl_id();
        let frame = ClientFrame::Register {
            request_id: Some(id),
            nickname: nickname.to_owned(),
            party_type,
            client_version: Some(106),
            credentials: api_key.map(|k| Credentials {
                api_key: Some(k.to_owned()),
                agent_token: None,
            }),
            resume: None,
        };
        match self.call(id, frame).await? {
            ServerFrame::Registered { .. } => Ok(()),
            other => bail!("unexpected reply to register: {other:?}"),
        }
    }

    /// `createSession`; returns the session id.
    pub async fn create_session(&mut self) -> anyhow::Result<String> {
        let id = self.ctl_id();
        let frame = ClientFrame::CreateSession {
            request_id: Some(id),
            user_data: [("EmailAddress".to_owned(), "bench@example.com".to_owned())].into(),
            subject: Some("parley-bench".into()),
            endpoint: None,
        };
        match self.call(id, frame).await? {
            ServerFrame::SessionInfo { session_id, .. } => {
                self.session = Some(session_id.clone());
                Ok(session_id)
            }
            other => bail!("unexpected reply to createSession: {other:?}"),
        }
    }

    /// `join` with `visibility`.
    pub async fn join(&mut self, session: &str, visibility: Visibility) -> anyhow::Result<()> {
        let id = self.ctl_id();
        let frame = ClientFrame::Join {
            request_id: Some(id),
            session_id: session.to_owned(),
            visibility,
            user_data: Default::default(),
        };
        match self.call(id, frame).await? {
            ServerFrame::SessionInfo { .. } => {
                self.session = Some(session.to_owned());
                Ok(())
            }
            other => bail!("unexpected reply to join: {other:?}"),
        }
    }

    /// Sends one generated message (pipelined: the ack is read by the reader task).
    pub async fn send_message(&mut self, ledger: &SharedLedger, size: usize) -> anyhow::Result<()> {
        let Some(session) = self.session.clone() else {
            bail!("no session joined");
        };
        let stamp = ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next(self.index, &self.stats);
        let frame = ClientFrame::Message {
            request_id: Some(stamp.seq),
            session_id: session,
            text: stamp.text(size),
            visibility: Visibility::All,
            receiver_id: None,
            message_type: None,
            client_message_id: None,
        };
        self.send_frame(&frame).await
    }

    /// `release` with `ForceClose`: closes the session; resolves once `released` (sent
    /// after the final transcript is durable) arrives.
    pub async fn release_force_close(&mut self) -> anyhow::Result<()> {
        let Some(session) = self.session.clone() else {
            bail!("no session joined");
        };
        let id = self.ctl_id();
        let frame = ClientFrame::Release {
            request_id: Some(id),
            session_id: session,
            after_action: AfterAction::ForceClose,
            text: None,
        };
        match self.call(id, frame).await? {
            ServerFrame::Released { .. } => Ok(()),
            other => bail!("unexpected reply to release: {other:?}"),
        }
    }

    /// Waits for `sessionOver`.
    pub async fn wait_session_over(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.session_over {
            match tokio::time::timeout_at(deadline, self.ctl.recv()).await {
                Err(_) => bail!("no sessionOver within {timeout:?}"),
                Ok(None) => bail!("connection closed before sessionOver"),
                Ok(Some(ServerFrame::SessionOver { .. })) => self.session_over = true,
                Ok(Some(_)) => {}
            }
        }
        Ok(())
    }

    /// Closes the WebSocket and ends the reader.
    pub async fn close(mut self) {
        self.closing.store(true, Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
        if tokio::time::timeout(Duration::from_secs(2), &mut self.reader)
            .await
            .is_err()
        {
            self.reader.abort();
        }
        self.stats.c.conns_live.dec();
    }
}

impl Drop for Party {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The request id a reply echoes.
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

async fn read_loop(
    mut stream: SplitStream<Ws>,
    index: u8,
    ledger: SharedLedger,
    stats: Arc<Stats>,
    ctl: mpsc::UnboundedSender<ServerFrame>,
    closing: Arc<AtomicBool>,
) {
    while let Some(msg) = stream.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) => break,
            Ok(_) => continue,
            Err(e) => {
                if !closing.load(Ordering::Relaxed) {
                    stats.error(format!("client: websocket read: {}", short(&e.to_string())));
                }
                break;
            }
        };
        // The hot frames (message events, acks) are read through a borrowed view, so
        // the generator spends its CPU share on load rather than on building whole
        // `ServerFrame`s; anything else is decoded in full for the script.
        let Ok(hot) = serde_json::from_str::<Hot<'_>>(&text) else {
            stats.error("client: undecodable server frame");
            continue;
        };
        match (hot.kind, hot.request_id) {
            ("event", _) => {
                if let Some(HotEvent {
                    kind: "message",
                    text: Some(t),
                }) = hot.event
                {
                    ledger
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .delivered(index, &t, &stats);
                }
                continue;
            }
            ("ack", Some(r)) if r < CTL_BASE => {
                ledger
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .acked(r, &stats);
                continue;
            }
            ("transcriptSaved", _) => continue,
            _ => {}
        }
        let frame: ServerFrame = match serde_json::from_str(&text) {
            Ok(f) => f,
            Err(_) => {
                stats.error("client: undecodable server frame");
                continue;
            }
        };
        match frame {
            ServerFrame::Error {
                request_id: Some(r),
                code,
                ..
            } if r < CTL_BASE => {
                stats.error_code(code);
                ledger
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .failed(r, &stats);
            }
            other => {
                if let ServerFrame::Error { code, .. } = &other {
                    stats.error_code(*code);
                }
                let _ = ctl.send(other);
            }
        }
    }
}

/// The fields of a server frame the reader needs on the hot path (unknown fields are
/// skipped, as the protocol asks of clients).
#[derive(serde::Deserialize)]
struct Hot<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(rename = "requestId", default)]
    request_id: Option<u64>,
    #[serde(default, borrow)]
    event: Option<HotEvent<'a>>,
}

#[derive(serde::Deserialize)]
struct HotEvent<'a> {
    #[serde(borrow)]
    kind: &'a str,
    /// Borrowed unless the text has escapes.
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
}

/// The first line of an error, bounded, so errors group by kind.
pub fn short(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(80)
        .collect()
}
