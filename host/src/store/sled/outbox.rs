//! The notification outbox on sled: tenant\0id → notification. One host
//! owns a sled directory, so a claim is a moved `next_at_ms`.

use super::keys::key;
use super::{SledStore, decode, encode};
use crate::notify::{Notification, NotificationOutcome};
use crate::store::model::execution::ExecutionRecord;
use crate::store::{NotificationStore, StoreError, StoreResult};
use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

#[async_trait]
impl NotificationStore for SledStore {
    async fn enqueue_notification(&self, n: &Notification) -> StoreResult<()> {
        let k = key(&[&n.tenant, &n.id]);
        let _ = self
            .trees
            .outbox
            .compare_and_swap(&k, None as Option<&[u8]>, Some(encode(n)?))?;
        Ok(())
    }

    async fn due_notifications(
        &self,
        limit: usize,
        claim_ms: u64,
    ) -> StoreResult<Vec<Notification>> {
        let now = crate::safety::gate::now_ms();
        let mut due = Vec::new();
        for entry in self.trees.outbox.iter() {
            let (k, v) = entry?;
            let mut n: Notification = decode(&v)?;
            if n.next_at_ms > now {
                continue;
            }
            let mut claimed = n.clone();
            claimed.next_at_ms = now + claim_ms;
            // Lost to a concurrent change: skip it this round.
            if self
                .trees
                .outbox
                .compare_and_swap(&k, Some(v), Some(encode(&claimed)?))?
                .is_ok()
            {
                n.next_at_ms = claimed.next_at_ms;
                due.push(n);
            }
            if due.len() == limit {
                break;
            }
        }
        Ok(due)
    }

    async fn reschedule_notification(&self, n: &Notification) -> StoreResult<()> {
        let k = key(&[&n.tenant, &n.id]);
        if self.trees.outbox.contains_key(&k)? {
            self.trees.outbox.insert(k, encode(n)?)?;
        }
        Ok(())
    }

    async fn complete_notification(
        &self,
        n: &Notification,
        outcome: &NotificationOutcome,
    ) -> StoreResult<()> {
        let outbox_key = key(&[&n.tenant, &n.id]);
        let record_key = key(&[&n.tenant, &n.execution]);
        let abort = ConflictableTransactionError::Abort;
        let done =
            (&self.trees.outbox, &self.trees.executions).transaction(|(outbox, executions)| {
                if outbox.remove(outbox_key.as_slice())?.is_none() {
                    return Ok(()); // completed already
                }
                if let Some(v) = executions.get(&record_key)? {
                    let mut record: ExecutionRecord = decode(&v).map_err(abort)?;
                    record.notifications.push(outcome.clone());
                    executions.insert(record_key.as_slice(), encode(&record).map_err(abort)?)?;
                }
                Ok(())
            });
        done.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::from(e),
        })
    }
}
