//! The policy decision for one execution a rule fires: run it, hold it for
//! approval, or suppress it and say why. Pure functions over the key's and
//! the rule's state; the store runs them under its per-rule lock, in the
//! same write as the execution they decide, so a crash can neither count
//! an event twice nor lose a window.

use super::policy::{OnBusy, Policy};
use super::suppression::{Reason, Suppression};
use crate::sandbox::report::{ErrorKind, ExecutionStatus};
use crate::store::model::execution::{ApprovalState, ExecutionRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a gated execution carries into the store: its rule's policy, the
/// key the event rendered to, and how to render the input again with the
/// correlated events of a threshold.
#[derive(Clone)]
pub struct Gate {
    pub rule: String,
    pub key: String,
    pub policy: Arc<Policy>,
    /// This event's envelope (kept while a threshold or the conditions of
    /// a multi-event rule correlate).
    pub envelope: Value,
    /// The rule's `params` over this envelope plus `events`.
    pub render: RenderInput,
    /// For a multi-event rule: its conditions and which this event meets.
    pub conditions: Option<Conditions>,
}

/// A multi-event rule's side of a gate.
#[derive(Debug, Clone)]
pub struct Conditions {
    /// Every condition's name.
    pub all: Vec<String>,
    /// The ones this event meets.
    pub matched: Vec<String>,
    pub within_secs: u64,
}

/// Renders a rule's input with `events` (a threshold's or a multi-event
/// rule's correlated envelopes).
pub type RenderInput = Arc<dyn Fn(&Value) -> Result<Value, String> + Send + Sync>;

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("rule", &self.rule)
            .field("key", &self.key)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// One key's state under a rule's policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyState {
    /// The last execution admitted (for `once_within_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Run>,
    /// When each execution in the current `rate` window was admitted (ms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<u64>,
    /// Admitted executions not finished yet, in admission order
    /// (`concurrency`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<String>,
    /// When recent executions that did not succeed finished (ms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<u64>,
    /// When the circuit opened (ms); `None`: closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<u64>,
    /// The half-open trial execution, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial: Option<String>,
    /// Events counted towards the threshold, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlating: Vec<Correlated>,
    /// A multi-event rule's conditions met so far: the latest event of each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, Correlated>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Run {
    pub execution: String,
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Correlated {
    pub at: u64,
    pub event: Value,
}

/// A rule's state across its keys (`budget`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleState {
    /// Keys acted on in the current window → when first acted on (ms).
    #[serde(default)]
    pub budget: BTreeMap<String, u64>,
}

impl KeyState {
    /// Whether nothing is left worth keeping.
    pub fn is_empty(&self) -> bool {
        *self == KeyState::default()
    }
}

/// Decides `record` (queued, just built from an event) under its gate,
/// updating the states: the record leaves suppressed, awaiting approval,
/// failed (a threshold input that cannot be rendered) or still queued.
pub fn decide(
    gate: &Gate,
    record: &mut ExecutionRecord,
    key: &mut KeyState,
    rule: &mut RuleState,
    now: u64,
) {
    let policy = &*gate.policy;
    record.key = Some(gate.key.clone());
    forget_old(policy, key, rule, now);
    let suppress =
        |reason, policy: &str, detail: String, folded_into: Option<String>| Suppression {
            reason,
            policy: policy.to_string(),
            key: Some(gate.key.clone()),
            detail,
            folded_into,
        };

    let mut correlated = None;
    if let Some(c) = &gate.conditions {
        key.conditions
            .retain(|_, e| e.at + c.within_secs * 1000 > now);
        for name in &c.matched {
            key.conditions.insert(
                name.clone(),
                Correlated {
                    at: now,
                    event: gate.envelope.clone(),
                },
            );
        }
        let missing: Vec<&str> = c
            .all
            .iter()
            .filter(|n| !key.conditions.contains_key(*n))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let s = suppress(
                Reason::CorrelationPending,
                "all",
                format!(
                    "key {:?} met {} within {} s; waiting for {}",
                    gate.key,
                    key.conditions
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.within_secs,
                    missing.join(", ")
                ),
                None,
            );
            return record.suppress(s);
        }
        let events: serde_json::Map<String, Value> = std::mem::take(&mut key.conditions)
            .into_iter()
            .map(|(name, c)| (name, c.event))
            .collect();
        correlated = Some(Value::Object(events));
    }
    if let Some(t) = policy.threshold {
        key.correlating.push(Correlated {
            at: now,
            event: gate.envelope.clone(),
        });
        if key.correlating.len() < t.count as usize {
            let s = suppress(
                Reason::ThresholdPending,
                "threshold",
                format!(
                    "{} of {} events of key {:?} within {} s",
                    key.correlating.len(),
                    t.count,
                    gate.key,
                    t.within_secs
                ),
                None,
            );
            return record.suppress(s);
        }
        let events = std::mem::take(&mut key.correlating);
        correlated = Some(Value::Array(events.into_iter().map(|c| c.event).collect()));
    }
    if let (Some(secs), Some(last)) = (policy.once_within_secs, &key.last_run)
        && now < last.at + secs * 1000
    {
        let s = suppress(
            Reason::Deduplicated,
            "once_within_secs",
            format!(
                "key {:?} ran {} s ago (once within {} s)",
                gate.key,
                (now - last.at) / 1000,
                secs
            ),
            Some(last.execution.clone()),
        );
        return record.suppress(s);
    }
    let mut trial = false;
    if let Some(c) = policy.circuit
        && let Some(opened) = key.opened_at
    {
        let half_open_at = opened + c.cooldown_secs * 1000;
        let detail = match &key.trial {
            _ if now < half_open_at => Some(format!(
                "circuit of key {:?} opened after {} failures; half-open in {} s",
                gate.key,
                c.failures,
                (half_open_at - now).div_ceil(1000)
            )),
            Some(t) => Some(format!(
                "circuit of key {:?} is half-open: trial execution {t} is running",
                gate.key
            )),
            None => None,
        };
        match detail {
            Some(detail) => {
                return record.suppress(suppress(Reason::CircuitOpen, "circuit", detail, None));
            }
            None => trial = true,
        }
    }
    if let Some(c) = policy.concurrency
        && c.on_busy == OnBusy::Suppress
        && key.active.len() >= c.max as usize
    {
        let s = suppress(
            Reason::Busy,
            "concurrency",
            format!(
                "key {:?} has {} executions in progress (at most {})",
                gate.key,
                key.active.len(),
                c.max
            ),
            key.active.first().cloned(),
        );
        return record.suppress(s);
    }
    if let Some(r) = policy.rate
        && key.runs.len() >= r.max as usize
    {
        let s = suppress(
            Reason::RateLimited,
            "rate",
            format!(
                "key {:?} ran {} times in the last {} s (at most {})",
                gate.key,
                key.runs.len(),
                r.per_secs,
                r.max
            ),
            None,
        );
        return record.suppress(s);
    }
    if let Some(b) = policy.budget
        && !rule.budget.contains_key(&gate.key)
        && rule.budget.len() >= b.max_keys as usize
    {
        let s = suppress(
            Reason::BudgetExhausted,
            "budget",
            format!(
                "rule {} acted on {} keys in the last {} s (at most {}): {}",
                gate.rule,
                rule.budget.len(),
                b.per_secs,
                b.max_keys,
                rule.budget.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            None,
        );
        return record.suppress(s);
    }

    // Admitted.
    if let Some(events) = correlated {
        match (gate.render)(&events) {
            Ok(input) => record.input = input,
            Err(e) => {
                // Failed, and counted as nothing: the window starts again.
                record.fail_before_run(
                    ErrorKind::InvalidInput,
                    format!("rule {}: {e}", gate.rule),
                    crate::ingest::event::now_rfc3339(),
                );
                return;
            }
        }
    }
    key.last_run = Some(Run {
        execution: record.id.clone(),
        at: now,
    });
    if policy.rate.is_some() {
        key.runs.push(now);
    }
    if policy.budget.is_some() {
        rule.budget.entry(gate.key.clone()).or_insert(now);
    }
    if trial {
        key.trial = Some(record.id.clone());
    }
    // Only what a later decision reads is tracked until the end.
    record.key_tracked =
        policy.concurrency.is_some() || policy.circuit.is_some() || policy.approval.is_some();
    if record.key_tracked {
        key.active.push(record.id.clone());
    }
    record.key_concurrency = policy
        .concurrency
        .filter(|c| c.on_busy == OnBusy::Queue)
        .map(|c| c.max);
    if let Some(a) = policy.approval {
        record.status = ExecutionStatus::AwaitingApproval;
        record.approval = Some(ApprovalState::waiting(now + a.timeout_secs * 1000));
    }
}

/// Records a gated execution's end in its key's state: it no longer counts
/// towards `concurrency`, and one that ran and did not succeed counts
/// towards the circuit (a trial's outcome closes or reopens it).
pub fn finished(key: &mut KeyState, record: &ExecutionRecord, now: u64) {
    key.active.retain(|id| *id != record.id);
    let ran = !matches!(
        record.status,
        ExecutionStatus::Suppressed | ExecutionStatus::Cancelled
    );
    let succeeded = record.status == ExecutionStatus::Succeeded;
    if key.trial.as_deref() == Some(&record.id) {
        key.trial = None;
        if succeeded {
            key.failures.clear();
            key.opened_at = None;
        } else if ran {
            key.failures.push(now);
            key.opened_at = Some(now);
        }
        return;
    }
    if ran && !succeeded {
        key.failures.push(now);
        let cap = super::policy::MAX_CIRCUIT_FAILURES as usize;
        if key.failures.len() > cap {
            key.failures.drain(..key.failures.len() - cap);
        }
    }
}

/// Whether `execution` may start now: with `concurrency` in `queue` mode,
/// only the first `max` of its key's active executions run.
pub fn may_start(record: &ExecutionRecord, key: &KeyState) -> bool {
    match record.key_concurrency {
        Some(max) => key
            .active
            .iter()
            .take(max as usize)
            .any(|id| *id == record.id),
        None => true,
    }
}

/// Drops what fell out of every window, and opens the circuit of a key
/// that reached its failures.
pub fn forget_old(policy: &Policy, key: &mut KeyState, rule: &mut RuleState, now: u64) {
    // `at` is still inside a window of `secs` that ends now.
    let within = |at: u64, secs: u64| at + secs * 1000 > now;
    match policy.rate {
        Some(r) => key.runs.retain(|&at| within(at, r.per_secs)),
        None => key.runs.clear(),
    }
    match policy.threshold {
        Some(t) => key.correlating.retain(|c| within(c.at, t.within_secs)),
        None => key.correlating.clear(),
    }
    match policy.budget {
        Some(b) => rule.budget.retain(|_, at| within(*at, b.per_secs)),
        None => rule.budget.clear(),
    }
    if key
        .last_run
        .as_ref()
        .is_some_and(|last| policy.once_within_secs.is_none_or(|s| !within(last.at, s)))
    {
        key.last_run = None;
    }
    match policy.circuit {
        Some(c) => {
            key.failures.retain(|&at| within(at, c.within_secs));
            if key.opened_at.is_none() && key.failures.len() >= c.failures as usize {
                key.opened_at = key.failures.last().copied();
            }
        }
        None => close_circuit(key),
    }
}

/// A key's circuit as operators see it, when it is not closed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OpenCircuit {
    pub key: String,
    pub opened_at: String,
    pub failures: usize,
    /// When the next event may run as the trial.
    pub half_open_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<String>,
}

pub fn open_circuit(policy: &Policy, key: &str, state: &KeyState, now: u64) -> Option<OpenCircuit> {
    let c = policy.circuit?;
    let mut state = state.clone();
    forget_old(policy, &mut state, &mut RuleState::default(), now);
    let opened = state.opened_at?;
    Some(OpenCircuit {
        key: key.to_string(),
        opened_at: rfc3339_ms(opened),
        failures: state.failures.len(),
        half_open_at: rfc3339_ms(opened + c.cooldown_secs * 1000),
        trial: state.trial,
    })
}

/// A closed circuit: failures forgotten.
pub fn close_circuit(state: &mut KeyState) {
    state.failures.clear();
    state.opened_at = None;
    state.trial = None;
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `ms` since the epoch as RFC 3339 UTC.
pub fn rfc3339_ms(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Environment;
    use serde_json::json;

    fn gate(policy: Value, key: &str) -> Gate {
        Gate {
            rule: "restart".into(),
            key: key.into(),
            policy: Arc::new(serde_json::from_value(policy).unwrap()),
            envelope: json!({"id": format!("e-{key}")}),
            render: Arc::new(|events| Ok(json!({"events": events.as_array().map_or(0, Vec::len)}))),
            conditions: None,
        }
    }

    fn record() -> ExecutionRecord {
        ExecutionRecord::queued(
            "t",
            Some("restart"),
            Some("e"),
            "rb",
            Some("1".into()),
            Environment::Prod,
            json!({}),
        )
    }

    /// Runs `decide` for a fresh record; returns it.
    fn run(g: &Gate, key: &mut KeyState, rule: &mut RuleState, now: u64) -> ExecutionRecord {
        let mut r = record();
        decide(g, &mut r, key, rule, now);
        r
    }

    fn reason(r: &ExecutionRecord) -> Option<Reason> {
        r.suppressed.as_ref().map(|s| s.reason)
    }

    #[test]
    fn once_within_folds_into_the_first_until_the_window_ends() {
        let g = gate(json!({"once_within_secs": 10}), "a");
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        let first = run(&g, &mut k, &mut r, 1_000);
        assert_eq!(first.status, ExecutionStatus::Queued);
        let second = run(&g, &mut k, &mut r, 10_999);
        assert_eq!(reason(&second), Some(Reason::Deduplicated));
        assert_eq!(
            second.suppressed.unwrap().folded_into,
            Some(first.id.clone())
        );
        // Exactly at the boundary the window is over.
        let third = run(&g, &mut k, &mut r, 11_000);
        assert_eq!(third.status, ExecutionStatus::Queued);
    }

    #[test]
    fn rate_counts_admitted_runs_in_a_sliding_window() {
        let g = gate(json!({"rate": {"max": 2, "per_secs": 60}}), "a");
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        assert_eq!(run(&g, &mut k, &mut r, 0).status, ExecutionStatus::Queued);
        assert_eq!(
            run(&g, &mut k, &mut r, 30_000).status,
            ExecutionStatus::Queued
        );
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 59_999)),
            Some(Reason::RateLimited)
        );
        // The first run left the window; suppressed ones never counted.
        assert_eq!(
            run(&g, &mut k, &mut r, 60_001).status,
            ExecutionStatus::Queued
        );
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 60_002)),
            Some(Reason::RateLimited)
        );
    }

    #[test]
    fn budget_holds_distinct_keys_across_the_rule() {
        let (mut r, mut keys) = (RuleState::default(), BTreeMap::<String, KeyState>::new());
        let p = json!({"budget": {"max_keys": 2, "per_secs": 100}});
        let mut go = |key: &str, now| {
            let g = gate(p.clone(), key);
            run(&g, keys.entry(key.into()).or_default(), &mut r, now)
        };
        assert_eq!(go("a", 0).status, ExecutionStatus::Queued);
        assert_eq!(go("b", 1).status, ExecutionStatus::Queued);
        assert_eq!(reason(&go("c", 2)), Some(Reason::BudgetExhausted));
        // A key already acted on stays within the budget.
        assert_eq!(go("a", 3).status, ExecutionStatus::Queued);
        assert_eq!(go("c", 100_001).status, ExecutionStatus::Queued);
    }

    #[test]
    fn threshold_fires_once_with_every_correlated_event_then_starts_again() {
        let g = gate(json!({"threshold": {"count": 3, "within_secs": 10}}), "a");
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 0)),
            Some(Reason::ThresholdPending)
        );
        // The first event falls out of the window before the third arrives.
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 5_000)),
            Some(Reason::ThresholdPending)
        );
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 11_000)),
            Some(Reason::ThresholdPending)
        );
        let fired = run(&g, &mut k, &mut r, 12_000);
        assert_eq!(fired.status, ExecutionStatus::Queued);
        assert_eq!(fired.input, json!({"events": 3}));
        assert!(k.correlating.is_empty());
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 12_001)),
            Some(Reason::ThresholdPending)
        );
    }

    #[test]
    fn circuit_opens_cools_down_lets_one_trial_through_and_its_success_closes_it() {
        let g = gate(
            json!({"circuit": {"failures": 2, "within_secs": 60, "cooldown_secs": 30}}),
            "a",
        );
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        for now in [0, 1_000] {
            let mut e = run(&g, &mut k, &mut r, now);
            e.status = ExecutionStatus::Failed;
            finished(&mut k, &e, now + 10);
        }
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 2_000)),
            Some(Reason::CircuitOpen)
        );
        assert!(open_circuit(&g.policy, "a", &k, 2_000).is_some());
        let mut trial = run(&g, &mut k, &mut r, 31_010);
        assert_eq!(
            trial.status,
            ExecutionStatus::Queued,
            "half-open: one trial"
        );
        let held = run(&g, &mut k, &mut r, 31_020);
        assert!(held.suppressed.unwrap().detail.contains("half-open"));
        trial.status = ExecutionStatus::Succeeded;
        finished(&mut k, &trial, 31_500);
        assert!(open_circuit(&g.policy, "a", &k, 31_600).is_none());
        assert_eq!(
            run(&g, &mut k, &mut r, 31_700).status,
            ExecutionStatus::Queued
        );
    }

    #[test]
    fn a_failed_trial_reopens_the_circuit() {
        let g = gate(
            json!({"circuit": {"failures": 1, "within_secs": 60, "cooldown_secs": 30}}),
            "a",
        );
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        let mut e = run(&g, &mut k, &mut r, 0);
        e.status = ExecutionStatus::Failed;
        finished(&mut k, &e, 0);
        let mut trial = run(&g, &mut k, &mut r, 30_000);
        trial.status = ExecutionStatus::TimedOut;
        finished(&mut k, &trial, 40_000);
        assert_eq!(
            reason(&run(&g, &mut k, &mut r, 69_999)),
            Some(Reason::CircuitOpen)
        );
        assert_eq!(
            run(&g, &mut k, &mut r, 70_000).status,
            ExecutionStatus::Queued
        );
    }

    #[test]
    fn concurrency_suppresses_or_queues_in_order() {
        let g = gate(
            json!({"concurrency": {"max": 1, "on_busy": "suppress"}}),
            "a",
        );
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        let first = run(&g, &mut k, &mut r, 0);
        assert_eq!(reason(&run(&g, &mut k, &mut r, 1)), Some(Reason::Busy));
        finished(&mut k, &first, 2);
        assert_eq!(run(&g, &mut k, &mut r, 3).status, ExecutionStatus::Queued);

        let g = gate(json!({"concurrency": {"max": 1}}), "a");
        let mut k = KeyState::default();
        let a = run(&g, &mut k, &mut r, 0);
        let b = run(&g, &mut k, &mut r, 1);
        assert_eq!(b.status, ExecutionStatus::Queued, "queue mode admits");
        assert!(may_start(&a, &k));
        assert!(!may_start(&b, &k));
        finished(&mut k, &a, 2);
        assert!(may_start(&b, &k));
    }

    #[test]
    fn all_conditions_of_one_key_within_the_window_fire_once() {
        let mut g = gate(json!({}), "broker-1");
        g.render = Arc::new(|events| Ok(events.clone()));
        let with = |g: &Gate, matched: &[&str], event: &str| {
            let mut g = g.clone();
            g.envelope = json!({"id": event});
            g.conditions = Some(Conditions {
                all: vec!["offline".into(), "urp".into()],
                matched: matched.iter().map(|m| m.to_string()).collect(),
                within_secs: 60,
            });
            g
        };
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        let first = run(&with(&g, &["offline"], "e1"), &mut k, &mut r, 0);
        assert_eq!(reason(&first), Some(Reason::CorrelationPending));
        assert!(first.suppressed.unwrap().detail.contains("waiting for urp"));
        // The same condition again only replaces its event.
        let again = run(&with(&g, &["offline"], "e2"), &mut k, &mut r, 1_000);
        assert_eq!(reason(&again), Some(Reason::CorrelationPending));
        let fired = run(&with(&g, &["urp"], "e3"), &mut k, &mut r, 2_000);
        assert_eq!(fired.status, ExecutionStatus::Queued);
        assert_eq!(
            fired.input,
            json!({"offline": {"id": "e2"}, "urp": {"id": "e3"}})
        );
        // Past the window a lone condition does not complete an old one.
        run(&with(&g, &["offline"], "e4"), &mut k, &mut r, 3_000);
        let late = run(&with(&g, &["urp"], "e5"), &mut k, &mut r, 63_000);
        assert_eq!(reason(&late), Some(Reason::CorrelationPending));
    }

    #[test]
    fn approval_holds_an_admitted_execution() {
        let g = gate(json!({"approval": {"timeout_secs": 60}}), "a");
        let (mut k, mut r) = (KeyState::default(), RuleState::default());
        let e = run(&g, &mut k, &mut r, 1_000);
        assert_eq!(e.status, ExecutionStatus::AwaitingApproval);
        assert_eq!(e.approval.unwrap().deadline_ms, 61_000);
    }
}
