//! The capability report for security teams: per runbook, version and
//! environment, what it may reach; the diff between two versions or
//! environments; reverse look-ups by host and by secret. Read-only.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use super::openapi::TenantErrors;
use super::types::{
    CapabilityReport, DiffQuery, ReachMatch, ReachQuery, ReachReport, RunbookCapabilities,
    VersionCapabilities,
};
use crate::registry::report::{CapabilityDiff, CapabilityView, diff, http_reaching};
use crate::registry::{Environment, RunbookVersion};
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use std::collections::BTreeMap;

/// Every version of every runbook, with the environments it is deployed to.
async fn deployed_versions(
    state: &AppState,
    tenant: &str,
) -> Result<Vec<(RunbookVersion, Vec<Environment>)>, ApiError> {
    let mut out = Vec::new();
    let mut deployments: BTreeMap<(String, String), Vec<Environment>> = BTreeMap::new();
    let versions = state.store().list_all_versions(tenant).await?;
    let names: std::collections::BTreeSet<&str> =
        versions.iter().map(|v| v.name.as_str()).collect();
    for name in names {
        for d in state.store().list_deployments(tenant, name).await? {
            deployments
                .entry((d.runbook, d.version))
                .or_default()
                .push(d.environment);
        }
    }
    for v in versions {
        let envs = deployments
            .remove(&(v.name.clone(), v.version.clone()))
            .unwrap_or_default();
        out.push((v, envs));
    }
    Ok(out)
}

/// The capability report: for every version of every runbook, what it may
/// reach (URLs and methods, secrets, kv, connectors), the interfaces it
/// imports, its limits, and where it is deployed. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/report", tag = "security",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the report", body = CapabilityReport), TenantErrors),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<CapabilityReport>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let host = *state.sandbox().host_limits();
    let mut runbooks: BTreeMap<String, Vec<VersionCapabilities>> = BTreeMap::new();
    for (version, environments) in deployed_versions(&state, &tenant).await? {
        let view = CapabilityView::of(&version, &host);
        runbooks
            .entry(version.name.clone())
            .or_default()
            .push(VersionCapabilities { view, environments });
    }
    let runbooks = runbooks
        .into_iter()
        .map(|(name, versions)| RunbookCapabilities { name, versions })
        .collect();
    Ok(Json(CapabilityReport { tenant, runbooks }))
}

async fn resolve(
    state: &AppState,
    tenant: &str,
    name: &str,
    which: &str,
) -> Result<RunbookVersion, ApiError> {
    let version = match which.parse::<Environment>() {
        Ok(env) => {
            state
                .store()
                .get_deployment(tenant, name, env)
                .await?
                .ok_or_else(|| {
                    ApiError::NotFound(format!("runbook {name:?} has nothing deployed to {env}"))
                })?
                .version
        }
        Err(_) => which.to_string(),
    };
    state
        .store()
        .get_version(tenant, name, &version)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("runbook {name:?} has no version {version:?}")))
}

/// What changes in access between two versions or environments of a
/// runbook (what does promoting to prod change?). Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/runbooks/{name}/diff", tag = "runbooks",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook"),
        DiffQuery),
    responses((status = 200, description = "the difference", body = CapabilityDiff), TenantErrors),
    security(("bearer" = [])))]
pub async fn diff_versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<DiffQuery>,
) -> Result<Json<CapabilityDiff>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let host = *state.sandbox().host_limits();
    let from = CapabilityView::of(&resolve(&state, &tenant, &name, &query.from).await?, &host);
    let to = CapabilityView::of(&resolve(&state, &tenant, &name, &query.to).await?, &host);
    Ok(Json(diff(&from, &to)))
}

/// Which deployed or uploaded versions can reach a host, read a secret or
/// call a connector: ask about exactly one. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/reach", tag = "security",
    params(("tenant" = String, Path, description = "the tenant"),
        ReachQuery),
    responses((status = 200, description = "the versions that reach it", body = ReachReport), TenantErrors),
    security(("bearer" = [])))]
pub async fn reach(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(query): QueryParams<ReachQuery>,
) -> Result<Json<ReachReport>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let mut matches = Vec::new();
    for (version, environments) in deployed_versions(&state, &tenant).await? {
        let caps = &version.manifest.capabilities;
        let named = |list: &[String], wanted: &str| -> Vec<String> {
            list.iter().filter(|s| *s == wanted).cloned().collect()
        };
        let grants: Vec<String> = match (&query.host, &query.secret, &query.connector) {
            (Some(host), None, None) => http_reaching(&version, host),
            (None, Some(secret), None) => named(&caps.secrets, secret),
            (None, None, Some(connector)) => named(&caps.connectors, connector),
            _ => {
                return Err(ApiError::BadRequest(
                    "ask about exactly one of `host`, `secret` or `connector`".into(),
                ));
            }
        };
        if !grants.is_empty() {
            matches.push(ReachMatch {
                runbook: version.name,
                version: version.version,
                environments,
                grants,
            });
        }
    }
    Ok(Json(ReachReport { matches }))
}
