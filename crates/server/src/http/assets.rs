//! The embedded web UI: every file under `web/` compiled into the binary, served at
//! `/web/<name>` with its MIME type, an ETag, and a strict Content-Security-Policy. With
//! `[web] web-dir` set (development), the same names are read from that directory
//! instead — only names in the table, so no path from a request ever reaches the disk.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The policy of every page and asset: only Parley's own scripts, styles and
/// connections; no plugins, no inline code, no framing by other sites.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
connect-src 'self' ws: wss:; img-src 'self' data: blob:; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'self'";

/// (name under `web/`, MIME type, contents).
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "demo.html",
        "text/html; charset=utf-8",
        include_bytes!("../../../../web/demo.html"),
    ),
    (
        "demo-config.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/demo-config.js"),
    ),
    (
        "desktop-basic.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/desktop-basic.js"),
    ),
    (
        "desktop-chat.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/desktop-chat.js"),
    ),
    (
        "desktop-customer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/desktop-customer.js"),
    ),
    (
        "desktop-supervisor.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/desktop-supervisor.js"),
    ),
    (
        "desktop-util.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/desktop-util.js"),
    ),
    (
        "desktop.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../../web/desktop.css"),
    ),
    (
        "desktop.html",
        "text/html; charset=utf-8",
        include_bytes!("../../../../web/desktop.html"),
    ),
    (
        "desktop.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/desktop.js"),
    ),
    (
        "widget.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../../web/widget.css"),
    ),
    (
        "widget.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/widget.js"),
    ),
];

fn etags() -> &'static Vec<String> {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, _, body)| format!("\"{}\"", &hex::encode(Sha256::digest(body))[..16]))
            .collect()
    })
}

/// `GET /` — the demo page.
pub async fn get_index() -> Redirect {
    Redirect::to("/web/demo.html")
}

/// `GET /web/{name}` — an embedded asset.
pub async fn get_asset(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(i) = ASSETS.iter().position(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let (file, mime, embedded) = ASSETS[i];
    let body: Vec<u8> = match &state.config.web.web_dir {
        Some(dir) => match tokio::fs::read(dir.join(file)).await {
            Ok(b) => b,
            Err(_) => return (StatusCode::NOT_FOUND, "not found").into_response(),
        },
        None => {
            let etag = &etags()[i];
            if headers
                .get(header::IF_NONE_MATCH)
                .is_some_and(|v| v.as_bytes() == etag.as_bytes())
            {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            embedded.to_vec()
        }
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if state.config.web.web_dir.is_none() {
        if let Ok(v) = HeaderValue::from_str(&etags()[i]) {
            h.insert(header::ETAG, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table cannot drift from the directory: every file under `web/` is served,
    /// with the MIME type its extension calls for.
    #[test]
    fn every_web_file_is_in_the_table_with_its_mime_type() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("web/ exists")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut in_table: Vec<String> = ASSETS.iter().map(|(n, _, _)| (*n).to_owned()).collect();
        in_table.sort();
        assert_eq!(on_disk, in_table, "web/ and the ASSETS table differ");
        for (name, mime, body) in ASSETS {
            let want = match name.rsplit_once('.').map(|(_, e)| e) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                other => panic!("no MIME type for {other:?}"),
            };
            assert_eq!(*mime, want, "{name}");
            let disk = std::fs::read(dir.join(name)).expect("read");
            assert!(
                disk.as_slice() == *body,
                "{name} is stale in the binary: rebuild"
            );
        }
    }
}
