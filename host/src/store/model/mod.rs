//! The records the store keeps and the shapes its operations take and
//! return, shared by every backend. The records that other modules create
//! (executions, events, rules, sources) are defined in the submodules, so
//! the store depends on no module that calls it; their behaviour lives with
//! those modules.

pub mod event;
pub mod execution;
pub mod rule;
pub mod schema;
pub mod source;
pub mod stats;

use crate::capabilities::connectors::ConnectorSpec;
use crate::sandbox::report::ExecutionStatus;
use crate::secrets::vault::Sealed;
use event::Event;
use execution::ExecutionRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Which event was stored for a posted one.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// The stored event: the original one when this was a re-post.
    pub event: Event,
    pub duplicate: bool,
}

/// A new event and the executions it fires, to be made durable together.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: Event,
    pub executions: Vec<NewExecution>,
}

/// An execution to create: queued, or already terminal when it failed
/// before it could run; with a gate when its rule has a policy to decide.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub record: ExecutionRecord,
    pub gate: Option<crate::safety::gate::Gate>,
}

/// What [`ingest`](crate::store::ExecutionStore::ingest) did with one
/// [`NewEvent`].
#[derive(Debug, Clone)]
pub enum Ingested {
    /// The event is new; what became of each of its executions.
    New { created: Vec<Inserted> },
    /// An event with this id was already stored: nothing was written, and
    /// the caller matches rules on the stored event instead.
    Duplicate(Event),
}

/// What [`ingest`](crate::store::ExecutionStore::ingest) did with one
/// execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Not created: its (event, rule) pair already had one.
    Existing,
    /// Created: queued and unclaimed, or already terminal.
    Queued,
    /// Created and already leased to this host, to run at once (saves the
    /// claim's round trip).
    Claimed(Lease),
}

/// The answer to a claim on a pending execution.
#[derive(Debug, Clone)]
pub enum Claim {
    /// This host holds the execution now.
    Claimed(Box<ExecutionRecord>, Lease),
    /// Terminal, or leased to another live host: nothing to do.
    Gone,
    /// The tenant runs `max_concurrent` executions already (on any host),
    /// or its key's turn has not come: try again later.
    Busy,
    /// Not due yet (a retry's backoff): try again after this long.
    NotYet(Duration),
}

/// How long until an execution is due; `None` when it is due now.
pub fn not_due_for(record: &ExecutionRecord) -> Option<Duration> {
    let due = record.not_before_ms?;
    let now = crate::safety::gate::now_ms();
    (due > now).then(|| Duration::from_millis(due - now))
}

/// Filters of `GET /executions`.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub runbook: Option<String>,
    pub status: Option<ExecutionStatus>,
    pub event_id: Option<String>,
    /// `Some(true)`: only executions with at least one denied capability
    /// call; `Some(false)`: only those with none.
    pub denied: Option<bool>,
    /// Only suppressed executions with this reason.
    pub reason: Option<crate::safety::suppression::Reason>,
    /// Only executions fired by this rule.
    pub rule: Option<String>,
    /// Only executions created at or after this id (see [`id_at`]).
    pub since_id: Option<String>,
    /// Only executions created before this id.
    pub until_id: Option<String>,
    /// Only executions whose input has these values at these dotted paths
    /// (all of them), as given in the query string.
    pub input: Vec<(String, String)>,
    /// Return executions older than this id (the previous page's cursor).
    pub cursor: Option<String>,
    pub limit: usize,
}

/// The smallest execution id (a uuid v7: its first 48 bits are the
/// milliseconds since the epoch) created at `ms`: ids compare as times.
pub fn id_at(ms: u64) -> String {
    let hex = format!("{:012x}", ms.min((1 << 48) - 1));
    format!("{}-{}-0000-0000-000000000000", &hex[..8], &hex[8..])
}

/// Whether `input` has `raw` (a query-string value: JSON, or a string) at
/// the dotted `path`.
pub fn input_has(input: &Value, path: &str, raw: &str) -> bool {
    let Some(found) = path.split('.').try_fold(input, |v, part| match v {
        Value::Object(map) => map.get(part),
        Value::Array(items) => items.get(part.parse::<usize>().ok()?),
        _ => None,
    }) else {
        return false;
    };
    if found.as_str() == Some(raw) {
        return true;
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(parsed) => {
            parsed == *found
                || matches!((parsed.as_f64(), found.as_f64()), (Some(a), Some(b)) if a == b)
        }
        Err(_) => false,
    }
}

pub struct ExecutionPage {
    pub executions: Vec<ExecutionRecord>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Retention settings, applied by [`ExecutionStore::prune`](super::ExecutionStore::prune).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_age: Duration,
    pub max_executions_per_tenant: usize,
    pub max_events: usize,
}

/// What a pruning pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub events: usize,
    pub executions: usize,
}

/// What storing a runbook version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// The same version with the same bytes was already stored.
    Unchanged,
}

/// An SQS message that could not be parsed, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RejectedMessage {
    pub message_id: String,
    pub source: String,
    pub reason: String,
    /// SQS's receive count at the last rejection: it reaches the queue's
    /// `maxReceiveCount`, then the message moves to the dead-letter queue.
    pub receive_count: u64,
    /// The first 512 characters of the body.
    pub body_excerpt: String,
    pub last_seen: String,
}

/// One secret of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    pub name: String,
    pub sealed: Sealed,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConnectorRecord {
    pub name: String,
    pub spec: ConnectorSpec,
    pub updated_at: String,
}

/// One administrative action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// 1, 2, 3, … per tenant.
    pub seq: u64,
    pub at: String,
    /// The public id of the token used, and its role (`server-admin` for the
    /// server admin token).
    pub actor: AuditActor,
    /// What was done: `runbook.upload`, `runbook.deploy`, `secret.put`, …
    pub action: String,
    /// What it was done to: a runbook name and version, a rule, a secret name.
    pub target: String,
    /// The record before the change (None when it did not exist); never a
    /// secret value.
    pub before: Option<Value>,
    /// The record after the change (None when it was deleted).
    pub after: Option<Value>,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// sha256 over `prev_hash` and this entry's other fields.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditActor {
    pub token_id: String,
    pub role: String,
}

/// What is recorded: an entry before its place in the chain is known.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub actor: AuditActor,
    pub action: &'static str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The result of checking a tenant's chain.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditVerification {
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// The first sequence number whose entry does not fit the chain.
    pub broken_at: Option<u64>,
    pub reason: Option<String>,
    /// Hash of the last entry: keep it elsewhere to detect a truncated tail.
    pub head: String,
}

/// Rejected messages kept per source; older ones are dropped first.
pub const MAX_REJECTED_PER_SOURCE: usize = 1_000;

/// A host's hold on an execution it runs (PostgreSQL: owner, expiry and a
/// fencing token). Its state is saved, and its completion recorded, only
/// while the lease is still this one: a host that paused past its lease and
/// woke up late cannot record a second completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub token: i64,
}

/// An execution whose host stopped renewing its lease, now leased to this
/// host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    pub tenant: String,
    pub id: String,
    /// How many hosts have lost it so far, this time included.
    pub lost_leases: u32,
}

/// After this many lost leases an execution ends `failed` with kind `lost`.
pub const MAX_LOST_LEASES: u32 = 3;

/// The current minute (of the Unix epoch), and the seconds left in it: the
/// window of `max_executions_per_minute`.
pub fn current_minute() -> (u64, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs / 60, (60 - secs % 60) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_compare_as_their_creation_times() {
        let earlier = id_at(1_700_000_000_000);
        let id = uuid::Uuid::now_v7().to_string();
        assert!(earlier < id);
        assert!(id < id_at(crate::safety::gate::now_ms() + 1));
        assert_eq!(id_at(0), "00000000-0000-0000-0000-000000000000");
    }

    #[test]
    fn input_filters_match_strings_and_json_values() {
        let input = json!({"service": "checkout", "n": 42, "labels": {"tier": "1"}, "on": true});
        assert!(input_has(&input, "service", "checkout"));
        assert!(input_has(&input, "n", "42") && input_has(&input, "n", "42.0"));
        assert!(input_has(&input, "labels.tier", "1"));
        assert!(input_has(&input, "on", "true"));
        assert!(!input_has(&input, "service", "cart"));
        assert!(!input_has(&input, "missing", "x"));
    }
}
