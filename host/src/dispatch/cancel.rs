//! Cancelling an execution: a queued one or one awaiting approval ends
//! `cancelled` at once (its lease taken away, so a host that just claimed
//! it cannot record a completion); a running one stops at its next epoch
//! tick on whichever host runs it, and records itself `cancelled`.

use super::{Dispatcher, ExecutionRecord};
use crate::ingest::event::now_rfc3339;
use crate::sandbox::report::{ErrorKind, ExecutionStatus};
use crate::store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("execution {0:?} not found")]
    NotFound(String),
    #[error("execution {id:?} has ended ({status}); there is nothing to cancel")]
    Ended { id: String, status: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a cancel did.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Cancelled {
    /// It was waiting: it is `cancelled` now.
    Now,
    /// It runs: it stops at its next epoch tick and records itself.
    Stopping,
}

/// Cancels `id` on behalf of `by` (a token id).
pub async fn cancel(
    store: &Store,
    dispatcher: &Dispatcher,
    tenant: &str,
    id: &str,
    by: &str,
) -> Result<Cancelled, CancelError> {
    // A few rounds: the execution may move from queued to running (or
    // finish) while we look.
    for _ in 0..5 {
        let record = store
            .get_execution(tenant, id)
            .await?
            .ok_or_else(|| CancelError::NotFound(id.to_string()))?;
        match record.status {
            ExecutionStatus::Queued | ExecutionStatus::AwaitingApproval => {
                let expected = record.status;
                let mut ended = record;
                ended.fail_before_run(
                    ErrorKind::Cancelled,
                    format!("cancelled by {by} before it ran"),
                    now_rfc3339(),
                );
                ended.status = ExecutionStatus::Cancelled;
                if store.cancel_waiting(&ended, expected).await? {
                    store.commit().await?;
                    // A host may have claimed it in the moment before: stop
                    // it there too (its completion is refused anyway).
                    stop_running(store, dispatcher, tenant, id).await;
                    return Ok(Cancelled::Now);
                }
            }
            ExecutionStatus::Running => {
                stop_running(store, dispatcher, tenant, id).await;
                return Ok(Cancelled::Stopping);
            }
            status => {
                return Err(CancelError::Ended {
                    id: id.to_string(),
                    status: status.as_str(),
                });
            }
        }
    }
    Err(CancelError::Store(StoreError::Conflict(format!(
        "execution {id:?} kept changing state; try again"
    ))))
}

async fn stop_running(store: &Store, dispatcher: &Dispatcher, tenant: &str, id: &str) {
    if !dispatcher.cancel_running(tenant, id)
        && let Err(e) = store.announce_cancel(tenant, id).await
    {
        tracing::warn!(tenant, id, error = %e, "cannot tell the other hosts to cancel an execution");
    }
}

/// Cancels, on this host, the executions other hosts announce cancels for,
/// until shutdown.
pub async fn follow_cancels(store: Store, dispatcher: Dispatcher, shutdown: CancellationToken) {
    loop {
        let (tenant, id) = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = store.cancel_announced() => next,
        };
        dispatcher.cancel_running(&tenant, &id);
    }
}

/// A new execution with `original`'s input (`rerun_of`): of the same
/// version, or of the one deployed now to `environment`.
pub fn rerun_of(original: &ExecutionRecord, version: Option<String>) -> ExecutionRecord {
    let mut rerun = ExecutionRecord::queued(
        &original.tenant,
        original.rule.as_deref(),
        None,
        &original.runbook,
        version,
        original.environment,
        original.input.clone(),
    );
    rerun.rerun_of = Some(original.id.clone());
    rerun
}
