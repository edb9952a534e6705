//! The `kv` capability: a key-value store private to one runbook in one
//! tenant. The store keeps the data (`store::RunbookKv`); this module checks
//! the grant, the key and the per-execution write budget, and records every
//! call in the trail.

use crate::capabilities::describe;
use crate::sandbox::bindings::wolfe::runbook::kv::Host;
use crate::sandbox::bindings::wolfe::runbook::types::Error as GuestError;
use crate::sandbox::limits::{
    MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, MAX_KV_WRITES, MAX_KV_WRITTEN_BYTES,
};
use crate::sandbox::state::ExecutionState;
use std::time::Instant;

/// Where one runbook's kv data lives: its namespace in the store, already
/// scoped to (tenant, runbook), so a runbook can never name another's keys.
#[async_trait::async_trait]
pub trait KvProvider: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    async fn delete(&self, key: &str) -> Result<(), String>;
}

/// What a kv operation does, run after the checks.
enum KvOp {
    Get,
    Set(Vec<u8>),
    Delete,
}

/// What a kv operation answered.
enum KvAnswer {
    Value(Option<Vec<u8>>),
    Done,
}

impl ExecutionState {
    /// Runs one kv operation after the grant, key and write-budget checks,
    /// and records it.
    async fn kv_call(&mut self, key: &str, op: KvOp) -> Result<KvAnswer, GuestError> {
        let started = Instant::now();
        let (operation, write) = match &op {
            KvOp::Get => ("get", None),
            KvOp::Set(value) => ("set", Some(value.len())),
            KvOp::Delete => ("delete", Some(0)),
        };
        let (allowed, result) = match (self.kv.clone(), self.grants.kv) {
            (Some(kv), true) => {
                let checked = check_key(key, write.unwrap_or(0)).and_then(|()| match write {
                    Some(len) => self.spend_kv_budget(len),
                    None => Ok(()),
                });
                let result = match checked {
                    Ok(()) => run_op(&*kv, key, op)
                        .await
                        .map_err(|e| GuestError::Failed(format!("kv storage error: {e}"))),
                    Err(e) => Err(e),
                };
                (true, result)
            }
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

async fn run_op(kv: &dyn KvProvider, key: &str, op: KvOp) -> Result<KvAnswer, String> {
    Ok(match op {
        KvOp::Get => KvAnswer::Value(kv.get(key).await?),
        KvOp::Set(value) => {
            kv.set(key, &value).await?;
            KvAnswer::Done
        }
        KvOp::Delete => {
            kv.delete(key).await?;
            KvAnswer::Done
        }
    })
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
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, GuestError>> {
        Ok(self
            .kv_call(&key, KvOp::Get)
            .await
            .map(|answer| match answer {
                KvAnswer::Value(v) => v,
                KvAnswer::Done => None,
            }))
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), GuestError>> {
        Ok(self.kv_call(&key, KvOp::Set(value)).await.map(|_| ()))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), GuestError>> {
        Ok(self.kv_call(&key, KvOp::Delete).await.map(|_| ()))
    }
}
