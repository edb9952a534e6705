//! Record and replay over the API: an execution exported with its
//! transcript (for `wolfe replay`), a version's component, and a candidate
//! version replayed on the server against an environment's recorded
//! executions — every host call answered from the transcripts, nothing sent.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{ErrorBody, ReplayRequest, ReplayResult, ReplayRun, ReplaySummary};
use crate::capabilities::transcript::Transcript;
use crate::dispatch::record::ExecutionRecord;
use crate::registry::RunbookVersion;
use crate::sandbox::replay::{EXPORT_FORMAT, ExecutionExport, Recorded, Verdict, compare};
use crate::sandbox::{ExecutionRequest, PreparedRunbook};
use crate::store::ExecutionFilter;
use crate::tenancy::{Action, Principal};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use std::sync::Arc;

/// The most executions one replay request runs.
pub const MAX_REPLAYS: usize = 200;
/// Pages of the execution list scanned for recorded executions.
const MAX_PAGES: usize = 20;

/// One execution with its transcript, for `wolfe replay --file`. Role: any
/// but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/executions/{id}/export", operation_id = "export_execution", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the execution")),
    responses((status = 200, description = "the execution and its transcript", body = ExecutionExport),
        (status = 409, description = "`conflict`: it has no transcript (not recorded, or not finished)", body = ErrorBody),
        TenantErrors),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
) -> Result<Json<ExecutionExport>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let record = state
        .store()
        .get_execution(&tenant, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("execution {id:?} not found")))?;
    let transcript = transcript_of(&state, &record).await?;
    let version = record.version.clone().unwrap_or_default();
    let stored = state
        .store()
        .get_version(&tenant, &record.runbook, &version)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!("{} {version} no longer exists", record.runbook))
        })?;
    Ok(Json(ExecutionExport {
        format: EXPORT_FORMAT.into(),
        runbook: record.runbook.clone(),
        version,
        sha256: stored.sha256,
        component: None,
        manifest: Some(stored.manifest_text),
        input: record.input.clone(),
        dry_run: record.dry_run,
        limits: record
            .limits
            .clone()
            .ok_or_else(|| ApiError::Conflict(format!("execution {id:?} has not run")))?,
        recorded: recorded(&record, transcript),
    }))
}

/// A version's component (`application/wasm`), as uploaded or built.
/// Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/runbooks/{name}/versions/{version}/component", operation_id = "download_component", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook"),
           ("version" = String, Path, description = "the version")),
    responses((status = 200, description = "the component", content_type = "application/wasm", body = Vec<u8>), TenantErrors),
    security(("bearer" = [])))]
pub async fn component(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name, version)): PathParams<(String, String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let (_, bytes) = stored_version(&state, &tenant, &name, &version).await?;
    Ok(([(header::CONTENT_TYPE, "application/wasm")], bytes))
}

/// Replays the newest recorded executions of an environment against a
/// candidate version, on the server, every host call answered from their
/// transcripts (a call not in one gets `failed("not recorded")`): what the
/// candidate would have done with real traffic. Role: admin, author,
/// operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runbooks/{name}/replay", operation_id = "replay_candidate", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook")),
    request_body = ReplayRequest,
    responses((status = 200, description = "a verdict per execution and their summary", body = ReplayRun), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn replay_candidate(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<ReplayRequest>,
) -> Result<Json<ReplayRun>, ApiError> {
    // Nothing is sent and nothing changes: whoever may read the executions
    // and either ship runbooks (an author, before promoting) or run them
    // (an operator) may replay them.
    let caller = authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    if let Principal::Tenant { role, .. } = caller.principal
        && !role.allows(Action::WriteRunbooks)
        && !role.allows(Action::RunRunbooks)
    {
        return Err(ApiError::Forbidden(
            "replaying takes a role that writes or runs runbooks".into(),
        ));
    }
    if !(1..=MAX_REPLAYS).contains(&body.last) {
        return Err(ApiError::BadRequest(format!(
            "last: from 1 to {MAX_REPLAYS}, got {}",
            body.last
        )));
    }
    let mut candidate = prepare(&state, &tenant, &name, &body.version).await?;
    // The candidate runs under its own limits, lowered by the tenant's
    // quota, as it would once promoted.
    if let Some(t) = state.store().get_tenant(&tenant).await? {
        t.quota.clamp(&mut candidate.limits);
    }
    let mut results = Vec::new();
    let mut summary = ReplaySummary::default();
    for record in recorded_executions(&state, &tenant, &name, &body).await? {
        let result = match transcript_of(&state, &record).await {
            Ok(transcript) => {
                let recorded = recorded(&record, transcript);
                let verdict = replay_one(&state, &candidate, &record, &recorded).await;
                summary.count(&verdict);
                ReplayResult {
                    execution: record.id.clone(),
                    recorded_version: record.version.clone(),
                    verdict: Some(verdict),
                    not_replayable: None,
                }
            }
            Err(why) => {
                summary.not_replayable += 1;
                ReplayResult {
                    execution: record.id.clone(),
                    recorded_version: record.version.clone(),
                    verdict: None,
                    not_replayable: Some(why.to_string()),
                }
            }
        };
        results.push(result);
    }
    Ok(Json(ReplayRun {
        runbook: name,
        version: body.version,
        from_environment: body.from_environment,
        summary,
        results,
    }))
}

/// The newest finished executions of `name` in the request's environment
/// that were recorded, at most `last`.
async fn recorded_executions(
    state: &AppState,
    tenant: &str,
    name: &str,
    body: &ReplayRequest,
) -> Result<Vec<ExecutionRecord>, ApiError> {
    let mut found = Vec::new();
    let mut filter = ExecutionFilter {
        runbook: Some(name.to_string()),
        limit: 100,
        ..ExecutionFilter::default()
    };
    for _ in 0..MAX_PAGES {
        let page = state.store().list_executions(tenant, &filter).await?;
        found.extend(page.executions.into_iter().filter(|r| {
            r.environment == body.from_environment
                && r.status.is_terminal()
                && r.transcript.is_some()
        }));
        if found.len() >= body.last || page.next_cursor.is_none() {
            break;
        }
        filter.cursor = page.next_cursor;
    }
    found.truncate(body.last);
    Ok(found)
}

async fn prepare(
    state: &AppState,
    tenant: &str,
    name: &str,
    version: &str,
) -> Result<PreparedRunbook, ApiError> {
    let (stored, bytes) = stored_version(state, tenant, name, version).await?;
    let sandbox = state.sandbox().clone();
    tokio::task::spawn_blocking(move || sandbox.prepare(&stored.manifest, &bytes))
        .await
        .map_err(|e| ApiError::Internal(format!("loading {name} {version} panicked: {e}")))?
        .map_err(|e| ApiError::Internal(format!("loading {name} {version}: {e}")))
}

/// A version and its component's bytes.
async fn stored_version(
    state: &AppState,
    tenant: &str,
    name: &str,
    version: &str,
) -> Result<(RunbookVersion, Vec<u8>), ApiError> {
    let stored = state
        .store()
        .get_version(tenant, name, version)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{name} {version} not found")))?;
    let bytes = state
        .store()
        .get_component(&stored.sha256)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(format!("the component of {name} {version} is missing"))
        })?;
    Ok((stored, bytes))
}

/// An execution's stored transcript, or why there is none to replay.
async fn transcript_of(state: &AppState, record: &ExecutionRecord) -> Result<Transcript, ApiError> {
    let not = |why: &str| ApiError::Conflict(format!("execution {:?} {why}", record.id));
    let summary = record
        .transcript
        .ok_or_else(|| not("has no transcript: it was not recorded or has not finished"))?;
    if !summary.complete {
        return Err(not("outgrew the transcript cap: it cannot be replayed"));
    }
    let stored = state
        .store()
        .get_transcript(&record.tenant, &record.id)
        .await?
        .ok_or_else(|| not("has lost its transcript"))?;
    Transcript::from_stored(&stored).map_err(|e| {
        ApiError::Internal(format!(
            "the transcript of {:?} is unreadable: {e}",
            record.id
        ))
    })
}

fn recorded(record: &ExecutionRecord, transcript: Transcript) -> Recorded {
    Recorded {
        status: record.status,
        output: record.output.clone(),
        fuel_consumed: record.fuel_consumed,
        transcript,
    }
}

async fn replay_one(
    state: &AppState,
    candidate: &PreparedRunbook,
    record: &ExecutionRecord,
    recorded: &Recorded,
) -> Verdict {
    let report = state
        .sandbox()
        .execute(
            candidate,
            ExecutionRequest::replaying(
                record.input.clone(),
                record.dry_run,
                Arc::new(recorded.transcript.clone()),
            ),
        )
        .await;
    compare(recorded, &report)
}
