//! The execution record as stored: the sandbox's report plus where the
//! execution came from (tenant, rule, event) and its lifecycle. How records
//! are created and completed lives in `dispatch::record`.

use crate::capabilities::log::LogEntry;
use crate::capabilities::trail::CapabilityCall;
use crate::registry::Environment;
use crate::sandbox::limits::ExecutionLimits;
use crate::sandbox::report::{ExecutionError, ExecutionStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub id: String,
    pub tenant: String,
    /// The rule that fired it; `None` for a manual run.
    pub rule: Option<String>,
    /// The event that fired it; `None` for a manual run.
    #[serde(rename = "event")]
    pub event_id: Option<String>,
    pub runbook: String,
    /// The version deployed to `environment` when the execution was created.
    pub version: Option<String>,
    pub environment: Environment,
    pub input: Value,
    /// The runbook ran, but only reads went out: writes were withheld with a
    /// synthetic success (`dry_run` in the trail) and kv writes were dropped
    /// at the end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<ExecutionError>,
    #[serde(default)]
    pub logs: Vec<LogEntry>,
    #[serde(default)]
    pub capability_calls: Vec<CapabilityCall>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub capability_calls_dropped: u64,
    pub fuel_consumed: u64,
    pub memory_peak_bytes: u64,
    pub duration_ms: u64,
    pub limits: Option<ExecutionLimits>,
    /// 1 on the first run; a run interrupted by a crash is retried with 2, ...
    pub attempt: u32,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ExecutionRecord {
    /// Here rather than in `dispatch::record`: the store asks it to decide
    /// which records still hold a place in the queue.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}
