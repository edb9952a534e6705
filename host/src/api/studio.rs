//! Serves Studio, the web UI: the files Vite built into `studio/dist`,
//! embedded in the binary, under a strict Content-Security-Policy.
//!
//! Every path that is not the API's falls through to here: a built file is
//! served as it is; any other path without an extension is one of Studio's
//! own pages (`/executions/…`), answered with `index.html` so that a shared
//! or reloaded link opens that page.

use super::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Studio's built files. Empty when `studio/dist` was not built (a bare
/// `cargo build` without `scripts/setup.sh`): the API works, `/` explains.
#[derive(rust_embed::Embed)]
#[folder = "../studio/dist"]
#[allow_missing = true]
struct Assets;

/// No inline script, nothing from another origin, no framing: an event's
/// text that slipped past the rendering could still neither run nor call
/// out. Inline style only with the page's nonce, which the code editor
/// needs for the `<style>` it creates (its `cspNonce`).
fn content_security_policy(style_nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{style_nonce}'; \
         img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Where `index.html` carries the nonce for the page's script to read.
const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";

/// Answers every request no API route took.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let is_api = path.starts_with("/v1/") || path == "/v1";
    if is_api || !(method == Method::GET || method == Method::HEAD) {
        return ApiError::NotFound(format!("no endpoint {method} {path}")).into_response();
    }
    let name = path.trim_start_matches('/');
    if let Some(file) = Assets::get(name).filter(|_| !name.is_empty()) {
        return serve(name, file);
    }
    let is_page = !name.rsplit('/').next().unwrap_or("").contains('.');
    match Assets::get("index.html") {
        Some(index) if is_page => serve("index.html", index),
        None if is_page => ApiError::NotFound(
            "Studio is not built into this binary: run ./scripts/setup.sh (it builds studio/), \
             then rebuild wolfe; the API under /v1/ works without it"
                .into(),
        )
        .into_response(),
        _ => ApiError::NotFound(format!("no file {path}")).into_response(),
    }
}

fn serve(name: &str, file: rust_embed::EmbeddedFile) -> Response {
    // Vite names every file under assets/ by its content hash: it never
    // changes, so the browser may keep it. index.html must be asked again.
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mime = file.metadata.mimetype();
    // A fresh nonce for every page load: a nonce an attacker could learn
    // once would otherwise hold for good.
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let body = if name == "index.html" {
        String::from_utf8_lossy(&file.data)
            .replace(NONCE_PLACEHOLDER, &nonce)
            .into_bytes()
    } else {
        file.data.into_owned()
    };
    let mut response = (StatusCode::OK, Body::from(body)).into_response();
    let headers = response.headers_mut();
    let mut set = |name, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, mime);
    set(header::CACHE_CONTROL, cache);
    set(
        header::CONTENT_SECURITY_POLICY,
        &content_security_policy(&nonce),
    );
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    response
}
