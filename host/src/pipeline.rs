//! The durable pipeline: accepted events → event log → rule match → queued
//! executions, all durable (one group commit) before anything is
//! acknowledged, then handed to the dispatcher. Every step is idempotent, so
//! a re-post or a redelivery after a crash converges on one execution per
//! (event, rule).

use crate::dispatch::record::ExecutionRecord;
use crate::dispatch::{Dispatcher, ExecutionRef};
use crate::ingest::event::{Event, now_rfc3339};
use crate::registry::Environment;
use crate::rules::cache::RuleCache;
use crate::rules::{CompiledRule, match_rules};
use crate::safety::gate::{Conditions, Gate, RenderInput};
use crate::safety::settings::{self, ActiveSilences, SafetySettings};
use crate::sandbox::report::ErrorKind;
use crate::store::{Ingested, Inserted, NewEvent, NewExecution, Store, StoreError};
use crate::tenancy::TenantQuota;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the execution queue is full ({0} executions in flight); retry later")]
    QueueFull(usize),
    #[error("tenant quota: at most {limit} executions per minute; retry in {retry_after_secs} s")]
    QuotaExceeded { limit: u32, retry_after_secs: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one accepted event.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AcceptedEvent {
    pub event_id: String,
    pub duplicate: bool,
    /// Executions created now (not those a duplicate already had).
    pub executions: Vec<String>,
}

/// What holds every rule's executions back for one request: the tenant's
/// pauses and the silences in force.
struct Holds<'a> {
    settings: &'a SafetySettings,
    silences: &'a ActiveSilences,
}

#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    rules: Arc<RuleCache>,
    dispatcher: Dispatcher,
}

impl Pipeline {
    pub fn new(store: Store, rules: Arc<RuleCache>, dispatcher: Dispatcher) -> Self {
        Self {
            store,
            rules,
            dispatcher,
        }
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub fn rules(&self) -> &RuleCache {
        &self.rules
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Hands durable executions (an approved one) to the dispatcher.
    pub fn queue_now(&self, executions: Vec<ExecutionRef>) {
        self.queue(executions);
    }

    /// Makes the events and their executions durable, then queues the
    /// executions. Returns only after the durable write.
    pub async fn accept(
        &self,
        tenant: &str,
        events: Vec<Event>,
    ) -> Result<Vec<AcceptedEvent>, PipelineError> {
        let rules = self.rules.rules(tenant).await?;
        // Backpressure before writing anything: refuse what cannot be held.
        // Capped at the capacity so a large request is still accepted by an
        // idle server rather than refused forever.
        let worst_case = (events.len() * rules.len()).min(self.dispatcher.capacity());
        if !self.dispatcher.has_room_for(worst_case) {
            return Err(PipelineError::QueueFull(self.dispatcher.in_flight()));
        }
        let safety = self.store.safety_settings(tenant).await?;
        let silences = ActiveSilences::of(&safety);
        let holds = Holds {
            settings: &safety,
            silences: &silences,
        };
        let mut batch = Vec::with_capacity(events.len());
        for event in events {
            let executions = self.executions_for(tenant, &rules, &event, &holds).await?;
            batch.push(NewEvent { event, executions });
        }
        // The quota counts executions that run. One a pause, a silence or
        // a bad input ended already never does; a gated one is counted
        // once its policy admitted it (after the write, below), so what a
        // policy folds away never spends it. When something may run, a
        // minute already used up refuses the request before anything is
        // written.
        let may_run = || {
            batch
                .iter()
                .flat_map(|n| &n.executions)
                .filter(|e| !e.record.is_terminal())
        };
        let ungated = may_run().filter(|e| e.gate.is_none()).count();
        let quota = self.quota(tenant).await?;
        if may_run().next().is_some() {
            self.spend_rate_quota(tenant, &quota, ungated).await?;
        }
        // Executions free workers can start now are leased to this host in
        // the same transaction; the rest wait unclaimed, for any host. A
        // tenant with `max_concurrent` is claimed one by one, under its
        // quota.
        let claim = match quota.max_concurrent {
            None => self.dispatcher.idle_workers(),
            Some(_) => 0,
        };

        let mut accepted = Vec::with_capacity(batch.len());
        let mut to_queue = Vec::new();
        // Held back at once (suppressed, awaiting approval) and asking to be
        // heard about.
        let mut notify = Vec::new();
        let writing = std::time::Instant::now();
        let outcomes = self.store.ingest(&mut batch, claim).await?;
        crate::metrics::store_write("ingest", writing.elapsed());
        let admitted = batch
            .iter()
            .zip(&outcomes)
            .filter_map(|(new, outcome)| match outcome {
                Ingested::New { created } => Some(new.executions.iter().zip(created)),
                Ingested::Duplicate(_) => None,
            })
            .flatten()
            .filter(|(e, inserted)| {
                e.gate.is_some() && **inserted != Inserted::Existing && !e.record.is_terminal()
            })
            .count();
        if admitted > 0 {
            // Written already: a minute this uses up refuses what follows.
            if let Err(e) = self.spend_rate_quota(tenant, &quota, admitted).await {
                tracing::debug!(error = %e, "admitted executions past the tenant's quota");
            }
        }
        for (new, outcome) in batch.into_iter().zip(outcomes) {
            let (event_id, duplicate, created) = match outcome {
                Ingested::New { created } => {
                    let mut made = Vec::new();
                    for (execution, inserted) in new.executions.into_iter().zip(created) {
                        let record = execution.record;
                        if inserted != Inserted::Existing {
                            if let Some(s) = &record.suppressed {
                                crate::safety::metrics::count(tenant, s.reason);
                            }
                            if record.is_terminal() {
                                crate::metrics::execution_finished(&record);
                            }
                            if !record.notify.is_empty() && !record.is_pending() {
                                notify.push(record.clone());
                            }
                        }
                        let claimed = match inserted {
                            Inserted::Existing => continue,
                            Inserted::Queued => None,
                            Inserted::Claimed(lease) => Some(lease),
                        };
                        if record.is_pending() {
                            to_queue.push(ExecutionRef {
                                tenant: tenant.to_string(),
                                id: record.id.clone(),
                                claimed: claimed.map(|lease| Box::new((record.clone(), lease))),
                            });
                        }
                        made.push(record.id);
                    }
                    (new.event.id, false, made)
                }
                // Rules match the event as first stored: a re-post after a
                // new rule was added fires only that rule.
                Ingested::Duplicate(stored) => {
                    let mut made = Vec::new();
                    for execution in self.executions_for(tenant, &rules, &stored, &holds).await? {
                        if let Some(record) = self.create_one(execution).await? {
                            if let Some(s) = &record.suppressed {
                                crate::safety::metrics::count(tenant, s.reason);
                            }
                            if record.is_terminal() {
                                crate::metrics::execution_finished(&record);
                            }
                            if record.is_pending() {
                                to_queue
                                    .push(ExecutionRef::new(tenant.to_string(), record.id.clone()));
                            }
                            made.push(record.id);
                        }
                    }
                    (stored.id, true, made)
                }
            };
            accepted.push(AcceptedEvent {
                event_id,
                duplicate,
                executions: created,
            });
        }
        self.store.commit().await?;
        self.queue(to_queue);
        self.notify_held(notify).await;
        Ok(accepted)
    }

    /// A manual run of the version deployed to `environment`; a dry run
    /// when `dry_run` (only reads go out).
    pub async fn run_manual(
        &self,
        tenant: &str,
        runbook: &str,
        environment: Environment,
        input: Value,
        dry_run: bool,
    ) -> Result<ExecutionRecord, PipelineError> {
        if !self.dispatcher.has_room_for(1) {
            return Err(PipelineError::QueueFull(self.dispatcher.in_flight()));
        }
        let mut record = self
            .new_execution(tenant, None, None, runbook, environment, input)
            .await?;
        record.dry_run = dry_run;
        self.run_record(record).await
    }

    /// Puts the notifications of executions held back at ingest in the
    /// outbox. After the commit, best effort: a crash in between loses
    /// these notifications, never an execution.
    async fn notify_held(&self, records: Vec<ExecutionRecord>) {
        for record in records {
            if let Err(e) = crate::notify::enqueue_for(&self.store, &record).await {
                tracing::warn!(tenant = %record.tenant, id = %record.id, error = %e, "cannot queue a notification");
            }
        }
    }

    /// Creates and queues a record made outside the rules — a manual run,
    /// or a re-run made by [`rerun_of`](crate::dispatch::cancel::rerun_of)
    /// — under the queue's backpressure and the tenant's rate quota.
    pub async fn run_record(
        &self,
        mut record: ExecutionRecord,
    ) -> Result<ExecutionRecord, PipelineError> {
        if !self.dispatcher.has_room_for(1) {
            return Err(PipelineError::QueueFull(self.dispatcher.in_flight()));
        }
        let quota = self.quota(&record.tenant).await?;
        self.spend_rate_quota(&record.tenant, &quota, 1).await?;
        self.store.create_execution(&mut record, None).await?;
        self.store.commit().await?;
        self.queue(vec![ExecutionRef::new(
            record.tenant.clone(),
            record.id.clone(),
        )]);
        Ok(record)
    }

    /// Hands durable executions to the dispatcher; when this host has more
    /// than its workers can take, tells the other hosts.
    fn queue(&self, executions: Vec<ExecutionRef>) {
        for execution in executions {
            self.dispatcher.enqueue(execution);
        }
        if self.dispatcher.wants_help() {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.announce_work().await {
                    tracing::debug!(error = %e, "cannot announce queued work");
                }
            });
        }
    }

    async fn quota(&self, tenant: &str) -> Result<TenantQuota, StoreError> {
        Ok(self
            .store
            .get_tenant(tenant)
            .await?
            .map(|t| t.quota)
            .unwrap_or_default())
    }

    /// The tenant's `max_executions_per_minute`, across every host.
    async fn spend_rate_quota(
        &self,
        tenant: &str,
        quota: &TenantQuota,
        executions: usize,
    ) -> Result<(), PipelineError> {
        let Some(limit) = quota.max_executions_per_minute else {
            return Ok(());
        };
        let executions = u32::try_from(executions).unwrap_or(u32::MAX);
        self.store
            .spend_rate_quota(tenant, executions, limit)
            .await?
            .map_err(|retry_after_secs| PipelineError::QuotaExceeded {
                limit,
                retry_after_secs,
            })
    }

    /// One execution per rule that matches `event`: queued (with the gate
    /// of its rule's policy, which the store decides), already failed when
    /// its input or key cannot be rendered or nothing is deployed, or
    /// already suppressed by a pause or a silence.
    async fn executions_for(
        &self,
        tenant: &str,
        rules: &[CompiledRule],
        event: &Event,
        holds: &Holds<'_>,
    ) -> Result<Vec<NewExecution>, StoreError> {
        let envelope = event.envelope();
        let silence = holds.silences.matching(&envelope);
        let mut records = Vec::new();
        for rule in match_rules(rules, &event.source, &event.event_type, &envelope) {
            let spec = &rule.rule.spec;
            // A correlating rule's params may use `events`, which exist only
            // once it fires (the gate renders them then): until then the
            // record shows the event's data.
            let input = match spec.correlates() {
                true => Ok(envelope["data"].clone()),
                false => rule.render_input(&envelope),
            };
            let mut record = self
                .new_execution(
                    tenant,
                    Some(&rule.rule.name),
                    Some(&event.id),
                    &spec.runbook,
                    spec.environment,
                    input.as_ref().cloned().unwrap_or(Value::Null),
                )
                .await?;
            if fill_in(&mut record, rule, event, &input) {
                records.push(NewExecution { record, gate: None });
                continue;
            }
            record.retry_policy = spec.policy.as_ref().and_then(|p| p.retry.clone());
            if let Some(pause) = holds.settings.pause_of(&spec.runbook) {
                record.suppress(pause);
            } else if let Some(name) = silence {
                record.suppress(settings::silenced(name, holds.settings.silences.get(name)));
            }
            let gate = match record.is_terminal() {
                true => None,
                false => match Self::gate(rule, event, &envelope) {
                    Ok(gate) => gate,
                    Err(e) => {
                        record.fail_before_run(
                            ErrorKind::InvalidInput,
                            format!("rule {}: {e}", rule.rule.name),
                            now_rfc3339(),
                        );
                        None
                    }
                },
            };
            records.push(NewExecution { record, gate });
        }
        Ok(records)
    }

    /// The gate of a rule's policy (and of a multi-event rule's
    /// conditions) for one event: `None` when nothing keeps state (no
    /// policy, or only `dry_run`).
    pub fn gate(
        rule: &CompiledRule,
        event: &Event,
        envelope: &Value,
    ) -> Result<Option<Gate>, String> {
        let spec = &rule.rule.spec;
        let policy = spec.policy.as_ref();
        let conditions = spec.within_secs.map(|within_secs| Conditions {
            all: rule.condition_names(),
            matched: rule.matched_conditions(&event.source, &event.event_type, envelope),
            within_secs,
        });
        let stateful = policy.is_some_and(|p| p.has_limits() || p.approval.is_some());
        if !stateful && conditions.is_none() {
            return Ok(None);
        }
        let policy = policy.cloned().unwrap_or_default();
        let key = rule.render_key(envelope)?;
        // PostgreSQL text cannot hold NUL: such a key is refused on every
        // store alike (the execution fails, naming the key) rather than
        // failing the whole request on one store.
        if key.contains('\0') {
            return Err(
                "policy.key rendered to a string with a NUL character: a key must not contain one"
                    .into(),
            );
        }
        let correlates = spec.correlates();
        let render: RenderInput = if correlates {
            let (rule, envelope) = (rule.clone(), envelope.clone());
            Arc::new(move |events| rule.render_input_with(&envelope, Some(events)))
        } else {
            Arc::new(|_| Err("nothing correlates".to_string()))
        };
        Ok(Some(Gate {
            rule: rule.rule.name.clone(),
            key,
            policy: Arc::new(policy),
            envelope: if correlates {
                envelope.clone()
            } else {
                Value::Null
            },
            render,
            conditions,
        }))
    }

    /// Creates one execution unless its (event, rule) pair has one; returns
    /// it as stored.
    async fn create_one(
        &self,
        mut execution: NewExecution,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let created = self
            .store
            .create_execution(&mut execution.record, execution.gate.as_ref())
            .await?;
        Ok(created.then_some(execution.record))
    }

    async fn new_execution(
        &self,
        tenant: &str,
        rule: Option<&str>,
        event: Option<&str>,
        runbook: &str,
        environment: Environment,
        input: Value,
    ) -> Result<ExecutionRecord, StoreError> {
        let version = self
            .store
            .get_deployment(tenant, runbook, environment)
            .await?
            .map(|d| d.version);
        Ok(ExecutionRecord::queued(
            tenant,
            rule,
            event,
            runbook,
            version,
            environment,
            input,
        ))
    }
}

/// Fills in what `rule` and `event` give a new record — its chain, `dry_run`
/// and `notify` — then fails it when it cannot run (its input did not
/// render, or nothing is deployed); `true` when it failed. `notify` comes
/// first, so a rule hears of a failure before the run like of any other.
fn fill_in(
    record: &mut ExecutionRecord,
    rule: &CompiledRule,
    event: &Event,
    input: &Result<Value, String>,
) -> bool {
    let spec = &rule.rule.spec;
    (record.chain, record.caused_by) = crate::ingest::emitted::chain_of(event);
    record.dry_run = spec.policy.as_ref().is_some_and(|p| p.dry_run);
    record.notify = spec
        .policy
        .as_ref()
        .map(|p| p.notify.clone())
        .unwrap_or_default();
    let (kind, message) = match (input, &record.version) {
        (Err(e), _) => (
            ErrorKind::InvalidInput,
            format!("rule {}: {e}", rule.rule.name),
        ),
        (Ok(_), None) => (
            ErrorKind::RunbookUnavailable,
            format!(
                "no version of {} is deployed to {}",
                spec.runbook, spec.environment
            ),
        ),
        (Ok(_), Some(_)) => return false,
    };
    record.fail_before_run(kind, message, now_rfc3339());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rule;
    use serde_json::json;

    #[test]
    fn a_failure_before_the_run_is_notified_and_keeps_dry_run() {
        let spec = json!({
            "runbook": "rb", "environment": "dev",
            "policy": {"dry_run": true, "notify": [{"on": ["failed"], "connector": "chat"}]},
        });
        let rule = CompiledRule::compile(Rule {
            name: "r".into(),
            spec: serde_json::from_value(spec).unwrap(),
            updated_at: now_rfc3339(),
        })
        .unwrap();
        let event = Event {
            id: "e".into(),
            tenant: "t".into(),
            source: "s".into(),
            event_type: "x".into(),
            time: now_rfc3339(),
            data: json!({}),
            metadata: Default::default(),
        };
        let deployed = Some("1".to_string());
        let cases = [
            (
                Err("params.x: undefined".into()),
                deployed.clone(),
                Some(ErrorKind::InvalidInput),
            ),
            (Ok(json!({})), None, Some(ErrorKind::RunbookUnavailable)),
            (Ok(json!({})), deployed, None),
        ];
        for (input, version, failure) in cases {
            let mut record = ExecutionRecord::queued(
                "t",
                Some("r"),
                Some("e"),
                "rb",
                version,
                Environment::Dev,
                json!({}),
            );
            let failed = fill_in(&mut record, &rule, &event, &input);
            assert_eq!(failed, failure.is_some(), "{input:?}");
            assert!(record.dry_run, "{input:?}");
            assert_eq!(record.notify.len(), 1, "{input:?}");
            assert_eq!(record.error.as_ref().map(|e| e.kind), failure, "{input:?}");
            let heard: Vec<String> = crate::notify::due_for(&record)
                .into_iter()
                .map(|n| n.on)
                .collect();
            let expected: &[&str] = if failed { &["failed"] } else { &[] };
            assert_eq!(heard, expected, "{input:?}");
        }
    }
}
