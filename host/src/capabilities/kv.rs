//! The `kv` capability: a key-value store private to one runbook in one
//! tenant, backed by sled. Each (tenant, runbook) pair gets its own key prefix
//! in one tree, so a runbook can never name another's keys.

use crate::capabilities::describe;
use crate::sandbox::bindings::wolfe::runbook::kv::Host;
use crate::sandbox::bindings::wolfe::runbook::types::Error as GuestError;
use crate::sandbox::limits::{
    MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, MAX_KV_WRITES, MAX_KV_WRITTEN_BYTES,
};
use crate::sandbox::state::ExecutionState;
use std::time::Instant;

/// Name of the sled tree that holds every runbook's kv data.
const KV_TREE: &str = "kv";

/// The kv data of all runbooks.
#[derive(Clone)]
pub struct KvStore {
    tree: sled::Tree,
}

/// One runbook's view of the store.
#[derive(Clone)]
pub struct KvNamespace {
    tree: sled::Tree,
    prefix: Vec<u8>,
}

impl KvStore {
    pub fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            tree: db.open_tree(KV_TREE)?,
        })
    }

    /// The namespace of `runbook` in `tenant`. NUL cannot occur in tenant or
    /// runbook names, so no two pairs share a prefix.
    pub fn namespace(&self, tenant: &str, runbook: &str) -> KvNamespace {
        let mut prefix = Vec::with_capacity(tenant.len() + runbook.len() + 2);
        prefix.extend_from_slice(tenant.as_bytes());
        prefix.push(0);
        prefix.extend_from_slice(runbook.as_bytes());
        prefix.push(0);
        KvNamespace {
            tree: self.tree.clone(),
            prefix,
        }
    }
}

impl KvNamespace {
    fn full_key(&self, key: &str) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(key.as_bytes());
        k
    }

    pub fn get(&self, key: &str) -> sled::Result<Option<Vec<u8>>> {
        Ok(self.tree.get(self.full_key(key))?.map(|v| v.to_vec()))
    }

    pub fn set(&self, key: &str, value: &[u8]) -> sled::Result<()> {
        self.tree.insert(self.full_key(key), value)?;
        Ok(())
    }

    pub fn delete(&self, key: &str) -> sled::Result<()> {
        self.tree.remove(self.full_key(key))?;
        Ok(())
    }
}

impl ExecutionState {
    /// Runs one kv operation after the grant and key checks, and records it.
    /// Runs one kv operation after the grant, key and write-budget checks,
    /// and records it. `write` is `Some(value length)` for set and delete.
    fn kv_call<T>(
        &mut self,
        operation: &str,
        key: &str,
        write: Option<usize>,
        op: impl FnOnce(&KvNamespace) -> sled::Result<T>,
    ) -> Result<T, GuestError> {
        let started = Instant::now();
        let value_len = write.unwrap_or(0);
        let (allowed, result) = match (self.kv.clone(), self.grants.kv) {
            (Some(ns), true) => (
                true,
                check_key(key, value_len)
                    .and_then(|()| match write {
                        Some(len) => self.spend_kv_budget(len),
                        None => Ok(()),
                    })
                    .and_then(|()| {
                        op(&ns).map_err(|e| GuestError::Failed(format!("kv storage error: {e}")))
                    }),
            ),
            (None, true) => (
                true,
                Err(GuestError::Failed(
                    "no kv store is configured on this host".into(),
                )),
            ),
            (_, false) => (
                false,
                Err(GuestError::Denied(
                    "kv is not declared in the manifest".into(),
                )),
            ),
        };
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => describe(e),
        };
        self.trail
            .record("kv", operation, key, allowed, outcome, started);
        result
    }

    fn spend_kv_budget(&mut self, value_len: usize) -> Result<(), GuestError> {
        if self.kv_writes >= MAX_KV_WRITES {
            return Err(GuestError::Limited(format!(
                "at most {MAX_KV_WRITES} kv writes per execution"
            )));
        }
        if self.kv_written_bytes + value_len > MAX_KV_WRITTEN_BYTES {
            return Err(GuestError::Limited(format!(
                "at most {MAX_KV_WRITTEN_BYTES} bytes of kv values per execution"
            )));
        }
        self.kv_writes += 1;
        self.kv_written_bytes += value_len;
        Ok(())
    }
}

fn check_key(key: &str, value_len: usize) -> Result<(), GuestError> {
    if key.is_empty() || key.len() > MAX_KV_KEY_BYTES {
        return Err(GuestError::Invalid(format!(
            "kv keys must be 1-{MAX_KV_KEY_BYTES} bytes"
        )));
    }
    if value_len > MAX_KV_VALUE_BYTES {
        return Err(GuestError::Limited(format!(
            "kv values are at most {MAX_KV_VALUE_BYTES} bytes"
        )));
    }
    Ok(())
}

impl Host for ExecutionState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, GuestError>> {
        Ok(self.kv_call("get", &key, None, |ns| ns.get(&key)))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), GuestError>> {
        Ok(self.kv_call("set", &key, Some(value.len()), |ns| ns.set(&key, &value)))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), GuestError>> {
        Ok(self.kv_call("delete", &key, Some(0), |ns| ns.delete(&key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_do_not_see_each_other() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = KvStore::open(&db).unwrap();
        let a = store.namespace("t1", "flap");
        let b = store.namespace("t1", "flap2");
        let c = store.namespace("t2", "flap");
        a.set("k", b"1").unwrap();
        assert_eq!(a.get("k").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(b.get("k").unwrap(), None);
        assert_eq!(c.get("k").unwrap(), None);
        a.delete("k").unwrap();
        assert_eq!(a.get("k").unwrap(), None);
    }
}
