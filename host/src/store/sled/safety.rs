//! Safety state on sled: the policy state of each (rule, key) and each
//! rule, decided in one sled transaction with the execution it decides;
//! the tenant's pause and silence settings; executions awaiting approval.
//! Striped locks serialise the decisions about one key (and one budget), so
//! a transaction does not retry.

use super::keys::{key, prefix};
use super::{SledStore, decode, encode, get};
use crate::safety::gate::{self, Gate, KeyState, RuleState};
use crate::safety::settings::SafetySettings;
use crate::sandbox::report::ExecutionStatus;
use crate::store::model::execution::ExecutionRecord;
use crate::store::{SafetyStore, StoreError, StoreResult};
use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

/// Locks over policy state, striped by (tenant, rule, key): decisions
/// about different keys run side by side; a budget, which spans a rule's
/// keys, also takes its rule's stripe. Stripes are taken in index order,
/// so two callers never wait on each other in a cycle.
pub(super) struct PolicyLocks {
    stripes: Vec<std::sync::Mutex<()>>,
}

impl Default for PolicyLocks {
    fn default() -> Self {
        Self {
            stripes: (0..64).map(|_| std::sync::Mutex::new(())).collect(),
        }
    }
}

impl PolicyLocks {
    fn stripe(&self, parts: &[&str]) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        parts.hash(&mut h);
        (h.finish() % self.stripes.len() as u64) as usize
    }

    /// Holds the key's stripe (and the rule's, with `rule_wide`).
    pub fn lock(
        &self,
        tenant: &str,
        rule: &str,
        policy_key: &str,
        rule_wide: Option<&str>,
    ) -> Vec<std::sync::MutexGuard<'_, ()>> {
        let mut stripes = vec![self.stripe(&[tenant, rule, policy_key])];
        if rule_wide.is_some() {
            stripes.push(self.stripe(&[tenant, rule]));
        }
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|i| self.stripes[i].lock().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }
}

/// A store error inside a sled transaction.
fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

fn tx_result<T>(r: Result<T, TransactionError<StoreError>>) -> StoreResult<T> {
    r.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
    })
}

fn tx_get<T: serde::de::DeserializeOwned + Default>(
    tree: &TransactionalTree,
    k: &[u8],
) -> Result<T, ConflictableTransactionError<StoreError>> {
    match tree.get(k)? {
        Some(v) => decode(&v).map_err(abort),
        None => Ok(T::default()),
    }
}

fn tx_put_state(
    tree: &TransactionalTree,
    k: &[u8],
    state: &KeyState,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    if state.is_empty() {
        tree.remove(k)?;
    } else {
        tree.insert(k, encode(state).map_err(abort)?)?;
    }
    Ok(())
}

impl From<UnabortableTransactionError> for StoreError {
    fn from(e: UnabortableTransactionError) -> Self {
        StoreError::Backend(format!("sled transaction: {e}"))
    }
}

impl SledStore {
    /// Creates a gated execution: the (event, rule) check, the policy
    /// decision, the key's and rule's new state and the record, in one
    /// transaction.
    pub(super) fn create_gated(
        &self,
        record: &mut ExecutionRecord,
        gate: &Gate,
    ) -> StoreResult<bool> {
        let rule_wide = gate.policy.budget.is_some().then_some(gate.rule.as_str());
        let _decisions = self
            .policy_locks
            .lock(&record.tenant, &gate.rule, &gate.key, rule_wide);
        let t = &self.trees;
        let tenant = record.tenant.clone();
        let pair = super::executions::pair_key(record);
        let key_k = key(&[&tenant, &gate.rule, &gate.key]);
        let rule_k = key(&[&tenant, &gate.rule]);
        let now = gate::now_ms();
        let stored = tx_result(
            (
                &t.executions,
                &t.pending,
                &t.execution_keys,
                &t.policy_keys,
                &t.policy_rules,
                &t.awaiting,
            )
                .transaction(|(ex, pe, ek, pk, pr, aw)| {
                    let mut rec = record.clone();
                    if let Some(pair) = &pair {
                        if let Some(existing) = ek.get(pair)? {
                            let id = String::from_utf8_lossy(&existing).into_owned();
                            if ex.get(key(&[&tenant, &id]))?.is_some() {
                                return Ok(None);
                            }
                            rec.id = id;
                        }
                        ek.insert(pair.as_slice(), rec.id.as_bytes())?;
                    }
                    let mut state: KeyState = tx_get(pk, &key_k)?;
                    let mut rule_state: RuleState = tx_get(pr, &rule_k)?;
                    let rule_before = rule_state.clone();
                    gate::decide(gate, &mut rec, &mut state, &mut rule_state, now);
                    tx_put_state(pk, &key_k, &state)?;
                    // Written only when it changed: decisions about other
                    // keys of a rule without a budget do not collide here.
                    if rule_state != rule_before {
                        pr.insert(rule_k.as_slice(), encode(&rule_state).map_err(abort)?)?;
                    }
                    let k = key(&[&tenant, &rec.id]);
                    ex.insert(k.as_slice(), encode(&rec).map_err(abort)?)?;
                    if rec.is_pending() {
                        pe.insert(k.as_slice(), &[])?;
                    }
                    if rec.status == ExecutionStatus::AwaitingApproval {
                        aw.insert(k.as_slice(), &[])?;
                    }
                    Ok(Some(rec))
                }),
        )?;
        match stored {
            Some(rec) => {
                *record = rec;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Saves a record and, when its rule's policy tracks it and it has
    /// ended, its key's state — in one transaction. With `only_if`, only
    /// while the stored record has that status (`false`: it did not).
    pub(super) fn save_gated(
        &self,
        record: &ExecutionRecord,
        only_if: Option<ExecutionStatus>,
    ) -> StoreResult<bool> {
        let _decisions = match (&record.rule, &record.key) {
            (Some(rule), Some(policy_key)) => {
                Some(
                    self.policy_locks
                        .lock(&record.tenant, rule, policy_key, None),
                )
            }
            _ => None,
        };
        let t = &self.trees;
        let k = key(&[&record.tenant, &record.id]);
        let key_k = match (&record.rule, &record.key) {
            (Some(rule), Some(policy_key)) if record.is_terminal() => {
                Some(key(&[&record.tenant, rule, policy_key]))
            }
            _ => None,
        };
        let now = gate::now_ms();
        tx_result(
            (&t.executions, &t.pending, &t.policy_keys, &t.awaiting).transaction(
                |(ex, pe, pk, aw)| {
                    if let Some(status) = only_if {
                        let current: Option<ExecutionRecord> = match ex.get(&k)? {
                            Some(v) => Some(decode(&v).map_err(abort)?),
                            None => None,
                        };
                        if current.is_none_or(|c| c.status != status) {
                            return Ok(false);
                        }
                    }
                    ex.insert(k.as_slice(), encode(record).map_err(abort)?)?;
                    if record.is_pending() {
                        pe.insert(k.as_slice(), &[])?;
                    } else {
                        pe.remove(k.as_slice())?;
                    }
                    if record.status != ExecutionStatus::AwaitingApproval {
                        aw.remove(k.as_slice())?;
                    }
                    if let Some(key_k) = &key_k {
                        let mut state: KeyState = tx_get(pk, key_k)?;
                        gate::finished(&mut state, record, now);
                        tx_put_state(pk, key_k, &state)?;
                    }
                    Ok(true)
                },
            ),
        )
    }

    /// Whether a claimed record may start now (its key's turn).
    pub(super) fn may_start(&self, record: &ExecutionRecord) -> StoreResult<bool> {
        let (Some(rule), Some(policy_key)) = (&record.rule, &record.key) else {
            return Ok(true);
        };
        if record.key_concurrency.is_none() {
            return Ok(true);
        }
        let state: KeyState = get(
            &self.trees.policy_keys,
            &key(&[&record.tenant, rule, policy_key]),
        )?
        .unwrap_or_default();
        Ok(gate::may_start(record, &state))
    }
}

#[async_trait]
impl SafetyStore for SledStore {
    async fn safety_settings(&self, tenant: &str) -> StoreResult<SafetySettings> {
        Ok(get(&self.trees.safety, tenant.as_bytes())?.unwrap_or_default())
    }

    async fn update_safety_settings(
        &self,
        tenant: &str,
        change: &(dyn for<'s> Fn(&'s mut SafetySettings) + Send + Sync),
    ) -> StoreResult<SafetySettings> {
        let _decisions = self.policy_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut settings: SafetySettings =
            get(&self.trees.safety, tenant.as_bytes())?.unwrap_or_default();
        change(&mut settings);
        self.trees.safety.insert(tenant, encode(&settings)?)?;
        Ok(settings)
    }

    async fn policy_keys(
        &self,
        tenant: &str,
        rule: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, KeyState)>> {
        let p = prefix(&[tenant, rule]);
        let mut out = Vec::new();
        for entry in self.trees.policy_keys.scan_prefix(&p).take(limit) {
            let (k, v) = entry?;
            out.push((
                String::from_utf8_lossy(&k[p.len()..]).into_owned(),
                decode(&v)?,
            ));
        }
        Ok(out)
    }

    async fn policy_rule_state(&self, tenant: &str, rule: &str) -> StoreResult<RuleState> {
        Ok(get(&self.trees.policy_rules, &key(&[tenant, rule]))?.unwrap_or_default())
    }

    async fn policy_key_state(
        &self,
        tenant: &str,
        rule: &str,
        policy_key: &str,
    ) -> StoreResult<KeyState> {
        Ok(get(&self.trees.policy_keys, &key(&[tenant, rule, policy_key]))?.unwrap_or_default())
    }

    async fn close_circuit(&self, tenant: &str, rule: &str, policy_key: &str) -> StoreResult<bool> {
        let _decisions = self.policy_locks.lock(tenant, rule, policy_key, None);
        let k = key(&[tenant, rule, policy_key]);
        let Some(mut state) = get::<KeyState>(&self.trees.policy_keys, &k)? else {
            return Ok(false);
        };
        gate::close_circuit(&mut state);
        self.trees.policy_keys.insert(k, encode(&state)?)?;
        Ok(true)
    }

    async fn awaiting_approval(&self, limit: usize) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        for k in self.trees.awaiting.iter().keys().take(limit) {
            let k = k?;
            let split = k.iter().position(|&b| b == 0).unwrap_or(k.len());
            out.push((
                String::from_utf8_lossy(&k[..split]).into_owned(),
                String::from_utf8_lossy(&k[(split + 1).min(k.len())..]).into_owned(),
            ));
        }
        Ok(out)
    }

    async fn decide_approval(&self, record: &ExecutionRecord) -> StoreResult<bool> {
        self.save_gated(record, Some(ExecutionStatus::AwaitingApproval))
    }
}
