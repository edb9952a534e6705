//! One schedule source's loop: sleep until its next tick, fire the tick as
//! an event through the pipeline, record it as the source's last tick.
//!
//! Exactly once per tick rests on two things. The event id is the tick's
//! (`schedule:{source}:{tick}`), so the pipeline's event-id dedup stores
//! one event per tick however many hosts fire it, and a re-fire after a
//! crash is a duplicate that runs nothing twice. The last tick is recorded
//! only after the event is durable, and only forward, so a restart knows
//! what was fired and what was missed.

use super::ticks::{Due, Schedule, from_secs, tick_rfc3339};
use crate::ingest::event::{Event, now_rfc3339};
use crate::pipeline::{Pipeline, PipelineError};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The event type of every tick.
pub const EVENT_TYPE: &str = "schedule";

/// How long a failed tick (store unavailable, queue full, quota used up)
/// waits before it is tried again. A tick that stays refused past
/// [`ON_TIME`](super::ticks::ON_TIME) becomes a missed one.
const RETRY: Duration = Duration::from_secs(1);

/// Longest sleep between looks at the clock: a wall clock that jumps (NTP)
/// moves the next tick, and tokio's timers follow the monotonic clock.
const MAX_SLEEP: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
enum TickError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// A running schedule source.
pub struct Runner {
    pub tenant: String,
    pub source: String,
    pub schedule: Schedule,
    /// When the source was last set: ticks before it belong to an earlier
    /// configuration (or to no source at all) and are never missed ones.
    pub since: DateTime<Utc>,
    pub pipeline: Pipeline,
    pub store: Store,
}

impl Runner {
    /// Fires ticks until `stop`; a tick being fired finishes first.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            let wait = match self.step().await {
                Ok(next) => until(next),
                Err(e) => {
                    tracing::warn!(tenant = %self.tenant, source = %self.source, error = %e, "schedule tick failed; retrying");
                    RETRY
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait.min(MAX_SLEEP)) => {}
            }
        }
    }

    /// Fires (or skips) what is due now; returns when the next tick is.
    async fn step(&self) -> Result<Option<DateTime<Utc>>, TickError> {
        let last = self.store.last_tick(&self.tenant, &self.source).await?;
        let mut done = last
            .and_then(from_secs)
            .map_or(self.since, |t| t.max(self.since));
        match self.schedule.due(done, Utc::now()) {
            None => {}
            Some(Due::Fire { tick, missed }) => {
                self.fire(tick, missed).await?;
                self.record(tick).await?;
                done = tick;
            }
            Some(Due::Skip { tick, missed }) => {
                tracing::info!(tenant = %self.tenant, source = %self.source, missed, "missed schedule ticks skipped (catch_up: none)");
                self.record(tick).await?;
                done = tick;
            }
        }
        Ok(self.schedule.next_after(done.max(Utc::now())))
    }

    /// The tick as one durable event (and its executions).
    async fn fire(&self, tick: DateTime<Utc>, missed: u64) -> Result<(), TickError> {
        let scheduled_at = tick_rfc3339(tick);
        let event = Event {
            id: format!("schedule:{}:{scheduled_at}", self.source),
            tenant: self.tenant.clone(),
            source: self.source.clone(),
            event_type: EVENT_TYPE.into(),
            time: now_rfc3339(),
            data: json!({"scheduled_at": scheduled_at, "missed": missed}),
            metadata: Default::default(),
        };
        let accepted = self.pipeline.accept(&self.tenant, vec![event]).await?;
        if let Some(a) = accepted.first() {
            tracing::debug!(tenant = %self.tenant, source = %self.source, tick = %scheduled_at, missed, duplicate = a.duplicate, executions = a.executions.len(), "schedule tick");
        }
        Ok(())
    }

    /// Records `tick` as done, durably: a crash after this never fires it
    /// again nor counts it as missed.
    async fn record(&self, tick: DateTime<Utc>) -> Result<(), TickError> {
        self.store
            .set_last_tick(&self.tenant, &self.source, tick.timestamp())
            .await?;
        self.store.commit().await?;
        Ok(())
    }
}

/// How long until `next` (a moment past it, so the clock reads it due);
/// a schedule with no tick left waits for its source to change.
fn until(next: Option<DateTime<Utc>>) -> Duration {
    match next {
        Some(next) => (next - Utc::now())
            .to_std()
            .unwrap_or_default()
            .saturating_add(Duration::from_millis(1)),
        None => MAX_SLEEP,
    }
}
