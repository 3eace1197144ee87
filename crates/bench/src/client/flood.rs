//! `--flooders`: abusive customers next to the measured chats. Each opens a chat over the
//! basic protocol and then pipelines messages of `--flood-size` bytes as fast as its
//! socket takes them, never reading a reply, from the measurement's start to its end. The
//! server's rate limits refuse most of them and stop reading the connection while it is
//! over its limit, so the measured chats' latencies show what a flood costs the others
//! (issue 12: their p99 within 2× of a run without flooders). A flooder the server
//! disconnects opens a new chat at most once a second.

use std::time::Duration;

use anyhow::{anyhow, Context};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::Ctx;

/// Frames written between two flushes.
const FLUSH_EVERY: u64 = 16;

/// What the flooders did, for the report.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct FloodOutcome {
    /// Message frames handed to the socket.
    pub frames_sent: u64,
    /// Chats opened (one per connection).
    pub chats_opened: u64,
}

/// Floods until `stop` turns true; what it sent.
pub async fn flood(ctx: &Ctx, size: usize, mut stop: watch::Receiver<bool>) -> FloodOutcome {
    let mut out = FloodOutcome::default();
    let text = "f".repeat(size);
    while !*stop.borrow() {
        let began = tokio::time::Instant::now();
        tokio::select! {
            r = one_connection(ctx, &text, &mut out) => {
                if let Err(e) = r {
                    ctx.stats.error(format!("flooder: {e:#}"));
                }
            }
            _ = stop.wait_for(|s| *s) => break,
        }
        tokio::time::sleep_until(began + Duration::from_secs(1)).await;
    }
    out
}

/// One connection: register, create a chat, then send until the socket fails.
async fn one_connection(ctx: &Ctx, text: &str, out: &mut FloodOutcome) -> anyhow::Result<()> {
    let stream = ctx.target.connect().await?;
    let url = format!("ws://{}/basic", ctx.target.addr);
    let (ws, _) = tokio::time::timeout(ctx.timeout, tokio_tungstenite::client_async(url, stream))
        .await
        .map_err(|_| anyhow!("websocket handshake timed out"))?
        .context("while opening the websocket")?;
    let (mut sink, mut stream) = ws.split();
    let register = json!({"type": "register", "requestId": 1, "nickname": "Flood",
        "partyType": "CLIENT", "clientVersion": 106});
    let create = json!({"type": "createSession", "requestId": 2, "userData": {}});
    sink.send(Message::Text(register.to_string().into()))
        .await?;
    sink.send(Message::Text(create.to_string().into())).await?;
    let session = tokio::time::timeout(ctx.timeout, async {
        while let Some(msg) = stream.next().await {
            if let Message::Text(t) = msg? {
                let v: serde_json::Value = serde_json::from_str(&t)?;
                if v["requestId"] == 2 {
                    return v["sessionId"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow!("createSession refused: {v}"));
                }
            }
        }
        Err(anyhow!("closed before the chat was created"))
    })
    .await
    .map_err(|_| anyhow!("no createSession reply"))??;
    out.chats_opened += 1;
    // From here on nothing is read: replies pile up on the server's side.
    drop(stream);
    for i in 3u64.. {
        let frame = json!({"type": "message", "requestId": i, "sessionId": session, "text": text});
        if sink
            .feed(Message::Text(frame.to_string().into()))
            .await
            .is_err()
        {
            return Ok(());
        }
        out.frames_sent += 1;
        if i % FLUSH_EVERY == 0 && sink.flush().await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}
