//! Enumerating and importing records for `wolfe store copy`. Cursors are
//! the hex of the last key read: pages follow sled's key order (for events,
//! their arrival-time index).

use super::audit::{prefix_end, seq_key};
use super::keys::{key, prefix};
use super::{SledStore, decode, encode, scan};
use crate::store::copy::{CopyStore, KvEntry, Page, since_epoch};
use crate::store::model::RejectedMessage;
use crate::store::model::event::Event;
use crate::store::model::execution::ExecutionRecord;
use crate::store::{StoreError, StoreResult};
use crate::tenancy::TokenRecord;
use async_trait::async_trait;
use std::ops::Bound;
use std::path::Path;

impl SledStore {
    /// Whether `dir` holds a sled store already: opening one that does not
    /// would create an empty store rather than fail.
    pub fn exists(dir: &Path) -> bool {
        // The directory `SledStore::open` gives sled.
        dir.join("store").is_dir()
    }
}

/// A page of raw entries and the cursor after it.
type RawPage = (Vec<(sled::IVec, sled::IVec)>, Option<String>);

/// Up to `limit` entries of `tree` after the cursor, and the next cursor.
fn page_of(tree: &sled::Tree, after: Option<&str>, limit: usize) -> StoreResult<RawPage> {
    let start = match after {
        Some(cursor) => Bound::Excluded(
            hex::decode(cursor)
                .map_err(|_| StoreError::Backend(format!("not a sled cursor: {cursor:?}")))?,
        ),
        None => Bound::Unbounded,
    };
    let entries = tree
        .range::<Vec<u8>, _>((start, Bound::Unbounded))
        .take(limit.max(1))
        .collect::<Result<Vec<_>, _>>()?;
    let next = (entries.len() == limit.max(1))
        .then(|| entries.last().map(|(k, _)| hex::encode(k)))
        .flatten();
    Ok((entries, next))
}

/// The NUL-separated parts of a key, the last one taking the rest (a kv key
/// may hold anything).
fn parts(k: &[u8], n: usize) -> Vec<String> {
    k.splitn(n, |&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

#[async_trait]
impl CopyStore for SledStore {
    async fn all_tokens(&self) -> StoreResult<Vec<(String, TokenRecord)>> {
        self.trees
            .tokens
            .iter()
            .map(|entry| {
                let (k, v) = entry?;
                Ok((String::from_utf8_lossy(&k).into_owned(), decode(&v)?))
            })
            .collect()
    }

    async fn has_versions(&self) -> StoreResult<bool> {
        Ok(!self.trees.versions.is_empty())
    }

    async fn all_rejected(&self, tenant: &str) -> StoreResult<Vec<RejectedMessage>> {
        scan(&self.trees.rejected, &prefix(&[tenant]))
    }

    async fn audit_tenants(&self) -> StoreResult<Vec<String>> {
        // One look-up per tenant: skip to the key after the tenant's chain.
        let mut tenants = Vec::new();
        let mut from = Bound::Unbounded;
        while let Some((k, _)) = self
            .trees
            .audit
            .range::<Vec<u8>, _>((from, Bound::Unbounded))
            .next()
            .transpose()?
        {
            let tenant = parts(&k, 2).swap_remove(0);
            from = Bound::Included(prefix_end(&tenant));
            tenants.push(tenant);
        }
        Ok(tenants)
    }

    async fn import_audit(&self, tenant: &str, chain: &[(u64, Vec<u8>)]) -> StoreResult<()> {
        let _chain = self.audit_lock.lock().expect("audit lock poisoned");
        for (seq, json) in chain {
            let stored = self.trees.audit.compare_and_swap(
                seq_key(tenant, *seq),
                None as Option<&[u8]>,
                Some(json.as_slice()),
            )?;
            stored.map_err(|_| {
                StoreError::Conflict(format!("audit entry {seq} of {tenant:?} exists already"))
            })?;
        }
        Ok(())
    }

    async fn kv_page(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<KvEntry>> {
        let (entries, next) = page_of(&self.trees.kv, after, limit)?;
        let items = entries
            .into_iter()
            .map(|(k, v)| {
                let mut p = parts(&k, 3).into_iter();
                let mut part = || p.next().unwrap_or_default();
                KvEntry {
                    tenant: part(),
                    runbook: part(),
                    key: part(),
                    value: v.to_vec(),
                }
            })
            .collect();
        Ok(Page { items, next })
    }

    async fn events_page(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Event>> {
        // Through the arrival-time index, so the target keeps the order
        // retention prunes by. An event a crash left unindexed (it is
        // written just before its index entry) is not listed: sled's own
        // retention never reaches it either.
        let (entries, next) = page_of(&self.trees.events_by_time, after, limit)?;
        let mut items = Vec::with_capacity(entries.len());
        for (_, event_key) in entries {
            if let Some(doc) = self.trees.events.get(&event_key)? {
                items.push(decode(&doc)?);
            }
        }
        Ok(Page { items, next })
    }

    async fn import_events(&self, events: &[Event]) -> StoreResult<()> {
        for event in events {
            let k = key(&[&event.tenant, &event.id]);
            let stored = self.trees.events.compare_and_swap(
                &k,
                None as Option<&[u8]>,
                Some(encode(event)?),
            )?;
            stored
                .map_err(|_| StoreError::Conflict(format!("event {} exists already", event.id)))?;
            // Indexed at the time it arrived, as retention reads it.
            let at = since_epoch(&event.time).unwrap_or_default();
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, at.as_secs(), at.subsec_nanos());
            self.trees
                .events_by_time
                .insert(uuid::Uuid::new_v7(ts).as_bytes(), k)?;
        }
        Ok(())
    }

    async fn executions_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<ExecutionRecord>> {
        let (entries, next) = page_of(&self.trees.executions, after, limit)?;
        let items = entries
            .iter()
            .map(|(_, v)| decode(v))
            .collect::<StoreResult<_>>()?;
        Ok(Page { items, next })
    }

    async fn import_executions(&self, records: &[ExecutionRecord]) -> StoreResult<()> {
        for record in records {
            let k = key(&[&record.tenant, &record.id]);
            let stored = self.trees.executions.compare_and_swap(
                &k,
                None as Option<&[u8]>,
                Some(encode(record)?),
            )?;
            stored.map_err(|_| {
                StoreError::Conflict(format!("execution {} exists already", record.id))
            })?;
            if let (Some(event), Some(rule)) = (&record.event_id, &record.rule) {
                self.trees
                    .execution_keys
                    .insert(key(&[&record.tenant, event, rule]), record.id.as_bytes())?;
            }
            if !record.is_terminal() {
                self.trees.pending.insert(&k, &[])?;
            }
        }
        Ok(())
    }
}
