//! A basic-protocol connection whose session another live instance holds: the session
//! is piped to that owner. When a `join` or `resume` meets a session held elsewhere
//! (nothing was done here), the connection opens a WebSocket to the owner's `/basic`
//! with the signed forwarding header, registers there as the same party (the register
//! frame this connection got, with the identity it was given), waits for that
//! registration (whose reply is not relayed: the client had its own), and sends the
//! request as the client wrote it. From then on every frame naming that session goes to
//! the owner as the client wrote it, and everything the owner sends comes back as is:
//! replies keep their request ids, events their session ids.
//!
//! The pipe is per owner, not per connection: an agent or a bot with chats on several
//! instances keeps its local chats local and reaches each owner once. Sessions are
//! created locally. When an owner's side closes (it stopped, or the session moved on),
//! the client's connection closes with the owner's close code, as when a session moves
//! off this instance: the client reconnects and resumes every session it has, wherever
//! they are now. When the client closes, each pipe closes with the client's code.
//!
//! A connection that was itself forwarded never forwards (one hop): a held session there
//! gets the `UNAVAILABLE` error frame, as a held session gets when the owner cannot be
//! reached.

use std::sync::{Arc, Mutex};

use axum::extract::ws::{CloseFrame, Utf8Bytes};
use futures::{SinkExt, StreamExt};
use parley_core::SessionId;
use parley_proto::basic::ServerFrame;
use parley_store::InstanceId;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as UpCloseFrame;
use tokio_tungstenite::tungstenite::Message as Up;
use tracing::{debug, warn};

use super::{Conn, Out};
use crate::actor::Held;
use crate::cluster::{sign, Cluster, CONNECT_TIMEOUT, HEADER};

/// Frames queued towards one owner before the client counts as too fast for it.
const TOWARDS_OWNER: usize = 256;

/// The pipes of one connection.
#[derive(Default)]
pub(crate) struct Pipes {
    /// Each owner's pipe: frames (and at the end the close) to send it.
    owners: std::collections::HashMap<InstanceId, mpsc::Sender<Up>>,
    /// The sessions piped, and to which owner.
    sessions: std::collections::HashMap<SessionId, InstanceId>,
}

/// The close frame the client's side gets when the connection ends, if an owner's side
/// chose it (shared with the writer).
pub(crate) type CloseWith = Arc<Mutex<Option<CloseFrame>>>;

/// Why a session could not be piped.
#[derive(Debug, thiserror::Error)]
enum PipeError {
    #[error("owner not registered or not reachable")]
    NoUrl,
    #[error("connection to the owner failed: {0}")]
    Connect(String),
    #[error("the owner refused the registration: {0}")]
    Register(String),
}

impl Conn {
    /// Whether `session` (as the client wrote it) is piped; if so, sends `text` there.
    /// False when it is not piped (the frame is handled here).
    pub(crate) async fn relay(&mut self, session: &str, text: &str) -> bool {
        let Ok(id) = session.parse::<SessionId>() else {
            return false;
        };
        let Some(owner) = self.pipes.sessions.get(&id) else {
            return false;
        };
        let Some(tx) = self.pipes.owners.get(owner) else {
            return false;
        };
        if tx.try_send(Up::Text(text.into())).is_err() {
            // The owner's side is gone or cannot keep up: the connection closes and the
            // client resumes.
            self.kick.cancel();
        }
        true
    }

    /// Pipes `held`'s session to its owner and sends it `text` (the request that met the
    /// held session). False when it cannot be (this connection was forwarded, or the
    /// owner cannot be reached): the caller answers with the refusal.
    pub(crate) async fn pipe(&mut self, held: &Held, text: &str) -> bool {
        let Some(cluster) = self.state.cluster.clone() else {
            return false;
        };
        if self.forwarded {
            debug!(session_id = %held.session, "forwarded connection met another owner; not forwarded on");
            return false;
        }
        if !self.pipes.owners.contains_key(&held.owner) {
            match self.open(&cluster, &held.owner).await {
                Ok(tx) => {
                    self.state.counters.forwarded_connections.inc();
                    self.pipes.owners.insert(held.owner.clone(), tx);
                }
                Err(e) => {
                    self.state.counters.forward_failures.inc();
                    if cluster.peer_down(&held.owner) {
                        warn!(session_id = %held.session, owner = %held.owner.0, error = %e,
                            "could not pipe a basic connection to the session's owner; clients are told to retry until it answers or its sessions are taken over");
                    } else {
                        debug!(session_id = %held.session, owner = %held.owner.0, error = %e, "owner still not answering");
                    }
                    return false;
                }
            }
        }
        self.pipes
            .sessions
            .insert(held.session.clone(), held.owner.clone());
        self.relay(held.session.as_str(), text).await
    }

    /// Opens the pipe to `owner`: connects, registers as this connection's party, and
    /// starts the task copying frames both ways.
    async fn open(
        &self,
        cluster: &Cluster,
        owner: &InstanceId,
    ) -> Result<mpsc::Sender<Up>, PipeError> {
        let register = self
            .replay_register
            .clone()
            .ok_or_else(|| PipeError::Register("not registered".into()))?;
        let base = cluster.peer_url(owner).await.ok_or(PipeError::NoUrl)?;
        let url = format!(
            "{}/basic",
            base.replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1)
        );
        let mut request = url
            .into_client_request()
            .map_err(|e| PipeError::Connect(e.to_string()))?;
        let signature = cluster.sign(
            &sign::Request {
                method: "GET",
                path_and_query: "/basic",
                body: b"",
            },
            owner,
            &self.client,
        );
        let value = signature
            .parse()
            .map_err(|_| PipeError::Connect("bad header".into()))?;
        request.headers_mut().insert(HEADER, value);
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            request,
            None,
            false,
            Some(tokio_tungstenite::Connector::Rustls(cluster.tls.clone())),
        );
        let (mut socket, _) = tokio::time::timeout(CONNECT_TIMEOUT * 2, connect)
            .await
            .map_err(|_| PipeError::Connect("timed out".into()))?
            .map_err(|e| PipeError::Connect(e.to_string()))?;
        socket
            .send(Up::Text(register.into()))
            .await
            .map_err(|e| PipeError::Connect(e.to_string()))?;
        // The owner's answer to the replayed registration: the client already has its own.
        loop {
            let msg = tokio::time::timeout(CONNECT_TIMEOUT * 2, socket.next())
                .await
                .map_err(|_| PipeError::Register("no answer".into()))?;
            match msg {
                Some(Ok(Up::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(ServerFrame::Registered { .. }) => break,
                    _ => return Err(PipeError::Register(text.to_string())),
                },
                Some(Ok(Up::Ping(_) | Up::Pong(_))) => {}
                Some(Ok(other)) => return Err(PipeError::Register(format!("{other:?}"))),
                Some(Err(e)) => return Err(PipeError::Connect(e.to_string())),
                None => return Err(PipeError::Connect("closed".into())),
            }
        }
        let (tx, rx) = mpsc::channel(TOWARDS_OWNER);
        let task = copy_both_ways(
            socket,
            rx,
            self.out.clone(),
            self.kick.clone(),
            self.close_with.clone(),
        );
        self.state.tracker.spawn(task);
        Ok(tx)
    }

    /// Closes every pipe with the client's close frame.
    pub(crate) fn close_pipes(&mut self, client: Option<&CloseFrame>) {
        let frame = client.map(|c| UpCloseFrame {
            code: CloseCode::from(c.code),
            reason: c.reason.as_str().into(),
        });
        for (_, tx) in self.pipes.owners.drain() {
            let _ = tx.try_send(Up::Close(frame.clone()));
        }
        self.pipes.sessions.clear();
    }
}

/// Copies the owner's frames to the client's queue and the client's frames (sent by
/// [`Conn::relay`]) to the owner, until either side closes.
async fn copy_both_ways(
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    mut rx: mpsc::Receiver<Up>,
    out: mpsc::Sender<Out>,
    kick: tokio_util::sync::CancellationToken,
    close_with: CloseWith,
) {
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Up::Text(text))) => {
                    let text = Utf8Bytes::from(text.as_str());
                    if out.try_send(Out::Text(text)).is_err() {
                        kick.cancel();
                        break;
                    }
                }
                Some(Ok(Up::Close(frame))) => {
                    if let Some(f) = frame {
                        *close_with.lock().unwrap_or_else(|p| p.into_inner()) = Some(CloseFrame {
                            code: f.code.into(),
                            reason: Utf8Bytes::from(f.reason.as_str()),
                        });
                    }
                    kick.cancel();
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    kick.cancel();
                    break;
                }
            },
            to_owner = rx.recv() => match to_owner {
                Some(msg @ Up::Close(_)) => {
                    let _ = sink.send(msg).await;
                    break;
                }
                Some(msg) => {
                    if sink.send(msg).await.is_err() {
                        kick.cancel();
                        break;
                    }
                }
                None => {
                    let _ = sink.send(Up::Close(None)).await;
                    break;
                }
            },
            () = kick.cancelled() => {
                let _ = sink.send(Up::Close(Some(UpCloseFrame {
                    code: CloseCode::Away,
                    reason: "the client's connection closed".into(),
                }))).await;
                break;
            }
        }
    }
    let _ = sink.close().await;
}
