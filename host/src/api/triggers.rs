//! Sources and rules: what events arrive, and which runbooks they fire.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use crate::ingest::event::now_rfc3339;
use crate::ingest::schedule::ticks::{Schedule, tick_rfc3339};
use crate::ingest::source::{Source, SourceSpec};
use crate::manifest::check_identifier;
use crate::rules::{Rule, RuleSpec};
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

pub(super) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    check_identifier(what, name, 64).map_err(|e| ApiError::BadRequest(e.to_string()))
}

pub async fn put_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(spec): JsonBody<SourceSpec>,
) -> Result<Json<Value>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::WriteRules).await?;
    check_name("source", &name)?;
    spec.validate().map_err(ApiError::BadRequest)?;
    let before = state.store().get_source(&tenant, &name).await?;
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
fn shown_source(state: &AppState, tenant: &str, source: &Source) -> Value {
    let mut shown = json!(Source {
        spec: source.spec.redacted(),
        ..source.clone()
    });
    if let Some(metrics) = state.sqs().metrics(tenant, &source.name) {
        shown["metrics"] = json!(metrics);
    }
    if let SourceSpec::Schedule(spec) = &source.spec
        && let Ok(schedule) = Schedule::new(spec)
    {
        let next: Vec<String> = schedule
            .next_ticks(chrono::Utc::now(), NEXT_TICKS_SHOWN)
            .into_iter()
            .map(tick_rfc3339)
            .collect();
        shown["next_ticks"] = json!(next);
    }
    shown
}

pub async fn get_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let source = state
        .store()
        .get_source(&tenant, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("source {name:?} not found")))?;
    Ok(Json(shown_source(&state, &tenant, &source)))
}

/// SQS messages that could not be parsed, newest first.
pub async fn list_rejected(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    if state.store().get_source(&tenant, &name).await?.is_none() {
        return Err(ApiError::NotFound(format!("source {name:?} not found")));
    }
    Ok(Json(
        json!({ "rejected": state.store().list_rejected(&tenant, &name).await? }),
    ))
}

pub async fn list_sources(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let sources: Vec<Value> = state
        .store()
        .list_sources(&tenant)
        .await?
        .iter()
        .map(|s| shown_source(&state, &tenant, s))
        .collect();
    Ok(Json(json!({ "sources": sources })))
}

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

pub async fn put_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(spec): JsonBody<RuleSpec>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!(rule)))
}

pub async fn get_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let rule = state
        .store()
        .get_rule(&tenant, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("rule {name:?} not found")))?;
    Ok(Json(json!(rule)))
}

pub async fn list_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    Ok(Json(
        json!({ "rules": state.store().list_rules(&tenant).await? }),
    ))
}

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
