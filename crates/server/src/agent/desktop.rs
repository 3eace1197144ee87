//! The desktop WebSocket, `/agent/v1/ws` (docs/protocol/desktop.md): `hello` with the
//! login token, then routing requests; the router task pushes offers, statuses and
//! overviews. Requests are checked here (who may do what) and applied by the router task,
//! whose answer becomes `ok` or `error`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use parley_core::routing::{AgentId, QueueName, RouteError, RouteInput};
use parley_core::{SessionId, Visibility};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, Instrument};

use crate::center::{AgentProfile, Desk, DeskFrame, RouteRefusal};
use crate::config::Role;
use crate::state::AppState;
use parley_proto::desktop::{DesktopEvent, DesktopRequest, SuperviseMode};

/// Largest desktop frame accepted.
pub(crate) const MAX_FRAME: usize = 16 * 1024;
/// Frames queued for one desktop before it counts as too slow (it is closed and
/// reconnects).
const OUTBOUND: usize = 256;

/// Desktop connection ids, unique across a cluster (the routing leader holds the
/// desktops of every instance): each process starts at a random multiple of 2^32.
static NEXT_DESK: LazyLock<AtomicU64> = LazyLock::new(|| {
    let mut seed = [0u8; 4];
    let _ = getrandom::fill(&mut seed);
    AtomicU64::new((u64::from(u32::from_le_bytes(seed)) << 32) | 1)
});

/// `GET /agent/v1/ws`.
pub(super) async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    // The desktop's lines carry the upgrade request's id (its span, `http/observe.rs`).
    let request = tracing::Span::current();
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .read_buffer_size(4096)
        .write_buffer_size(4096)
        .on_upgrade(move |socket| {
            let conn = NEXT_DESK.fetch_add(1, Ordering::Relaxed);
            let tracker = state.tracker.clone();
            tracker.track_future(
                run(state, socket, conn)
                    .instrument(info_span!(parent: &request, "desk", desk = conn)),
            )
        })
}

async fn run(state: AppState, socket: WebSocket, conn: u64) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<DeskFrame>(OUTBOUND);
    let kick = CancellationToken::new();
    let writer_kick = kick.clone();
    let ready = Arc::new(AtomicBool::new(false));
    let writer_ready = ready.clone();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    if let Some(r) = ev.readiness() {
                        writer_ready.store(r, Ordering::Relaxed);
                    }
                    let Some(text) = ev.text() else { continue };
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        writer_kick.cancel();
                        break;
                    }
                }
                () = writer_kick.cancelled() => {
                    // What was queued before the close still goes out (a refusal's
                    // reason, say).
                    while let Ok(ev) = rx.try_recv() {
                        let Some(text) = ev.text() else { continue };
                        if sink.feed(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    let _ = sink.flush().await;
                    break;
                }
            }
        }
        let _ = sink.close().await;
    });
    let deadline = tokio::time::Instant::now() + state.policy.register_timeout;
    let mut me: Option<AgentProfile> = None;
    let shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break };
                let Message::Text(text) = msg else {
                    if matches!(msg, Message::Close(_)) { break }
                    continue;
                };
                let req = match serde_json::from_str::<DesktopRequest>(&text) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.try_send(DeskFrame::Event(DesktopEvent::error(None, "bad-request", e.to_string())));
                        if me.is_none() { break }
                        continue;
                    }
                };
                let rid = req.request_id();
                match (&me, req) {
                    (None, DesktopRequest::Hello { token, .. }) => {
                        let Some(profile) = state.center.directory.authenticate(&token).await else {
                            let _ = tx.try_send(DeskFrame::Event(DesktopEvent::error(rid, "unauthorized", "bad or expired token")));
                            break;
                        };
                        info!(agent = %profile.login, "desktop connected");
                        let desk = Desk { conn, tx: tx.clone(), kick: kick.clone(), watching: false, ready: ready.clone() };
                        let welcome = state.center.connect(profile.clone(), desk).await;
                        me = Some(profile);
                        match welcome {
                            Some(welcome) => { let _ = tx.try_send(welcome); }
                            None => break,
                        }
                    }
                    (None, _) => {
                        let _ = tx.try_send(DeskFrame::Event(DesktopEvent::error(rid, "unauthorized", "send hello first")));
                        break;
                    }
                    (Some(_), DesktopRequest::Hello { .. }) => {
                        let _ = tx.try_send(DeskFrame::Event(DesktopEvent::error(rid, "bad-request", "already authenticated")));
                    }
                    (Some(p), req) => {
                        let reply = request(&state, p, conn, req).await;
                        let _ = tx.try_send(DeskFrame::Event(match reply {
                            Ok(()) => DesktopEvent::Ok { request_id: rid },
                            Err((code, message)) => DesktopEvent::error(rid, code, message),
                        }));
                    }
                }
            }
            () = tokio::time::sleep_until(deadline), if me.is_none() => break,
            () = kick.cancelled() => break,
            () = shutdown.cancelled() => break,
        }
    }
    if let Some(p) = me {
        info!(agent = %p.login, "desktop disconnected");
        state.center.disconnect(p.login, conn);
    }
    kick.cancel();
    let _ = writer.await;
}

pub(crate) type Refusal = (&'static str, String);

fn bad(field: &str, e: impl std::fmt::Display) -> Refusal {
    ("bad-request", format!("{field}: {e}"))
}

fn sid(s: &str) -> Result<SessionId, Refusal> {
    s.parse().map_err(|e| bad("interactionId", e))
}

fn agent_id(field: &str, s: &str) -> Result<AgentId, Refusal> {
    s.parse().map_err(|e| bad(field, e))
}

/// What a checked request asks for.
#[derive(Debug)]
pub(crate) enum Checked {
    /// A routing input for the router task.
    Route(RouteInput),
    /// A supervisor's overview subscription.
    Watch,
}

/// Checks a request and has the router apply it.
async fn request(
    state: &AppState,
    me: &AgentProfile,
    conn: u64,
    req: DesktopRequest,
) -> Result<(), Refusal> {
    let input = match check(me, req)? {
        Checked::Route(input) => input,
        Checked::Watch => {
            state.center.watch(me.login.clone(), conn);
            return Ok(());
        }
    };
    match state.center.route(input).await {
        Ok(()) => Ok(()),
        Err(e) => {
            debug!(error = %e, "desktop request refused");
            Err(refusal(&e))
        }
    }
}

/// Checks a request from `me` (who may do what, the ids and texts it carries). Pure.
pub(crate) fn check(me: &AgentProfile, req: DesktopRequest) -> Result<Checked, Refusal> {
    let agent = me.login.clone();
    let supervisor = me.role == Role::Supervisor;
    let input = match req {
        DesktopRequest::Hello { .. } => {
            return Err(("bad-request", "already authenticated".into()));
        }
        DesktopRequest::Ready { .. } => RouteInput::AgentReady { agent },
        DesktopRequest::NotReady { reason, .. } => {
            let reason = reason.unwrap_or_default();
            if reason.chars().count() > 64 || reason.chars().any(char::is_control) {
                return Err(bad(
                    "reason",
                    "at most 64 characters, no control characters",
                ));
            }
            RouteInput::AgentNotReady { agent, reason }
        }
        DesktopRequest::Accept { interaction_id, .. } => RouteInput::Accept {
            agent,
            interaction: sid(&interaction_id)?,
        },
        DesktopRequest::Reject { interaction_id, .. } => RouteInput::Reject {
            agent,
            interaction: sid(&interaction_id)?,
        },
        DesktopRequest::Transfer {
            interaction_id,
            to_agent,
            to_queue,
            ..
        } => {
            let interaction = sid(&interaction_id)?;
            match (to_agent, to_queue) {
                (Some(to), None) => RouteInput::TransferToAgent {
                    from: agent,
                    to: agent_id("toAgent", &to)?,
                    interaction,
                },
                (None, Some(q)) => RouteInput::TransferToQueue {
                    from: agent,
                    queue: q.parse::<QueueName>().map_err(|e| bad("toQueue", e))?,
                    interaction,
                },
                _ => return Err(bad("transfer", "give exactly one of toAgent and toQueue")),
            }
        }
        DesktopRequest::Conference {
            interaction_id,
            invitee,
            ..
        } => RouteInput::Conference {
            agent,
            interaction: sid(&interaction_id)?,
            invitee: agent_id("invitee", &invitee)?,
        },
        DesktopRequest::MarkDone { interaction_id, .. } => RouteInput::MarkDone {
            agent,
            interaction: sid(&interaction_id)?,
        },
        DesktopRequest::Supervise {
            interaction_id,
            mode,
            ..
        } => {
            if !supervisor {
                return Err(("not-allowed", "only supervisors supervise".into()));
            }
            RouteInput::Supervise {
                supervisor: agent,
                interaction: sid(&interaction_id)?,
                visibility: match mode {
                    SuperviseMode::Monitor => Visibility::Int,
                    SuperviseMode::Coach => Visibility::Vip,
                    SuperviseMode::Barge => Visibility::All,
                },
            }
        }
        DesktopRequest::Watch { .. } => {
            if !supervisor {
                return Err(("not-allowed", "only supervisors watch".into()));
            }
            return Ok(Checked::Watch);
        }
        DesktopRequest::Logout { .. } => RouteInput::AgentLogout { agent },
    };
    Ok(Checked::Route(input))
}

/// The stable code of a router refusal.
fn refusal(e: &RouteRefusal) -> Refusal {
    let e = match e {
        RouteRefusal::Router(e) => e,
        RouteRefusal::Unavailable => return ("unavailable", e.to_string()),
    };
    let code = match e {
        RouteError::UnknownQueue | RouteError::UnknownInteraction => "not-found",
        RouteError::NotLoggedIn
        | RouteError::AlreadySubmitted
        | RouteError::InteractionOver
        | RouteError::NoSuchOffer
        | RouteError::NotHandling
        | RouteError::AlreadyHandling
        | RouteError::OfferPending
        | RouteError::AgentUnavailable
        | RouteError::StillInChat
        | RouteError::Conferenced => "invalid-state",
        RouteError::NotSupervisor => "not-allowed",
    };
    (code, e.to_string())
}
