//! The API's one error type. Client errors say exactly what was wrong, with a
//! stable `code`; server errors say little and log the cause.

use super::types::{ErrorBody, ErrorDetail};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidManifest(String),
    #[error("{0}")]
    InvalidComponent(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    QueueFull(String),
    /// The store cannot be reached; nothing was written, retry later.
    #[error("{0}")]
    StoreUnavailable(String),
    /// A tenant quota; the client should wait this many seconds.
    #[error("{message}")]
    QuotaExceeded {
        message: String,
        retry_after_secs: u32,
    },
    /// A build from source failed: the compiler's message, bounded.
    #[error("{0}")]
    BuildFailed(String),
    /// Builds cannot be isolated on this server, so none are run.
    #[error("{0}")]
    BuildSandboxUnavailable(String),
    /// This server cannot build the language.
    #[error("{0}")]
    ToolchainMissing(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_)
            | Self::InvalidJson(_)
            | Self::InvalidManifest(_)
            | Self::InvalidComponent(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BuildFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::QueueFull(_)
            | Self::StoreUnavailable(_)
            | Self::BuildSandboxUnavailable(_)
            | Self::ToolchainMissing(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "invalid_request",
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidManifest(_) => "invalid_manifest",
            Self::InvalidComponent(_) => "invalid_component",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::QueueFull(_) => "queue_full",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::QuotaExceeded { .. } => "quota_exceeded",
            Self::BuildFailed(_) => "build_failed",
            Self::BuildSandboxUnavailable(_) => "build_sandbox_unavailable",
            Self::ToolchainMissing(_) => "toolchain_missing",
            Self::Internal(_) => "internal",
        }
    }
}

/// The API's error body, `{"error": {"code", "message"}}`, with `status`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.to_string(),
            },
        }),
    )
        .into_response()
}

/// Seconds a client should wait before retrying when the queue is full.
pub const RETRY_AFTER_SECS: u32 = 1;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "internal error; see the server log".to_string()
            }
            Self::StoreUnavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                "the store is unavailable; nothing was written, retry later".to_string()
            }
            other => other.to_string(),
        };
        let mut response = error_response(self.status(), self.code(), &message);
        let retry_after = match &self {
            Self::QueueFull(_) | Self::StoreUnavailable(_) => Some(RETRY_AFTER_SECS),
            Self::QuotaExceeded {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict(m) => Self::Conflict(m),
            crate::store::StoreError::NotFound(m) => Self::NotFound(m),
            crate::store::StoreError::Unavailable(m) => Self::StoreUnavailable(m),
            other => Self::Internal(other.to_string()),
        }
    }
}
