//! The audit log on PostgreSQL: each append takes a transaction-scoped
//! advisory lock on the tenant's chain, so appends from every host are
//! serialised and the chain stays linear; the primary key (tenant, seq)
//! refuses a second entry with the same number whatever happens.

use super::{PostgresStore, from_doc, to_doc};
use crate::store::audit::next_entry;
use crate::store::model::{AuditEntry, AuditRecord};
use crate::store::{AuditStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_audit(
        &self,
        tenant: &str,
        record: AuditRecord,
        at: String,
    ) -> StoreResult<AuditEntry> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('wolfe.audit.' || $1, 0))",
            &[&tenant],
        )
        .await?;
        let last: Option<AuditEntry> = tx
            .query_opt(
                "SELECT doc FROM audit WHERE tenant = $1 ORDER BY seq DESC LIMIT 1",
                &[&tenant],
            )
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()?;
        let entry = next_entry(last.as_ref(), record, at);
        tx.execute(
            "INSERT INTO audit (tenant, seq, doc) VALUES ($1, $2, $3)",
            &[&tenant, &(entry.seq as i64), &to_doc(&entry)?],
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn list_audit(
        &self,
        tenant: &str,
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>> {
        let c = self.client().await?;
        c.query(
            "SELECT doc FROM audit WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&tenant, &(after_seq as i64), &(limit as i64)],
        )
        .await?
        .iter()
        .map(|r| from_doc(r, 0))
        .collect()
    }

    async fn audit_chain(&self, tenant: &str) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let c = self.client().await?;
        c.query(
            "SELECT seq, doc FROM audit WHERE tenant = $1 ORDER BY seq",
            &[&tenant],
        )
        .await?
        .iter()
        .map(|r| {
            let seq: i64 = r.try_get(0)?;
            let doc: String = r.try_get(1)?;
            Ok((seq as u64, doc.into_bytes()))
        })
        .collect()
    }

    async fn tamper_audit_entry(
        &self,
        tenant: &str,
        seq: u64,
        entry: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        match entry {
            Some(entry) => {
                c.execute(
                    "UPDATE audit SET doc = $3 WHERE tenant = $1 AND seq = $2",
                    &[&tenant, &(seq as i64), &to_doc(entry)?],
                )
                .await?
            }
            None => {
                c.execute(
                    "DELETE FROM audit WHERE tenant = $1 AND seq = $2",
                    &[&tenant, &(seq as i64)],
                )
                .await?
            }
        };
        Ok(())
    }
}
