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
use crate::rules::match_rules;
use crate::sandbox::report::ErrorKind;
use crate::store::{Store, StoreError};
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct AcceptedEvent {
    pub event_id: String,
    pub duplicate: bool,
    /// Executions created now (not those a duplicate already had).
    pub executions: Vec<String>,
}

#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    rules: Arc<RuleCache>,
    dispatcher: Dispatcher,
    rates: Arc<RateWindows>,
}

/// Executions created per tenant in the current minute, against each
/// tenant's `max_executions_per_minute`. In memory: a restart starts a fresh
/// window. Checked before a request and counted after it, so one webhook that
/// fans out to many rules may overshoot by its own executions.
#[derive(Default)]
struct RateWindows {
    windows: std::sync::Mutex<std::collections::HashMap<String, (u64, u32)>>,
}

impl RateWindows {
    /// The current minute, and the seconds left in it.
    fn now() -> (u64, u32) {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        (secs / 60, (60 - secs % 60) as u32)
    }

    /// Refuses when the tenant has used up its minute.
    fn check(&self, tenant: &str, limit: Option<u32>) -> Result<(), PipelineError> {
        let Some(limit) = limit else { return Ok(()) };
        let (minute, left) = Self::now();
        let windows = self.windows.lock().expect("rate windows poisoned");
        match windows.get(tenant) {
            Some((m, used)) if *m == minute && *used >= limit => {
                Err(PipelineError::QuotaExceeded {
                    limit,
                    retry_after_secs: left.max(1),
                })
            }
            _ => Ok(()),
        }
    }

    fn count(&self, tenant: &str, executions: usize) {
        let (minute, _) = Self::now();
        let mut windows = self.windows.lock().expect("rate windows poisoned");
        let entry = windows.entry(tenant.to_string()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 = entry.1.saturating_add(executions as u32);
    }
}

impl Pipeline {
    pub fn new(store: Store, rules: Arc<RuleCache>, dispatcher: Dispatcher) -> Self {
        Self {
            store,
            rules,
            dispatcher,
            rates: Arc::default(),
        }
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub fn rules(&self) -> &RuleCache {
        &self.rules
    }

    /// Makes the events and their executions durable, then queues the
    /// executions. Returns only after the durable write.
    pub async fn accept(
        &self,
        tenant: &str,
        events: Vec<Event>,
    ) -> Result<Vec<AcceptedEvent>, PipelineError> {
        self.check_rate(tenant).await?;
        let rules = self.rules.rules(tenant).await?;
        // Backpressure before writing anything: refuse what cannot be held.
        // Capped at the capacity so a large request is still accepted by an
        // idle server rather than refused forever.
        let worst_case = (events.len() * rules.len()).min(self.dispatcher.capacity());
        if !self.dispatcher.has_room_for(worst_case) {
            return Err(PipelineError::QueueFull(self.dispatcher.in_flight()));
        }
        let mut accepted = Vec::with_capacity(events.len());
        let mut to_queue = Vec::new();
        for event in events {
            let stored = self.store.put_event_if_absent(&event).await?;
            let envelope = stored.event.envelope();
            let mut created = Vec::new();
            for rule in match_rules(
                &rules,
                &stored.event.source,
                &stored.event.event_type,
                &envelope,
            ) {
                let spec = &rule.rule.spec;
                let input = rule.render_input(&envelope);
                let record = self
                    .new_execution(
                        tenant,
                        Some(&rule.rule.name),
                        Some(&stored.event.id),
                        &spec.runbook,
                        spec.environment,
                        input.as_ref().cloned().unwrap_or(Value::Null),
                    )
                    .await?;
                let Some(record) = self.store.create_execution(&record).await? else {
                    continue; // this (event, rule) already has its execution
                };
                match (input, &record.version) {
                    (Err(e), _) => {
                        self.fail_now(
                            record.clone(),
                            ErrorKind::InvalidInput,
                            format!("rule {}: {e}", rule.rule.name),
                        )
                        .await?
                    }
                    (Ok(_), None) => {
                        self.fail_now(
                            record.clone(),
                            ErrorKind::RunbookUnavailable,
                            format!(
                                "no version of {} is deployed to {}",
                                spec.runbook, spec.environment
                            ),
                        )
                        .await?
                    }
                    (Ok(_), Some(_)) => to_queue.push(record.id.clone()),
                }
                created.push(record.id);
            }
            accepted.push(AcceptedEvent {
                event_id: stored.event.id,
                duplicate: stored.duplicate,
                executions: created,
            });
        }
        self.store.commit().await?;
        self.rates
            .count(tenant, accepted.iter().map(|a| a.executions.len()).sum());
        for id in to_queue {
            self.dispatcher.enqueue(ExecutionRef {
                tenant: tenant.to_string(),
                id,
            });
        }
        Ok(accepted)
    }

    /// A manual run of the version deployed to `environment`.
    pub async fn run_manual(
        &self,
        tenant: &str,
        runbook: &str,
        environment: Environment,
        input: Value,
    ) -> Result<ExecutionRecord, PipelineError> {
        self.check_rate(tenant).await?;
        if !self.dispatcher.has_room_for(1) {
            return Err(PipelineError::QueueFull(self.dispatcher.in_flight()));
        }
        let record = self
            .new_execution(tenant, None, None, runbook, environment, input)
            .await?;
        let record = self
            .store
            .create_execution(&record)
            .await?
            .expect("manual runs have no (event, rule) key");
        self.store.commit().await?;
        self.rates.count(tenant, 1);
        self.dispatcher.enqueue(ExecutionRef {
            tenant: tenant.to_string(),
            id: record.id.clone(),
        });
        Ok(record)
    }

    async fn check_rate(&self, tenant: &str) -> Result<(), PipelineError> {
        let quota = self
            .store
            .get_tenant(tenant)
            .await?
            .map(|t| t.quota)
            .unwrap_or_default();
        self.rates.check(tenant, quota.max_executions_per_minute)
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

    async fn fail_now(
        &self,
        mut record: ExecutionRecord,
        kind: ErrorKind,
        message: String,
    ) -> Result<(), StoreError> {
        record.fail_before_run(kind, message, now_rfc3339());
        self.store.finish_execution(&record).await
    }
}
