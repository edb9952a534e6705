//! Tenants, tokens, health.

use super::AppState;
use super::auth::{authenticate, authorize};
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use crate::ingest::event::now_rfc3339;
use crate::manifest::check_identifier;
use crate::tenancy::{
    Action, Principal, Role, Tenant, TenantQuota, TokenRecord, generate_token, token_hash, token_id,
};
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    name: String,
}

pub async fn create_tenant(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(json!(tenant))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    role: Role,
}

pub async fn create_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
        Json(json!({"token": token, "id": record.id, "tenant": tenant, "role": body.role})),
    ))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({"status": "ready", "in_flight": dispatcher.in_flight()}),
    ))
}

/// Prometheus metrics (text format). Server admin only: labels name tenants.
pub async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, &'static str); 1],
        String,
    ),
    ApiError,
> {
    let caller = authenticate(&state, &headers).await?;
    if caller.principal != Principal::ServerAdmin {
        return Err(ApiError::Forbidden(
            "metrics are for the server admin token".into(),
        ));
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, state.metrics())
        .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
    let dispatcher = state.pipeline().dispatcher();
    text = text.trim_end_matches("# EOF\n").to_string();
    text.push_str(&format!(
        "# HELP wolfe_executions_in_flight Executions queued or running.\n# TYPE wolfe_executions_in_flight gauge\nwolfe_executions_in_flight {}\n# HELP wolfe_queue_capacity Executions the queue holds before webhooks get 503.\n# TYPE wolfe_queue_capacity gauge\nwolfe_queue_capacity {}\n# EOF\n",
        dispatcher.in_flight(),
        dispatcher.capacity()
    ));
    Ok((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    ))
}

/// `PUT /v1/tenants/{t}/quota`: the server admin sets a tenant's quota (the
/// tenant's own admin may not raise its limits).
pub async fn put_quota(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    JsonBody(quota): JsonBody<TenantQuota>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!(record.quota)))
}

pub async fn get_quota(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let record = state
        .store()
        .get_tenant(&tenant)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("tenant {tenant:?} not found")))?;
    Ok(Json(json!(record.quota)))
}
