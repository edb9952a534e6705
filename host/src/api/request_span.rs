//! A tracing span per API request, so every log line written while handling
//! it carries the method, the path and a request id (fields in JSON logs).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Middleware: runs the request inside its span and logs its status.
pub async fn in_request_span(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %uuid::Uuid::now_v7(),
    );
    async move {
        let started = std::time::Instant::now();
        let response = next.run(request).await;
        tracing::debug!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "request answered"
        );
        response
    }
    .instrument(span)
    .await
}
