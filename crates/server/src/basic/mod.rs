//! The basic protocol front door: `GET /basic` upgrades to a WebSocket carrying JSON
//! frames (`parley_proto::basic`). One task reads and handles requests, one writes
//! frames and keeps the connection alive with pings. Replies that wait for a durable
//! commit are awaited concurrently, so one connection (an agent with several chats, a
//! bot) pipelines its sends.
//!
//! Layout: `mod.rs` the connection, `handlers.rs` one function per request, `decode.rs`
//! bounded frame decoding, `map.rs` pure translation to and from the core, `documents.rs`
//! the HTTP step of an agent's file transfer, `forward.rs` the pipe to the instance
//! holding a session (in a cluster).

pub mod decode;
pub mod documents;
mod forward;
mod handlers;
pub mod map;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use axum::Extension;
use futures::stream::FuturesUnordered;
use futures::{SinkExt, StreamExt};
use parley_core::ClientVersion;
use parley_core::{KeyHash, PartyId, PartyType, SessionId};
use parley_proto::basic::ServerFrame;
use parley_proto::ErrorCode;
use std::net::{IpAddr, SocketAddr};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, Instrument};

use crate::actor::{Command, ConnId, Inbox, Push, PushError, ReplyGate, SessionHandle};
use crate::cluster::Forwarded;
use crate::http::client::ClientAddr;
use crate::state::AppState;

/// Read buffer of one WebSocket: what one `read` asks for. A larger frame takes several
/// reads; chat frames are mostly far smaller, and every connection keeps this much
/// allocated for as long as it lives (docs/BENCHMARKS.md, hot spots 1 and 5).
const READ_BUFFER: usize = 1024;
/// Write buffer of one WebSocket: queued frames are written once this much is buffered
/// or at the flush after a burst (it grows for a larger frame when needed).
const WRITE_BUFFER: usize = 4 * 1024;

/// Frames queued for one connection before it counts as too slow.
const OUTBOUND: usize = 1024;
/// The tungstenite hard cap is this many times `max-frame-size`: frames between the two
/// limits get a `FRAME_TOO_LARGE` error and the connection goes on; beyond it the
/// WebSocket layer closes the connection (close code 1009).
const HARD_CAP_FACTOR: usize = 4;
/// Longest the reader stops reading a client that went over a rate limit (its
/// `retryAfterMs`, at most this): long enough that a flood costs the server a few frames
/// per refill instead of thousands a second, short enough that the client's pings and
/// other chats on the connection are read well within the ping timeout.
const MAX_READ_PAUSE_MS: i64 = 2_000;

/// How long a kicked connection's writer may spend sending what was queued before the
/// kick and the close frame.
const KICK_FLUSH: Duration = Duration::from_secs(1);
/// How long a connection closed for an oversized frame stays open after its close frame.
const TOO_LARGE_LINGER: Duration = Duration::from_millis(500);

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// `GET /basic`: upgrade to the basic protocol. `peer` is the client (the original one
/// for a connection another instance forwarded, which `forwarded` says); `address` its
/// address as rate limits count it (behind trusted proxies, the one they name).
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(ClientAddr(address)): Extension<ClientAddr>,
    forwarded: Option<Extension<Forwarded>>,
    ws: WebSocketUpgrade,
) -> Response {
    let origin = Origin {
        client: SocketAddr::new(address, peer.port()).to_string(),
        address,
        forwarded: forwarded.is_some(),
    };
    let cap = state.policy.max_frame_bytes.saturating_mul(HARD_CAP_FACTOR);
    // The connection's lines carry the upgrade request's id (its span, `http/observe.rs`).
    let request = tracing::Span::current();
    // Small buffers: chat frames are small, and tungstenite's defaults (128 KiB each way
    // per connection) would make idle connections cost far more than their sessions.
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| serve(state, socket, origin).instrument(request))
}

/// Where a connection comes from.
struct Origin {
    /// The client's address.
    client: String,
    /// The client's address for rate limits.
    address: IpAddr,
    /// Another instance forwarded it (it is never forwarded on).
    forwarded: bool,
}

/// Who the connection registered as.
pub(crate) struct User {
    pub(crate) id: PartyId,
    pub(crate) key_hash: KeyHash,
    pub(crate) nickname: String,
    pub(crate) party_type: PartyType,
    pub(crate) version: ClientVersion,
    /// The directory agent behind an `agentToken` registration.
    pub(crate) agent: Option<parley_core::routing::AgentId>,
}

/// What a connection's writer sends: its own replies, and what its sessions push (domain
/// values, rendered here). One queue keeps them in the order they were queued. Both are
/// boxed: an idle connection's queue is then slots of two words.
pub(crate) enum Out {
    /// A reply or error of this connection.
    Frame(Box<ServerFrame>),
    /// A session's push.
    Push(Box<Push>),
    /// A frame from the instance a session is piped to, relayed as it came.
    Text(Utf8Bytes),
}

/// A connection's queue as its sessions see it.
pub(crate) struct Outbox(mpsc::Sender<Out>);

impl Inbox for Outbox {
    fn push(&self, push: Box<Push>) -> Result<(), PushError> {
        self.0.try_send(Out::Push(push)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => PushError::Full,
            mpsc::error::TrySendError::Closed(_) => PushError::Closed,
        })
    }
}

/// One connection's state, owned by its reader task.
pub(crate) struct Conn {
    pub(crate) state: AppState,
    pub(crate) id: ConnId,
    pub(crate) out: mpsc::Sender<Out>,
    /// The same queue, for the sessions the connection subscribes to.
    pub(crate) inbox: Arc<Outbox>,
    pub(crate) kick: CancellationToken,
    pub(crate) user: Option<User>,
    pub(crate) sessions: HashMap<SessionId, SessionHandle>,
    /// The client's address (for the forwarding header).
    pub(crate) client: String,
    /// Another instance forwarded this connection: it never forwards on.
    pub(crate) forwarded: bool,
    /// The register frame to replay to the owner of a piped session: the client's, with
    /// the identity this connection was given.
    pub(crate) replay_register: Option<String>,
    /// Sessions piped to the instances holding them.
    pub(crate) pipes: forward::Pipes,
    /// The close frame an owner's side chose for the client, shared with the writer.
    pub(crate) close_with: forward::CloseWith,
    /// The client's address (behind trusted proxies, the one they name).
    pub(crate) address: IpAddr,
    /// Until when (clock ms) the reader leaves the client's frames in its socket: set
    /// when a rate limit refuses one of them (see `MAX_READ_PAUSE_MS`).
    pub(crate) read_paused_until: AtomicI64,
}

/// A reply still waiting for its commit, with the gate its queuing opens (a join, resume
/// or creation: the subscription's live pushes follow the reply, never precede it).
pub(crate) type Pending =
    futures::future::BoxFuture<'static, (ServerFrame, Option<Arc<ReplyGate>>)>;

async fn serve(state: AppState, socket: WebSocket, origin: Origin) {
    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let span = info_span!("conn", conn = id);
    let tracker = state.tracker.clone();
    tracker
        .track_future(run_connection(state, socket, id, origin).instrument(span))
        .await;
}

async fn run_connection(state: AppState, socket: WebSocket, id: ConnId, origin: Origin) {
    // The listener counts the connection (`conns`, all protocols); this is the WebSocket.
    let conns = state.counters.conns_live();
    if origin.forwarded {
        info!(conns, client = %origin.client, "forwarded connection opened");
    } else {
        info!(conns, "connection opened");
    }
    let close_with = forward::CloseWith::default();
    let (sink, mut stream) = socket.split();
    let (out, out_rx) = mpsc::channel(OUTBOUND);
    let kick = CancellationToken::new();
    let last_seen = Arc::new(AtomicI64::new(crate::clock::now().0));
    let writer = tokio::spawn(write_loop(
        sink,
        out_rx,
        kick.clone(),
        last_seen.clone(),
        state.policy.ping_interval,
        close_with.clone(),
    ));
    let mut conn = Conn {
        state: state.clone(),
        id,
        inbox: Arc::new(Outbox(out.clone())),
        out,
        kick: kick.clone(),
        user: None,
        sessions: HashMap::new(),
        client: origin.client,
        forwarded: origin.forwarded,
        replay_register: None,
        pipes: forward::Pipes::default(),
        close_with,
        address: origin.address,
        read_paused_until: AtomicI64::new(0),
    };
    let mut client_close = None;
    let mut too_large = false;
    let mut pending: FuturesUnordered<Pending> = FuturesUnordered::new();
    let register_deadline = tokio::time::Instant::now() + state.policy.register_timeout;
    let shutdown = state.shutdown.clone();
    loop {
        let paused_ms = conn.read_paused_until.load(Ordering::Relaxed) - crate::clock::now().0;
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(paused_ms.max(0).unsigned_abs())), if paused_ms > 0 => {}
            msg = stream.next(), if paused_ms <= 0 => {
                let msg = match msg {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => {
                        too_large = is_too_large(e);
                        if too_large {
                            conn.close_with.lock().unwrap_or_else(|p| p.into_inner()).replace(CloseFrame {
                                code: 1009,
                                reason: Utf8Bytes::from_static("frame too large"),
                            });
                            kick.cancel();
                        }
                        break;
                    }
                    None => break,
                };
                last_seen.store(crate::clock::now().0, Ordering::Relaxed);
                match msg {
                    Message::Text(text) => {
                        if let Some(fut) = conn.handle_text(&text).await {
                            pending.push(fut);
                        }
                    }
                    Message::Binary(_) => conn.reply(ServerFrame::error(
                        None,
                        None,
                        ErrorCode::NotText,
                        "binary frames are not part of the basic protocol; send JSON text",
                    )).await,
                    Message::Close(frame) => {
                        client_close = frame;
                        break;
                    }
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            Some((frame, gate)) = pending.next(), if !pending.is_empty() => {
                conn.answer(frame, gate);
            }
            () = tokio::time::sleep_until(register_deadline), if conn.user.is_none() => {
                conn.reply(ServerFrame::error(
                    None,
                    None,
                    ErrorCode::RegisterTimeout,
                    "no register frame within user-register-timeout",
                )).await;
                break;
            }
            () = kick.cancelled() => break,
            () = shutdown.cancelled() => break,
        }
    }
    // Replies already owed are still sent (they are durable); then the party is detached
    // from its sessions and may resume within basic-reconnect-timeout.
    while let Some((frame, gate)) = pending.next().await {
        conn.answer(frame, gate);
    }
    conn.close_pipes(client_close.as_ref());
    conn.detach_all().await;
    drop(conn);
    let _ = writer.await;
    if too_large {
        // The rest of the oversized frame is still arriving: closing the socket now would
        // answer it with a TCP reset, which may discard the close frame (1009) before the
        // client reads it. Give the client a moment to read it first.
        tokio::time::sleep(TOO_LARGE_LINGER).await;
    }
    let conns = state.counters.conns_live();
    info!(conns, "connection closed");
}

/// A read error because a frame or message exceeded the WebSocket layer's hard cap.
fn is_too_large(e: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    let inner = e.into_inner();
    debug!(error = %inner, "read failed");
    matches!(inner.downcast_ref::<Error>(), Some(Error::Capacity(_)))
}

async fn write_loop(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Out>,
    kick: CancellationToken,
    last_seen: Arc<AtomicI64>,
    ping: Option<Duration>,
    close_with: forward::CloseWith,
) {
    let period = ping.unwrap_or(Duration::from_secs(3600));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            // A kick (slow reader, oversized frame, session moved) closes with its code even
            // when the connection's queue has closed in the meantime; what was queued before
            // it still goes out first, within a bound (a slow reader may never take it).
            biased;
            () = kick.cancelled() => {
                // The close code of the instance a session is piped to passes through.
                let chosen = close_with.lock().unwrap_or_else(|p| p.into_inner()).take();
                let close = Message::Close(Some(chosen.unwrap_or(CloseFrame {
                    code: 1008,
                    reason: Utf8Bytes::from_static("closing: slow consumer, session moved or timeout"),
                })));
                let _ = tokio::time::timeout(KICK_FLUSH, async {
                    while let Ok(more) = rx.try_recv() {
                        if !feed(&mut sink, more).await {
                            return;
                        }
                    }
                    let _ = sink.send(close).await;
                })
                .await;
                break;
            }
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                // Everything already queued goes out with one flush (one write syscall for
                // a burst of frames instead of one per frame).
                let mut ok = feed(&mut sink, frame).await;
                while ok {
                    match rx.try_recv() {
                        Ok(more) => ok = feed(&mut sink, more).await,
                        Err(_) => break,
                    }
                }
                if !ok || sink.flush().await.is_err() {
                    kick.cancel();
                    break;
                }
            }
            _ = ticker.tick(), if ping.is_some() => {
                let silent_ms = crate::clock::now().0 - last_seen.load(Ordering::Relaxed);
                if silent_ms > i64::try_from(period.as_millis() * 2).unwrap_or(i64::MAX) {
                    debug!(silent_ms, "peer silent for two ping periods; closing");
                    kick.cancel();
                    break;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    kick.cancel();
                    break;
                }
            }
        }
    }
    let _ = sink.close().await;
}

/// Encodes a frame (rendering a push) into the sink's buffer without flushing; false when
/// the socket failed.
async fn feed(sink: &mut futures::stream::SplitSink<WebSocket, Message>, out: Out) -> bool {
    let text = match out {
        Out::Frame(frame) => serde_json::to_string(&frame),
        Out::Push(push) => serde_json::to_string(&map::render_push(*push)),
        Out::Text(text) => return sink.feed(Message::Text(text)).await.is_ok(),
    };
    match text {
        Ok(text) => sink.feed(Message::Text(text.into())).await.is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "could not encode a frame");
            true
        }
    }
}

impl Conn {
    /// Queues a frame for the client; a full queue means the client is too slow.
    pub(crate) async fn reply(&self, frame: ServerFrame) {
        self.queue(frame);
    }

    /// [`Conn::reply`], for callers that cannot wait.
    fn queue(&self, frame: ServerFrame) {
        if let ServerFrame::Error { retry_after_ms, .. } = &frame {
            self.state.counters.request_errors.inc();
            if let Some(ms) = retry_after_ms {
                let pause = i64::try_from(*ms)
                    .unwrap_or(i64::MAX)
                    .min(MAX_READ_PAUSE_MS);
                self.read_paused_until
                    .fetch_max(crate::clock::now().0 + pause, Ordering::Relaxed);
            }
        }
        if self.out.try_send(Out::Frame(Box::new(frame))).is_err() {
            self.kick.cancel();
        }
    }

    /// Queues a reply that waited for its commit; then what its gate held.
    fn answer(&self, frame: ServerFrame, gate: Option<Arc<ReplyGate>>) {
        let Some(gate) = gate else {
            return self.queue(frame);
        };
        if gate.open(|| self.queue(frame)).is_err() {
            self.kick.cancel();
        }
    }

    async fn detach_all(&mut self) {
        let Some(user) = &self.user else { return };
        for (_, handle) in self.sessions.drain() {
            let _ = handle
                .send(Command::Detach {
                    party: user.id.clone(),
                    conn: self.id,
                })
                .await;
        }
    }
}
