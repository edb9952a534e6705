//! Gives the error responses that axum and tower make on their own (405 for
//! a method a route does not have, 413 from a body limit, 400 for a body that
//! could not be read, ...) the API's JSON error body, so every 4xx and 5xx a
//! client sees has a stable `code` whatever produced it.

use super::error::error_response;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// How much of a plain-text error body is kept as the message.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Middleware: passes JSON responses and successes through; rewrites any
/// other error response as the JSON error body with the same status and
/// headers.
pub async fn json_error_bodies(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES * 4).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = message_for(status, &method, &path, text);
    let mut rewritten = error_response(status, code_for(status), &message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The stable code for a status that only a framework layer produces.
pub fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    }
}

fn message_for(status: StatusCode, method: &Method, path: &str, text: String) -> String {
    if status == StatusCode::METHOD_NOT_ALLOWED {
        // axum adds `Allow` after this layer has run.
        return format!("{method} is not allowed on {path}; the Allow header lists what is");
    }
    if status.is_server_error() {
        // A framework's 5xx text is not meant for clients; log it instead.
        tracing::error!(%status, cause = %text, "error response from a framework layer");
        return "internal error; see the server log".into();
    }
    let mut text = text;
    if text.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    }
}
