//! The execution record's lifecycle: created queued, then completed by the
//! sandbox's report or failed before it ran. The record itself is defined
//! with the store ([`crate::store::model::execution`]), which persists it.

use crate::registry::Environment;
use crate::sandbox::report::{ErrorKind, ExecutionError, ExecutionReport, ExecutionStatus};
use serde_json::Value;

pub use crate::store::model::execution::ExecutionRecord;

impl ExecutionRecord {
    /// A queued execution, not a dry run (set `dry_run` on the result).
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
            dry_run: false,
            status: ExecutionStatus::Queued,
            output: None,
            error: None,
            logs: Vec::new(),
            capability_calls: Vec::new(),
            capability_calls_dropped: 0,
            transcript: None,
            fuel_consumed: 0,
            memory_peak_bytes: 0,
            duration_ms: 0,
            limits: None,
            attempt: 0,
            created_at: crate::ingest::event::now_rfc3339(),
            started_at: None,
            finished_at: None,
            key: None,
            rerun_of: None,
            chain: 0,
            caused_by: None,
            notify: Vec::new(),
            notifications: Vec::new(),
            first_attempt: None,
            retry_of: None,
            retry: 0,
            retries_exhausted: false,
            not_before: None,
            not_before_ms: None,
            retry_policy: None,
            key_tracked: false,
            key_concurrency: None,
            suppressed: None,
            approval: None,
        }
    }

    /// Records the sandbox's report as this execution's result (its
    /// transcript, if any, is stored apart: see `dispatch`).
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
