//! `POST /v1/hooks/{tenant}/{source}`: a webhook sender's events, answered
//! 202 only once they and their executions are durable.
//!
//! Order of checks: body size (413, the same for every path), the source
//! and its credentials (401), the body's JSON (400), room in the queue (503 +
//! Retry-After). An unknown tenant or source answers exactly like a known one
//! with wrong credentials, so the unauthenticated internet cannot enumerate
//! tenants or sources; only a token of the tenant (or the server admin) is
//! told 404, or 409 for a source of another type (SQS, schedule), which
//! takes no posts. Why a request was refused goes to the server log.

use super::AppState;
use super::auth::{Caller, authenticate};
use super::error::ApiError;
use super::extract::PathParams;
use super::runbooks::pipeline_error;
use super::types::{ErrorBody, WebhookAccepted};
use crate::ingest::source::{SourceSpec, WebhookAuth, WebhookSpec};
use crate::ingest::webhook::{IngestError, events_from_body, verify_hmac};
use crate::tenancy::{Principal, Role};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};

/// The one answer to every unauthenticated refusal, whatever its cause.
const REFUSED: &str = "this webhook does not accept the request: unknown tenant or source, \
                       or missing or wrong credentials or signature";

/// Posts events to a webhook source: the body is one event, or many with
/// the source's `split`. Authenticated by a sender (or admin) token of the
/// tenant, or by the HMAC signature the source names. 202 only once the
/// events and their executions are durable.
#[utoipa::path(post, path = "/v1/hooks/{tenant}/{source}", tag = "webhooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("source" = String, Path, description = "the webhook source")),
    request_body(content = serde_json::Value, description = "any JSON document", content_type = "application/json"),
    responses(
        (status = 202, description = "accepted and durable", body = WebhookAccepted),
        (status = 400, description = "`invalid_json`: the body (or a split element) is not what the source expects", body = ErrorBody),
        (status = 401, description = "`unauthorized`: unknown tenant or source, or missing or wrong credentials or signature (one answer for all)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such source (told only to a token of the tenant)", body = ErrorBody),
        (status = 409, description = "`conflict`: an SQS or schedule source takes no posts (told only to a token of the tenant)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 429, description = "`quota_exceeded`, with Retry-After", body = ErrorBody),
        (status = 503, description = "`queue_full` or `store_unavailable`, with Retry-After", body = ErrorBody),
    ),
    security((), ("bearer" = [])))]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, source_name)): PathParams<(String, String)>,
    body: Body,
) -> Result<(StatusCode, Json<WebhookAccepted>), ApiError> {
    let received = std::time::Instant::now();
    let body = read_body(&state, &headers, body).await?;
    // A missing or wrong token is judged below, with the source's auth; a
    // store that cannot be read is an outage, not a refusal.
    let caller = match authenticate(&state, &headers).await {
        Ok(caller) => Some(caller),
        Err(e @ ApiError::StoreUnavailable(_)) => return Err(e),
        Err(_) => None,
    };
    let refuse = |why: &str| {
        tracing::info!(%tenant, source = %source_name, why, "webhook request refused");
        crate::metrics::webhook_refused();
        ApiError::Unauthorized(REFUSED.into())
    };
    let known = caller.as_ref().is_some_and(|c| belongs_to(c, &tenant));
    let spec = match find_source(&state, &tenant, &source_name).await? {
        Target::Webhook(spec) => spec,
        Target::Missing if known => {
            return Err(ApiError::NotFound(format!(
                "no webhook source {source_name:?} in tenant {tenant:?}"
            )));
        }
        // Events of SQS and schedule sources come from the queue or the
        // clock, never from a post: such a source has no webhook auth to
        // pass, so a post is refused whoever sends it.
        Target::Other(kind) if known => {
            return Err(ApiError::Conflict(format!(
                "source {source_name:?} is of type {kind}: it takes no webhook posts"
            )));
        }
        Target::Missing => return Err(refuse("unknown tenant or source")),
        Target::Other(kind) => return Err(refuse(&format!("a {kind} source takes no posts"))),
    };
    match &spec.auth {
        None => return Err(refuse("the source has no authentication configured")),
        Some(WebhookAuth::Bearer) => {
            let may_send = caller.as_ref().is_some_and(|c| {
                matches!(
                    &c.principal,
                    Principal::Tenant { tenant: t, role: Role::Sender | Role::Admin } if *t == tenant
                )
            });
            if !may_send {
                return Err(refuse("no sender token of the tenant"));
            }
        }
        Some(auth @ WebhookAuth::HmacSha256 { .. }) => {
            verify_hmac(auth, &headers, &body)
                .map_err(|_| refuse("signature does not match the body"))?;
        }
    }
    // Past authentication: the tenant and source are real, safe as labels.
    if !spec.enabled {
        return Err(ApiError::Conflict(format!(
            "source {source_name:?} is disabled: it takes no posts until it is enabled again"
        )));
    }
    let answer = accept(&state, &tenant, &source_name, &spec, &headers, &body).await;
    let status = match &answer {
        Ok((status, _)) => *status,
        Err(e) => e.status(),
    };
    crate::metrics::webhook_answered(&tenant, &source_name, status.as_u16(), received.elapsed());
    answer
}

/// Turns an authenticated request's body into events and accepts them.
async fn accept(
    state: &AppState,
    tenant: &str,
    source_name: &str,
    spec: &WebhookSpec,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(StatusCode, Json<WebhookAccepted>), ApiError> {
    let events =
        events_from_body(tenant, source_name, spec, headers, body).map_err(|e| match e {
            IngestError::InvalidBody(m) => ApiError::InvalidJson(m),
            IngestError::Unauthorized => ApiError::Unauthorized(e.to_string()),
        })?;
    let accepted = state
        .pipeline()
        .accept(tenant, events)
        .await
        .map_err(pipeline_error)?;
    let event_ids: Vec<String> = accepted.iter().map(|a| a.event_id.clone()).collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(WebhookAccepted {
            event_id: event_ids.first().cloned(),
            duplicates: accepted.iter().filter(|a| a.duplicate).count(),
            executions: accepted.into_iter().flat_map(|a| a.executions).collect(),
            event_ids,
        }),
    ))
}

/// The body, refused with 413 past the server's limit before anything else
/// is looked at.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.limits().max_body_bytes;
    let too_large = || ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// What a webhook post is addressed to.
enum Target {
    Webhook(WebhookSpec),
    /// A source of another type (`sqs`, `schedule`).
    Other(&'static str),
    /// No such tenant or source.
    Missing,
}

async fn find_source(state: &AppState, tenant: &str, source: &str) -> Result<Target, ApiError> {
    if state.store().get_tenant(tenant).await?.is_none() {
        return Ok(Target::Missing);
    }
    Ok(match state.store().get_source(tenant, source).await? {
        Some(stored) => match stored.spec {
            SourceSpec::Webhook(spec) => Target::Webhook(spec),
            SourceSpec::Sqs(_) => Target::Other("sqs"),
            SourceSpec::Schedule(_) => Target::Other("schedule"),
        },
        None => Target::Missing,
    })
}

/// Whether the caller may know what exists in `tenant`.
fn belongs_to(caller: &Caller, tenant: &str) -> bool {
    match &caller.principal {
        Principal::ServerAdmin => true,
        Principal::Tenant { tenant: own, .. } => own == tenant,
    }
}
