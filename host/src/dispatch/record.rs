//! The execution record the service stores: the sandbox's report plus where
//! the execution came from (tenant, rule, event) and its lifecycle.

use crate::capabilities::log::LogEntry;
use crate::capabilities::trail::CapabilityCall;
use crate::registry::Environment;
use crate::sandbox::limits::ExecutionLimits;
use crate::sandbox::report::{ErrorKind, ExecutionError, ExecutionReport, ExecutionStatus};
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
    /// A queued execution.
    pub fn queued(
        tenant: &str,
        rule: Option<&str>,
        event_id: Option<&str>,
        runbook: &str,
        version: Option<String>,
        environment: Environment,
        input: Value,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: tenant.to_string(),
            rule: rule.map(str::to_string),
            event_id: event_id.map(str::to_string),
            runbook: runbook.to_string(),
            version,
            environment,
            input,
            status: ExecutionStatus::Queued,
            output: None,
            error: None,
            logs: Vec::new(),
            capability_calls: Vec::new(),
            capability_calls_dropped: 0,
            fuel_consumed: 0,
            memory_peak_bytes: 0,
            duration_ms: 0,
            limits: None,
            attempt: 0,
            created_at: crate::ingest::event::now_rfc3339(),
            started_at: None,
            finished_at: None,
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// Records the sandbox's report as this execution's result.
    pub fn apply_report(&mut self, report: ExecutionReport, now: String) {
        self.status = report.status;
        self.output = report.output;
        self.error = report.error;
        self.logs = report.logs;
        self.capability_calls = report.capability_calls;
        self.capability_calls_dropped = report.capability_calls_dropped;
        self.fuel_consumed = report.fuel_consumed;
        self.memory_peak_bytes = report.memory_peak_bytes;
        self.duration_ms = report.duration_ms;
        self.limits = Some(report.limits);
        self.finished_at = Some(now);
    }

    /// Ends the execution as failed before the sandbox ran it.
    pub fn fail_before_run(&mut self, kind: ErrorKind, message: String, now: String) {
        self.status = ExecutionStatus::Failed;
        self.error = Some(ExecutionError {
            kind,
            message,
            backtrace: None,
        });
        self.finished_at = Some(now);
    }
}
