//! Request extractors whose rejections are [`ApiError`]s (JSON bodies with a
//! stable code) instead of axum's plain-text defaults.

use super::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON request body.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        // Every body is an object: serde would fill a struct from an array
        // field by field (`["acme"]` creating tenant acme), which no client
        // means and the document does not allow.
        if !value.is_object() {
            return Err(ApiError::InvalidJson(
                "the body must be a JSON object".into(),
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|e| {
                ApiError::BadRequest(format!(
                    "Failed to deserialize the JSON body into the target type: {e}"
                ))
            })
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::BadRequest("expected a JSON body with Content-Type: application/json".into())
        }
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::BadRequest(text),
        _ => ApiError::InvalidJson(text),
    }
}

/// Path parameters.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|e: PathRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// Query parameters.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e: QueryRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// A JSON body that may be left out: empty (or only whitespace) or `null`
/// is the type's default.
pub fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidJson(format!("request body: {e}")))?;
    match value {
        serde_json::Value::Null => Ok(T::default()),
        serde_json::Value::Object(_) => serde_path_to_error::deserialize(value)
            .map_err(|e| ApiError::InvalidJson(format!("request body: {e}"))),
        _ => Err(ApiError::InvalidJson(
            "the body must be a JSON object (or nothing)".into(),
        )),
    }
}
