//! The audit log over HTTP (admin and auditor): entries oldest first, and a
//! verification of the tenant's hash chain. `record` is how every
//! administrative handler appends to it.

use super::AppState;
use super::auth::{Caller, authorize};
use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use super::openapi::TenantErrors;
use super::types::{AuditPage, AuditQuery};
use crate::ingest::event::now_rfc3339;
use crate::store::{AuditRecord, AuditVerification};
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::Value;

/// Entries returned per page at most.
const MAX_PAGE: usize = 1_000;

/// Appends an administrative action to the tenant's audit log. Called before
/// the handler's commit, so the change and its entry become durable together.
pub async fn record(
    state: &AppState,
    tenant: &str,
    caller: &Caller,
    action: &'static str,
    target: impl Into<String>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), ApiError> {
    state
        .store()
        .append_audit(
            tenant,
            AuditRecord {
                actor: caller.actor(),
                action,
                target: target.into(),
                before,
                after,
            },
            now_rfc3339(),
        )
        .await?;
    Ok(())
}

/// The tenant's audit log, oldest first: who did what to what, with the
/// record before and after. Role: admin, auditor.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit", operation_id = "list_audit", tag = "security",
    params(("tenant" = String, Path, description = "the tenant"),
        AuditQuery),
    responses((status = 200, description = "a page of entries", body = AuditPage), TenantErrors),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(page): QueryParams<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadAudit).await?;
    let limit = page.limit.clamp(1, MAX_PAGE);
    let entries = state.store().list_audit(&tenant, page.after, limit).await?;
    let next_after = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| page.action.as_ref().is_none_or(|a| &e.action == a))
        .collect();
    Ok(Json(AuditPage {
        entries,
        next_after,
    }))
}

/// Checks the tenant's audit hash chain end to end. Role: admin, auditor.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit/verify", tag = "security",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the verification", body = AuditVerification), TenantErrors),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<AuditVerification>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadAudit).await?;
    Ok(Json(
        crate::store::audit::verify_audit(state.store(), &tenant).await?,
    ))
}
