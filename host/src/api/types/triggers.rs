//! Bodies of sources, rules and webhooks, and of "why did (or didn't) it
//! run": an event explained against its rules, and a rule tried on a
//! sample event.

use crate::ingest::event::Event;
use crate::ingest::source::Source;
use crate::ingest::sqs::metrics::MetricsSnapshot;
use crate::rules::explain::Explanation;
use crate::rules::{Rule, RuleSpec};
use crate::safety::suppression::Suppression;
use crate::sandbox::report::{ExecutionError, ExecutionStatus};
use crate::store::RejectedMessage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A source as readers see it: secrets redacted, with an SQS source's
/// counters and a schedule's next ticks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShownSource {
    #[serde(flatten)]
    pub source: Source,
    /// An SQS source's counters on this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsSnapshot>,
    /// A schedule's next ticks (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_ticks: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceList {
    pub sources: Vec<ShownSource>,
}

/// SQS messages that could not be parsed, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RejectedList {
    pub rejected: Vec<RejectedMessage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<Rule>,
}

/// `POST /v1/hooks/{tenant}/{source}`: the events accepted (durable).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookAccepted {
    /// The first event's id (null when a split body held no event).
    pub event_id: Option<String>,
    pub event_ids: Vec<String>,
    /// Events already received before (the same id): not run again.
    pub duplicates: usize,
    /// Executions created by this request.
    pub executions: Vec<String>,
}

/// `GET …/events/{id}`: the event, and for each rule of its source what
/// became of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventExplanation {
    pub event: Event,
    pub rules: Vec<RuleVerdict>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuleVerdict {
    pub rule: String,
    pub runbook: String,
    /// Whether it matches, else the first check it failed.
    #[serde(rename = "match")]
    pub matched: Explanation,
    /// The execution the event created, or why there is none; null when
    /// the rule does not match.
    pub outcome: Option<RuleOutcome>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RuleOutcome {
    Execution {
        execution: String,
        status: ExecutionStatus,
        suppressed: Option<Suppression>,
        error: Option<ExecutionError>,
    },
    /// It matches now but created no execution.
    Note { note: String },
}

/// A sample event for a rule test; what is missing is taken from the rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleEvent {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// `POST …/rules/{rule}/test`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    pub event: SampleEvent,
    /// A rule to try instead of the stored one (e.g. before applying it).
    #[serde(default)]
    pub rule: Option<RuleSpec>,
}

/// What a rule would do with a sample event; nothing is stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuleTestResult {
    /// The event as rules see it (`id`, `source`, `type`, `time`, `data`, `metadata`).
    pub event: Value,
    #[serde(rename = "match")]
    pub matched: Explanation,
    /// When it matches: the rendered input, or `{"error"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// When it matches and has a policy: the key, or `{"error"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The decision the policy would make now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<PolicyDecision>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyDecision {
    pub status: ExecutionStatus,
    pub suppressed: Option<Suppression>,
    pub input: Value,
}
