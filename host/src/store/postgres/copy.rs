//! Enumerating and importing records for `wolfe store copy`. Each import is
//! one transaction per batch; imported rows get the columns the ordinary
//! writes would have given them, their times taken from the records
//! themselves rather than from the moment of the copy.

use super::{PostgresStore, docs, from_doc, to_doc};
use crate::store::copy::{CopyStore, KvEntry, Page, since_epoch};
use crate::store::model::RejectedMessage;
use crate::store::model::event::Event;
use crate::store::model::execution::ExecutionRecord;
use crate::store::{StoreError, StoreResult};
use crate::tenancy::TokenRecord;
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A cursor: the sort key of the last row read, as JSON.
fn cursor<T: Serialize>(last: Option<T>, read: usize, limit: usize) -> StoreResult<Option<String>> {
    match last {
        Some(last) if read == limit => Ok(Some(serde_json::to_string(&last)?)),
        _ => Ok(None),
    }
}

fn parse_cursor<T: DeserializeOwned>(after: Option<&str>) -> StoreResult<Option<T>> {
    after
        .map(|c| {
            serde_json::from_str(c)
                .map_err(|_| StoreError::Backend(format!("not a PostgreSQL cursor: {c:?}")))
        })
        .transpose()
}

/// Seconds since the epoch of an RFC 3339 time, for `to_timestamp`; `None`
/// (the column's default, now) when it does not parse.
fn epoch_secs(rfc3339: &str) -> Option<f64> {
    since_epoch(rfc3339).map(|d| d.as_secs_f64())
}

#[async_trait]
impl CopyStore for PostgresStore {
    async fn all_tokens(&self) -> StoreResult<Vec<(String, TokenRecord)>> {
        let c = self.client().await?;
        c.query("SELECT hash, doc FROM tokens ORDER BY hash", &[])
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, from_doc(r, 1)?)))
            .collect()
    }

    async fn has_versions(&self) -> StoreResult<bool> {
        let c = self.client().await?;
        Ok(
            c.query_one("SELECT EXISTS (SELECT 1 FROM runbook_versions)", &[])
                .await?
                .try_get(0)?,
        )
    }

    async fn all_rejected(&self, tenant: &str) -> StoreResult<Vec<RejectedMessage>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM rejected_messages WHERE tenant = $1
                 ORDER BY source, last_seen DESC",
                &[&tenant],
            )
            .await?,
        )
    }

    async fn audit_tenants(&self) -> StoreResult<Vec<String>> {
        let c = self.client().await?;
        c.query("SELECT DISTINCT tenant FROM audit ORDER BY tenant", &[])
            .await?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    async fn import_audit(&self, tenant: &str, chain: &[(u64, Vec<u8>)]) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The lock appends take: no entry can slip in between these.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('wolfe.audit.' || $1, 0))",
            &[&tenant],
        )
        .await?;
        let insert = tx
            .prepare("INSERT INTO audit (tenant, seq, doc) VALUES ($1, $2, $3)")
            .await?;
        for (seq, json) in chain {
            // The column is text: an entry that is not UTF-8 cannot be kept
            // as it is, and must not be kept otherwise.
            let doc = std::str::from_utf8(json).map_err(|_| {
                StoreError::Backend(format!(
                    "audit entry {seq} of {tenant:?} is not UTF-8 text and cannot be stored as it is"
                ))
            })?;
            tx.execute(&insert, &[&tenant, &(*seq as i64), &doc])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn kv_page(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<KvEntry>> {
        let limit = limit.max(1);
        let (tenant, runbook, key) = parse_cursor::<(String, String, String)>(after)?
            .map(|(t, r, k)| (Some(t), Some(r), Some(k)))
            .unwrap_or_default();
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT tenant, runbook, key, value FROM kv
                 WHERE $1::text IS NULL OR (tenant, runbook, key) > ($1, $2, $3)
                 ORDER BY tenant, runbook, key LIMIT $4",
                &[&tenant, &runbook, &key, &(limit as i64)],
            )
            .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(KvEntry {
                    tenant: r.try_get(0)?,
                    runbook: r.try_get(1)?,
                    key: r.try_get(2)?,
                    value: r.try_get(3)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let last = items
            .last()
            .map(|e| (e.tenant.clone(), e.runbook.clone(), e.key.clone()));
        let next = cursor(last, items.len(), limit)?;
        Ok(Page { items, next })
    }

    async fn events_page(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Event>> {
        let limit = limit.max(1);
        let after: i64 = parse_cursor(after)?.unwrap_or(0);
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT seq, doc FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?;
        let items = rows
            .iter()
            .map(|r| from_doc(r, 1))
            .collect::<StoreResult<Vec<_>>>()?;
        let last = rows.last().map(|r| r.try_get::<_, i64>(0)).transpose()?;
        let next = cursor(last, rows.len(), limit)?;
        Ok(Page { items, next })
    }

    async fn import_events(&self, events: &[Event]) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // In the given order: `seq` is the arrival order retention prunes by.
        let insert = tx
            .prepare(
                "INSERT INTO events (tenant, id, received_at, doc)
                 VALUES ($1, $2, COALESCE(to_timestamp($3::float8), now()), $4)",
            )
            .await?;
        for event in events {
            tx.execute(
                &insert,
                &[
                    &event.tenant,
                    &event.id,
                    &epoch_secs(&event.time),
                    &to_doc(event)?,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn executions_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<ExecutionRecord>> {
        let limit = limit.max(1);
        let (tenant, id) = parse_cursor::<(String, String)>(after)?
            .map(|(t, i)| (Some(t), Some(i)))
            .unwrap_or_default();
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT doc FROM executions
                 WHERE $1::text IS NULL OR (tenant, id) > ($1, $2)
                 ORDER BY tenant, id LIMIT $3",
                &[&tenant, &id, &(limit as i64)],
            )
            .await?;
        let items: Vec<ExecutionRecord> = docs(&rows)?;
        let last = items.last().map(|r| (r.tenant.clone(), r.id.clone()));
        let next = cursor(last, items.len(), limit)?;
        Ok(Page { items, next })
    }

    async fn import_executions(&self, records: &[ExecutionRecord]) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // A pending one is left unclaimed, as a queued one is: whichever
        // host starts first takes it.
        let insert = tx
            .prepare(
                "INSERT INTO executions
                    (tenant, id, event_id, rule, runbook, status, pending, denied,
                     created_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                         COALESCE(to_timestamp($9::float8), now()), $10)",
            )
            .await?;
        for record in records {
            let denied = record.capability_calls.iter().any(|c| !c.allowed);
            tx.execute(
                &insert,
                &[
                    &record.tenant,
                    &record.id,
                    &record.event_id,
                    &record.rule,
                    &record.runbook,
                    &record.status.as_str(),
                    &!record.is_terminal(),
                    &denied,
                    &epoch_secs(&record.created_at),
                    &to_doc(record)?,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
