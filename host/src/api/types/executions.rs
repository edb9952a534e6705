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
