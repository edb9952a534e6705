//! The runbook registry over HTTP: upload immutable versions, deploy them to
//! environments, promote, and run manually.

use super::AppState;
use super::auth::{Caller, authorize};
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{
    DeployRequest, ErrorBody, ExecutionAccepted, PromoteRequest, RunRequest, RunbookDetail,
    RunbookList, RunbookSummary, UploadForm, UploadedVersion, VersionInfo,
};
use crate::ingest::event::now_rfc3339;
use crate::manifest::Manifest;
use crate::pipeline::PipelineError;
use crate::registry::{Deployment, Environment, RunbookVersion};
use crate::sandbox::cache::{ComponentCache, LoadError};
use crate::store::PutOutcome;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

/// Uploads a runbook version: its manifest and component. The component is
/// compiled and linked now, so one that cannot run is refused here. The
/// same name and version with the same bytes is 200; different bytes are a
/// 409 (versions are immutable). Role: admin, author.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runbooks", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "stored", body = UploadedVersion),
        (status = 200, description = "the same version with the same bytes was stored already", body = UploadedVersion),
        (status = 409, description = "`conflict`: the version exists with other bytes", body = ErrorBody),
        TenantErrors, BodyErrors,
    ),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<UploadedVersion>), ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRunbooks).await?;
    let mut multipart = multipart
        .map_err(|e| ApiError::BadRequest(format!("expected multipart/form-data: {e}")))?;
    let (mut manifest_text, mut component) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("manifest") => manifest_text = Some(field.text().await.map_err(multipart_error)?),
            Some("component") => component = Some(field.bytes().await.map_err(multipart_error)?),
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "unexpected part {other:?}; send `manifest` and `component`"
                )));
            }
            None => return Err(ApiError::BadRequest("a multipart part has no name".into())),
        }
    }
    let manifest_text = manifest_text.ok_or_else(|| {
        ApiError::BadRequest("missing part `manifest` (runbook.toml text)".into())
    })?;
    let component = component
        .ok_or_else(|| ApiError::BadRequest("missing part `component` (wasm bytes)".into()))?;
    let manifest =
        Manifest::parse(&manifest_text).map_err(|e| ApiError::InvalidManifest(e.to_string()))?;
    let (status, version) = store_version(
        &state,
        &tenant,
        &caller,
        NewVersion {
            manifest,
            manifest_text,
            component: component.to_vec(),
            source_sha256: None,
        },
        "runbook.upload",
    )
    .await?;
    Ok((
        status,
        Json(UploadedVersion {
            name: version.name,
            version: version.version,
            sha256: version.sha256,
        }),
    ))
}

/// A version about to be stored, uploaded or built from source.
pub(super) struct NewVersion {
    pub manifest: Manifest,
    pub manifest_text: String,
    pub component: Vec<u8>,
    /// The stored source bundle it was built from.
    pub source_sha256: Option<String>,
}

/// What an upload and a build from source share: the component is compiled
/// and linked (one that cannot run is refused with the reason), the version
/// stored, audited as `action` when new, and committed. 201 for a new
/// version, 200 for the same bytes again, 409 for other bytes.
pub(super) async fn store_version(
    state: &AppState,
    tenant: &str,
    caller: &Caller,
    new: NewVersion,
    action: &'static str,
) -> Result<(StatusCode, RunbookVersion), ApiError> {
    // Compile and link now: a component that cannot run is refused at upload,
    // with the reason (not a component, an import the host does not offer).
    let sandbox = state.sandbox().clone();
    let component = std::sync::Arc::new(new.component);
    let bytes = component.clone();
    let loaded = tokio::task::spawn_blocking(move || sandbox.load_component(&bytes))
        .await
        .map_err(|e| ApiError::Internal(format!("component validation panicked: {e}")))?
        .map_err(|e| match e {
            LoadError::NotAComponent(_)
            | LoadError::Compile(_)
            | LoadError::Link(_)
            | LoadError::ForbiddenImports(_) => ApiError::InvalidComponent(e.to_string()),
        })?;

    let version = RunbookVersion {
        name: new.manifest.name.clone(),
        version: new.manifest.version.clone(),
        sha256: ComponentCache::digest(&component),
        size: component.len() as u64,
        manifest: new.manifest,
        manifest_text: new.manifest_text,
        imports: loaded.imports.clone(),
        uploaded_at: now_rfc3339(),
        source_sha256: new.source_sha256,
    };
    let outcome = state
        .store()
        .put_version(tenant, &version, &component)
        .await?;
    if outcome == PutOutcome::Created {
        let mut after = json!({"sha256": version.sha256, "size": version.size, "manifest": version.manifest, "imports": version.imports});
        if let Some(source) = &version.source_sha256 {
            after["source_sha256"] = json!(source);
        }
        super::audit::record(
            state,
            tenant,
            caller,
            action,
            format!("{}@{}", version.name, version.version),
            None,
            Some(after),
        )
        .await?;
    }
    state.store().commit().await?;
    let status = match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::Unchanged => StatusCode::OK,
    };
    Ok((status, version))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(e.body_text())
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

/// Every runbook with its versions. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/runbooks", operation_id = "list_runbooks", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the runbooks", body = RunbookList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<RunbookList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let mut runbooks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in state.store().list_all_versions(&tenant).await? {
        runbooks.entry(v.name).or_default().push(v.version);
    }
    let runbooks = runbooks
        .into_iter()
        .map(|(name, versions)| RunbookSummary { name, versions })
        .collect();
    Ok(Json(RunbookList { runbooks }))
}

/// A runbook's versions and what each environment runs. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/runbooks/{name}", operation_id = "show_runbook", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook")),
    responses((status = 200, description = "the runbook", body = RunbookDetail), TenantErrors),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<RunbookDetail>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let versions = state.store().list_versions(&tenant, &name).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound(format!("runbook {name:?} not found")));
    }
    let deployments: BTreeMap<String, String> = state
        .store()
        .list_deployments(&tenant, &name)
        .await?
        .into_iter()
        .map(|d| (d.environment.to_string(), d.version))
        .collect();
    let versions = versions
        .into_iter()
        .map(|v| VersionInfo {
            version: v.version,
            sha256: v.sha256,
            size: v.size,
            uploaded_at: v.uploaded_at,
            manifest: v.manifest,
            imports: v.imports,
        })
        .collect();
    Ok(Json(RunbookDetail {
        name,
        versions,
        deployments,
    }))
}

/// Deploys an uploaded version to an environment. Role: admin, author.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/runbooks/{name}/environments/{env}", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook"),
           ("env" = Environment, Path, description = "`dev`, `test` or `prod`")),
    request_body = DeployRequest,
    responses((status = 200, description = "deployed", body = Deployment), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn deploy(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name, env)): PathParams<(String, String, String)>,
    JsonBody(body): JsonBody<DeployRequest>,
) -> Result<Json<Deployment>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRunbooks).await?;
    let environment: Environment = env.parse().map_err(ApiError::BadRequest)?;
    if state
        .store()
        .get_version(&tenant, &name, &body.version)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "runbook {name:?} has no version {:?}",
            body.version
        )));
    }
    put_deployment(
        &state,
        &caller,
        &tenant,
        &name,
        environment,
        body.version,
        "runbook.deploy",
    )
    .await
}

/// Copies the version deployed in one environment to the next (dev → test,
/// test → prod). Role: admin, author.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runbooks/{name}/promote", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook")),
    request_body = PromoteRequest,
    responses((status = 200, description = "promoted", body = Deployment), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn promote(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<PromoteRequest>,
) -> Result<Json<Deployment>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRunbooks).await?;
    if body.from.next() != Some(body.to) {
        return Err(ApiError::BadRequest(format!(
            "promotion goes dev -> test -> prod one step at a time; {} -> {} is not a step",
            body.from, body.to
        )));
    }
    let source = state
        .store()
        .get_deployment(&tenant, &name, body.from)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "runbook {name:?} has nothing deployed to {}",
                body.from
            ))
        })?;
    put_deployment(
        &state,
        &caller,
        &tenant,
        &name,
        body.to,
        source.version,
        "runbook.promote",
    )
    .await
}

async fn put_deployment(
    state: &AppState,
    caller: &Caller,
    tenant: &str,
    name: &str,
    environment: Environment,
    version: String,
    action: &'static str,
) -> Result<Json<Deployment>, ApiError> {
    let before = state
        .store()
        .get_deployment(tenant, name, environment)
        .await?;
    let deployment = Deployment {
        runbook: name.to_string(),
        environment,
        version,
        deployed_at: now_rfc3339(),
    };
    state.store().put_deployment(tenant, &deployment).await?;
    super::audit::record(
        state,
        tenant,
        caller,
        action,
        format!("{name}/{environment}"),
        before.map(|d| json!(d)),
        Some(json!(deployment)),
    )
    .await?;
    state.store().commit().await?;
    Ok(Json(deployment))
}

/// Runs the version deployed to an environment with an input; 202 once the
/// execution is durable. Role: admin, author, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runbooks/{name}/run", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook")),
    request_body = RunRequest,
    responses(
        (status = 202, description = "queued", body = ExecutionAccepted),
        (status = 429, description = "`quota_exceeded`, with Retry-After", body = ErrorBody),
        TenantErrors, BodyErrors,
    ),
    security(("bearer" = [])))]
pub async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<RunRequest>,
) -> Result<(StatusCode, Json<ExecutionAccepted>), ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::RunRunbooks).await?;
    if state
        .store()
        .get_deployment(&tenant, &name, body.environment)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "runbook {name:?} has nothing deployed to {}",
            body.environment
        )));
    }
    let record = state
        .pipeline()
        .run_manual(&tenant, &name, body.environment, body.input, body.dry_run)
        .await
        .map_err(pipeline_error)?;
    let mut detail = json!({"execution_id": record.id});
    if record.dry_run {
        // The log says who ran what; whether it could change anything too.
        detail["dry_run"] = json!(true);
    }
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "runbook.run",
        format!("{name}/{}", body.environment),
        None,
        Some(detail),
    )
    .await?;
    state.store().commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ExecutionAccepted {
            execution_id: record.id,
        }),
    ))
}

pub fn pipeline_error(e: PipelineError) -> ApiError {
    match e {
        PipelineError::QueueFull(_) => ApiError::QueueFull(e.to_string()),
        PipelineError::QuotaExceeded {
            retry_after_secs, ..
        } => ApiError::QuotaExceeded {
            message: e.to_string(),
            retry_after_secs,
        },
        PipelineError::Store(e) => e.into(),
    }
}
