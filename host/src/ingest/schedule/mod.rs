//! Schedule sources: sources that fire their own events, one per tick of a
//! cron pattern in a time zone or of a fixed interval (`ticks`). The
//! supervisor runs one [`Runner`](runner::Runner) per schedule source and,
//! every second, brings them in line with what the store holds — sources
//! put, changed or deleted through any host's API — until shutdown.
//!
//! Every host runs every schedule: hosts sharing a store all fire each
//! tick, and the event-id dedup keeps one event (so one execution per rule)
//! of it. A tick is thus fired as long as one host is up.

pub mod runner;
pub mod ticks;

use crate::ingest::source::{Source, SourceSpec};
use crate::pipeline::Pipeline;
use crate::store::{Store, StoreResult};
use chrono::{DateTime, Utc};
use runner::Runner;
use std::collections::HashMap;
use std::time::Duration;
use ticks::Schedule;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the supervisor re-reads the sources: a change made on any
/// host takes effect within this long.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

type SourceKey = (String, String);

struct Running {
    source: Source,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub struct ScheduleSupervisor {
    pipeline: Pipeline,
    store: Store,
    running: tokio::sync::Mutex<HashMap<SourceKey, Running>>,
}

impl ScheduleSupervisor {
    pub fn new(pipeline: Pipeline, store: Store) -> Self {
        Self {
            pipeline,
            store,
            running: Default::default(),
        }
    }

    /// Brings the running schedules in line with the store: starts new
    /// ones, restarts changed ones, stops removed ones. Returns how many
    /// run.
    pub async fn reconcile(&self) -> StoreResult<usize> {
        let mut wanted = HashMap::new();
        for tenant in self.store.list_tenants().await? {
            for source in self.store.list_sources(&tenant.name).await? {
                if matches!(&source.spec, SourceSpec::Schedule(s) if s.enabled) {
                    wanted.insert((tenant.name.clone(), source.name.clone()), source);
                }
            }
        }
        let mut running = self.running.lock().await;
        let stale: Vec<SourceKey> = running
            .iter()
            .filter(|(key, r)| wanted.get(*key).is_none_or(|w| w.spec != r.source.spec))
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(r) = running.remove(&key) {
                stop(&key, r).await;
            }
        }
        for (key, source) in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = running.entry(key)
                && let Some(r) = self.start(&slot.key().0, source)
            {
                slot.insert(r);
            }
        }
        Ok(running.len())
    }

    fn start(&self, tenant: &str, source: Source) -> Option<Running> {
        let SourceSpec::Schedule(spec) = &source.spec else {
            return None;
        };
        // Specs are checked when put; one that no longer compiles (a zone
        // dropped from the tz database) is logged, not fatal.
        let schedule = match Schedule::new(spec) {
            Ok(schedule) => schedule,
            Err(e) => {
                tracing::error!(%tenant, source = %source.name, error = %e, "schedule source cannot run");
                return None;
            }
        };
        let since = DateTime::parse_from_rfc3339(&source.updated_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        let stop = CancellationToken::new();
        let runner = Runner {
            tenant: tenant.to_string(),
            source: source.name.clone(),
            schedule,
            since,
            pipeline: self.pipeline.clone(),
            store: self.store.clone(),
        };
        let task = tokio::spawn(runner.run(stop.clone()));
        tracing::info!(%tenant, source = %source.name, "schedule source started");
        Some(Running { source, stop, task })
    }

    /// Re-reads the sources every second until `shutdown`.
    pub async fn follow_store(&self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(FOLLOW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.reconcile().await {
                tracing::warn!(error = %e, "cannot read the schedule sources from the store");
            }
        }
    }

    /// Stops every schedule; a tick being fired finishes first.
    pub async fn shutdown(&self) {
        let mut running = self.running.lock().await;
        for (key, r) in running.drain() {
            stop(&key, r).await;
        }
    }
}

async fn stop(key: &SourceKey, running: Running) {
    running.stop.cancel();
    let _ = running.task.await;
    tracing::info!(tenant = %key.0, source = %key.1, "schedule source stopped");
}
