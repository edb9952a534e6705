//! "Why did (or didn't) it run": an event as stored with, for every rule
//! of its source, whether it matched (else the first check it failed and
//! the value found) and what became of it — the execution it created or
//! the policy that held it back; and a dry test of a rule against a sample
//! event, storing nothing.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{JsonBody, PathParams};
use super::openapi::{BodyErrors, TenantErrors};
use super::types::{
    EventExplanation, PolicyDecision, RuleOutcome, RuleTest, RuleTestResult, RuleVerdict,
};
use crate::ingest::event::{Event, now_rfc3339};
use crate::pipeline::Pipeline;
use crate::rules::{CompiledRule, Rule, RuleSpec};
use crate::safety::gate::{self, RuleState};
use crate::store::ExecutionFilter;
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;

/// Whether a rule could fire for events of `source` at all.
fn listens_to(rule: &RuleSpec, source: &str) -> bool {
    if rule.all.is_empty() {
        return rule.source.as_deref().is_none_or(|s| s == source);
    }
    rule.all
        .iter()
        .any(|c| c.source.as_deref().is_none_or(|s| s == source))
}

/// An event as stored and, for every rule of its source, whether it
/// matched (else the first check it failed, with the value found) and
/// what became of it. Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/events/{id}", operation_id = "show_event", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("id" = String, Path, description = "the event")),
    responses((status = 200, description = "the event explained", body = EventExplanation), TenantErrors),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, id)): PathParams<(String, String)>,
) -> Result<Json<EventExplanation>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let store = state.store();
    let event = store
        .get_event(&tenant, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("event {id:?} not found")))?;
    let executions = store
        .list_executions(
            &tenant,
            &ExecutionFilter {
                event_id: Some(id.clone()),
                limit: 500,
                ..Default::default()
            },
        )
        .await?
        .executions;
    let rules = state.pipeline().rules().rules(&tenant).await?;
    let envelope = event.envelope();
    let mut explained = Vec::new();
    for rule in rules
        .iter()
        .filter(|r| listens_to(&r.rule.spec, &event.source))
    {
        let why = rule.explain(&event.source, &event.event_type, &envelope);
        let execution = executions
            .iter()
            .find(|e| e.rule.as_deref() == Some(rule.rule.name.as_str()));
        let outcome = match (why.matched, execution) {
            (_, Some(e)) => Some(RuleOutcome::Execution {
                execution: e.id.clone(),
                status: e.status,
                suppressed: e.suppressed.clone(),
                error: e.error.clone(),
            }),
            (true, None) => Some(RuleOutcome::Note {
                note: "matches now but created no execution: the rule was added, enabled or changed after the event arrived (re-post the event to fire it)".into(),
            }),
            (false, None) => None,
        };
        explained.push(RuleVerdict {
            rule: rule.rule.name.clone(),
            runbook: rule.rule.spec.runbook.clone(),
            matched: why,
            outcome,
        });
    }
    Ok(Json(EventExplanation {
        event,
        rules: explained,
    }))
}

/// What the rule would do with a sample event — match, rendered input and
/// key, and the policy's decision from the current state — storing
/// nothing. `rule` tries an unsaved rule instead of the stored one. Role:
/// any but sender.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/rules/{rule}/test", tag = "triggers",
    params(("tenant" = String, Path, description = "the tenant"),
           ("rule" = String, Path, description = "the rule (stored, or the name for `rule`)")),
    request_body = RuleTest,
    responses((status = 200, description = "what the rule would do", body = RuleTestResult), TenantErrors, BodyErrors),
    security(("bearer" = [])))]
pub async fn test_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((tenant, name)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<RuleTest>,
) -> Result<Json<RuleTestResult>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadConfig).await?;
    let spec = match body.rule {
        Some(spec) => {
            spec.validate().map_err(ApiError::BadRequest)?;
            spec
        }
        None => {
            state
                .store()
                .get_rule(&tenant, &name)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("rule {name:?} not found")))?
                .spec
        }
    };
    let rule = CompiledRule::compile(Rule {
        name: name.clone(),
        spec,
        updated_at: now_rfc3339(),
    })
    .map_err(ApiError::BadRequest)?;
    let sample = body.event;
    let single = rule.rule.spec.all.first();
    let event = Event {
        id: sample.id.unwrap_or_else(|| "test".into()),
        tenant: tenant.clone(),
        source: sample
            .source
            .or_else(|| rule.rule.spec.source.clone())
            .or_else(|| single.and_then(|c| c.source.clone()))
            .unwrap_or_else(|| "test".into()),
        event_type: sample
            .event_type
            .or_else(|| rule.rule.spec.event_type.clone())
            .or_else(|| single.and_then(|c| c.event_type.clone()))
            .unwrap_or_else(|| "event".into()),
        time: now_rfc3339(),
        data: sample.data,
        metadata: sample.metadata,
    };
    let envelope = event.envelope();
    let why = rule.explain(&event.source, &event.event_type, &envelope);
    let mut answer = RuleTestResult {
        event: envelope.clone(),
        matched: why,
        input: None,
        key: None,
        decision: None,
    };
    if !answer.matched.matched {
        return Ok(Json(answer));
    }
    let input = match rule.render_input(&envelope) {
        Ok(input) => json!(input),
        Err(e) => json!({"error": e}),
    };
    answer.input = Some(input.clone());
    match Pipeline::gate(&rule, &event, &envelope) {
        Err(e) => answer.key = Some(json!({"error": e})),
        Ok(None) => {}
        Ok(Some(g)) => {
            answer.key = Some(json!(g.key));
            // The decision the policy would make now, on a copy of the
            // key's and rule's state: nothing is written.
            let store = state.store();
            let mut key = store.policy_key_state(&tenant, &name, &g.key).await?;
            let mut budget: RuleState = store.policy_rule_state(&tenant, &name).await?;
            let mut record = crate::dispatch::record::ExecutionRecord::queued(
                &tenant,
                Some(&name),
                Some(&event.id),
                &rule.rule.spec.runbook,
                None,
                rule.rule.spec.environment,
                input,
            );
            gate::decide(&g, &mut record, &mut key, &mut budget, gate::now_ms());
            answer.decision = Some(PolicyDecision {
                status: record.status,
                suppressed: record.suppressed,
                input: record.input,
            });
        }
    }
    Ok(Json(answer))
}
