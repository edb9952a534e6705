//! Bodies of the overview statistics Studio's dashboard shows.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The window statistics cover, ending now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum StatsWindow {
    /// The last 24 hours, in hourly buckets.
    #[default]
    #[serde(rename = "24h")]
    Day,
    /// The last 7 days, in 6-hour buckets.
    #[serde(rename = "7d")]
    Week,
}

/// `GET …/stats` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// `24h` or `7d` [default: `24h`].
    pub window: Option<StatsWindow>,
}

/// `GET …/stats`: what happened in the tenant during the window.
/// Executions count by when they were created, events by when they were
/// received. Percentiles are nearest-rank.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantStats {
    pub window: StatsWindow,
    /// Start of the first bucket (RFC 3339, aligned to the bucket size in
    /// UTC), and now.
    pub from: String,
    pub to: String,
    pub bucket_secs: u64,
    /// Oldest first, every bucket of the window (the last one still
    /// filling), empty ones included.
    pub buckets: Vec<StatusBucket>,
    /// Executions per status over the window.
    pub totals: BTreeMap<String, u64>,
    /// Suppressed executions per reason (`deduplicated`, `rate_limited`,
    /// `silenced`, `paused`, …).
    pub suppressions: BTreeMap<String, u64>,
    /// The 5 runbooks with the highest p95 run time (of executions that
    /// ran and ended), slowest first.
    pub slowest: Vec<RunbookDurations>,
    /// The 5 runbooks with the most failed executions (`failed`,
    /// `timed_out`, `out_of_fuel`, `out_of_memory`), most first; none
    /// without a failure.
    pub failing: Vec<RunbookFailures>,
    /// Events received per source.
    pub events_by_source: BTreeMap<String, u64>,
    /// From an event's receipt to the start of an execution it fired
    /// (first attempts only: retries and re-runs wait on purpose); null
    /// when none started.
    pub event_to_start: Option<Percentiles>,
}

/// Executions created in one bucket, per status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusBucket {
    /// The bucket's start (RFC 3339).
    pub start: String,
    /// Status → count; statuses without executions are left out.
    pub counts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookDurations {
    pub runbook: String,
    /// Executions that ran and ended.
    pub runs: u64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub max_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookFailures {
    pub runbook: String,
    pub failed: u64,
    /// Executions that ran and ended: succeeded, cancelled or failed.
    pub finished: u64,
    /// `failed / finished`, 0 to 1.
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub max_ms: u64,
}
