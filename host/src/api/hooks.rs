//! `POST /v1/hooks/{tenant}/{source}`: a webhook sender's events, answered
//! 202 only once they and their executions are durable.
//!
//! Order of checks: tenant and source exist (404), a bearer source's token
//! (401), body size (413), an HMAC source's signature over the body (401),
//! the body's JSON (400), room in the queue (503 + Retry-After).

use super::AppState;
use super::auth::authenticate;
use super::error::ApiError;
use super::extract::PathParams;
use super::runbooks::pipeline_error;
use crate::ingest::source::{SourceSpec, WebhookAuth};
use crate::ingest::webhook::{IngestError, events_from_body, verify_hmac};
use crate::tenancy::{Principal, Role};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, source_name)): PathParams<(String, String)>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let not_found =
        || ApiError::NotFound(format!("no source {source_name:?} in tenant {tenant:?}"));
    if state.store().get_tenant(&tenant)?.is_none() {
        return Err(not_found());
    }
    let source = state
        .store()
        .get_source(&tenant, &source_name)?
        .ok_or_else(not_found)?;
    let SourceSpec::Webhook(spec) = &source.spec else {
        return Err(ApiError::NotFound(format!(
            "source {source_name:?} is not a webhook source"
        )));
    };
    let auth = spec.auth.as_ref().ok_or_else(|| {
        ApiError::Unauthorized("this source has no authentication configured".into())
    })?;
    if matches!(auth, WebhookAuth::Bearer) {
        let caller = authenticate(&state, &headers)?;
        let may_send = matches!(
            &caller.principal,
            Principal::Tenant { tenant: t, role: Role::Sender | Role::Admin } if *t == tenant
        );
        if !may_send {
            return Err(ApiError::Unauthorized(
                "this source needs a sender token of its tenant".into(),
            ));
        }
    }

    let limit = state.limits().max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"));
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;

    if matches!(auth, WebhookAuth::HmacSha256 { .. }) {
        verify_hmac(auth, &headers, &body)
            .map_err(|_| ApiError::Unauthorized("signature does not match the body".into()))?;
    }
    let events =
        events_from_body(&tenant, &source_name, spec, &headers, &body).map_err(|e| match e {
            IngestError::InvalidBody(m) => ApiError::InvalidJson(m),
            IngestError::Unauthorized => ApiError::Unauthorized(e.to_string()),
        })?;
    let accepted = state
        .pipeline()
        .accept(&tenant, events)
        .await
        .map_err(pipeline_error)?;
    let event_ids: Vec<&str> = accepted.iter().map(|a| a.event_id.as_str()).collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "event_id": event_ids.first(),
            "event_ids": event_ids,
            "duplicates": accepted.iter().filter(|a| a.duplicate).count(),
            "executions": accepted.iter().flat_map(|a| a.executions.iter()).collect::<Vec<_>>(),
        })),
    ))
}
