//! Reading executions: filtered pages, newest first, and single records.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use crate::sandbox::report::ExecutionStatus;
use crate::store::ExecutionFilter;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

/// Page size when the request gives none, and the most it may ask for.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    runbook: Option<String>,
    status: Option<ExecutionStatus>,
    event_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1..={MAX_LIMIT}"
        )));
    }
    let page = state.store().list_executions(
        &tenant,
        &ExecutionFilter {
            runbook: query.runbook,
            status: query.status,
            event_id: query.event_id,
            cursor: query.cursor,
            limit,
        },
    )?;
    Ok(Json(
        json!({"executions": page.executions, "next_cursor": page.next_cursor}),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions)?;
    let record = state
        .store()
        .get_execution(&tenant, &id)?
        .ok_or_else(|| ApiError::NotFound(format!("execution {id:?} not found")))?;
    Ok(Json(json!(record)))
}
