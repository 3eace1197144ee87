//! Flex file transfer: `POST /flex/v1/file/{limits,upload,download,delete}`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parley_proto::flex::{FileLimits, FileRequest, FlexReply};
use parley_proto::ErrorCode;

use super::{acked, parse, result, Reply};
use crate::actor::{CmdError, FileOp};
use crate::customer::{self, Caller};
use crate::state::AppState;

/// Room for the multipart framing and the text fields around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The upload route, with a body limit of the largest file allowed plus framing.
pub(super) fn upload_routes(state: &AppState) -> Router<AppState> {
    let max_file = usize::try_from(state.policy.session.files.max_file_size).unwrap_or(usize::MAX);
    Router::new()
        .route("/flex/v1/file/upload", post(upload))
        .layer(DefaultBodyLimit::max(
            max_file.saturating_add(MULTIPART_OVERHEAD),
        ))
}

fn caller_of(req: &FileRequest) -> Result<Caller, CmdError> {
    Caller::parse(&req.session_id, &req.user_id, &req.secure_key)
}

/// The limits as reported to a client.
pub(crate) fn limits_of(
    settings: &parley_core::session::FileSettings,
    usage: parley_core::session::FileUsage,
) -> FileLimits {
    FileLimits {
        upload_max_files: settings.max_files,
        upload_max_file_size: settings.max_file_size,
        upload_max_total_size: settings.max_total_size,
        upload_file_types: settings.file_types.join(":"),
        upload_need_agent: settings.need_agent,
        download_attempts: settings.download_attempts,
        delete_file: settings.delete_returns_quota,
        used_upload_max_files: usage.uploads,
        used_upload_max_total_size: usage.bytes,
        used_download_attempts: usage.downloads,
    }
}

/// `POST /flex/v1/file/limits` — the session's file allowances and their use.
pub(super) async fn limits(State(state): State<AppState>, body: Bytes) -> Reply {
    result(
        async {
            let req: FileRequest = parse(&body)?;
            let caller = caller_of(&req)?;
            let (settings, usage) = caller
                .file(&state, |reply| FileOp::Limits { reply })
                .await?;
            Ok(FlexReply {
                limits: Some(limits_of(&settings, usage)),
                ..FlexReply::ok()
            })
        }
        .await,
    )
}

/// `POST /flex/v1/file/upload` — `multipart/form-data` with `userId`, `secureKey`,
/// `sessionId`, optional `description`, then `file` (last, so the caller is checked
/// before a byte of the file is read).
pub(super) async fn upload(State(state): State<AppState>, req: Request) -> Reply {
    result(
        async {
            let multipart = customer::multipart_of(req, &state).await?;
            let ack = receive_upload(&state, multipart).await?;
            Ok(acked(ack))
        }
        .await,
    )
}

/// Reads the text fields, then streams the `file` field into the store.
pub(crate) async fn receive_upload(
    state: &AppState,
    multipart: Multipart,
) -> Result<crate::actor::Acked, CmdError> {
    customer::read_upload(multipart, async |fields, file| {
        let get = |k| customer::field(fields, k);
        let caller = Caller::parse(get("sessionId"), get("userId"), get("secureKey"))?;
        let description = Some(get("description").to_owned()).filter(|d| !d.is_empty());
        customer::upload(state, &caller, file, description).await
    })
    .await
}

/// `POST /flex/v1/file/download` — the file's bytes (an error is JSON).
pub(super) async fn download(State(state): State<AppState>, body: Bytes) -> Response {
    let res = async {
        let req: FileRequest = parse(&body)?;
        let caller = caller_of(&req)?;
        let file_id = req
            .file_id
            .ok_or_else(|| CmdError::new(ErrorCode::InvalidField, "missing field `fileId`"))?;
        customer::download(&state, &caller, &file_id).await
    }
    .await;
    match res {
        Ok(r) => r,
        Err(e) => Reply::from(e).into_response(),
    }
}

/// `POST /flex/v1/file/delete` — delete a file (announced with `file-deleted`).
pub(super) async fn delete(State(state): State<AppState>, body: Bytes) -> Reply {
    result(
        async {
            let req: FileRequest = parse(&body)?;
            let caller = caller_of(&req)?;
            let file_id: u64 = req
                .file_id
                .as_deref()
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| CmdError::new(ErrorCode::InvalidField, "fileId is a number"))?;
            let ack = caller
                .file(&state, |reply| FileOp::Delete { file_id, reply })
                .await?;
            Ok(acked(ack))
        }
        .await,
    )
}
