//! Tenant secrets over HTTP: write-only. Values go in (sealed at once by the
//! vault) and never come out: reads return names and timestamps only.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use crate::ingest::event::now_rfc3339;
use crate::manifest::check_secret_name;
use crate::store::SecretRecord;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// Largest secret value: tokens, passwords and keys, not files.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutSecret {
    value: String,
}

/// What readers see of a secret: never its value.
fn shown(record: &SecretRecord) -> Value {
    json!({
        "name": record.name,
        "key_id": record.sealed.key_id,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    })
}

pub async fn put_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<PutSecret>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
        existing.as_ref().map(shown),
        Some(shown(&record)),
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

pub async fn list_secrets(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let secrets: Vec<Value> = state
        .store()
        .list_secrets(&tenant)
        .await?
        .iter()
        .map(shown)
        .collect();
    Ok(Json(json!({ "secrets": secrets })))
}

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
        Some(shown(&existing)),
        None,
    )
    .await?;
    state.store().commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
