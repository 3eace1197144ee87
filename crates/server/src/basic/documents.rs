//! `POST /basic/v1/documents`: the first step of an agent's (or bot's) file transfer, as
//! in Genesys: store the file, get a document id, then announce it in the session with a
//! `SYS_COMMAND` notice `file-uploaded` carrying `file-document-id` over the basic
//! protocol (the server fills in name, size and type, and assigns the `file-id`).
//! Customers upload in one step through the flex or GMS file endpoints, which count
//! their allowances.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::actor::FileOp;
use crate::customer::{self, Caller};
use crate::http::error::{mark_held, status_of};
use crate::state::AppState;

/// Largest agent document (agents are not bound by the customer allowances, but every
/// body is bounded).
const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Largest body of the route (a document and its multipart framing).
pub const MAX_BODY_BYTES: usize = MAX_DOCUMENT_BYTES + 64 * 1024;

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/basic/v1/documents", post(store_document))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// `POST /basic/v1/documents` — `multipart/form-data`: `userId`, `secureKey`,
/// `sessionId` (from the basic registration and session), then `file`.
async fn store_document(State(state): State<AppState>, req: Request) -> Response {
    let res = async {
        let multipart = customer::multipart_of(req, &state).await?;
        customer::read_upload(multipart, async |fields, file| {
            let get = |k| customer::field(fields, k);
            let caller = Caller::parse(get("sessionId"), get("userId"), get("secureKey"))?;
            caller
                .file(&state, |reply| FileOp::StaffOnly { reply })
                .await?;
            customer::store_upload(&state, &caller, file).await
        })
        .await
    }
    .await;
    match res {
        Ok(f) => Json(json!({
            "documentId": f.document_id,
            "fileName": f.name,
            "fileSize": f.size,
            "mimeType": f.mime,
        }))
        .into_response(),
        Err(e) => mark_held(
            (
                status_of(e.code),
                Json(
                    json!({"error": {"code": e.code, "name": e.code.name(), "message": e.message}}),
                ),
            )
                .into_response(),
            e.held_by.as_ref(),
        ),
    }
}
