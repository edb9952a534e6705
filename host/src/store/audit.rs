//! The audit log: every administrative action of a tenant (who — which token
//! with which role — did what, when, with the record before and after),
//! append-only and hash-chained. Each entry carries the hash of the one
//! before it and its own hash over both, so editing, deleting or reordering
//! an entry breaks the chain where it happened; `verify_audit` finds where.
//! Entries are written into sled before the change's commit, so the same
//! group commit makes both durable.

use super::keys::{key, prefix};
use super::{Store, StoreResult, decode, encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The hash before the first entry of a tenant's chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One administrative action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3, … per tenant.
    pub seq: u64,
    pub at: String,
    /// The public id of the token used, and its role (`server-admin` for the
    /// server admin token).
    pub actor: AuditActor,
    /// What was done: `runbook.upload`, `runbook.deploy`, `secret.put`, …
    pub action: String,
    /// What it was done to: a runbook name and version, a rule, a secret name.
    pub target: String,
    /// The record before the change (None when it did not exist); never a
    /// secret value.
    pub before: Option<Value>,
    /// The record after the change (None when it was deleted).
    pub after: Option<Value>,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// sha256 over `prev_hash` and this entry's other fields.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditActor {
    pub token_id: String,
    pub role: String,
}

/// What is recorded: an entry before its place in the chain is known.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub actor: AuditActor,
    pub action: &'static str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The result of checking a tenant's chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditVerification {
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// The first sequence number whose entry does not fit the chain.
    pub broken_at: Option<u64>,
    pub reason: Option<String>,
    /// Hash of the last entry: keep it elsewhere to detect a truncated tail.
    pub head: String,
}

fn entry_hash(e: &AuditEntry) -> String {
    let body = serde_json::json!({
        "seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
        "target": e.target, "before": e.before, "after": e.after,
    });
    let mut hash = Sha256::new();
    hash.update(e.prev_hash.as_bytes());
    hash.update(b"\n");
    hash.update(body.to_string().as_bytes());
    hex::encode(hash.finalize())
}

fn seq_key(tenant: &str, seq: u64) -> Vec<u8> {
    key(&[tenant, &format!("{seq:020}")])
}

impl Store {
    /// Appends an entry to the tenant's chain.
    pub fn append_audit(
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
        let (seq, prev_hash) = match last {
            Some(e) => (e.seq + 1, e.hash),
            None => (1, GENESIS.to_string()),
        };
        let mut entry = AuditEntry {
            seq,
            at,
            actor: record.actor,
            action: record.action.to_string(),
            target: record.target,
            before: record.before,
            after: record.after,
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        self.trees
            .audit
            .insert(seq_key(tenant, seq), encode(&entry)?)?;
        Ok(entry)
    }

    /// Entries oldest first, starting after `after_seq`, at most `limit`.
    pub fn list_audit(
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

    /// Recomputes the tenant's chain from the first entry.
    pub fn verify_audit(&self, tenant: &str) -> StoreResult<AuditVerification> {
        let mut expected_prev = GENESIS.to_string();
        let mut entries = 0u64;
        for item in self.trees.audit.scan_prefix(prefix(&[tenant])) {
            let (k, v) = item?;
            entries += 1;
            let broken = |reason: String| AuditVerification {
                ok: false,
                entries,
                broken_at: Some(entries),
                reason: Some(reason),
                head: expected_prev.clone(),
            };
            let entry: AuditEntry = match decode(&v) {
                Ok(e) => e,
                Err(e) => return Ok(broken(format!("entry {entries} is not readable: {e}"))),
            };
            if entry.seq != entries || k != seq_key(tenant, entries) {
                return Ok(broken(format!(
                    "entry {entries} is missing or out of order (found sequence {})",
                    entry.seq
                )));
            }
            if entry.prev_hash != expected_prev {
                return Ok(broken(format!(
                    "entry {entries} does not follow entry {}: its previous hash differs",
                    entries - 1
                )));
            }
            if entry_hash(&entry) != entry.hash {
                return Ok(broken(format!(
                    "entry {entries} was altered: its hash does not match its content"
                )));
            }
            expected_prev = entry.hash;
        }
        Ok(AuditVerification {
            ok: true,
            entries,
            broken_at: None,
            reason: None,
            head: expected_prev,
        })
    }

    /// Test support: overwrite a stored entry as an attacker with disk access would.
    #[doc(hidden)]
    pub fn tamper_audit_entry(
        &self,
        tenant: &str,
        seq: u64,
        edit: impl FnOnce(&mut AuditEntry),
    ) -> StoreResult<()> {
        let k = seq_key(tenant, seq);
        if let Some(v) = self.trees.audit.get(&k)? {
            let mut entry: AuditEntry = decode(&v)?;
            edit(&mut entry);
            self.trees.audit.insert(k, encode(&entry)?)?;
        }
        Ok(())
    }
}

/// The first key after every key of `tenant`.
fn prefix_end(tenant: &str) -> Vec<u8> {
    let mut end = prefix(&[tenant]);
    *end.last_mut().expect("a prefix ends in NUL") = 1;
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &'static str, target: &str) -> AuditRecord {
        AuditRecord {
            actor: AuditActor {
                token_id: "tok_1".into(),
                role: "admin".into(),
            },
            action,
            target: target.into(),
            before: None,
            after: Some(serde_json::json!({"v": target})),
        }
    }

    #[test]
    fn the_chain_verifies_and_any_edit_deletion_or_reordering_breaks_it() {
        let store = Store::temporary().unwrap();
        for i in 0..5 {
            store
                .append_audit(
                    "acme",
                    record("rule.put", &format!("r{i}")),
                    format!("t{i}"),
                )
                .unwrap();
        }
        store
            .append_audit("acmex", record("rule.put", "other"), "t".into())
            .unwrap();
        let ok = store.verify_audit("acme").unwrap();
        assert!(ok.ok && ok.entries == 5, "{ok:?}");
        assert_eq!(
            store
                .list_audit("acme", 2, 10)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(store.verify_audit("acmex").unwrap().entries, 1);

        // An edit of the content.
        store
            .tamper_audit_entry("acme", 3, |e| e.target = "r-evil".into())
            .unwrap();
        let v = store.verify_audit("acme").unwrap();
        assert_eq!((v.ok, v.broken_at), (false, Some(3)));
        assert!(v.reason.unwrap().contains("altered"));
        // Recomputing the edited entry's own hash moves the break to the next one.
        store
            .tamper_audit_entry("acme", 3, |e| e.hash = entry_hash(e))
            .unwrap();
        let v = store.verify_audit("acme").unwrap();
        assert_eq!(v.broken_at, Some(4));
        // A deletion.
        let fresh = Store::temporary().unwrap();
        for i in 0..3 {
            fresh
                .append_audit("t", record("rule.put", &format!("r{i}")), String::new())
                .unwrap();
        }
        fresh.trees.audit.remove(seq_key("t", 2)).unwrap();
        let v = fresh.verify_audit("t").unwrap();
        assert_eq!((v.ok, v.broken_at), (false, Some(2)));
    }
}
