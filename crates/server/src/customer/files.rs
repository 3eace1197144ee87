//! File transfer shared by the flex and GMS front doors (and agents over HTTP): uploads
//! are streamed with a cap (the caller's remaining allowance, checked before a byte is
//! read), stored as documents in the store, then announced in the session. Downloads are
//! served only to parties of the session, always as attachments.

use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parley_core::session::{FileRecord, UploadedFile};
use parley_proto::ErrorCode;
use parley_store::{DocumentStore, NewDocument};

use super::Caller;
use crate::actor::{Acked, CmdError, FileOp};
use crate::secrets;
use crate::state::AppState;

/// The multipart body of a request, with a typed error (not axum's plain-text rejection)
/// when the request is not `multipart/form-data` or has no boundary.
pub async fn multipart_of<S: Send + Sync>(req: Request, state: &S) -> Result<Multipart, CmdError> {
    Multipart::from_request(req, state).await.map_err(|e| {
        CmdError::new(
            ErrorCode::InvalidField,
            format!("expected a multipart/form-data body: {e}"),
        )
    })
}

/// Most text fields an upload form may carry, and their largest size.
const MAX_FIELDS: usize = 16;
const MAX_FIELD_BYTES: usize = 4096;

/// Reads an upload form: its text fields (in order), then its `file` part, which must
/// come last so the caller is checked before a byte of the file is read. `on_file` gets
/// the fields and the file part.
pub async fn read_upload<T>(
    mut multipart: Multipart,
    on_file: impl AsyncFnOnce(&[(String, String)], Field<'_>) -> Result<T, CmdError>,
) -> Result<T, CmdError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        CmdError::new(ErrorCode::InvalidField, format!("bad multipart body: {e}"))
    };
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            return on_file(&fields, field).await;
        }
        if fields.len() >= MAX_FIELDS {
            return Err(CmdError::new(
                ErrorCode::LimitExceeded,
                "too many form fields",
            ));
        }
        let text = field.text().await.map_err(bad)?;
        if text.len() > MAX_FIELD_BYTES {
            return Err(CmdError::new(
                ErrorCode::LimitExceeded,
                "form field too large",
            ));
        }
        fields.push((name, text));
    }
    Err(CmdError::new(ErrorCode::InvalidField, "no `file` part"))
}

/// The value of a form field.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Reads, stores and announces one uploaded file.
pub async fn upload(
    state: &AppState,
    caller: &Caller,
    field: Field<'_>,
    description: Option<String>,
) -> Result<Acked, CmdError> {
    let mut file = store_upload(state, caller, field).await?;
    file.description = description;
    let document_id = file.document_id.clone();
    let res = caller
        .file(state, |reply| FileOp::Upload { file, reply })
        .await;
    if res.is_err() {
        // Refused after all (a limit raced): the bytes must not linger.
        let _ = state.store.delete_document(&document_id).await;
    }
    res
}

/// Streams a `file` part into the store within the caller's allowance (checked before a
/// byte is read); the file is not announced yet.
pub async fn store_upload(
    state: &AppState,
    caller: &Caller,
    field: Field<'_>,
) -> Result<UploadedFile, CmdError> {
    let name = upload_name(field.file_name())?;
    let cap = caller
        .file(state, |reply| FileOp::Allowance {
            name: name.clone(),
            reply,
        })
        .await?;
    let mime = content_type(field.content_type(), &name);
    let content = read_file(field, cap).await?;
    let document_id = secrets::new_document_id();
    let size = content.len() as u64;
    state
        .store
        .put_document(&NewDocument {
            id: document_id.clone(),
            session: caller.session.clone(),
            name: name.clone(),
            mime: mime.clone(),
            content,
            created_at: crate::clock::now(),
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not store a document");
            CmdError::new(ErrorCode::StoreFailed, "the file could not be stored")
        })?;
    Ok(UploadedFile {
        document_id,
        name,
        size,
        mime,
        description: None,
    })
}

/// The name an upload is stored and shown under: the last path segment of the part's
/// filename, trimmed (a name is text to show, never a path). A part without one, or
/// whose last segment is blank (`dir/`, `a\\ `), is refused here with `INVALID_FIELD`.
pub fn upload_name(given: Option<&str>) -> Result<String, CmdError> {
    let name = given
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            CmdError::new(
                ErrorCode::InvalidField,
                "the file part needs a filename (not a directory)",
            )
        })?;
    Ok(name.to_owned())
}

/// The bytes of a `file` part, at most `cap` of them; an empty file is refused.
pub async fn read_file(mut field: Field<'_>, cap: u64) -> Result<Vec<u8>, CmdError> {
    let mut content = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| CmdError::new(ErrorCode::InvalidField, format!("bad multipart body: {e}")))?
    {
        if (content.len() + chunk.len()) as u64 > cap {
            return Err(CmdError::new(
                ErrorCode::LimitExceeded,
                format!("file larger than the {cap} bytes allowed"),
            ));
        }
        content.extend_from_slice(&chunk);
    }
    if content.is_empty() {
        return Err(CmdError::new(ErrorCode::InvalidField, "the file is empty"));
    }
    Ok(content)
}

/// The download of file `file_id` for `caller`.
pub async fn download(
    state: &AppState,
    caller: &Caller,
    file_id: &str,
) -> Result<Response, CmdError> {
    let file_id: u64 = file_id
        .parse()
        .map_err(|_| CmdError::new(ErrorCode::InvalidField, "fileId is a number"))?;
    let record: FileRecord = caller
        .file(state, |reply| FileOp::Download { file_id, reply })
        .await?;
    let doc = state
        .store
        .get_document(&record.document_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not read a document");
            CmdError::new(ErrorCode::Internal, "the file could not be read")
        })?
        .filter(|d| d.session == caller.session)
        .ok_or_else(|| CmdError::new(ErrorCode::InvalidField, "no such file in the session"))?;
    Ok(file_response(&record.name, &record.mime, doc.content))
}

/// Bytes as an attachment: never rendered in Parley's origin, whatever their type.
pub fn file_response(name: &str, mime: &str, content: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, Body::from(content)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / 5987).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A safe content type: the part's own when it is a plain `type/subtype` token, else one
/// guessed from the extension, else `application/octet-stream`.
pub(crate) fn content_type(given: Option<&str>, name: &str) -> String {
    let token = |s: &str| {
        let mut parts = s.split('/');
        let ok = |p: Option<&str>| {
            p.is_some_and(|p| {
                !p.is_empty()
                    && p.len() <= 64
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
            })
        };
        ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
    };
    if let Some(g) = given.map(|g| {
        g.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }) {
        if token(&g) && g != "application/octet-stream" {
            return g;
        }
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("bmp") => "image/bmp",
        Some("txt") => "text/plain",
        Some("csv") => "text/csv",
        Some("rtf") => "application/rtf",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xls") => "application/vnd.ms-excel",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_never_lets_a_name_break_the_header() {
        let d = content_disposition("evil\"; x=\"y/../ü.pdf");
        assert!(
            d.starts_with("attachment; filename=\"evil__ x__y_..__.pdf\"; "),
            "{d}"
        );
        assert!(d.contains("filename*=UTF-8''evil%22%3B%20x%3D%22y%2F..%2F%C3%BC.pdf"));
        assert!(!d.contains('\n'));
    }

    #[test]
    fn upload_names_keep_the_last_segment_and_refuse_blank_ones() {
        assert_eq!(upload_name(Some("a.pdf")).ok().as_deref(), Some("a.pdf"));
        assert_eq!(
            upload_name(Some("C:\\Users\\pat\\ report.pdf "))
                .ok()
                .as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            upload_name(Some("../../etc/passwd")).ok().as_deref(),
            Some("passwd")
        );
        // A name whose last segment is blank is refused here, before the session is asked.
        for blank in [
            None,
            Some(""),
            Some("  "),
            Some("dir/"),
            Some("a\\ "),
            Some("/"),
        ] {
            let e = upload_name(blank).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidField, "{blank:?}");
        }
    }

    #[test]
    fn content_types_are_tokens_or_guessed() {
        assert_eq!(content_type(Some("image/png"), "a.bin"), "image/png");
        assert_eq!(
            content_type(Some("text/html\r\nX: y"), "a.pdf"),
            "application/pdf"
        );
        assert_eq!(content_type(None, "noext"), "application/octet-stream");
        assert_eq!(
            content_type(Some("text/plain; charset=utf-8"), "a"),
            "text/plain"
        );
    }
}
