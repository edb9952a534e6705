//! Reading executions: filtered pages, newest first, single records, and one
//! record's capability trail filtered for a security review.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{
    CancelResult, ErrorBody, ExecutionPage, RerunAccepted, RerunRequest, Trail, TrailQuery,
};
use crate::dispatch::cancel::CancelError;
use crate::dispatch::record::ExecutionRecord;
use crate::safety::suppression::Reason;
use crate::sandbox::report::ExecutionStatus;
use crate::store::ExecutionFilter;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;

/// Page size when the request gives none, and the most it may ask for.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// The query of `GET /executions`: known keys, plus `input.PATH=VALUE`
/// filters (repeatable, all must hold).
#[derive(Default)]
pub struct ListQuery {
    runbook: Option<String>,
    status: Option<ExecutionStatus>,
    event_id: Option<String>,
    /// Only executions with (true) or without (false) a denied call.
    denied: Option<bool>,
    /// Only suppressed executions with this reason (`deduplicated`, …).
    reason: Option<Reason>,
    rule: Option<String>,
    since: Option<String>,
    until: Option<String>,
    input: Vec<(String, String)>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Filters on the input a request may give at most.
const MAX_INPUT_FILTERS: usize = 16;

impl ListQuery {
    fn parse(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut q = ListQuery::default();
        let bad = |key: &str, e: String| ApiError::BadRequest(format!("{key}: {e}"));
        for (key, value) in pairs {
            let text = || Some(value.clone());
            match key.as_str() {
                "runbook" => q.runbook = text(),
                "event_id" => q.event_id = text(),
                "rule" => q.rule = text(),
                "cursor" => q.cursor = text(),
                "since" => q.since = text(),
                "until" => q.until = text(),
                "status" => {
                    q.status = Some(
                        ExecutionStatus::ALL
                            .into_iter()
                            .find(|s| s.as_str() == value)
                            .ok_or_else(|| bad("status", format!("unknown status {value:?}")))?,
                    )
                }
                "reason" => {
                    q.reason = Some(
                        Reason::parse(&value)
                            .ok_or_else(|| bad("reason", format!("unknown reason {value:?}")))?,
                    )
                }
                "denied" => {
                    q.denied = Some(
                        value
                            .parse()
                            .map_err(|_| bad("denied", "true or false".into()))?,
                    )
                }
                "limit" => {
                    q.limit = Some(value.parse().map_err(|_| bad("limit", "a number".into()))?)
                }
                _ => match key.strip_prefix("input.") {
                    Some(path) if !path.is_empty() && !path.split('.').any(str::is_empty) => {
                        q.input.push((path.to_string(), value));
                    }
                    _ => {
                        return Err(ApiError::BadRequest(format!(
                            "unknown query parameter {key:?} (runbook, status, reason, rule, event_id, denied, since, until, input.PATH, limit, cursor)"
                        )));
                    }
                },
            }
        }
        if q.input.len() > MAX_INPUT_FILTERS {
            return Err(bad("input", format!("at most {MAX_INPUT_FILTERS} filters")));
        }
        Ok(q)
    }
}

/// An RFC 3339 time as the smallest execution id created then.
fn time_bound(key: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|e| ApiError::BadRequest(format!("{key}: not an RFC 3339 time ({e})")))?;
    let ms = (t.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    Ok(Some(crate::store::model::id_at(ms)))
}

/// Executions, newest first, filtered; also `input.PATH=VALUE` (repeatable,
/// all must hold) on the input's fields. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/executions", operation_id = "list_executions", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"),
        ("runbook" = Option<String>, Query, description = "only this runbook"),
        ("status" = Option<ExecutionStatus>, Query, description = "only this status"),
        ("reason" = Option<Reason>, Query, description = "only suppressed executions with this reason"),
        ("rule" = Option<String>, Query, description = "only executions this rule created"),
        ("event_id" = Option<String>, Query, description = "only executions of this event"),
        ("denied" = Option<bool>, Query, description = "only executions with (true) or without (false) a denied call"),
        ("since" = Option<String>, Query, description = "created at or after this RFC 3339 time"),
        ("until" = Option<String>, Query, description = "created before this RFC 3339 time"),
        ("limit" = Option<usize>, Query, description = "page size, 1 to 500 [default: 50]"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "a page of executions", body = ExecutionPage), TenantErrors),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(pairs): QueryParams<Vec<(String, String)>>,
) -> Result<Json<ExecutionPage>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let filter = filter_from_query(pairs, DEFAULT_LIMIT)?;
    let page = state.store().list_executions(&tenant, &filter).await?;
    Ok(Json(ExecutionPage {
        executions: page.executions,
        next_cursor: page.next_cursor,
    }))
}

/// One execution record: input, output, error, logs, capability trail,
/// fuel, memory, where it came from. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/executions/{id}", operation_id = "show_execution", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the execution")),
    responses((status = 200, description = "the execution", body = ExecutionRecord), TenantErrors),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
) -> Result<Json<ExecutionRecord>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    Ok(Json(execution(&state, &tenant, &id).await?))
}

/// What one execution reached or tried to, filtered for a security
/// review. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/executions/{id}/trail", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the execution"),
        TrailQuery),
    responses((status = 200, description = "the trail", body = Trail), TenantErrors),
    security(("bearer" = [])))]
pub async fn trail(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<TrailQuery>,
) -> Result<Json<Trail>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let record = execution(&state, &tenant, &id).await?;
    let denied_calls = record.denied_calls();
    let calls: Vec<_> = record
        .capability_calls
        .into_iter()
        .filter(|c| query.denied.is_none_or(|d| d != c.allowed))
        .filter(|c| query.interface.as_ref().is_none_or(|i| *i == c.interface))
        .collect();
    Ok(Json(Trail {
        execution: record.id,
        runbook: record.runbook,
        version: record.version,
        environment: record.environment,
        status: record.status,
        denied_calls,
        calls_dropped: record.capability_calls_dropped,
        calls,
    }))
}

/// Cancels an execution: one that waits ends `cancelled` now; a running
/// one stops at its next epoch tick. Role: admin, author, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/executions/{id}/cancel", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the execution")),
    responses((status = 200, description = "cancelled or stopping", body = CancelResult), (status = 409, description = "`conflict`: it has ended", body = ErrorBody), TenantErrors),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
) -> Result<Json<CancelResult>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::RunRunbooks).await?;
    let outcome = crate::dispatch::cancel::cancel(
        state.store(),
        state.pipeline().dispatcher(),
        &tenant,
        &id,
        &caller.token_id,
    )
    .await
    .map_err(|e| match e {
        CancelError::NotFound(_) => ApiError::NotFound(e.to_string()),
        CancelError::Ended { .. } => ApiError::Conflict(e.to_string()),
        CancelError::Store(e) => e.into(),
    })?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "execution.cancel",
        &id,
        None,
        Some(json!({"execution": id, "cancelled": outcome})),
    )
    .await?;
    state.store().commit().await?;
    Ok(Json(CancelResult {
        execution: id,
        cancelled: outcome,
    }))
}

/// Runs an execution's input again, with the same version or the one
/// deployed now (`rerun_of` links the two). The body is optional. Role:
/// admin, author, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/executions/{id}/rerun", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the execution")),
    request_body = Option<RerunRequest>,
    responses((status = 202, description = "queued", body = RerunAccepted), (status = 409, description = "`conflict`: nothing is deployed to take", body = ErrorBody), (status = 429, description = "`quota_exceeded`, with Retry-After", body = ErrorBody), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn rerun(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<RerunAccepted>), ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::RunRunbooks).await?;
    let body: RerunRequest = super::extract::optional_json(&body)?;
    let original = execution(&state, &tenant, &id).await?;
    let version = match body.version.as_deref().unwrap_or("same") {
        "same" => {
            if body.environment.is_some() {
                return Err(ApiError::BadRequest(
                    "environment: only with \"version\": \"deployed\"".into(),
                ));
            }
            original.version.clone()
        }
        "deployed" => {
            let env = body.environment.unwrap_or(original.environment);
            let deployed = state
                .store()
                .get_deployment(&tenant, &original.runbook, env)
                .await?
                .ok_or_else(|| {
                    ApiError::Conflict(format!(
                        "no version of {} is deployed to {env}",
                        original.runbook
                    ))
                })?;
            Some(deployed.version)
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "version: \"same\" or \"deployed\", not {other:?}"
            )));
        }
    };
    let mut again = crate::dispatch::cancel::rerun_of(&original, version);
    if let Some(env) = body.environment {
        again.environment = env;
    }
    again.dry_run = body.dry_run;
    let created = state
        .pipeline()
        .run_record(again)
        .await
        .map_err(super::runbooks::pipeline_error)?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "execution.rerun",
        &created.id,
        None,
        Some(json!({"execution": created.id, "rerun_of": id, "version": created.version, "dry_run": created.dry_run})),
    )
    .await?;
    state.store().commit().await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(RerunAccepted {
            execution_id: created.id,
            rerun_of: id,
            version: created.version,
        }),
    ))
}

/// The store's filter for a list query (`GET …/executions` and its
/// stream), with `default_limit` when the query sets none.
pub(super) fn filter_from_query(
    pairs: Vec<(String, String)>,
    default_limit: usize,
) -> Result<ExecutionFilter, ApiError> {
    let query = ListQuery::parse(pairs)?;
    let limit = query.limit.unwrap_or(default_limit);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1..={MAX_LIMIT}"
        )));
    }
    Ok(ExecutionFilter {
        since_id: time_bound("since", query.since.as_deref())?,
        until_id: time_bound("until", query.until.as_deref())?,
        runbook: query.runbook,
        status: query.status,
        event_id: query.event_id,
        denied: query.denied,
        reason: query.reason,
        rule: query.rule,
        input: query.input,
        cursor: query.cursor,
        limit,
    })
}

async fn execution(state: &AppState, tenant: &str, id: &str) -> Result<ExecutionRecord, ApiError> {
    state
        .store()
        .get_execution(tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("execution {id:?} not found")))
}
