//! The audit log over HTTP (admin and auditor): entries oldest first, and a
//! verification of the tenant's hash chain. `record` is how every
//! administrative handler appends to it.

use super::AppState;
use super::auth::{Caller, authorize};
use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use crate::ingest::event::now_rfc3339;
use crate::store::AuditRecord;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Entries after this sequence number (default 0: from the start).
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: usize,
    /// Only entries of this action (`secret.put`, `runbook.promote`, …).
    action: Option<String>,
}

fn default_limit() -> usize {
    100
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({"entries": entries, "next_after": next_after})))
}

pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadAudit).await?;
    Ok(Json(json!(
        crate::store::audit::verify_audit(state.store(), &tenant).await?
    )))
}
