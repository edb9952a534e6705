//! The execution record as stored: the sandbox's report plus where the
//! execution came from (tenant, rule, event) and its lifecycle. How records
//! are created and completed lives in `dispatch::record`.

use crate::capabilities::log::LogEntry;
use crate::capabilities::trail::CapabilityCall;
use crate::registry::Environment;
use crate::safety::suppression::Suppression;
use crate::sandbox::limits::ExecutionLimits;
use crate::sandbox::report::{ExecutionError, ExecutionStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Its transcript, stored beside the record, when it was recorded
    /// (`record_transcripts` in the tenant's quota; on by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<crate::capabilities::transcript::TranscriptSummary>,
    pub fuel_consumed: u64,
    pub memory_peak_bytes: u64,
    pub duration_ms: u64,
    pub limits: Option<ExecutionLimits>,
    /// 1 on the first run; a run interrupted by a crash is retried with 2, ...
    pub attempt: u32,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The rule's policy key for the event, when the rule has a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Its end must be recorded in its key's policy state (the rule limits
    /// concurrency, counts failures for a circuit, or needs approval).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_tracked: bool,
    /// With `concurrency` in `queue` mode: at most this many executions of
    /// its key run at once, in arrival order; it waits its turn unclaimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_concurrency: Option<u32>,
    /// Why it was held back, when the status is `suppressed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// The rule's `policy.notify` when the execution was created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<crate::notify::NotifySpec>,
    /// What became of each notification sent about it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<crate::notify::NotificationOutcome>,
    /// For a retry: the first execution of its chain (a PagerDuty
    /// incident's dedup key, so a later success resolves it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempt: Option<String>,
    /// How deep in a chain of emitted events it is (0: started from
    /// outside), and the execution whose event started it.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub chain: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<String>,
    /// A re-run (`POST …/executions/{id}/rerun`): the execution it re-runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    /// For a retry: the execution it retries, and which retry it is (1, 2,
    /// …; 0 for the first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub retry: u32,
    /// The last attempt its rule's retry policy allowed, and it failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retries_exhausted: bool,
    /// Not started before this time (a retry's backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<u64>,
    /// The rule's retry policy when the execution was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<crate::safety::policy::Retry>,
    /// The approval it waits for, or how it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalState>,
}

/// An execution's approval (`policy.approval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalState {
    /// Past it, the execution ends suppressed (`approval_timeout`).
    pub deadline: String,
    pub deadline_ms: u64,
    /// `approved` or `rejected`; absent while it waits (or timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The token that decided (its public id) and its role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl ApprovalState {
    pub fn waiting(deadline_ms: u64) -> Self {
        Self {
            deadline: crate::safety::gate::rfc3339_ms(deadline_ms),
            deadline_ms,
            decision: None,
            decided_by: None,
            decided_at: None,
            comment: None,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl ExecutionRecord {
    /// Capability calls the sandbox refused.
    pub fn denied_calls(&self) -> usize {
        self.capability_calls.iter().filter(|c| !c.allowed).count()
    }

    /// Here rather than in `dispatch::record`: the store asks it to decide
    /// which records still hold a place in the queue.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// Whether it waits for a worker or runs: the store's pending set.
    pub fn is_pending(&self) -> bool {
        self.status.is_pending()
    }

    /// Whether its rule's policy tracks it in its key's state (so its end
    /// must be recorded there).
    pub fn is_gated(&self) -> bool {
        self.key_tracked && self.key.is_some() && self.rule.is_some()
    }

    /// Ends it suppressed, never having run.
    pub fn suppress(&mut self, suppression: Suppression) {
        self.status = ExecutionStatus::Suppressed;
        self.suppressed = Some(suppression);
        self.finished_at = Some(crate::ingest::event::now_rfc3339());
    }
}
