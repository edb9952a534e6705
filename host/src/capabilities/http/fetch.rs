//! `wasi:http` for runbooks whose language sends HTTP itself — a JavaScript
//! runbook's `fetch()`. wasmtime-wasi-http is linked without its own sender:
//! every outgoing request reaches [`FetchHooks::send_request`], which buffers
//! it and hands it to the same [`send_checked`] as the `http` interface. So
//! `fetch()` has exactly the same grants, redirect checks, request budget,
//! size and time caps, and capability trail; there is one enforcement point.

use super::HttpContext;
use crate::capabilities::describe;
use crate::capabilities::limits::MAX_FETCH_REQUEST_BYTES;
use crate::wit::wolfe::runbook::http::{Request, Response};
use crate::wit::wolfe::runbook::types::Error as GuestError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use std::future::Future;
use std::time::Instant;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Request headers the host derives itself (from the checked URL and the
/// buffered body) rather than taking from the guest.
const HOST_OWNED_REQUEST_HEADERS: &[&str] = &["host", "content-length"];

/// Response headers that describe the connection, not the buffered body the
/// guest receives.
const HOP_BY_HOP_RESPONSE_HEADERS: &[&str] = &["transfer-encoding", "connection", "keep-alive"];

/// What `send_request` returns: the response and a future reporting errors
/// that happen after it (none here: the body is already buffered).
type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

/// The policy hook on every `wasi:http` request of one execution.
pub struct FetchHooks {
    ctx: HttpContext,
}

impl FetchHooks {
    pub fn new(ctx: HttpContext) -> Self {
        Self { ctx }
    }
}

impl WasiHttpHooks for FetchHooks {
    // The host sets `Host` from the URL it checked; a guest-set one is refused
    // by wasi:http's forbidden-header list before it gets here.
    fn set_host_header(&mut self) -> bool {
        false
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let ctx = self.ctx.clone();
        // Its place on the tape is taken now, in the order the guest makes
        // its requests, not when it is answered.
        let slot = ctx.reserve_fetch();
        Box::new(async move {
            let request = buffer_request(&ctx, request, options).await?;
            let response = ctx.send_fetch(slot, request).await.map_err(error_code)?;
            let done: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> =
                Box::new(async { Ok(()) });
            Ok((into_http_response(response)?, done))
        })
    }
}

/// Turns the guest's streamed request into the `http` interface's request,
/// reading the body up to [`MAX_FETCH_REQUEST_BYTES`].
async fn buffer_request(
    ctx: &HttpContext,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<Request, Error> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let url = parts.uri.to_string();
    let body = match Limited::new(body, MAX_FETCH_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let refusal = if too_large {
                GuestError::Limited(format!(
                    "request body larger than {MAX_FETCH_REQUEST_BYTES} bytes"
                ))
            } else {
                GuestError::Failed(format!("reading the request body: {e}"))
            };
            ctx.trail
                .record("http", &method, &url, true, describe(&refusal), started);
            return Err(if too_large {
                Error::HttpRequestBodySize(None)
            } else {
                Error::InternalError(Some(describe(&refusal)))
            });
        }
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !HOST_OWNED_REQUEST_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    // fetch() has no per-request timeout; a guest using wasi:http directly
    // may set one, and the host still caps it by its own maximum.
    let timeout_ms = options
        .and_then(|o| o.first_byte_timeout.or(o.connect_timeout))
        .map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX));
    Ok(Request {
        method,
        url,
        headers,
        body: (!body.is_empty()).then(|| body.to_vec()),
        timeout_ms,
    })
}

fn into_http_response(response: Response) -> Result<http::Response<WasiBody>, Error> {
    let mut builder = http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        if !HOP_BY_HOP_RESPONSE_HEADERS.contains(&name.as_str()) {
            builder = builder.header(name, value);
        }
    }
    let body = Full::new(Bytes::from(response.body))
        .map_err(|never| match never {})
        .boxed_unsync();
    builder
        .body(body)
        .map_err(|e| Error::InternalError(Some(format!("invalid response: {e}"))))
}

/// The `wasi:http` error code a refusal reaches the guest as. The reason
/// itself is in the trail; `fetch()` reports every failure as a TypeError.
fn error_code(e: GuestError) -> Error {
    match e {
        GuestError::Denied(_) => Error::HttpRequestDenied,
        other => Error::InternalError(Some(describe(&other))),
    }
}
