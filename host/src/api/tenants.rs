//! Tenants, tokens, health.

use super::AppState;
use super::auth::{authenticate, authorize};
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{CreateTenant, CreateToken, CreatedToken, ErrorBody, Health, Ready};
use crate::ingest::event::now_rfc3339;
use crate::manifest::check_identifier;
use crate::tenancy::{
    Action, Principal, Tenant, TenantQuota, TokenRecord, generate_token, token_hash, token_id,
};
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

/// Creates a tenant. Role: the server admin token.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants",
    request_body = CreateTenant,
    responses(
        (status = 201, description = "created", body = Tenant),
        (status = 400, description = "`invalid_json`, `invalid_request` (a bad name)", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the server admin token", body = ErrorBody),
        (status = 409, description = "`conflict`: the tenant exists", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_tenant(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let caller = authenticate(&state, &headers).await?;
    if caller.principal != Principal::ServerAdmin {
        return Err(ApiError::Forbidden(
            "only the server admin token creates tenants".into(),
        ));
    }
    check_identifier("name", &body.name, 64).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let tenant = Tenant {
        name: body.name,
        created_at: now_rfc3339(),
        quota: Default::default(),
    };
    state.store().create_tenant(&tenant).await?;
    super::audit::record(
        &state,
        &tenant.name,
        &caller,
        "tenant.create",
        &tenant.name,
        None,
        Some(json!(tenant)),
    )
    .await?;
    state.store().commit().await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

/// Creates a token of a role in the tenant; the answer is the only time the
/// token is shown. Role: admin.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/tokens", tag = "tenants",
    params(("tenant" = String, Path, description = "the tenant")),
    request_body = CreateToken,
    responses(
        (status = 201, description = "created", body = CreatedToken),
        TenantErrors, BodyErrors,
    ),
    security(("bearer" = [])))]
pub async fn create_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageTokens).await?;
    let token = generate_token();
    let record = TokenRecord {
        id: token_id(&token),
        principal: Principal::Tenant {
            tenant: tenant.clone(),
            role: body.role,
        },
        created_at: now_rfc3339(),
    };
    state
        .store()
        .put_token(&token_hash(&token), &record)
        .await?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "token.create",
        &record.id,
        None,
        Some(json!({"id": record.id, "role": body.role})),
    )
    .await?;
    state.store().commit().await?;
    // The only time the token is ever shown.
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            id: record.id,
            tenant,
            role: body.role,
        }),
    ))
}

/// Liveness: the process serves. No token.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "serving", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the store answers and the queue has room. No token.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "ready", body = Ready),
        (status = 503, description = "`store_unavailable`, or `queue_full` (with Retry-After)", body = ErrorBody),
    ))]
pub async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<Json<Ready>, ApiError> {
    // Not ready while the store is unreachable (503 `store_unavailable`), so
    // a load balancer sends nothing this host cannot acknowledge.
    state.store().admin_token_hash().await?;
    let dispatcher = state.pipeline().dispatcher();
    if !dispatcher.has_room_for(1) {
        return Err(ApiError::QueueFull(format!(
            "the execution queue is full ({} in flight)",
            dispatcher.in_flight()
        )));
    }
    Ok(Json(Ready {
        status: "ready".into(),
        in_flight: dispatcher.in_flight(),
    }))
}

/// Sets a tenant's quota (the tenant's own admin may not raise its
/// limits). Role: the server admin token.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/quota", tag = "tenants",
    params(("tenant" = String, Path, description = "the tenant")),
    request_body = TenantQuota,
    responses(
        (status = 200, description = "the quota now", body = TenantQuota),
        TenantErrors, BodyErrors,
    ),
    security(("bearer" = [])))]
pub async fn put_quota(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    JsonBody(quota): JsonBody<TenantQuota>,
) -> Result<Json<TenantQuota>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    if caller.principal != Principal::ServerAdmin {
        return Err(ApiError::Forbidden(
            "only the server admin token sets tenant quotas".into(),
        ));
    }
    let mut record = state
        .store()
        .get_tenant(&tenant)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("tenant {tenant:?} not found")))?;
    // The shared store keeps limits as signed 64-bit integers.
    let too_large = [quota.max_memory_mb, quota.max_fuel, quota.max_timeout_ms]
        .into_iter()
        .flatten()
        .any(|limit| i64::try_from(limit).is_err());
    if too_large {
        return Err(ApiError::BadRequest(format!(
            "max_memory_mb, max_fuel and max_timeout_ms are at most {}",
            i64::MAX
        )));
    }
    if quota.max_concurrent == Some(0) || quota.max_executions_per_minute == Some(0) {
        return Err(ApiError::BadRequest(
            "max_concurrent and max_executions_per_minute must be at least 1 (leave them out for no limit)".into(),
        ));
    }
    let before = json!(record.quota);
    record.quota = quota;
    state.store().update_tenant(&record).await?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "quota.put",
        &tenant,
        Some(before),
        Some(json!(record.quota)),
    )
    .await?;
    state.store().commit().await?;
    Ok(Json(record.quota))
}

/// A tenant's quota. Role: any role of the tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/quota", tag = "tenants",
    params(("tenant" = String, Path, description = "the tenant")),
    responses(
        (status = 200, description = "the quota", body = TenantQuota),
        TenantErrors,
    ),
    security(("bearer" = [])))]
pub async fn get_quota(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<TenantQuota>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let record = state
        .store()
        .get_tenant(&tenant)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("tenant {tenant:?} not found")))?;
    Ok(Json(record.quota))
}
