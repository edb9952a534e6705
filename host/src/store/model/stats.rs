//! The few facts per execution and event that overview statistics
//! (`GET …/stats`) are computed from: each store reads just these for a
//! window, rather than whole records with their logs and trails.

use super::execution::ExecutionRecord;
use crate::safety::suppression::Reason;
use crate::sandbox::report::ExecutionStatus;
use std::collections::BTreeMap;

/// What a store returns for one tenant and window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsFacts {
    /// Executions created in the window.
    pub executions: Vec<ExecutionFact>,
    /// Events received in the window, counted per source.
    pub events_by_source: BTreeMap<String, u64>,
}

/// One execution, reduced to what the statistics need.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionFact {
    pub runbook: String,
    pub status: ExecutionStatus,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub duration_ms: u64,
    pub suppressed: Option<Reason>,
    /// When its event was received, for an execution an event fired on its
    /// first attempt (a retry or re-run starts late on purpose).
    pub event_received_ms: Option<u64>,
}

impl ExecutionFact {
    /// `event_time`: the RFC 3339 `time` of the event that fired it.
    pub fn from_record(record: &ExecutionRecord, event_time: Option<&str>) -> Self {
        let first_attempt = record.retry == 0 && record.rerun_of.is_none();
        Self {
            runbook: record.runbook.clone(),
            status: record.status,
            created_ms: rfc3339_ms(&record.created_at).unwrap_or(0),
            started_ms: record.started_at.as_deref().and_then(rfc3339_ms),
            duration_ms: record.duration_ms,
            suppressed: record.suppressed.as_ref().map(|s| s.reason),
            event_received_ms: event_time.filter(|_| first_attempt).and_then(rfc3339_ms),
        }
    }
}

/// An RFC 3339 time as milliseconds since the Unix epoch; `None` when it
/// does not parse or is earlier.
pub fn rfc3339_ms(text: &str) -> Option<u64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_to_milliseconds() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(
            rfc3339_ms("2026-12-02T21:00:00+01:00"),
            Some(1_796_241_600_000)
        );
        assert_eq!(rfc3339_ms("yesterday"), None);
        assert_eq!(rfc3339_ms("1960-01-01T00:00:00Z"), None);
    }
}
