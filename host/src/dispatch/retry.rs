//! Retries with backoff: an execution that ended in one of its rule's
//! `retry.on` statuses gets a successor — its own record, linked by
//! `retry_of`, due after an exponentially growing delay with jitter. The
//! successor is created before the failure is recorded, and its (event,
//! rule, retry) is unique in the store, so a crash in between neither
//! forgets nor doubles it.

use super::record::ExecutionRecord;
use crate::safety::gate::{now_ms, rfc3339_ms};
use crate::safety::policy::Retry;
use rand::Rng;

/// The retry that follows `record`, if its policy asks for one; marks
/// `record` `retries_exhausted` when it was the last attempt allowed.
pub fn successor(record: &mut ExecutionRecord) -> Option<ExecutionRecord> {
    let policy = record.retry_policy.clone()?;
    if !policy.on.contains(&record.status) {
        return None;
    }
    let next = record.retry + 1;
    if next >= policy.max_attempts {
        record.retries_exhausted = true;
        return None;
    }
    let delay_ms = delay_ms(&policy, next, rand::rng().random_range(0.5..=1.0));
    let due = now_ms() + delay_ms;
    let mut retry = ExecutionRecord::queued(
        &record.tenant,
        record.rule.as_deref(),
        record.event_id.as_deref(),
        &record.runbook,
        record.version.clone(),
        record.environment,
        record.input.clone(),
    );
    retry.retry = next;
    retry.retry_of = Some(record.id.clone());
    retry.retry_policy = Some(policy);
    retry.not_before = Some(rfc3339_ms(due));
    retry.not_before_ms = Some(due);
    retry.dry_run = record.dry_run;
    retry.notify = record.notify.clone();
    (retry.chain, retry.caused_by) = (record.chain, record.caused_by.clone());
    retry.first_attempt = Some(
        record
            .first_attempt
            .clone()
            .unwrap_or_else(|| record.id.clone()),
    );
    // Counted towards the key's circuit like any run of the key; not
    // admitted again (the original was), so it waits for no turn.
    retry.key = record.key.clone();
    retry.key_tracked = record.key_tracked;
    Some(retry)
}

/// The delay before retry `n` (1, 2, …): `initial · 2^(n-1)`, at most
/// `max`, scaled by `jitter` (0.5–1: "equal jitter", so retries of many
/// executions that failed together spread out).
pub fn delay_ms(policy: &Retry, n: u32, jitter: f64) -> u64 {
    let base = policy
        .initial_delay_secs
        .saturating_mul(1u64 << (n.saturating_sub(1)).min(30))
        .min(policy.max_delay_secs);
    (base as f64 * 1000.0 * jitter) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Environment;
    use crate::sandbox::report::ExecutionStatus;
    use serde_json::json;

    fn policy() -> Retry {
        serde_json::from_value(json!({"max_attempts": 3, "initial_delay_secs": 10, "max_delay_secs": 25, "on": ["failed", "timed_out"]})).unwrap()
    }

    #[test]
    fn delays_grow_exponentially_up_to_the_maximum() {
        let p = policy();
        assert_eq!(delay_ms(&p, 1, 1.0), 10_000);
        assert_eq!(delay_ms(&p, 2, 1.0), 20_000);
        assert_eq!(delay_ms(&p, 3, 1.0), 25_000);
        assert_eq!(delay_ms(&p, 40, 0.5), 12_500);
    }

    #[test]
    fn retries_follow_the_policy_and_the_last_attempt_says_so() {
        let mut first = ExecutionRecord::queued(
            "t",
            Some("r"),
            Some("e"),
            "rb",
            Some("1".into()),
            Environment::Dev,
            json!({"n": 1}),
        );
        first.retry_policy = Some(policy());
        first.status = ExecutionStatus::Succeeded;
        assert!(successor(&mut first).is_none(), "success is not retried");
        first.status = ExecutionStatus::OutOfFuel;
        assert!(successor(&mut first).is_none(), "not in `on`");
        first.status = ExecutionStatus::Failed;
        let mut second = successor(&mut first).unwrap();
        assert_eq!(
            (second.retry, second.retry_of.as_deref()),
            (1, Some(first.id.as_str()))
        );
        assert_eq!(second.input, json!({"n": 1}));
        assert!(second.not_before_ms.unwrap() >= now_ms() + 4_000);
        second.status = ExecutionStatus::TimedOut;
        let mut third = successor(&mut second).unwrap();
        third.status = ExecutionStatus::Failed;
        assert!(successor(&mut third).is_none());
        assert!(third.retries_exhausted && !second.retries_exhausted);
    }
}
