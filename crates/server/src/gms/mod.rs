//! The GMS Chat API v2 facade at `/genesys/2/chat/{serviceName}`: existing web clients
//! written for Genesys point at Parley and work unchanged. Every operation is a POST with
//! a form body; every reply is the v2 envelope. `serviceName` maps to an endpoint through
//! `[gms-chat-services]`. See `docs/gms-v2.md`.
//!
//! Layout: `mod.rs` the operations, `form.rs` body decoding, `map.rs` event rendering.

pub mod form;
pub mod map;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use parley_core::session::SendBody;
use parley_core::{ClientVersion, EventId, NoticeType, UserData};
use parley_proto::gms::{GmsError, GmsResponse};
use parley_proto::ErrorCode;
use tracing::{debug, error};

use crate::actor::{CmdError, FileOp, Held, Refreshed};
use crate::customer::{self, Caller, Creator, Login, NewChat};
use crate::http::client::ClientAddr;
use crate::http::error::{is_retry_later, is_server_fault, mark_held, status_of};

use crate::secrets;
use crate::state::AppState;
use form::Form;

/// Room for the multipart framing around an uploaded file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The facade's routes. Every path also answers with a trailing slash
/// (`…/customer-support/`, `…/{chatId}/send/`), as every door does (`router.rs`).
pub fn routes(state: &AppState) -> Router<AppState> {
    let max_file = usize::try_from(state.policy.session.files.max_file_size).unwrap_or(usize::MAX);
    let uploads = Router::new()
        .route(
            "/genesys/2/chat/{service}/{chat_id}/file",
            post(file_upload),
        )
        .layer(DefaultBodyLimit::max(
            max_file.saturating_add(MULTIPART_OVERHEAD),
        ));
    Router::new()
        .route("/genesys/2/chat/{service}", post(request_chat))
        .route("/genesys/2/chat/{service}/{chat_id}/{op}", post(operation))
        .route(
            "/genesys/2/chat/{service}/{chat_id}/file/limits",
            post(file_limits),
        )
        .route(
            "/genesys/2/chat/{service}/{chat_id}/file/{file_id}/download",
            post(file_download),
        )
        .route(
            "/genesys/2/chat/{service}/{chat_id}/file/{file_id}/delete",
            post(file_delete),
        )
        .layer(DefaultBodyLimit::max(state.policy.max_frame_bytes))
        .merge(uploads)
}

/// A v2 reply with its HTTP status.
/// The third field names the live instance holding the session, on a refusal that
/// the forwarding layer replays there (`forward.rs`).
struct Reply(StatusCode, GmsResponse, Option<Held>);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        mark_held((self.0, Json(self.1)).into_response(), self.2.as_ref())
    }
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Self {
        let server = is_server_fault(e.code);
        if server && !is_retry_later(e.code) {
            error!(code = e.code.name(), message = %e.message, "GMS request failed");
        } else {
            debug!(code = e.code.name(), message = %e.message, "GMS request refused");
        }
        Reply(
            status_of(e.code),
            GmsResponse {
                status_code: if server { 2 } else { 1 },
                errors: Some(vec![GmsError {
                    code: e.code.number(),
                    message: e.message,
                    advice: Some(advice(e.code).to_owned()),
                }]),
                ..GmsResponse::default()
            },
            e.held_by,
        )
    }
}

fn advice(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadSecureKey | ErrorCode::LoggedOut | ErrorCode::NoSuchUser => {
            "request a new chat"
        }
        ErrorCode::SessionNotFound => "check the service name and the chat id",
        ErrorCode::SessionOver => "the chat has ended",
        ErrorCode::Unavailable | ErrorCode::StoreFailed | ErrorCode::Internal => {
            "retry the request"
        }
        ErrorCode::RateLimited => "retry after the time in Retry-After",
        ErrorCode::IdentityNotVerified => {
            "pass userData[Identifier] with userData[IdentifierHash], or userData[IdentityToken]"
        }
        _ => "correct the request",
    }
}

fn ok(state: &AppState, r: GmsResponse) -> Reply {
    Reply(
        StatusCode::OK,
        GmsResponse {
            alias: Some(state.sessions.instance.0.clone()),
            ..r
        },
        None,
    )
}

fn done(state: &AppState, r: Result<GmsResponse, CmdError>) -> Reply {
    match r {
        Ok(r) => ok(state, r),
        Err(e) => e.into(),
    }
}

fn check_service(state: &AppState, service: &str) -> Result<(String, String), CmdError> {
    state.config.service_endpoint(service).ok_or_else(|| {
        CmdError::new(
            ErrorCode::SessionNotFound,
            format!("unknown chat service {service:?}"),
        )
    })
}

fn caller(chat_id: &str, form: &Form) -> Result<Caller, CmdError> {
    Caller::parse(chat_id, form.require("userId")?, form.require("secureKey")?)
}

fn with_refresh(mut r: GmsResponse, refreshed: Refreshed) -> GmsResponse {
    r.messages = Some(refreshed.events.iter().map(map::message).collect());
    r.next_position = Some(refreshed.next_position);
    r.chat_ended = Some(refreshed.chat_ended);
    r
}

/// `POST /genesys/2/chat/{serviceName}` — request a chat: `nickname` or `firstName` and
/// `lastName`, optional `subject`, `emailAddress`, `userData[...]`, `text`.
async fn request_chat(
    State(state): State<AppState>,
    Path(service): Path<String>,
    req: Request,
) -> Reply {
    let address = ClientAddr::of(&req);
    let r = async {
        let (tenant, endpoint) = check_service(&state, &service)?;
        let form = Form::read(req, &state).await?;
        let first_text = form.get("text").filter(|t| !t.is_empty());
        if first_text.is_some_and(|t| t.len() > state.policy.session.limits.max_text_bytes) {
            // Checked before anything is created, so a refused request leaves no chat.
            return Err(CmdError::new(
                ErrorCode::LimitExceeded,
                "the first message is larger than max-message-size",
            ));
        }
        let login = Login::new(
            form.get("nickname").map(str::to_owned),
            form.get("firstName").map(str::to_owned),
            form.get("lastName").map(str::to_owned),
            form.get("emailAddress").map(str::to_owned),
            ClientVersion::LATEST,
        )?;
        let party = secrets::new_party_id();
        let key = secrets::new_secure_key();
        let mut user_data = login.user_data();
        user_data.extend(form.user_data.clone());
        let creator = Creator {
            party: party.clone(),
            key_hash: secrets::hash_key(&key),
            nickname: login.nickname.clone(),
            party_type: parley_core::PartyType::Client,
            version: login.version,
            protocol: parley_core::Protocol::Flex,
            sub: None,
            address,
        };
        let mut chat = NewChat {
            endpoint: Some(format!("{tenant}:{endpoint}")),
            subject: form.get("subject").map(str::to_owned),
            user_data,
            contact: None,
        };
        let contact = customer::contact::identify(&state, &mut chat, creator.party_type).await?;
        let (id, _, rx) = customer::create_session(&state, creator, chat).await?;
        customer::contact::link(&state, contact, &id).await;
        customer::reply(rx).await?;
        let caller = Caller::parse(id.as_str(), party.as_str(), &key)?;
        if let Some(text) = form.get("text").filter(|t| !t.is_empty()) {
            let body = SendBody::Message {
                text: text.to_owned(),
                message_type: None,
            };
            caller.send(&state, body, None).await?;
        }
        let refreshed = caller.refresh(&state, EventId(1), Duration::ZERO).await?;
        Ok(with_refresh(
            GmsResponse {
                user_id: Some(party.to_string()),
                secure_key: Some(key),
                chat_id: Some(id.to_string()),
                ..GmsResponse::default()
            },
            refreshed,
        ))
    }
    .await;
    done(&state, r)
}

fn notice(notice_type: NoticeType, text: Option<&str>, user_data: UserData) -> SendBody {
    SendBody::Notice {
        notice_type,
        text: text.map(str::to_owned),
        user_data,
    }
}

/// `POST /genesys/2/chat/{serviceName}/{chatId}/{operation}` — `send`, `refresh`,
/// `startTyping`, `stopTyping`, `disconnect`, `pushUrl`, `updateNickname`,
/// `customNotice`, `updateData`, `readReceipt`. All take `userId`, `secureKey` (and
/// `alias`, ignored); most take an optional `transcriptPosition` to get the events
/// since it in the same reply.
async fn operation(
    State(state): State<AppState>,
    Path((service, chat_id, op)): Path<(String, String, String)>,
    req: Request,
) -> Reply {
    let r = async {
        check_service(&state, &service)?;
        let form = Form::read(req, &state).await?;
        let caller = caller(&chat_id, &form)?;
        let position = form.number("transcriptPosition")?;
        let body = match op.as_str() {
            "send" => Some(SendBody::Message {
                text: form.require("message")?.to_owned(),
                message_type: form.get("messageType").map(str::to_owned),
            }),
            "refresh" => form
                .get("message")
                .filter(|m| !m.is_empty())
                .map(|m| SendBody::Message {
                    text: m.to_owned(),
                    message_type: form.get("messageType").map(str::to_owned),
                }),
            "startTyping" => Some(notice(
                NoticeType::TypingStarted,
                form.get("message"),
                UserData::new(),
            )),
            "stopTyping" => Some(notice(
                NoticeType::TypingStopped,
                form.get("message"),
                UserData::new(),
            )),
            "pushUrl" => Some(notice(
                NoticeType::UserPushedUrl,
                Some(form.require("pushUrl")?),
                UserData::new(),
            )),
            "updateNickname" => Some(notice(
                NoticeType::UserUpdateNick,
                Some(form.require("nickname")?),
                UserData::new(),
            )),
            "customNotice" => Some(notice(
                NoticeType::UserCustom,
                form.get("message"),
                UserData::new(),
            )),
            "readReceipt" => {
                let seen = position.ok_or_else(|| {
                    CmdError::new(
                        ErrorCode::InvalidField,
                        "missing parameter `transcriptPosition`",
                    )
                })?;
                let data = UserData::from([("last-event-id".to_owned(), seen.to_string())]);
                Some(notice(
                    NoticeType::SysCommand,
                    Some(parley_core::event::READ_CONFIRM),
                    data,
                ))
            }
            "disconnect" => {
                caller.logout(&state).await?;
                return Ok(GmsResponse {
                    chat_ended: Some(true),
                    ..GmsResponse::default()
                });
            }
            "updateData" => {
                let mut data = form.user_data.clone();
                crate::identity::strip_update(&state.config, &mut data);
                caller.update_user_data(&state, data).await?;
                None
            }
            _ => {
                return Err(CmdError::new(
                    ErrorCode::InvalidField,
                    format!("unknown operation {op:?}"),
                ))
            }
        };
        if let Some(body) = body {
            // Parley's extension: a client that may retry a send whose reply it lost (a
            // crash, a timeout) names it with `clientMessageId`, and a retry is not stored
            // twice (docs/gms-v2.md).
            let client_id = matches!(op.as_str(), "send" | "refresh")
                .then(|| form.get("clientMessageId"))
                .flatten()
                .filter(|id| !id.is_empty());
            caller.send(&state, body, client_id).await?;
        }
        // A refresh always returns events (from position 1 when none is given).
        let position = if op == "refresh" {
            Some(position.unwrap_or(1))
        } else {
            position
        };
        match position {
            Some(p) => {
                let r = caller.refresh(&state, EventId(p), Duration::ZERO).await?;
                Ok(with_refresh(GmsResponse::default(), r))
            }
            None => Ok(GmsResponse::default()),
        }
    }
    .await;
    done(&state, r)
}

/// `POST .../{chatId}/file/limits` — allowances in `messages[0].userData` (string values).
async fn file_limits(
    State(state): State<AppState>,
    Path((service, chat_id)): Path<(String, String)>,
    req: Request,
) -> Reply {
    let r = async {
        check_service(&state, &service)?;
        let form = Form::read(req, &state).await?;
        let caller = caller(&chat_id, &form)?;
        let (settings, usage) = caller
            .file(&state, |reply| FileOp::Limits { reply })
            .await?;
        let l = crate::flex::limits_of(&settings, usage);
        let data = UserData::from([
            (
                "download-attempts".to_owned(),
                l.download_attempts.to_string(),
            ),
            (
                "upload-max-files".to_owned(),
                l.upload_max_files.to_string(),
            ),
            (
                "upload-max-file-size".to_owned(),
                l.upload_max_file_size.to_string(),
            ),
            (
                "upload-max-total-size".to_owned(),
                l.upload_max_total_size.to_string(),
            ),
            (
                "upload-need-agent".to_owned(),
                l.upload_need_agent.to_string(),
            ),
            ("upload-file-types".to_owned(), l.upload_file_types),
            (
                "used-upload-max-files".to_owned(),
                l.used_upload_max_files.to_string(),
            ),
            (
                "used-upload-max-total-size".to_owned(),
                l.used_upload_max_total_size.to_string(),
            ),
            (
                "used-download-attempts".to_owned(),
                l.used_download_attempts.to_string(),
            ),
            ("delete-file".to_owned(), l.delete_file.to_string()),
        ]);
        Ok(GmsResponse {
            messages: Some(vec![parley_proto::gms::GmsMessage {
                from: parley_proto::gms::GmsParticipant {
                    nickname: "system".into(),
                    participant_id: 0,
                    kind: "System".into(),
                },
                index: 0,
                kind: "Notice".into(),
                text: None,
                message_type: None,
                utc_time: crate::clock::now().0,
                user_data: Some(data),
                event_attributes: None,
            }]),
            ..GmsResponse::default()
        })
    }
    .await;
    done(&state, r)
}

/// `POST .../{chatId}/file` — upload (`multipart/form-data`: `userId`, `secureKey`,
/// optional `userData[file-description]`, then `file`).
async fn file_upload(
    State(state): State<AppState>,
    Path((service, chat_id)): Path<(String, String)>,
    req: Request,
) -> Reply {
    let r = async {
        check_service(&state, &service)?;
        let multipart = customer::multipart_of(req, &state).await?;
        customer::read_upload(multipart, async |fields, file| {
            let form = Form::from_pairs(fields.iter().cloned())?;
            let caller = caller(&chat_id, &form)?;
            let description = form.user_data.get("file-description").cloned();
            let ack = customer::upload(&state, &caller, file, description).await?;
            let data = UserData::from([(
                "file-id".to_owned(),
                ack.file_id.map(|f| f.to_string()).unwrap_or_default(),
            )]);
            Ok(GmsResponse {
                user_data: Some(data),
                ..GmsResponse::default()
            })
        })
        .await
    }
    .await;
    done(&state, r)
}

/// `POST .../{chatId}/file/{fileId}/download` — the file's bytes.
async fn file_download(
    State(state): State<AppState>,
    Path((service, chat_id, file_id)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let r = async {
        check_service(&state, &service)?;
        let form = Form::read(req, &state).await?;
        let caller = caller(&chat_id, &form)?;
        customer::download(&state, &caller, &file_id).await
    }
    .await;
    match r {
        Ok(resp) => resp,
        Err(e) => Reply::from(e).into_response(),
    }
}

/// `POST .../{chatId}/file/{fileId}/delete` — delete a file.
async fn file_delete(
    State(state): State<AppState>,
    Path((service, chat_id, file_id)): Path<(String, String, String)>,
    req: Request,
) -> Reply {
    let r = async {
        check_service(&state, &service)?;
        let form = Form::read(req, &state).await?;
        let caller = caller(&chat_id, &form)?;
        let file_id: u64 = file_id
            .parse()
            .map_err(|_| CmdError::new(ErrorCode::InvalidField, "fileId is a number"))?;
        caller
            .file(&state, |reply| FileOp::Delete { file_id, reply })
            .await?;
        Ok(GmsResponse::default())
    }
    .await;
    done(&state, r)
}
