//! The notification outbox on PostgreSQL: any host delivers any entry; a
//! claim moves `next_at` forward under `FOR UPDATE SKIP LOCKED`, so two
//! hosts never take one entry, and a dead host's claims come due again.

use super::{PostgresStore, from_doc, to_doc};
use crate::notify::{Notification, NotificationOutcome};
use crate::store::{NotificationStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl NotificationStore for PostgresStore {
    async fn enqueue_notification(&self, n: &Notification) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO outbox (tenant, id, next_at, doc) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[&n.tenant, &n.id, &(n.next_at_ms as i64), &to_doc(n)?],
        )
        .await?;
        Ok(())
    }

    async fn due_notifications(
        &self,
        limit: usize,
        claim_ms: u64,
    ) -> StoreResult<Vec<Notification>> {
        let now = crate::safety::gate::now_ms() as i64;
        let c = self.client().await?;
        let rows = c
            .query(
                "UPDATE outbox o SET next_at = $2
                 FROM (SELECT tenant, id FROM outbox WHERE next_at <= $1
                       ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
                 WHERE o.tenant = due.tenant AND o.id = due.id
                 RETURNING o.doc",
                &[&now, &(now + claim_ms as i64), &(limit as i64)],
            )
            .await?;
        rows.iter().map(|r| from_doc(r, 0)).collect()
    }

    async fn reschedule_notification(&self, n: &Notification) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE outbox SET next_at = $3, doc = $4 WHERE tenant = $1 AND id = $2",
            &[&n.tenant, &n.id, &(n.next_at_ms as i64), &to_doc(n)?],
        )
        .await?;
        Ok(())
    }

    async fn complete_notification(
        &self,
        n: &Notification,
        outcome: &NotificationOutcome,
    ) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let removed = tx
            .execute(
                "DELETE FROM outbox WHERE tenant = $1 AND id = $2",
                &[&n.tenant, &n.id],
            )
            .await?;
        if removed == 1 {
            // Appended in place: a concurrent outcome of another
            // notification of the same execution is not lost.
            tx.execute(
                "UPDATE executions
                 SET doc = jsonb_set(doc::jsonb, '{notifications}',
                                     COALESCE(doc::jsonb -> 'notifications', '[]'::jsonb)
                                         || jsonb_build_array($3::text::jsonb))::text
                 WHERE tenant = $1 AND id = $2",
                &[&n.tenant, &n.execution, &to_doc(outcome)?],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
