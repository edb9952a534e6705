//! The audit log's chain, the same on every backend: every administrative
//! action of a tenant (who — which token with which role — did what, when,
//! with the record before and after), append-only and hash-chained. Each
//! entry carries the hash of the one before it and its own hash over both, so
//! editing, deleting or reordering an entry breaks the chain where it
//! happened; [`verify_audit`] finds where. Backends only store entries and
//! serialise appends per tenant.

use super::model::{AuditEntry, AuditRecord, AuditVerification};
use super::{Store, StoreResult};
use sha2::{Digest, Sha256};

/// The hash before the first entry of a tenant's chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// sha256 over the previous hash and the entry's other fields.
pub fn entry_hash(e: &AuditEntry) -> String {
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

/// The entry that follows `last` (None: the chain is empty), hashed.
pub fn next_entry(last: Option<&AuditEntry>, record: AuditRecord, at: String) -> AuditEntry {
    let (seq, prev_hash) = match last {
        Some(e) => (e.seq + 1, e.hash.clone()),
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
    entry
}

/// Recomputes the tenant's chain from the first entry.
pub async fn verify_audit(store: &Store, tenant: &str) -> StoreResult<AuditVerification> {
    Ok(verify_chain(store.audit_chain(tenant).await?))
}

/// Checks a chain as stored: (the sequence number it is stored under, JSON).
pub fn verify_chain(chain: Vec<(u64, Vec<u8>)>) -> AuditVerification {
    let mut expected_prev = GENESIS.to_string();
    let mut entries = 0u64;
    for (stored_seq, json) in chain {
        entries += 1;
        let broken = |reason: String| AuditVerification {
            ok: false,
            entries,
            broken_at: Some(entries),
            reason: Some(reason),
            head: expected_prev.clone(),
        };
        let entry: AuditEntry = match serde_json::from_slice(&json) {
            Ok(e) => e,
            Err(e) => return broken(format!("entry {entries} is not readable: {e}")),
        };
        if entry.seq != entries || stored_seq != entries {
            return broken(format!(
                "entry {entries} is missing or out of order (found sequence {})",
                entry.seq
            ));
        }
        if entry.prev_hash != expected_prev {
            return broken(format!(
                "entry {entries} does not follow entry {}: its previous hash differs",
                entries - 1
            ));
        }
        if entry_hash(&entry) != entry.hash {
            return broken(format!(
                "entry {entries} was altered: its hash does not match its content"
            ));
        }
        expected_prev = entry.hash;
    }
    AuditVerification {
        ok: true,
        entries,
        broken_at: None,
        reason: None,
        head: expected_prev,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::AuditActor;

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

    async fn edit(store: &Store, tenant: &str, seq: u64, change: impl FnOnce(&mut AuditEntry)) {
        let mut entry = store
            .list_audit(tenant, seq - 1, 1)
            .await
            .unwrap()
            .remove(0);
        change(&mut entry);
        store
            .tamper_audit_entry(tenant, seq, Some(&entry))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_chain_verifies_and_any_edit_deletion_or_reordering_breaks_it() {
        let store = Store::temporary().unwrap();
        for i in 0..5 {
            store
                .append_audit(
                    "acme",
                    record("rule.put", &format!("r{i}")),
                    format!("t{i}"),
                )
                .await
                .unwrap();
        }
        store
            .append_audit("acmex", record("rule.put", "other"), "t".into())
            .await
            .unwrap();
        let ok = verify_audit(&store, "acme").await.unwrap();
        assert!(ok.ok && ok.entries == 5, "{ok:?}");
        let listed = store.list_audit("acme", 2, 10).await.unwrap();
        assert_eq!(
            listed.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(verify_audit(&store, "acmex").await.unwrap().entries, 1);

        // An edit of the content.
        edit(&store, "acme", 3, |e| e.target = "r-evil".into()).await;
        let v = verify_audit(&store, "acme").await.unwrap();
        assert_eq!((v.ok, v.broken_at), (false, Some(3)));
        assert!(v.reason.unwrap().contains("altered"));
        // Recomputing the edited entry's own hash moves the break to the next one.
        edit(&store, "acme", 3, |e| e.hash = entry_hash(e)).await;
        let v = verify_audit(&store, "acme").await.unwrap();
        assert_eq!(v.broken_at, Some(4));
        // A deletion.
        let fresh = Store::temporary().unwrap();
        for i in 0..3 {
            fresh
                .append_audit("t", record("rule.put", &format!("r{i}")), String::new())
                .await
                .unwrap();
        }
        fresh.tamper_audit_entry("t", 2, None).await.unwrap();
        let v = verify_audit(&fresh, "t").await.unwrap();
        assert_eq!((v.ok, v.broken_at), (false, Some(2)));
    }
}
