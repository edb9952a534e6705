//! The on-call engineer's brakes and the view of why automation holds
//! back: pause and resume (tenant, runbook), silences, circuits, approvals,
//! and `GET /safety` with every policy's current windows.

use super::AppState;
use super::auth::{Caller, authorize};
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{
    AwaitingApproval, BudgetUse, CircuitClosed, CircuitList, CloseCircuit, Decision, ErrorBody,
    KeyWindow, LastRun, RuleCircuit, RuleSafety, RunbookPause, SafetyOverview, ShownSilence,
    SilenceList, TenantPause,
};
use crate::dispatch::record::ExecutionRecord;
use crate::ingest::event::now_rfc3339;
use crate::safety::approvals::{self, DecideError, Verdict};
use crate::safety::gate::{
    self, KeyState, OpenCircuit, RuleState, now_ms, open_circuit, rfc3339_ms,
};
use crate::safety::policy::Policy;
use crate::safety::settings::{MAX_SILENCES, Pause, SafetySettings, Silence};
use crate::sandbox::report::ExecutionStatus;
use crate::store::ExecutionFilter;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

/// Keys shown per rule in `GET /safety` and `GET …/circuits`.
const KEYS_SHOWN: usize = 1_000;

async fn audit(
    state: &AppState,
    tenant: &str,
    caller: &Caller,
    action: &'static str,
    target: impl Into<String>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), ApiError> {
    super::audit::record(state, tenant, caller, action, target, before, after).await?;
    state.store().commit().await?;
    Ok(())
}

fn pause(caller: &Caller) -> Pause {
    Pause {
        at: now_rfc3339(),
        by: caller.token_id.clone(),
    }
}

async fn update(
    state: &AppState,
    tenant: &str,
    change: impl Fn(&mut SafetySettings) + Send + Sync,
) -> Result<SafetySettings, ApiError> {
    Ok(state
        .store()
        .update_safety_settings(tenant, &change)
        .await?)
}

/// The tenant's kill switch: nothing new runs (held executions end
/// `suppressed`, reason `paused`) until it resumes. Role: admin, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/pause", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "paused", body = TenantPause), TenantErrors),
    security(("bearer" = [])))]
pub async fn pause_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<TenantPause>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSafety).await?;
    let p = pause(&caller);
    let settings = update(&state, &tenant, |s| {
        s.paused.get_or_insert_with(|| p.clone());
    })
    .await?;
    audit(
        &state,
        &tenant,
        &caller,
        "tenant.pause",
        &tenant,
        None,
        Some(json!(settings.paused)),
    )
    .await?;
    Ok(Json(TenantPause {
        paused: settings.paused,
    }))
}

/// Ends the tenant's pause. Role: admin, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/resume", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "running", body = TenantPause), TenantErrors),
    security(("bearer" = [])))]
pub async fn resume_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<TenantPause>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSafety).await?;
    let before = state.store().safety_settings(&tenant).await?.paused;
    update(&state, &tenant, |s| s.paused = None).await?;
    audit(
        &state,
        &tenant,
        &caller,
        "tenant.resume",
        &tenant,
        before.map(|p| json!(p)),
        None,
    )
    .await?;
    Ok(Json(TenantPause { paused: None }))
}

/// Holds one runbook's new executions. Role: admin, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runbooks/{name}/pause", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook")),
    responses((status = 200, description = "paused", body = RunbookPause), TenantErrors),
    security(("bearer" = [])))]
pub async fn pause_runbook(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<RunbookPause>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSafety).await?;
    super::triggers::check_name("runbook", &name)?;
    let p = pause(&caller);
    let settings = update(&state, &tenant, |s| {
        s.paused_runbooks
            .entry(name.clone())
            .or_insert_with(|| p.clone());
    })
    .await?;
    let paused = settings.paused_runbooks.get(&name).cloned();
    audit(
        &state,
        &tenant,
        &caller,
        "runbook.pause",
        &name,
        None,
        Some(json!(paused)),
    )
    .await?;
    Ok(Json(RunbookPause {
        runbook: name,
        paused,
    }))
}

/// Ends a runbook's pause. Role: admin, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runbooks/{name}/resume", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the runbook")),
    responses((status = 200, description = "running", body = RunbookPause), TenantErrors),
    security(("bearer" = [])))]
pub async fn resume_runbook(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<RunbookPause>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSafety).await?;
    let before = state
        .store()
        .safety_settings(&tenant)
        .await?
        .paused_runbooks
        .get(&name)
        .cloned();
    update(&state, &tenant, |s| {
        s.paused_runbooks.remove(&name);
    })
    .await?;
    audit(
        &state,
        &tenant,
        &caller,
        "runbook.resume",
        &name,
        before.map(|p| json!(p)),
        None,
    )
    .await?;
    Ok(Json(RunbookPause {
        runbook: name,
        paused: None,
    }))
}

/// Creates or replaces a silence: events matching every matcher between
/// `starts_at` and `ends_at` run nothing (`suppressed`, reason `silenced`).
/// Role: admin, operator.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/silences/{name}", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the silence")),
    request_body = Silence,
    responses((status = 200, description = "the silence", body = ShownSilence), (status = 409, description = "`conflict`: the tenant has as many silences as it may", body = ErrorBody), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn put_silence(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(mut silence): JsonBody<Silence>,
) -> Result<Json<ShownSilence>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSafety).await?;
    super::triggers::check_name("silence", &name)?;
    silence.validate().map_err(ApiError::BadRequest)?;
    silence.created_by = caller.token_id.clone();
    let before = state.store().safety_settings(&tenant).await?;
    if before.silences.len() >= MAX_SILENCES && !before.silences.contains_key(&name) {
        return Err(ApiError::Conflict(format!(
            "the tenant has {MAX_SILENCES} silences: delete expired ones first"
        )));
    }
    let stored = silence.clone();
    update(&state, &tenant, |s| {
        let now = time::OffsetDateTime::now_utc();
        // Silences that ended a day ago are history, not configuration.
        s.silences
            .retain(|_, old| !old.is_expired(now - time::Duration::days(1)));
        s.silences.insert(name.clone(), stored.clone());
    })
    .await?;
    audit(
        &state,
        &tenant,
        &caller,
        "silence.put",
        &name,
        before.silences.get(&name).map(|s| json!(s)),
        Some(json!(silence)),
    )
    .await?;
    Ok(Json(shown_silence(&name, &silence)))
}

fn shown_silence(name: &str, s: &Silence) -> ShownSilence {
    ShownSilence {
        name: name.to_string(),
        silence: s.clone(),
        active: s.is_active(time::OffsetDateTime::now_utc()),
    }
}

/// A silence. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/silences/{name}", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the silence")),
    responses((status = 200, description = "the silence", body = ShownSilence), TenantErrors),
    security(("bearer" = [])))]
pub async fn get_silence(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<Json<ShownSilence>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let settings = state.store().safety_settings(&tenant).await?;
    let silence = settings
        .silences
        .get(&name)
        .ok_or_else(|| ApiError::NotFound(format!("silence {name:?} not found")))?;
    Ok(Json(shown_silence(&name, silence)))
}

/// Every silence, ended ones for a day after. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/silences", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the silences", body = SilenceList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list_silences(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<SilenceList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let settings = state.store().safety_settings(&tenant).await?;
    let silences = settings
        .silences
        .iter()
        .map(|(name, s)| shown_silence(name, s))
        .collect();
    Ok(Json(SilenceList { silences }))
}

/// Ends and removes a silence. Role: admin, operator.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/silences/{name}", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("name" = String, Path, description = "the silence")),
    responses((status = 204, description = "deleted"), TenantErrors),
    security(("bearer" = [])))]
pub async fn delete_silence(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSafety).await?;
    let before = state.store().safety_settings(&tenant).await?;
    let Some(old) = before.silences.get(&name) else {
        return Err(ApiError::NotFound(format!("silence {name:?} not found")));
    };
    update(&state, &tenant, |s| {
        s.silences.remove(&name);
    })
    .await?;
    audit(
        &state,
        &tenant,
        &caller,
        "silence.delete",
        &name,
        Some(json!(old)),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The rule and its policy, or 404 / 400.
async fn policy_of(state: &AppState, tenant: &str, rule: &str) -> Result<Policy, ApiError> {
    let stored = state
        .store()
        .get_rule(tenant, rule)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("rule {rule:?} not found")))?;
    Ok(stored.spec.policy.unwrap_or_default())
}

/// The rule's keys whose circuit is open or half-open. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/rules/{rule}/circuits", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("rule" = String, Path, description = "the rule")),
    responses((status = 200, description = "the circuits", body = CircuitList), TenantErrors),
    security(("bearer" = [])))]
pub async fn list_circuits(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, rule)): PathParams<(String, String)>,
) -> Result<Json<CircuitList>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let policy = policy_of(&state, &tenant, &rule).await?;
    let now = now_ms();
    let keys = state
        .store()
        .policy_keys(&tenant, &rule, KEYS_SHOWN)
        .await?;
    let circuits = keys
        .iter()
        .filter_map(|(key, s)| open_circuit(&policy, key, s, now))
        .collect();
    Ok(Json(CircuitList { rule, circuits }))
}

/// Closes a key's circuit by hand: its failures are forgotten. Role:
/// admin, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/rules/{rule}/circuits/close", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("rule" = String, Path, description = "the rule")),
    request_body = CloseCircuit,
    responses((status = 200, description = "closed", body = CircuitClosed), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn close_circuit(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, rule)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<CloseCircuit>,
) -> Result<Json<CircuitClosed>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::ManageSafety).await?;
    policy_of(&state, &tenant, &rule).await?;
    if !state
        .store()
        .close_circuit(&tenant, &rule, &body.key)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "rule {rule} has no state for key {:?}",
            body.key
        )));
    }
    audit(
        &state,
        &tenant,
        &caller,
        "circuit.close",
        format!("{rule}/{}", body.key),
        None,
        Some(json!({"rule": rule, "key": body.key})),
    )
    .await?;
    Ok(Json(CircuitClosed {
        rule,
        key: body.key,
        closed: true,
    }))
}

/// Approves an execution that awaits approval: it runs. The body (a
/// comment) is optional. Role: admin, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/executions/{id}/approve", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the execution")),
    request_body = Option<Decision>,
    responses((status = 200, description = "the execution, queued", body = ExecutionRecord), (status = 409, description = "`conflict`: it does not await approval, or its deadline passed", body = ErrorBody), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn approve(
    state: State<AppState>,
    headers: HeaderMap,
    path: PathParams<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<ExecutionRecord>, ApiError> {
    decide(state, headers, path, body, Verdict::Approve).await
}

/// Rejects an execution that awaits approval: it ends `suppressed`. The
/// body (a comment) is optional. Role: admin, operator.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/executions/{id}/reject", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the execution")),
    request_body = Option<Decision>,
    responses((status = 200, description = "the execution, suppressed", body = ExecutionRecord), (status = 409, description = "`conflict`: it does not await approval, or its deadline passed", body = ErrorBody), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn reject(
    state: State<AppState>,
    headers: HeaderMap,
    path: PathParams<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<ExecutionRecord>, ApiError> {
    decide(state, headers, path, body, Verdict::Reject).await
}

async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
    body: axum::body::Bytes,
    verdict: Verdict,
) -> Result<Json<ExecutionRecord>, ApiError> {
    let caller = authorize(&state, &headers, &tenant, Action::DecideApprovals).await?;
    // The body is optional: `{"comment": "…"}` or nothing.
    let body: Decision = super::extract::optional_json(&body)?;
    let comment = body.comment;
    if comment.as_ref().is_some_and(|c| c.len() > 4096) {
        return Err(ApiError::BadRequest("comment: at most 4096 bytes".into()));
    }
    let decided = approvals::decide(
        state.pipeline(),
        &tenant,
        &id,
        verdict,
        &caller.token_id,
        comment.clone(),
    )
    .await
    .map_err(|e| match e {
        DecideError::NotFound(_) => ApiError::NotFound(e.to_string()),
        DecideError::NotAwaiting { .. } | DecideError::TimedOut(_) => {
            ApiError::Conflict(e.to_string())
        }
        DecideError::Store(e) => e.into(),
    })?;
    let action = match verdict {
        Verdict::Approve => "execution.approve",
        Verdict::Reject => "execution.reject",
    };
    audit(
        &state,
        &tenant,
        &caller,
        action,
        &id,
        None,
        Some(json!({"execution": id, "runbook": decided.runbook, "comment": comment})),
    )
    .await?;
    Ok(Json(decided))
}

/// One key's counters in the current windows, with its open circuit.
fn key_view(
    policy: &Policy,
    key: &str,
    state: &KeyState,
    circuit: Option<&OpenCircuit>,
    now: u64,
) -> KeyWindow {
    let mut s = state.clone();
    gate::forget_old(policy, &mut s, &mut RuleState::default(), now);
    KeyWindow {
        key: key.to_string(),
        last_run: s.last_run.as_ref().map(|r| LastRun {
            execution: r.execution.clone(),
            at: rfc3339_ms(r.at),
        }),
        runs_in_window: s.runs.len(),
        active: s.active,
        correlating: s.correlating.len(),
        failures_in_window: s.failures.len(),
        circuit: circuit.cloned(),
    }
}

/// Why automation is holding back: pauses, silences in force, open
/// circuits, executions awaiting approval, and every policy's windows.
/// Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/safety", tag = "safety",
    params(("tenant" = String, Path, description = "the tenant")),
    responses((status = 200, description = "the overview", body = SafetyOverview), TenantErrors),
    security(("bearer" = [])))]
pub async fn overview(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
) -> Result<Json<SafetyOverview>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let store = state.store();
    let settings = store.safety_settings(&tenant).await?;
    let now = now_ms();
    let wall = time::OffsetDateTime::now_utc();
    let silences = settings
        .silences
        .iter()
        .filter(|(_, s)| !s.is_expired(wall))
        .map(|(name, s)| shown_silence(name, s))
        .collect();
    let mut rules = Vec::new();
    let mut circuits = Vec::new();
    for rule in store.list_rules(&tenant).await? {
        let Some(policy) = rule.spec.policy.clone() else {
            continue;
        };
        let keys = store.policy_keys(&tenant, &rule.name, KEYS_SHOWN).await?;
        let mut budget = store.policy_rule_state(&tenant, &rule.name).await?;
        gate::forget_old(&policy, &mut KeyState::default(), &mut budget, now);
        let mut key_views = Vec::with_capacity(keys.len());
        for (key, s) in &keys {
            let circuit = open_circuit(&policy, key, s, now);
            if let Some(c) = &circuit {
                circuits.push(RuleCircuit {
                    rule: rule.name.clone(),
                    circuit: c.clone(),
                });
            }
            key_views.push(key_view(&policy, key, s, circuit.as_ref(), now));
        }
        rules.push(RuleSafety {
            budget: policy.budget.map(|b| BudgetUse {
                max_keys: b.max_keys,
                per_secs: b.per_secs,
                keys_used: budget.budget.len(),
                keys: budget.budget.keys().cloned().collect(),
            }),
            rule: rule.name,
            runbook: rule.spec.runbook,
            policy,
            keys: key_views,
        });
    }
    let awaiting = store
        .list_executions(
            &tenant,
            &ExecutionFilter {
                status: Some(ExecutionStatus::AwaitingApproval),
                limit: 100,
                ..Default::default()
            },
        )
        .await?
        .executions;
    Ok(Json(SafetyOverview {
        paused: settings.paused,
        paused_runbooks: settings.paused_runbooks,
        silences,
        open_circuits: circuits,
        awaiting_approval: awaiting
            .into_iter()
            .map(|e| AwaitingApproval {
                id: e.id,
                runbook: e.runbook,
                rule: e.rule,
                key: e.key,
                created_at: e.created_at,
                approval: e.approval,
            })
            .collect(),
        rules,
    }))
}
