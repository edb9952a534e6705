//! The audit log on sled: entries under tenant\0sequence (zero-padded), so
//! a prefix scan reads a chain in order. Appends are serialised by a lock
//! (one process owns a sled directory). Entries are written before the
//! change's commit, so the same group commit makes both durable.

use super::keys::{key, prefix};
use super::{SledStore, decode, encode};
use crate::store::audit::next_entry;
use crate::store::model::{AuditEntry, AuditRecord};
use crate::store::{AuditStore, StoreResult};
use async_trait::async_trait;

pub(super) fn seq_key(tenant: &str, seq: u64) -> Vec<u8> {
    key(&[tenant, &format!("{seq:020}")])
}

#[async_trait]
impl AuditStore for SledStore {
    async fn append_audit(
        &self,
        tenant: &str,
        record: AuditRecord,
        at: String,
    ) -> StoreResult<AuditEntry> {
        // One append at a time: each entry needs its predecessor's hash.
        let _chain = self.audit_lock.lock().expect("audit lock poisoned");
        let last = self
            .trees
            .audit
            .scan_prefix(prefix(&[tenant]))
            .next_back()
            .transpose()?
            .map(|(_, v)| decode::<AuditEntry>(&v))
            .transpose()?;
        let entry = next_entry(last.as_ref(), record, at);
        self.trees
            .audit
            .insert(seq_key(tenant, entry.seq), encode(&entry)?)?;
        Ok(entry)
    }

    async fn list_audit(
        &self,
        tenant: &str,
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.trees
            .audit
            .range(seq_key(tenant, after_seq + 1)..prefix_end(tenant))
            .take(limit)
            .map(|entry| decode(&entry?.1))
            .collect()
    }

    async fn audit_chain(&self, tenant: &str) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let tenant_prefix = prefix(&[tenant]);
        self.trees
            .audit
            .scan_prefix(&tenant_prefix)
            .map(|item| {
                let (k, v) = item?;
                let seq = std::str::from_utf8(&k[tenant_prefix.len()..])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                Ok((seq, v.to_vec()))
            })
            .collect()
    }

    async fn tamper_audit_entry(
        &self,
        tenant: &str,
        seq: u64,
        entry: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let k = seq_key(tenant, seq);
        match entry {
            Some(entry) => self.trees.audit.insert(k, encode(entry)?)?,
            None => self.trees.audit.remove(k)?,
        };
        Ok(())
    }
}

/// The first key after every key of `tenant`.
pub(super) fn prefix_end(tenant: &str) -> Vec<u8> {
    let mut end = prefix(&[tenant]);
    *end.last_mut().expect("a prefix ends in NUL") = 1;
    end
}
