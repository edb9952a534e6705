//! Tenant secrets over HTTP: write-only. Values go in (sealed at once by the
//! vault) and never come out: reads return names and timestamps only.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{PutSecret, SecretInfo, SecretList};
use crate::ingest::event::now_rfc3339;
use crate::manifest::check_secret_name;
use crate::store::SecretRecord;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

/// Largest secret value: tokens, passwords and keys, not files.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// What readers see of a secret: never its value.
fn shown(record: &SecretRecord) -> SecretInfo {
    SecretInfo {
        name: record.name.clone(),
        key_id: record.sealed.key_id.clone(),
        created_at: record.created_at.clone(),
        updated_at: record.updated_at.clone(),
    }
}

/// Sets a secret's value: sealed at once, never shown again. Role: admin.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/secrets/{name}", tag = "security",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the secret")),
    request_body = PutSecret,
    responses((status = 201, description = "created", body = SecretInfo), (status = 200, description = "replaced", body = SecretInfo), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn put_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<PutSecret>,
) -> Result<(StatusCode, Json<SecretInfo>), ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSecrets).await?;
    check_secret_name("secret", &name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if body.value.is_empty() || body.value.len() > MAX_SECRET_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a secret value must be 1 to {MAX_SECRET_BYTES} bytes"
        )));
    }
    let now = now_rfc3339();
    let existing = state.store().get_secret(&tenant, &name).await?;
    let record = SecretRecord {
        sealed: state.vault().seal(&tenant, &name, &body.value),
        created_at: existing
            .as_ref()
            .map(|r| r.created_at.clone())
            .unwrap_or_else(|| now.clone()),
        updated_at: now,
        name,
    };
    state.store().put_secret(&tenant, &record).await?;
    // Names, key ids and times only: never a value, sealed or not.
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "secret.put",
        &record.name,
        existing.as_ref().map(|r| json!(shown(r))),
        Some(json!(shown(&record))),
    )
    .await?;
    state.store().commit().await?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(shown(&record))))
}

/// The tenant's secrets: names and times, never values. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/secrets", tag = "security",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the secrets", body = SecretList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list_secrets(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<SecretList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let secrets = state
        .store()
        .list_secrets(&tenant)
        .await?
        .iter()
        .map(shown)
        .collect();
    Ok(Json(SecretList { secrets }))
}

/// Deletes a secret. Role: admin.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/secrets/{name}", tag = "security",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the secret")),
    responses((status = 204, description = "deleted"), TenantErrors),
    security(("bearer" = [])))]
pub async fn delete_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSecrets).await?;
    let Some(existing) = state.store().get_secret(&tenant, &name).await? else {
        return Err(ApiError::NotFound(format!("secret {name:?} not found")));
    };
    state.store().delete_secret(&tenant, &name).await?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "secret.delete",
        &name,
        Some(json!(shown(&existing))),
        None,
    )
    .await?;
    state.store().commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
