//! The flex protocol front door: connectionless HTTP + JSON under `/flex/v1` for web
//! customers (the widget's fallback when WebSockets are blocked, and any integrator).
//! Every reply is a `FlexReply`; errors carry a stable code and an HTTP status.
//!
//! Layout: `mod.rs` the chat operations, `files.rs` file transfer, `logins.rs` logins
//! waiting for their `join` (flex's own state, handed to its handlers as an extension).

mod files;
mod logins;

pub(crate) use files::limits_of;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use parley_core::session::SendBody;
use parley_core::view::SessionSnapshot;
use parley_core::{ClientVersion, EventId};
use parley_proto::flex::{
    FlexReply, JoinRequest, LoginRequest, LogoutRequest, NotifyRequest, RefreshRequest, SendRequest,
};
use parley_proto::ErrorCode;
use serde::de::DeserializeOwned;
use tracing::{debug, error};

use crate::actor::{CmdError, Refreshed};
use crate::basic::map;
use crate::clock::now;
use crate::customer::{self, Caller, Creator, Login, NewChat};
use crate::http::client::ClientAddr;
use crate::http::error::{is_retry_later, is_server_fault, mark_held, status_of};
use crate::secrets;
use crate::state::AppState;
use logins::PendingLogins;

/// The flex routes.
pub fn routes(state: &AppState) -> Router<AppState> {
    let json_limit = state.policy.max_frame_bytes;
    Router::new()
        .route("/flex/v1/login", post(login))
        .route("/flex/v1/join", post(join))
        .route("/flex/v1/send", post(send))
        .route("/flex/v1/notify", post(notify))
        .route("/flex/v1/refresh", post(refresh))
        .route("/flex/v1/logout", post(logout))
        .route("/flex/v1/file/limits", post(files::limits))
        .route("/flex/v1/file/download", post(files::download))
        .route("/flex/v1/file/delete", post(files::delete))
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(Extension(Arc::new(PendingLogins::default())))
        .merge(files::upload_routes(state))
}

/// A flex reply with its HTTP status.
/// The second field names the live instance holding the session, on a refusal that the
/// forwarding layer replays there (`forward.rs`).
pub(crate) struct Reply(FlexReply, Option<crate::actor::Held>);

impl Reply {
    fn ok(reply: FlexReply) -> Reply {
        Reply(reply, None)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = self
            .0
            .error
            .as_ref()
            .map_or(StatusCode::OK, |e| status_of(e.code));
        mark_held((status, Json(self.0)).into_response(), self.1.as_ref())
    }
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Self {
        if is_server_fault(e.code) && !is_retry_later(e.code) {
            error!(code = e.code.name(), message = %e.message, "flex request failed");
        } else {
            debug!(code = e.code.name(), message = %e.message, "flex request refused");
        }
        Reply(FlexReply::error(e.code, e.message), e.held_by)
    }
}

fn result(r: Result<FlexReply, CmdError>) -> Reply {
    r.map_or_else(Reply::from, Reply::ok)
}

/// Decodes a JSON body with a typed error (the body limit bounds its size; serde_json
/// bounds its depth).
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, CmdError> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            ErrorCode::MalformedFrame
        } else {
            ErrorCode::InvalidField
        };
        CmdError::new(code, e.to_string())
    })
}

/// A session snapshot (join, resume, creation) as a flex reply.
fn from_snapshot(snap: SessionSnapshot) -> FlexReply {
    FlexReply {
        session_id: Some(snap.session_id.to_string()),
        session_password: snap.password.map(|p| p.expose().to_owned()),
        next_position: Some(snap.last_event_id.0 + 1),
        parties: Some(snap.parties.iter().map(map::render_party).collect()),
        events: Some(snap.events.into_iter().map(map::render_event).collect()),
        chat_ended: Some(false),
        ..FlexReply::ok()
    }
}

fn from_refresh(r: Refreshed) -> FlexReply {
    FlexReply {
        events: Some(r.events.into_iter().map(map::render_event).collect()),
        next_position: Some(r.next_position),
        chat_ended: Some(r.chat_ended),
        ..FlexReply::ok()
    }
}

/// `POST /flex/v1/login` — get an identity (`userId`, `secureKey`) for a customer.
async fn login(
    State(state): State<AppState>,
    Extension(logins): Extension<Arc<PendingLogins>>,
    Extension(ClientAddr(address)): Extension<ClientAddr>,
    body: Bytes,
) -> Reply {
    result(
        async {
            // A limited instance takes no new flex user (docs/ha.md, "Load limits").
            state.limits.check()?;
            state.address_limits.login(address).map_err(|e| {
                state.counters.rate_limited.inc();
                CmdError::from(e)
            })?;
            let req: LoginRequest = parse(&body)?;
            let version = req
                .client_version
                .map_or(Ok(ClientVersion::LATEST), ClientVersion::try_from)?;
            let login = Login::new(
                req.nickname,
                req.first_name,
                req.last_name,
                req.email_address,
                version,
            )?;
            let party = secrets::new_party_id();
            let key = secrets::new_secure_key();
            let at = now();
            let expires = at.plus_ms(state.policy.session.flex_disconnect_timeout_ms);
            logins.insert(party.clone(), login, secrets::hash_key(&key), at, expires)?;
            Ok(FlexReply {
                user_id: Some(party.to_string()),
                secure_key: Some(key),
                ..FlexReply::ok()
            })
        }
        .await,
    )
}

/// `POST /flex/v1/join` — start a session, join one, or come back to one.
async fn join(
    State(state): State<AppState>,
    Extension(logins): Extension<Arc<PendingLogins>>,
    Extension(ClientAddr(address)): Extension<ClientAddr>,
    body: Bytes,
) -> Reply {
    result(
        async {
            let req: JoinRequest = parse(&body)?;
            let party = req.user_id.parse().map_err(CmdError::from)?;
            if req.secure_key.is_empty() || req.secure_key.len() > 128 {
                return Err(CmdError::new(ErrorCode::BadSecureKey, "bad secure key"));
            }
            let key = secrets::hash_key(&req.secure_key);
            match (&req.session_id, req.transcript_position) {
                (Some(sid), Some(pos)) => {
                    let caller = Caller::parse(sid, &req.user_id, &req.secure_key)?;
                    let info = caller
                        .resume(&state, EventId(pos.saturating_sub(1)))
                        .await?;
                    Ok(from_snapshot(info))
                }
                (Some(sid), None) => {
                    let login = logins.get(&party, &key, now())?;
                    let caller = Caller::parse(sid, &req.user_id, &req.secure_key)?;
                    let mut user_data = login.user_data();
                    user_data.extend(req.user_data);
                    crate::identity::strip_proofs(&mut user_data);
                    let info = caller
                        .join(&state, login.nickname, login.version, user_data)
                        .await?;
                    logins.forget(&party);
                    Ok(from_snapshot(info))
                }
                (None, _) => {
                    let login = logins.get(&party, &key, now())?;
                    let mut user_data = login.user_data();
                    user_data.extend(req.user_data);
                    let creator = Creator {
                        party: party.clone(),
                        key_hash: key,
                        nickname: login.nickname.clone(),
                        party_type: parley_core::PartyType::Client,
                        version: login.version,
                        protocol: parley_core::Protocol::Flex,
                        sub: None,
                        address,
                    };
                    let mut chat = NewChat {
                        endpoint: req.endpoint,
                        subject: req.subject,
                        user_data,
                        contact: None,
                    };
                    let contact =
                        customer::contact::identify(&state, &mut chat, creator.party_type).await?;
                    let (id, _, rx) = customer::create_session(&state, creator, chat).await?;
                    customer::contact::link(&state, contact, &id).await;
                    let info = customer::reply(rx).await?;
                    logins.forget(&party);
                    Ok(from_snapshot(info))
                }
            }
        }
        .await,
    )
}

/// Appends the events from `position` to a reply, when the request asked for them.
async fn with_events(
    state: &AppState,
    caller: &Caller,
    position: Option<u64>,
    mut reply: FlexReply,
) -> Result<FlexReply, CmdError> {
    if let Some(pos) = position {
        let r = caller.refresh(state, EventId(pos), Duration::ZERO).await?;
        let extra = from_refresh(r);
        reply.events = extra.events;
        reply.next_position = extra.next_position;
        reply.chat_ended = extra.chat_ended;
    }
    Ok(reply)
}

fn acked(ack: crate::actor::Acked) -> FlexReply {
    FlexReply {
        event_id: Some(ack.event_id.0),
        duplicate: Some(ack.duplicate),
        file_id: ack.file_id.map(|f| f.to_string()),
        ..FlexReply::ok()
    }
}

/// `POST /flex/v1/send` — send a message.
async fn send(State(state): State<AppState>, body: Bytes) -> Reply {
    result(
        async {
            let req: SendRequest = parse(&body)?;
            let caller = Caller::parse(&req.session_id, &req.user_id, &req.secure_key)?;
            let body = SendBody::Message {
                text: req.text,
                message_type: req.message_type,
            };
            let ack = caller
                .send(&state, body, req.client_message_id.as_deref())
                .await?;
            with_events(&state, &caller, req.transcript_position, acked(ack)).await
        }
        .await,
    )
}

/// `POST /flex/v1/notify` — send a notice (typing with preview, URL, custom, nickname,
/// read-confirm).
async fn notify(State(state): State<AppState>, body: Bytes) -> Reply {
    result(
        async {
            let req: NotifyRequest = parse(&body)?;
            let caller = Caller::parse(&req.session_id, &req.user_id, &req.secure_key)?;
            let body = SendBody::Notice {
                notice_type: map::notice_type(&req.notice_type)?,
                text: req.text,
                user_data: req.user_data,
            };
            let ack = caller
                .send(&state, body, req.client_message_id.as_deref())
                .await?;
            with_events(&state, &caller, req.transcript_position, acked(ack)).await
        }
        .await,
    )
}

/// `POST /flex/v1/refresh` — the events from a position, long-polling up to `waitMs`.
async fn refresh(State(state): State<AppState>, body: Bytes) -> Reply {
    result(
        async {
            let req: RefreshRequest = parse(&body)?;
            let caller = Caller::parse(&req.session_id, &req.user_id, &req.secure_key)?;
            let wait = Duration::from_millis(req.wait_ms).min(state.policy.flex_refresh_max_wait);
            let r = caller
                .refresh(&state, EventId(req.transcript_position), wait)
                .await?;
            Ok(from_refresh(r))
        }
        .await,
    )
}

/// `POST /flex/v1/logout` — leave the session.
async fn logout(State(state): State<AppState>, body: Bytes) -> Reply {
    result(
        async {
            let req: LogoutRequest = parse(&body)?;
            let caller = Caller::parse(&req.session_id, &req.user_id, &req.secure_key)?;
            caller.logout(&state).await?;
            Ok(FlexReply {
                chat_ended: Some(true),
                ..FlexReply::ok()
            })
        }
        .await,
    )
}
