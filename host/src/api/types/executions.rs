//! Bodies of reading and steering executions: pages, trails, cancel and
//! re-run.

use crate::capabilities::trail::CapabilityCall;
use crate::dispatch::cancel::Cancelled;
use crate::dispatch::record::ExecutionRecord;
use crate::registry::Environment;
use crate::sandbox::report::ExecutionStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET …/executions`: newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExecutionPage {
    pub executions: Vec<ExecutionRecord>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// `GET …/executions/{id}/trail` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    /// Only denied calls (true) or only allowed ones (false).
    pub denied: Option<bool>,
    /// Only calls of one interface: `http`, `secrets`, `kv`, `connectors`, `events`.
    pub interface: Option<String>,
}

/// What one execution reached or tried to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Trail {
    pub execution: String,
    pub runbook: String,
    pub version: Option<String>,
    pub environment: Environment,
    pub status: ExecutionStatus,
    /// Denied calls in the whole trail, whatever the filter.
    pub denied_calls: usize,
    /// Calls past the trail's cap, not kept.
    pub calls_dropped: u64,
    pub calls: Vec<CapabilityCall>,
}

/// `POST …/executions/{id}/cancel`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CancelResult {
    pub execution: String,
    pub cancelled: Cancelled,
}

/// `POST …/executions/{id}/rerun` (the body is optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunRequest {
    /// `same` (the default) or `deployed`: the version deployed now.
    #[serde(default)]
    pub version: Option<String>,
    /// With `deployed`: the environment to take it from [default: the
    /// original's].
    #[serde(default)]
    pub environment: Option<Environment>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RerunAccepted {
    pub execution_id: String,
    pub rerun_of: String,
    pub version: Option<String>,
}

/// One execution as a live table shows it: what changed, without its logs,
/// trail and output (`GET …/executions/{id}` has those).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExecutionSummary {
    pub id: String,
    pub runbook: String,
    pub version: Option<String>,
    pub environment: Environment,
    pub rule: Option<String>,
    pub event: Option<String>,
    pub status: ExecutionStatus,
    /// Why it failed (`guest_error`, `timed_out`, …), when it did.
    pub error_kind: Option<String>,
    /// Why it was held back (`deduplicated`, …), when it was.
    pub suppressed_reason: Option<String>,
    /// Capability calls the sandbox refused.
    pub denied_calls: usize,
    pub attempt: u32,
    pub dry_run: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: u64,
}

impl ExecutionSummary {
    pub fn of(record: &ExecutionRecord) -> Self {
        let name = |value: serde_json::Value| value.as_str().map(str::to_string);
        Self {
            id: record.id.clone(),
            runbook: record.runbook.clone(),
            version: record.version.clone(),
            environment: record.environment,
            rule: record.rule.clone(),
            event: record.event_id.clone(),
            status: record.status,
            error_kind: record
                .error
                .as_ref()
                .and_then(|e| name(serde_json::json!(e.kind))),
            suppressed_reason: record
                .suppressed
                .as_ref()
                .and_then(|s| name(serde_json::json!(s.reason))),
            denied_calls: record.denied_calls(),
            attempt: record.attempt,
            dry_run: record.dry_run,
            created_at: record.created_at.clone(),
            started_at: record.started_at.clone(),
            finished_at: record.finished_at.clone(),
            duration_ms: record.duration_ms,
        }
    }
}
