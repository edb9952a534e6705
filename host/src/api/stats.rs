//! Overview statistics for Studio's dashboard: executions per status over
//! time, suppressions, the slowest and most failing runbooks, events per
//! source and how long events wait for their executions to start. The
//! store reads the window's facts; this module counts them.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::extract::{PathParams, QueryParams};
use super::openapi::TenantErrors;
use super::types::{
    Percentiles, RunbookDurations, RunbookFailures, StatsQuery, StatsWindow, StatusBucket,
    TenantStats,
};
use crate::safety::gate::{now_ms, rfc3339_ms};
use crate::sandbox::report::ExecutionStatus;
use crate::store::model::stats::{ExecutionFact, StatsFacts};
use crate::tenancy::Action;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use std::collections::BTreeMap;

/// How many runbooks the slowest and most failing lists hold.
const TOP: usize = 5;
const HOUR_MS: u64 = 3_600_000;

/// Executions by status per hour (24h) or per 6 hours (7d), suppressions by
/// reason, the 5 slowest and the 5 most failing runbooks, events per source
/// and the time from an event's receipt to its execution's start. Role:
/// any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/stats", operation_id = "show_stats", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"), StatsQuery),
    responses((status = 200, description = "the window's statistics", body = TenantStats), TenantErrors),
    security(("bearer" = [])))]
pub async fn overview(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(query): QueryParams<StatsQuery>,
) -> Result<Json<TenantStats>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    let window = query.window.unwrap_or_default();
    let now = now_ms();
    let layout = Layout::of(window, now);
    let facts = state.store().stats_facts(&tenant, layout.from_ms).await?;
    Ok(Json(summarize(&facts, window, &layout, now)))
}

/// The window's buckets: `count` of `bucket_ms`, the last one holding now.
struct Layout {
    from_ms: u64,
    bucket_ms: u64,
    count: u64,
}

impl Layout {
    fn of(window: StatsWindow, now_ms: u64) -> Self {
        let (bucket_ms, count) = match window {
            StatsWindow::Day => (HOUR_MS, 24),
            StatsWindow::Week => (6 * HOUR_MS, 28),
        };
        let end = (now_ms / bucket_ms + 1) * bucket_ms;
        Self {
            from_ms: end.saturating_sub(count * bucket_ms),
            bucket_ms,
            count,
        }
    }

    /// The bucket an instant falls in (one a moment outside the window, by
    /// clock skew between an id and a timestamp, counts at its edge).
    fn index(&self, ms: u64) -> usize {
        (ms.saturating_sub(self.from_ms) / self.bucket_ms).min(self.count - 1) as usize
    }
}

fn summarize(facts: &StatsFacts, window: StatsWindow, layout: &Layout, now: u64) -> TenantStats {
    let mut buckets: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); layout.count as usize];
    let mut totals = BTreeMap::new();
    let mut suppressions = BTreeMap::new();
    let mut durations: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut ends: BTreeMap<&str, (u64, u64)> = BTreeMap::new(); // (failed, finished)
    let mut waits = Vec::new();
    for fact in &facts.executions {
        let status = fact.status.as_str().to_string();
        *buckets[layout.index(fact.created_ms)]
            .entry(status.clone())
            .or_default() += 1;
        *totals.entry(status).or_default() += 1;
        if let Some(reason) = fact.suppressed {
            *suppressions.entry(reason.as_str().to_string()).or_default() += 1;
        }
        if fact.status.is_terminal() && fact.status != ExecutionStatus::Suppressed {
            let (failed, finished) = ends.entry(&fact.runbook).or_default();
            *finished += 1;
            if is_failure(fact.status) {
                *failed += 1;
            }
            if fact.started_ms.is_some() {
                durations
                    .entry(&fact.runbook)
                    .or_default()
                    .push(fact.duration_ms);
            }
        }
        if let Some(wait) = wait_ms(fact) {
            waits.push(wait);
        }
    }

    let mut slowest: Vec<RunbookDurations> = durations
        .into_iter()
        .filter_map(|(runbook, mut ms)| {
            let p = percentiles(&mut ms)?;
            Some(RunbookDurations {
                runbook: runbook.to_string(),
                runs: p.count,
                p50_ms: p.p50_ms,
                p95_ms: p.p95_ms,
                max_ms: p.max_ms,
            })
        })
        .collect();
    slowest.sort_by(|a, b| {
        (b.p95_ms, b.max_ms)
            .cmp(&(a.p95_ms, a.max_ms))
            .then_with(|| a.runbook.cmp(&b.runbook))
    });
    slowest.truncate(TOP);

    let mut failing: Vec<RunbookFailures> = ends
        .into_iter()
        .filter(|(_, (failed, _))| *failed > 0)
        .map(|(runbook, (failed, finished))| RunbookFailures {
            runbook: runbook.to_string(),
            failed,
            finished,
            rate: failed as f64 / finished as f64,
        })
        .collect();
    failing.sort_by(|a, b| {
        b.failed
            .cmp(&a.failed)
            .then_with(|| b.rate.total_cmp(&a.rate))
            .then_with(|| a.runbook.cmp(&b.runbook))
    });
    failing.truncate(TOP);

    TenantStats {
        window,
        from: rfc3339_ms(layout.from_ms),
        to: rfc3339_ms(now),
        bucket_secs: layout.bucket_ms / 1000,
        buckets: buckets
            .into_iter()
            .enumerate()
            .map(|(i, counts)| StatusBucket {
                start: rfc3339_ms(layout.from_ms + i as u64 * layout.bucket_ms),
                counts,
            })
            .collect(),
        totals,
        suppressions,
        slowest,
        failing,
        events_by_source: facts.events_by_source.clone(),
        event_to_start: percentiles(&mut waits),
    }
}

/// The run ended without success.
fn is_failure(status: ExecutionStatus) -> bool {
    matches!(
        status,
        ExecutionStatus::Failed
            | ExecutionStatus::TimedOut
            | ExecutionStatus::OutOfFuel
            | ExecutionStatus::OutOfMemory
    )
}

/// From the event's receipt to the execution's start, when both are known.
fn wait_ms(fact: &ExecutionFact) -> Option<u64> {
    Some(fact.started_ms?.saturating_sub(fact.event_received_ms?))
}

/// Nearest-rank p50 and p95, and the maximum; `None` for no values.
fn percentiles(values: &mut [u64]) -> Option<Percentiles> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = |q: f64| {
        let n = values.len();
        let at = ((q * n as f64).ceil() as usize).clamp(1, n);
        values[at - 1]
    };
    Some(Percentiles {
        count: values.len() as u64,
        p50_ms: rank(0.5),
        p95_ms: rank(0.95),
        max_ms: values[values.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::suppression::Reason;

    const NOW: u64 = 1_796_241_600_000 + 30 * 60_000; // 2026-12-02T20:30Z

    fn fact(runbook: &str, status: ExecutionStatus, created_ms: u64, ms: u64) -> ExecutionFact {
        let ran = !matches!(status, ExecutionStatus::Suppressed);
        ExecutionFact {
            runbook: runbook.into(),
            status,
            created_ms,
            started_ms: ran.then_some(created_ms + 10),
            duration_ms: ms,
            suppressed: (!ran).then_some(Reason::Deduplicated),
            event_received_ms: Some(created_ms),
        }
    }

    #[test]
    fn buckets_align_to_the_hour_and_end_with_now() {
        let layout = Layout::of(StatsWindow::Day, NOW);
        assert_eq!(rfc3339_ms(layout.from_ms), "2026-12-01T21:00:00Z");
        assert_eq!(layout.index(NOW), 23);
        assert_eq!(layout.index(layout.from_ms), 0);
        assert_eq!(layout.index(0), 0);
        let week = Layout::of(StatsWindow::Week, NOW);
        assert_eq!(rfc3339_ms(week.from_ms), "2026-11-26T00:00:00Z");
        assert_eq!(week.index(NOW), 27);
    }

    #[test]
    fn the_window_is_counted() {
        use ExecutionStatus::*;
        let hour_ago = NOW - HOUR_MS;
        let facts = StatsFacts {
            executions: vec![
                fact("a", Succeeded, NOW, 100),
                fact("a", Succeeded, NOW, 300),
                fact("a", Failed, hour_ago, 200),
                fact("b", TimedOut, NOW, 5_000),
                fact("b", Suppressed, NOW, 0),
                fact("c", Queued, NOW, 0),
            ],
            events_by_source: BTreeMap::from([("am".to_string(), 4)]),
        };
        let layout = Layout::of(StatsWindow::Day, NOW);
        let stats = summarize(&facts, StatsWindow::Day, &layout, NOW);
        assert_eq!(stats.buckets.len(), 24);
        assert_eq!(stats.buckets[23].counts["succeeded"], 2);
        assert_eq!(stats.buckets[22].counts["failed"], 1);
        assert_eq!(stats.totals["suppressed"], 1);
        assert_eq!(stats.suppressions["deduplicated"], 1);
        let slowest: Vec<_> = stats
            .slowest
            .iter()
            .map(|s| (s.runbook.as_str(), s.runs, s.p50_ms, s.p95_ms, s.max_ms))
            .collect();
        assert_eq!(
            slowest,
            [("b", 1, 5_000, 5_000, 5_000), ("a", 3, 200, 300, 300)]
        );
        let failing: Vec<_> = stats
            .failing
            .iter()
            .map(|f| (f.runbook.as_str(), f.failed, f.finished, f.rate))
            .collect();
        assert_eq!(failing, [("b", 1, 1, 1.0), ("a", 1, 3, 1.0 / 3.0)]);
        assert_eq!(
            stats.event_to_start,
            Some(Percentiles {
                count: 5,
                p50_ms: 10,
                p95_ms: 10,
                max_ms: 10
            })
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<u64> = (1..=20).rev().collect();
        let p = percentiles(&mut values).unwrap();
        assert_eq!((p.count, p.p50_ms, p.p95_ms, p.max_ms), (20, 10, 19, 20));
        assert_eq!(percentiles(&mut []), None);
    }
}
