//! The runbook registry over HTTP: upload immutable versions, deploy them to
//! environments, promote, and run manually.

use super::AppState;
use super::auth::{Caller, authorize};
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
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
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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

    // Compile and link now: a component that cannot run is refused at upload,
    // with the reason (not a component, an import the host does not offer).
    let sandbox = state.sandbox().clone();
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
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        sha256: ComponentCache::digest(&component),
        size: component.len() as u64,
        manifest,
        manifest_text,
        imports: loaded.imports.clone(),
        uploaded_at: now_rfc3339(),
    };
    let outcome = state
        .store()
        .put_version(&tenant, &version, &component)
        .await?;
    if outcome == PutOutcome::Created {
        super::audit::record(
            &state,
            &tenant,
            &caller,
            "runbook.upload",
            format!("{}@{}", version.name, version.version),
            None,
            Some(
                json!({"sha256": version.sha256, "size": version.size, "manifest": version.manifest, "imports": version.imports}),
            ),
        ).await?;
    }
    state.store().commit().await?;
    let status = match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::Unchanged => StatusCode::OK,
    };
    Ok((
        status,
        Json(json!({"name": version.name, "version": version.version, "sha256": version.sha256})),
    ))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(e.body_text())
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let mut runbooks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in state.store().list_all_versions(&tenant).await? {
        runbooks.entry(v.name).or_default().push(v.version);
    }
    let runbooks: Vec<Value> = runbooks
        .into_iter()
        .map(|(name, versions)| json!({"name": name, "versions": versions}))
        .collect();
    Ok(Json(json!({ "runbooks": runbooks })))
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
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
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "version": v.version, "sha256": v.sha256, "size": v.size,
                "uploaded_at": v.uploaded_at, "manifest": v.manifest,
                "imports": v.imports,
            })
        })
        .collect();
    Ok(Json(
        json!({"name": name, "versions": versions, "deployments": deployments}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    version: String,
}

pub async fn deploy(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name, env)): PathParams<(String, String, String)>,
    JsonBody(body): JsonBody<Deploy>,
) -> Result<Json<Value>, ApiError> {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    from: Environment,
    to: Environment,
}

pub async fn promote(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<Promote>,
) -> Result<Json<Value>, ApiError> {
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
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!(deployment)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    environment: Environment,
    #[serde(default)]
    input: Value,
    /// Run it, but send only reads (see `capabilities::http::dry_run`).
    #[serde(default)]
    dry_run: bool,
}

pub async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<Run>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
        Json(json!({"execution_id": record.id})),
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
