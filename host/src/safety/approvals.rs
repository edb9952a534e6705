//! Approvals: an execution its rule's `approval` policy holds waits in
//! `awaiting_approval` until an operator approves it (it is queued and
//! runs), rejects it, or its deadline passes (both end it suppressed). The
//! store records exactly one decision, whichever host or operator is first.

use super::gate::now_ms;
use super::suppression::{Reason, Suppression};
use crate::dispatch::ExecutionRef;
use crate::ingest::event::now_rfc3339;
use crate::pipeline::Pipeline;
use crate::sandbox::report::ExecutionStatus;
use crate::store::StoreError;
use crate::store::model::execution::{ApprovalState, ExecutionRecord};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often each host looks for executions past their deadline.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Executions awaiting approval looked at per sweep.
const SWEEP_BATCH: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("execution {0:?} not found")]
    NotFound(String),
    #[error("execution {id:?} is {status}, not awaiting approval")]
    NotAwaiting { id: String, status: &'static str },
    #[error("execution {0:?} waited past its approval deadline; it is being suppressed")]
    TimedOut(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator's verdict on an execution awaiting approval; returns the
/// record as decided.
pub async fn decide(
    pipeline: &Pipeline,
    tenant: &str,
    id: &str,
    verdict: Verdict,
    by: &str,
    comment: Option<String>,
) -> Result<ExecutionRecord, DecideError> {
    let store = pipeline.store();
    let record = store
        .get_execution(tenant, id)
        .await?
        .ok_or_else(|| DecideError::NotFound(id.to_string()))?;
    let not_awaiting = |r: &ExecutionRecord| DecideError::NotAwaiting {
        id: id.to_string(),
        status: r.status.as_str(),
    };
    if record.status != ExecutionStatus::AwaitingApproval {
        return Err(not_awaiting(&record));
    }
    // Past its deadline it is the timeout's, even before the sweep gets
    // to it.
    if record
        .approval
        .as_ref()
        .is_some_and(|a| a.deadline_ms <= now_ms())
    {
        return Err(DecideError::TimedOut(id.to_string()));
    }
    let mut decided = record.clone();
    let approval = decided
        .approval
        .get_or_insert_with(|| ApprovalState::waiting(now_ms()));
    approval.decided_by = Some(by.to_string());
    approval.decided_at = Some(now_rfc3339());
    approval.comment = comment.clone();
    match verdict {
        Verdict::Approve => {
            approval.decision = Some("approved".into());
            decided.status = ExecutionStatus::Queued;
        }
        Verdict::Reject => {
            approval.decision = Some("rejected".into());
            let key = decided.key.clone();
            decided.suppress(Suppression {
                reason: Reason::Rejected,
                policy: "approval".into(),
                key,
                detail: match &comment {
                    Some(c) if !c.is_empty() => format!("rejected by {by}: {c}"),
                    _ => format!("rejected by {by}"),
                },
                folded_into: None,
            });
        }
    }
    if !store.decide_approval(&decided).await? {
        // Someone else decided first: report what they decided.
        let now = store
            .get_execution(tenant, id)
            .await?
            .ok_or_else(|| DecideError::NotFound(id.to_string()))?;
        return Err(not_awaiting(&now));
    }
    store.commit().await?;
    if verdict == Verdict::Reject {
        super::metrics::count(tenant, Reason::Rejected);
        crate::metrics::execution_finished(&decided);
    }
    if decided.is_pending() {
        pipeline.queue_now(vec![ExecutionRef::new(tenant.to_string(), id.to_string())]);
    }
    Ok(decided)
}

/// Ends every execution whose approval deadline passed; how many.
pub async fn expire_due(pipeline: &Pipeline) -> Result<usize, StoreError> {
    let store = pipeline.store();
    let now = now_ms();
    let mut expired = 0;
    for (tenant, id) in store.awaiting_approval(SWEEP_BATCH).await? {
        let Some(record) = store.get_execution(&tenant, &id).await? else {
            continue;
        };
        let Some(approval) = &record.approval else {
            continue;
        };
        if record.status != ExecutionStatus::AwaitingApproval || approval.deadline_ms > now {
            continue;
        }
        let mut ended = record.clone();
        let detail = format!("nobody approved it before {}", approval.deadline);
        let key = ended.key.clone();
        ended.suppress(Suppression {
            reason: Reason::ApprovalTimeout,
            policy: "approval".into(),
            key,
            detail,
            folded_into: None,
        });
        if store.decide_approval(&ended).await? {
            super::metrics::count(&tenant, Reason::ApprovalTimeout);
            crate::metrics::execution_finished(&ended);
            expired += 1;
        }
    }
    if expired > 0 {
        store.commit().await?;
    }
    Ok(expired)
}

/// Expires overdue approvals every second until shutdown (every host does;
/// the store lets one decision win).
pub async fn sweep(pipeline: Pipeline, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
        match expire_due(&pipeline).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "approvals timed out"),
            Err(e) => tracing::warn!(error = %e, "cannot expire overdue approvals"),
        }
    }
}
