//! Sources and rules: what events arrive, and which runbooks they fire.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{RejectedList, RuleList, ShownSource, SourceList};
use crate::ingest::event::now_rfc3339;
use crate::ingest::schedule::ticks::{Schedule, tick_rfc3339};
use crate::ingest::source::{Source, SourceSpec};
use crate::manifest::check_identifier;
use crate::rules::{Rule, RuleSpec};
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

pub(super) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    check_identifier(what, name, 64).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Creates or replaces a source: a webhook (`type` `webhook`, the default),
/// an SQS queue or a schedule. Role: admin, author.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/sources/{source}", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("source" = String, Path, description = "the source")),
    request_body = SourceSpec,
    responses((status = 200, description = "the source as stored, secrets redacted", body = ShownSource), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn put_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(mut spec): JsonBody<SourceSpec>,
) -> Result<Json<ShownSource>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRules).await?;
    check_name("source", &name)?;
    let before = state.store().get_source(&tenant, &name).await?;
    // A source read back (secret redacted) and put again, as Studio's
    // switch does, keeps its secret rather than failing or storing the
    // placeholder.
    spec.keep_redacted_secret(before.as_ref().map(|s| &s.spec))
        .map_err(ApiError::BadRequest)?;
    spec.validate().map_err(ApiError::BadRequest)?;
    let source = Source {
        name,
        spec,
        updated_at: now_rfc3339(),
    };
    state.store().put_source(&tenant, &source).await?;
    // Sources can hold an HMAC secret: the log keeps the redacted form.
    let redacted = |s: &Source| {
        json!(Source {
            spec: s.spec.redacted(),
            ..s.clone()
        })
    };
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "source.put",
        &source.name,
        before.as_ref().map(redacted),
        Some(redacted(&source)),
    )
    .await?;
    state.store().commit().await?;
    // SQS pollers start, restart or stop with their configuration.
    state
        .sqs()
        .apply(&tenant, &source.name, Some(&source.spec))
        .await;
    Ok(Json(shown_source(&state, &tenant, &source)))
}

/// How many upcoming ticks a schedule source shows.
const NEXT_TICKS_SHOWN: usize = 5;

/// A source as readers see it: secrets redacted, SQS metrics and a
/// schedule's next ticks attached.
fn shown_source(state: &AppState, tenant: &str, source: &Source) -> ShownSource {
    let next_ticks = match &source.spec {
        SourceSpec::Schedule(spec) => Schedule::new(spec).ok().map(|schedule| {
            schedule
                .next_ticks(chrono::Utc::now(), NEXT_TICKS_SHOWN)
                .into_iter()
                .map(tick_rfc3339)
                .collect()
        }),
        _ => None,
    };
    ShownSource {
        source: Source {
            spec: source.spec.redacted(),
            ..source.clone()
        },
        metrics: state.sqs().metrics(tenant, &source.name),
        next_ticks,
    }
}

/// A source, secrets redacted. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/sources/{source}", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("source" = String, Path, description = "the source")),
    responses((status = 200, description = "the source", body = ShownSource), TenantErrors),
    security(("bearer" = [])))]
pub async fn get_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<ShownSource>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let source = state
        .store()
        .get_source(&tenant, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("source {name:?} not found")))?;
    Ok(Json(shown_source(&state, &tenant, &source)))
}

/// SQS messages of the source that could not be parsed, newest first.
/// Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/sources/{source}/rejected", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("source" = String, Path, description = "the source")),
    responses((status = 200, description = "the rejected messages", body = RejectedList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list_rejected(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<RejectedList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    if state.store().get_source(&tenant, &name).await?.is_none() {
        return Err(ApiError::NotFound(format!("source {name:?} not found")));
    }
    Ok(Json(RejectedList {
        rejected: state.store().list_rejected(&tenant, &name).await?,
    }))
}

/// Every source of the tenant. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/sources", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the sources", body = SourceList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list_sources(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<SourceList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let sources = state
        .store()
        .list_sources(&tenant)
        .await?
        .iter()
        .map(|s| shown_source(&state, &tenant, s))
        .collect();
    Ok(Json(SourceList { sources }))
}

/// Deletes a source (an SQS source's pollers stop). Role: admin, author.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/sources/{source}", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("source" = String, Path, description = "the source")),
    responses((status = 204, description = "deleted"), TenantErrors),
    security(("bearer" = [])))]
pub async fn delete_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRules).await?;
    let before = state.store().get_source(&tenant, &name).await?;
    if !state.store().delete_source(&tenant, &name).await? {
        return Err(ApiError::NotFound(format!("source {name:?} not found")));
    }
    let before = before.map(|s| {
        json!(Source {
            spec: s.spec.redacted(),
            ..s
        })
    });
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "source.delete",
        &name,
        before,
        None,
    )
    .await?;
    state.store().commit().await?;
    state.sqs().apply(&tenant, &name, None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates or replaces a rule: which events (source, type, criteria) run
/// which runbook, with what input and policy. Role: admin, author.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/rules/{rule}", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("rule" = String, Path, description = "the rule")),
    request_body = RuleSpec,
    responses((status = 200, description = "the rule as stored", body = Rule), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn put_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(spec): JsonBody<RuleSpec>,
) -> Result<Json<Rule>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRules).await?;
    check_name("rule", &name)?;
    spec.validate().map_err(ApiError::BadRequest)?;
    let before = state.store().get_rule(&tenant, &name).await?;
    let rule = Rule {
        name,
        spec,
        updated_at: now_rfc3339(),
    };
    state.store().put_rule(&tenant, &rule).await?;
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "rule.put",
        &rule.name,
        before.map(|r| json!(r)),
        Some(json!(rule)),
    )
    .await?;
    state.store().commit().await?;
    state.pipeline().rules().invalidate(&tenant);
    Ok(Json(rule))
}

/// A rule. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/rules/{rule}", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("rule" = String, Path, description = "the rule")),
    responses((status = 200, description = "the rule", body = Rule), TenantErrors),
    security(("bearer" = [])))]
pub async fn get_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<Rule>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let rule = state
        .store()
        .get_rule(&tenant, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("rule {name:?} not found")))?;
    Ok(Json(rule))
}

/// Every rule of the tenant. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/rules", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the rules", body = RuleList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<RuleList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    Ok(Json(RuleList {
        rules: state.store().list_rules(&tenant).await?,
    }))
}

/// Deletes a rule. Role: admin, author.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/rules/{rule}", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("rule" = String, Path, description = "the rule")),
    responses((status = 204, description = "deleted"), TenantErrors),
    security(("bearer" = [])))]
pub async fn delete_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRules).await?;
    let before = state.store().get_rule(&tenant, &name).await?;
    if !state.store().delete_rule(&tenant, &name).await? {
        return Err(ApiError::NotFound(format!("rule {name:?} not found")));
    }
    super::audit::record(
        &state,
        &tenant,
        &caller,
        "rule.delete",
        &name,
        before.map(|r| json!(r)),
        None,
    )
    .await?;
    state.store().commit().await?;
    state.pipeline().rules().invalidate(&tenant);
    Ok(StatusCode::NO_CONTENT)
}
