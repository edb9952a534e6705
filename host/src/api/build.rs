//! Runbooks built on the server from their source (Studio's editor): the
//! build, the source kept with each version, the languages this server can
//! build and the templates new runbooks start from.

use super::AppState;
use super::auth::{authenticate, authorize};
use super::error::ApiError;
use super::extract::{JsonBody, PathParams, QueryParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::runbooks::{NewVersion, store_version};
use super::types::{
    BuildLanguages, BuiltVersion, ErrorBody, LanguageSupport, RunbookSource, RunbookTemplate,
    TemplateQuery,
};
use crate::build::server::ServerBuildError;
use crate::build::source::SourceFiles;
use crate::build::template;
use crate::manifest::{Language, Manifest};
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

/// The manifest every source holds.
const MANIFEST: &str = "runbook.toml";

/// Builds a runbook from its files, as `wolfe build` would, and stores the
/// version with its source. The build runs in an isolated child process
/// (no network, read-only file system but its own folder, time and memory
/// limits), one at a time; nothing is installed (only the SDK and the
/// runbook's own files). The manifest's `name` must be `{name}`. The same
/// version with the same source is 200 without a build; the version with
/// other source is 409 (versions are immutable). Role: admin, author.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runbooks/{name}/source", operation_id = "build_runbook_source", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook")),
    request_body = RunbookSource,
    responses(
        (status = 201, description = "built and stored", body = BuiltVersion),
        (status = 200, description = "this version was built from this source before", body = BuiltVersion),
        (status = 409, description = "`conflict`: the version exists, from other source or as an uploaded component", body = ErrorBody),
        (status = 422, description = "`build_failed`: the message holds the compiler's, bounded", body = ErrorBody),
        (status = 503, description = "`build_sandbox_unavailable` (builds cannot be isolated here, so none run), `toolchain_missing`, `store_unavailable`", body = ErrorBody),
        TenantErrors, BodyErrors,
    ),
    security(("bearer" = [])))]
pub async fn build_from_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<RunbookSource>,
) -> Result<(StatusCode, Json<BuiltVersion>), ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRunbooks).await?;
    let source = SourceFiles::new(body.files, state.builds().settings().source)
        .map_err(ApiError::BadRequest)?;
    let manifest_text = source
        .get(MANIFEST)
        .ok_or_else(|| ApiError::BadRequest(format!("`files` has no {MANIFEST}")))?
        .to_string();
    let manifest =
        Manifest::parse(&manifest_text).map_err(|e| ApiError::InvalidManifest(e.to_string()))?;
    if manifest.name != name {
        return Err(ApiError::InvalidManifest(format!(
            "{MANIFEST} names the runbook {:?}, but this is {name:?}",
            manifest.name
        )));
    }
    let bundle = source.bundle();
    let source_sha256 = SourceFiles::digest(&bundle);
    // A version is immutable, its source included: the same source again
    // needs no build, other source needs a new version.
    if let Some(existing) = state
        .store()
        .get_version(&tenant, &name, &manifest.version)
        .await?
    {
        if existing.source_sha256.as_deref() == Some(source_sha256.as_str()) {
            return Ok((
                StatusCode::OK,
                Json(BuiltVersion {
                    name: existing.name,
                    version: existing.version,
                    sha256: existing.sha256,
                    source_sha256: existing.source_sha256,
                    log: String::new(),
                    build_ms: 0,
                }),
            ));
        }
        let was = match existing.source_sha256 {
            Some(_) => "was built from other source",
            None => "was uploaded as a component",
        };
        return Err(ApiError::Conflict(format!(
            "{name} {} {was}; versions are immutable: change `version` in {MANIFEST}",
            manifest.version
        )));
    }

    let built = state
        .builds()
        .build(&tenant, &source)
        .await
        .map_err(|e| match e {
            ServerBuildError::Failed(m) => ApiError::BuildFailed(m),
            ServerBuildError::SandboxUnavailable(m) => ApiError::BuildSandboxUnavailable(m),
            ServerBuildError::ToolchainMissing(m) => ApiError::ToolchainMissing(m),
            ServerBuildError::Internal(m) => ApiError::Internal(m),
        })?;
    tracing::info!(%tenant, runbook = %name, language = ?manifest.language, ms = built.elapsed.as_millis() as u64, "built from source");
    // Content-addressed, so written before the version that names it.
    state
        .store()
        .put_source_bundle(&source_sha256, &bundle)
        .await?;
    let (status, version) = store_version(
        &state,
        &tenant,
        &caller,
        NewVersion {
            manifest,
            manifest_text,
            component: built.component,
            source_sha256: Some(source_sha256),
        },
        "runbook.build",
    )
    .await?;
    // Unchanged: a build of the same version finished first; it keeps
    // the source it was stored with.
    let source_sha256 = if status == StatusCode::OK {
        state
            .store()
            .get_version(&tenant, &version.name, &version.version)
            .await?
            .and_then(|v| v.source_sha256)
    } else {
        version.source_sha256
    };
    Ok((
        status,
        Json(BuiltVersion {
            name: version.name,
            version: version.version,
            sha256: version.sha256,
            source_sha256,
            log: built.log,
            build_ms: built.elapsed.as_millis() as u64,
        }),
    ))
}

/// The files a version was built from. 404 `not_found` for a version
/// uploaded as a component, without source. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/runbooks/{name}/versions/{version}/source", operation_id = "show_runbook_source", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook"),
           ("version" = String, Path, description = "the version")),
    responses((status = 200, description = "the source", body = RunbookSource), TenantErrors),
    security(("bearer" = [])))]
pub async fn version_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name, version)): PathParams<(String, String, String)>,
) -> Result<Json<RunbookSource>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let stored = state
        .store()
        .get_version(&tenant, &name, &version)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("runbook {name:?} has no version {version:?}"))
        })?;
    let sha256 = stored.source_sha256.ok_or_else(|| {
        ApiError::NotFound(format!(
            "{name} {version} was uploaded as a built component: the server has no source for it"
        ))
    })?;
    let bundle = state
        .store()
        .get_source_bundle(&sha256)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("source bundle {sha256} is missing")))?;
    let files = SourceFiles::from_bundle(&bundle).map_err(ApiError::Internal)?;
    Ok(Json(RunbookSource { files }))
}

/// Which languages this server can build from source, and why not: the
/// toolchain (cargo with the wasm32-wasip2 target and the Rust SDK;
/// componentize-py; node, esbuild and componentize-js) and whether builds
/// can be isolated here. Any valid token.
#[utoipa::path(get, path = "/v1/build/languages", operation_id = "list_build_languages", tag = "runbooks",
    responses(
        (status = 200, description = "rust, python and js", body = BuildLanguages),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn languages(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<BuildLanguages>, ApiError> {
    authenticate(&state, &headers).await?;
    let languages = state
        .builds()
        .languages()
        .await
        .into_iter()
        .map(|a| LanguageSupport {
            language: a.language,
            available: a.missing.is_none(),
            reason: a.missing,
        })
        .collect();
    Ok(Json(BuildLanguages { languages }))
}

/// The files `wolfe new --lang LANGUAGE NAME` writes and its sample
/// event, so that Studio starts runbooks from the same templates. A Rust
/// template depends on the SDK by a path this server's builds resolve.
/// Any valid token.
#[utoipa::path(get, path = "/v1/build/templates/{language}", operation_id = "show_build_template", tag = "runbooks",
    params(("language" = Language, Path, description = "rust, python or js"), TemplateQuery),
    responses(
        (status = 200, description = "the template", body = RunbookTemplate),
        (status = 400, description = "`invalid_request`: an unknown language or a bad name", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`toolchain_missing` (no Rust SDK on this server), `store_unavailable`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn template(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(language): PathParams<Language>,
    QueryParams(query): QueryParams<TemplateQuery>,
) -> Result<Json<RunbookTemplate>, ApiError> {
    authenticate(&state, &headers).await?;
    let name = query.name.unwrap_or_else(|| "my-runbook".into());
    crate::manifest::check_identifier("name", &name, 64)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let files = template::template_files(&name, language, &state.builds().settings().rust_sdk)
        .map_err(|e| ApiError::ToolchainMissing(e.to_string()))?;
    Ok(Json(RunbookTemplate {
        name,
        language,
        files: files
            .into_iter()
            .map(|(path, text)| (path.to_string(), text))
            .collect(),
        event: template::sample_event(),
    }))
}
