//! Failure notifications: what a rule's `policy.notify` asks for is put in
//! a durable outbox when the moment comes (a failure, a suppression, an
//! execution awaiting approval, retries exhausted), then delivered through
//! the tenant's connectors — credentials stay in the host — with retries
//! and backoff; the outcome lands in the execution record. A notification
//! that cannot be delivered never blocks or fails the execution.

pub mod deliver;
pub mod message;
pub mod model;

pub use model::{Notification, NotificationOutcome, NotifySpec};

use crate::dispatch::record::ExecutionRecord;
use crate::sandbox::report::ExecutionStatus;
use crate::store::Store;

/// The notifications `record`'s end (or hold) calls for.
pub fn due_for(record: &ExecutionRecord) -> Vec<Notification> {
    let mut moments = vec![record.status.as_str()];
    if record.retries_exhausted {
        moments.push("retries_exhausted");
    }
    let mut out = Vec::new();
    for spec in &record.notify {
        for moment in &moments {
            if spec.on.iter().any(|o| o == moment) {
                out.push(Notification::new(
                    &record.tenant,
                    &record.id,
                    &spec.connector,
                    moment,
                ));
            }
        }
        // A retry that succeeded after reported failures resolves them (a
        // PagerDuty incident; other connectors skip it).
        if record.status == ExecutionStatus::Succeeded
            && record.retry > 0
            && spec.on.iter().any(|o| is_failure(o))
        {
            out.push(Notification::new(
                &record.tenant,
                &record.id,
                &spec.connector,
                model::RESOLVED,
            ));
        }
    }
    out
}

fn is_failure(trigger: &str) -> bool {
    matches!(
        trigger,
        "failed" | "timed_out" | "out_of_fuel" | "out_of_memory" | "retries_exhausted"
    )
}

/// Puts what `record` calls for in the outbox; logs (never fails) when the
/// store cannot take it.
pub async fn enqueue_for(
    store: &Store,
    record: &ExecutionRecord,
) -> Result<usize, crate::store::StoreError> {
    let due = due_for(record);
    for n in &due {
        store.enqueue_notification(n).await?;
    }
    Ok(due.len())
}
