//! The capability report for security teams: per runbook, version and
//! environment, what it may reach; the diff between two versions or
//! environments; reverse look-ups by host and by secret. Read-only.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use crate::registry::report::{CapabilityView, diff, http_reaching};
use crate::registry::{Environment, RunbookVersion};
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
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

pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let host = *state.sandbox().host_limits();
    let mut runbooks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (version, environments) in deployed_versions(&state, &tenant).await? {
        let mut view = json!(CapabilityView::of(&version, &host));
        view["environments"] = json!(environments);
        runbooks.entry(version.name.clone()).or_default().push(view);
    }
    let runbooks: Vec<Value> = runbooks
        .into_iter()
        .map(|(name, versions)| json!({"name": name, "versions": versions}))
        .collect();
    Ok(Json(json!({"tenant": tenant, "runbooks": runbooks})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// An environment (`dev`, `test`, `prod`: its deployed version) or a version.
    from: String,
    to: String,
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

pub async fn diff_versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<DiffQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let host = *state.sandbox().host_limits();
    let from = CapabilityView::of(&resolve(&state, &tenant, &name, &query.from).await?, &host);
    let to = CapabilityView::of(&resolve(&state, &tenant, &name, &query.to).await?, &host);
    Ok(Json(json!(diff(&from, &to))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachQuery {
    host: Option<String>,
    secret: Option<String>,
    connector: Option<String>,
}

pub async fn reach(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(query): QueryParams<ReachQuery>,
) -> Result<Json<Value>, ApiError> {
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
            matches.push(json!({
                "runbook": version.name, "version": version.version,
                "environments": environments, "grants": grants,
            }));
        }
    }
    Ok(Json(json!({"matches": matches})))
}
