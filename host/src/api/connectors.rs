//! Tenant connectors over HTTP: the tenant admin configures which
//! integrations exist and which of the tenant's secrets hold their
//! credentials; runbooks that declare a connector may call it.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::ConnectorList;
use crate::capabilities::connectors::ConnectorSpec;
use crate::ingest::event::now_rfc3339;
use crate::manifest::check_identifier;
use crate::store::ConnectorRecord;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

/// Creates or replaces a connector (Slack, PagerDuty, HTTP): which of the
/// tenant's secrets hold its credentials. Role: admin.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/connectors/{name}", tag = "security",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the connector")),
    request_body = ConnectorSpec,
    responses((status = 200, description = "the connector", body = ConnectorRecord), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn put_connector(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(spec): JsonBody<ConnectorSpec>,
) -> Result<Json<ConnectorRecord>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageConnectors).await?;
    check_identifier("connector", &name, 64).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    spec.validate().map_err(ApiError::BadRequest)?;
    let before = state.store().get_connector(&tenant, &name).await?;
    let record = ConnectorRecord {
        name,
        spec,
        updated_at: now_rfc3339(),
    };
    state.store().put_connector(&tenant, &record).await?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "connector.put",
        &record.name,
        before.map(|r| json!(r)),
        Some(json!(record)),
    )
    .await?;
    state.store().commit().await?;
    Ok(Json(record))
}

/// A connector. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/connectors/{name}", tag = "security",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the connector")),
    responses((status = 200, description = "the connector", body = ConnectorRecord), TenantErrors),
    security(("bearer" = [])))]
pub async fn get_connector(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<ConnectorRecord>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let record = state
        .store()
        .get_connector(&tenant, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("connector {name:?} not found")))?;
    Ok(Json(record))
}

/// Every connector of the tenant. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/connectors", tag = "security",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the connectors", body = ConnectorList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list_connectors(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<ConnectorList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    Ok(Json(ConnectorList {
        connectors: state.store().list_connectors(&tenant).await?,
    }))
}

/// Deletes a connector. Role: admin.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/connectors/{name}", tag = "security",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the connector")),
    responses((status = 204, description = "deleted"), TenantErrors),
    security(("bearer" = [])))]
pub async fn delete_connector(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageConnectors).await?;
    let Some(before) = state.store().get_connector(&tenant, &name).await? else {
        return Err(ApiError::NotFound(format!("connector {name:?} not found")));
    };
    state.store().delete_connector(&tenant, &name).await?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "connector.delete",
        &name,
        Some(json!(before)),
        None,
    )
    .await?;
    state.store().commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
