//! The `kv` capability: a key-value store private to one runbook in one
//! tenant. The store keeps the data (`store::RunbookKv`); this module checks
//! the grant, the key and the per-execution write budget, and records every
//! call in the trail. In a dry run the namespace is seen through a
//! [`KvOverlay`], so writes stay in memory.

mod overlay;

pub use overlay::KvOverlay;

use crate::capabilities::describe;
use crate::capabilities::limits::{
    MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, MAX_KV_WRITES, MAX_KV_WRITTEN_BYTES,
};
use crate::capabilities::trail::SharedTrail;
use crate::capabilities::transcript::{
    Recorded, Tape, answer_result, bytes_size, bytes_value, result_size, result_value, scrub_bytes,
    scrub_error, text_size, value_bytes,
};
use crate::wit::wolfe::runbook::kv::Host;
use crate::wit::wolfe::runbook::types::Error as GuestError;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Where one runbook's kv data lives: its namespace in the store, already
/// scoped to (tenant, runbook), so a runbook can never name another's keys.
#[async_trait::async_trait]
pub trait KvProvider: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    async fn delete(&self, key: &str) -> Result<(), String>;
    /// Sets `key` to `new` only if it holds `expected` (`None`: absent),
    /// atomically — also against executions on other hosts.
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, String>;
}

/// How many times `increment` retries when other executions keep changing
/// the counter between its read and its swap.
const MAX_INCREMENT_ATTEMPTS: usize = 100;

/// What a kv operation does, run after the checks.
#[derive(Debug)]
enum KvOp {
    Get,
    Set(Vec<u8>),
    Delete,
    CompareAndSwap {
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    },
    Increment(i64),
}

/// What a kv operation answered.
#[derive(Debug, Clone)]
enum KvAnswer {
    Value(Option<Vec<u8>>),
    Done,
    Swapped(bool),
    Counter(i64),
}

/// The `kv` interface's per-execution state: the runbook's namespace (seen
/// through a [`KvOverlay`] in a dry run) and the write budget spent so far.
pub struct KvState {
    /// Whether the manifest declares `capabilities.kv = true`.
    granted: bool,
    store: Option<Arc<dyn KvProvider>>,
    trail: SharedTrail,
    tape: Tape,
    /// kv writes and value bytes so far, against the per-execution caps.
    writes: usize,
    written_bytes: usize,
}

impl KvState {
    pub fn new(
        granted: bool,
        store: Option<Arc<dyn KvProvider>>,
        dry_run: bool,
        trail: SharedTrail,
        tape: Tape,
    ) -> Self {
        // Dropped with this state: a dry run's kv writes end with it.
        let store = match (store, dry_run) {
            (Some(store), true) => Some(Arc::new(KvOverlay::over(store)) as Arc<dyn KvProvider>),
            (store, _) => store,
        };
        Self {
            granted,
            store,
            trail,
            tape,
            writes: 0,
            written_bytes: 0,
        }
    }

    /// Runs one kv operation after the grant, key and write-budget checks,
    /// and records it (in a replay: answers it from the transcript).
    async fn kv_call(&mut self, key: String, op: KvOp) -> Result<KvAnswer, GuestError> {
        let operation = op.name();
        let refusal = || (!self.granted).then(not_granted);
        if let Some(answer) = self
            .tape
            .replay("kv", operation, || op.request(&key), refusal)
        {
            return answer_result(&answer, |ok| KvAnswer::decode(&op, ok));
        }
        let result = self.checked_call(&key, &op).await;
        if self.tape.is_on() {
            self.tape.record(KvCall {
                key,
                op,
                answer: result.clone(),
            });
        }
        result
    }

    async fn checked_call(&mut self, key: &str, op: &KvOp) -> Result<KvAnswer, GuestError> {
        let started = Instant::now();
        let operation = op.name();
        let write = match op {
            KvOp::Get => None,
            KvOp::Set(value) => Some(value.len()),
            KvOp::Delete => Some(0),
            KvOp::CompareAndSwap { new, .. } => Some(new.len()),
            // An i64 in decimal: at most 20 bytes.
            KvOp::Increment(_) => Some(20),
        };
        let (allowed, result) = match (self.store.clone(), self.granted) {
            (Some(kv), true) => {
                let checked = check_key(key, write.unwrap_or(0)).and_then(|()| match write {
                    Some(len) => self.spend_kv_budget(len),
                    None => Ok(()),
                });
                let result = match checked {
                    Ok(()) => run_op(&*kv, key, op).await,
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
            (_, false) => (false, Err(not_granted())),
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
        if self.writes >= MAX_KV_WRITES {
            return Err(GuestError::Limited(format!(
                "at most {MAX_KV_WRITES} kv writes per execution"
            )));
        }
        if self.written_bytes + value_len > MAX_KV_WRITTEN_BYTES {
            return Err(GuestError::Limited(format!(
                "at most {MAX_KV_WRITTEN_BYTES} bytes of kv values per execution"
            )));
        }
        self.writes += 1;
        self.written_bytes += value_len;
        Ok(())
    }
}

impl KvOp {
    fn name(&self) -> &'static str {
        match self {
            KvOp::Get => "get",
            KvOp::Set(_) => "set",
            KvOp::Delete => "delete",
            KvOp::CompareAndSwap { .. } => "compare-and-swap",
            KvOp::Increment(_) => "increment",
        }
    }

    /// The call as a transcript records it.
    fn request(&self, key: &str) -> Value {
        match self {
            KvOp::Get | KvOp::Delete => json!({ "key": key }),
            KvOp::Set(value) => json!({ "key": key, "value": bytes_value(value) }),
            KvOp::CompareAndSwap { expected, new } => json!({
                "key": key,
                "expected": expected.as_deref().map(bytes_value),
                "new": bytes_value(new),
            }),
            KvOp::Increment(delta) => json!({ "key": key, "delta": delta }),
        }
    }
}

impl KvAnswer {
    fn encode(&self) -> Value {
        match self {
            KvAnswer::Value(v) => v.as_deref().map(bytes_value).unwrap_or(Value::Null),
            KvAnswer::Done => Value::Null,
            KvAnswer::Swapped(swapped) => Value::Bool(*swapped),
            KvAnswer::Counter(n) => json!(n),
        }
    }

    /// The answer to `op` that [`KvAnswer::encode`] wrote.
    fn decode(op: &KvOp, value: &Value) -> Option<Self> {
        Some(match op {
            KvOp::Get if value.is_null() => KvAnswer::Value(None),
            KvOp::Get => KvAnswer::Value(Some(value_bytes(value)?)),
            KvOp::Set(_) | KvOp::Delete => KvAnswer::Done,
            KvOp::CompareAndSwap { .. } => KvAnswer::Swapped(value.as_bool()?),
            KvOp::Increment(_) => KvAnswer::Counter(value.as_i64()?),
        })
    }
}

fn not_granted() -> GuestError {
    GuestError::Denied("kv is not declared in the manifest".into())
}

/// A `kv` call as a transcript keeps it.
#[derive(Debug)]
struct KvCall {
    key: String,
    op: KvOp,
    answer: Result<KvAnswer, GuestError>,
}

impl Recorded for KvCall {
    fn interface(&self) -> &'static str {
        "kv"
    }

    fn operation(&self) -> &'static str {
        self.op.name()
    }

    fn request(&self) -> Value {
        self.op.request(&self.key)
    }

    fn answer(&self) -> Value {
        result_value(&self.answer, KvAnswer::encode)
    }

    fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        scrub(&mut self.key);
        match &mut self.op {
            KvOp::Set(value) => scrub_bytes(value, scrub),
            KvOp::CompareAndSwap { expected, new } => {
                if let Some(expected) = expected {
                    scrub_bytes(expected, scrub);
                }
                scrub_bytes(new, scrub);
            }
            KvOp::Get | KvOp::Delete | KvOp::Increment(_) => {}
        }
        match &mut self.answer {
            Ok(KvAnswer::Value(Some(value))) => scrub_bytes(value, scrub),
            Ok(_) => {}
            Err(e) => scrub_error(e, scrub),
        }
    }

    fn size(&self) -> usize {
        let request = match &self.op {
            KvOp::Set(value) => bytes_size(value),
            KvOp::CompareAndSwap { expected, new } => {
                expected.as_deref().map_or(0, bytes_size) + bytes_size(new)
            }
            KvOp::Get | KvOp::Delete | KvOp::Increment(_) => 20,
        };
        let answer = result_size(&self.answer, |answer| match answer {
            KvAnswer::Value(Some(value)) => bytes_size(value),
            _ => 20,
        });
        text_size(&self.key) + request + answer
    }
}

async fn run_op(kv: &dyn KvProvider, key: &str, op: &KvOp) -> Result<KvAnswer, GuestError> {
    let storage = |e: String| GuestError::Failed(format!("kv storage error: {e}"));
    Ok(match op {
        KvOp::Get => KvAnswer::Value(kv.get(key).await.map_err(storage)?),
        KvOp::Set(value) => {
            kv.set(key, value).await.map_err(storage)?;
            KvAnswer::Done
        }
        KvOp::Delete => {
            kv.delete(key).await.map_err(storage)?;
            KvAnswer::Done
        }
        KvOp::CompareAndSwap { expected, new } => KvAnswer::Swapped(
            kv.compare_and_swap(key, expected.as_deref(), new)
                .await
                .map_err(storage)?,
        ),
        KvOp::Increment(delta) => KvAnswer::Counter(increment(kv, key, *delta).await?),
    })
}

/// Read, add, swap — again if another execution changed the counter in
/// between. The swap makes it atomic on every backend.
async fn increment(kv: &dyn KvProvider, key: &str, delta: i64) -> Result<i64, GuestError> {
    let storage = |e: String| GuestError::Failed(format!("kv storage error: {e}"));
    for _ in 0..MAX_INCREMENT_ATTEMPTS {
        let current = kv.get(key).await.map_err(storage)?;
        let value = match &current {
            None => 0,
            Some(bytes) => parse_counter(bytes).ok_or_else(|| {
                GuestError::Invalid(format!(
                    "the value of {key:?} is not a counter (decimal integer text)"
                ))
            })?,
        };
        let next = value.checked_add(delta).ok_or_else(|| {
            GuestError::Invalid(format!(
                "{key:?}: {value} + {delta} overflows a signed 64-bit integer"
            ))
        })?;
        if kv
            .compare_and_swap(key, current.as_deref(), next.to_string().as_bytes())
            .await
            .map_err(storage)?
        {
            return Ok(next);
        }
    }
    Err(GuestError::Limited(format!(
        "{key:?} changed under {MAX_INCREMENT_ATTEMPTS} increments in a row; try again"
    )))
}

fn parse_counter(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
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

impl Host for KvState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, GuestError>> {
        Ok(self
            .kv_call(key, KvOp::Get)
            .await
            .map(|answer| match answer {
                KvAnswer::Value(v) => v,
                _ => None,
            }))
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), GuestError>> {
        Ok(self.kv_call(key, KvOp::Set(value)).await.map(|_| ()))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), GuestError>> {
        Ok(self.kv_call(key, KvOp::Delete).await.map(|_| ()))
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    ) -> wasmtime::Result<Result<bool, GuestError>> {
        let op = KvOp::CompareAndSwap { expected, new };
        Ok(self
            .kv_call(key, op)
            .await
            .map(|answer| matches!(answer, KvAnswer::Swapped(true))))
    }

    async fn increment(
        &mut self,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, GuestError>> {
        Ok(self
            .kv_call(key, KvOp::Increment(delta))
            .await
            .and_then(|answer| match answer {
                KvAnswer::Counter(n) => Ok(n),
                _ => Err(GuestError::Failed(
                    "kv increment answered no counter".into(),
                )),
            }))
    }
}
