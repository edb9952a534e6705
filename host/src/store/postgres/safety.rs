//! Safety state on PostgreSQL: the policy state of each (rule, key) and
//! each rule, decided inside the transaction that inserts the execution;
//! pause and silence settings; executions awaiting approval. A transaction
//! that reads or writes a rule's policy state first takes that rule's
//! advisory lock, so decisions of every host about one rule take turns.

use super::executions::{ExecutionColumns, insert_execution};
use super::{PostgresStore, from_doc, to_doc};
use crate::safety::gate::{self, Gate, KeyState, RuleState};
use crate::safety::settings::SafetySettings;
use crate::store::model::Inserted;
use crate::store::model::execution::ExecutionRecord;
use crate::store::{SafetyStore, StoreResult};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use deadpool_postgres::Transaction;

/// One advisory lock on policy state: a key's (its windows, circuit,
/// active executions) or, for a budget, which spans a rule's keys, the
/// rule's. Decisions about different keys of a rule without a budget run
/// side by side.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PolicyLock {
    tenant: String,
    rule: String,
    /// `None`: the rule's lock (sorts before its keys').
    key: Option<String>,
}

impl PolicyLock {
    pub fn key(tenant: &str, rule: &str, key: &str) -> Self {
        Self {
            tenant: tenant.into(),
            rule: rule.into(),
            key: Some(key.into()),
        }
    }
}

/// The locks a gate's decision needs.
pub(super) fn gate_locks(tenant: &str, gate: &Gate) -> Vec<PolicyLock> {
    let mut locks = vec![PolicyLock::key(tenant, &gate.rule, &gate.key)];
    if gate.policy.budget.is_some() {
        locks.push(PolicyLock {
            tenant: tenant.into(),
            rule: gate.rule.clone(),
            key: None,
        });
    }
    locks
}

/// Takes the locks until the end of the transaction, in one order (rule
/// before its keys, keys sorted), so two transactions never wait on each
/// other in a cycle.
pub(super) async fn take_locks(
    tx: &Transaction<'_>,
    mut locks: Vec<PolicyLock>,
) -> StoreResult<()> {
    locks.sort();
    locks.dedup();
    let stmt = tx
        .prepare_cached(
            "SELECT pg_advisory_xact_lock(hashtextextended(
                 CASE WHEN $3::text IS NULL THEN 'wolfe.policy.rule/' || $1 || '/' || $2
                      ELSE 'wolfe.policy.key/' || $1 || '/' || $2 || '/' || $3 END, 0))",
        )
        .await?;
    for lock in &locks {
        tx.execute(&stmt, &[&lock.tenant, &lock.rule, &lock.key])
            .await?;
    }
    Ok(())
}

/// The lock of the key a tracked record belongs to.
pub(super) async fn lock_record_key(
    tx: &Transaction<'_>,
    record: &ExecutionRecord,
) -> StoreResult<()> {
    if let (Some(rule), Some(key)) = (&record.rule, &record.key) {
        take_locks(tx, vec![PolicyLock::key(&record.tenant, rule, key)]).await?;
    }
    Ok(())
}

async fn rule_state<C: GenericClient>(c: &C, tenant: &str, rule: &str) -> StoreResult<RuleState> {
    let stmt = c
        .prepare_cached("SELECT doc FROM policy_rules WHERE tenant = $1 AND rule = $2")
        .await?;
    c.query_opt(&stmt, &[&tenant, &rule])
        .await?
        .map(|r| from_doc(&r, 0))
        .transpose()
        .map(Option::unwrap_or_default)
}

async fn key_state<C: GenericClient>(
    c: &C,
    tenant: &str,
    rule: &str,
    key: &str,
) -> StoreResult<KeyState> {
    let stmt = c
        .prepare_cached("SELECT doc FROM policy_keys WHERE tenant = $1 AND rule = $2 AND key = $3")
        .await?;
    c.query_opt(&stmt, &[&tenant, &rule, &key])
        .await?
        .map(|r| from_doc(&r, 0))
        .transpose()
        .map(Option::unwrap_or_default)
}

async fn put_key_state(
    tx: &Transaction<'_>,
    tenant: &str,
    rule: &str,
    key: &str,
    state: &KeyState,
) -> StoreResult<()> {
    if state.is_empty() {
        let stmt = tx
            .prepare_cached("DELETE FROM policy_keys WHERE tenant = $1 AND rule = $2 AND key = $3")
            .await?;
        tx.execute(&stmt, &[&tenant, &rule, &key]).await?;
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO policy_keys (tenant, rule, key, doc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, rule, key) DO UPDATE SET doc = EXCLUDED.doc",
        )
        .await?;
    tx.execute(&stmt, &[&tenant, &rule, &key, &to_doc(state)?])
        .await?;
    Ok(())
}

/// Inserts a gated execution under its gate's locks (the caller took them):
/// nothing is counted for an (event, rule) pair that has an execution;
/// otherwise the policy decides `record`, and the decision, the states and
/// the record commit together.
pub(super) async fn insert_gated(
    tx: &Transaction<'_>,
    record: &mut ExecutionRecord,
    gate: &Gate,
    owner: Option<&str>,
) -> StoreResult<Inserted> {
    if let (Some(event), Some(rule)) = (&record.event_id, &record.rule) {
        let stmt = tx
            .prepare_cached(
                "SELECT 1 FROM executions
                 WHERE tenant = $1 AND event_id = $2 AND rule = $3 AND retry = 0",
            )
            .await?;
        if tx
            .query_opt(&stmt, &[&record.tenant, event, rule])
            .await?
            .is_some()
        {
            return Ok(Inserted::Existing);
        }
    }
    let tenant = record.tenant.clone();
    let mut state = key_state(tx, &tenant, &gate.rule, &gate.key).await?;
    let mut rule_state = rule_state(tx, &tenant, &gate.rule).await?;
    let budget_before = rule_state.clone();
    gate::decide(gate, record, &mut state, &mut rule_state, gate::now_ms());
    put_key_state(tx, &tenant, &gate.rule, &gate.key, &state).await?;
    if rule_state != budget_before {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO policy_rules (tenant, rule, doc) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, rule) DO UPDATE SET doc = EXCLUDED.doc",
            )
            .await?;
        tx.execute(&stmt, &[&tenant, &gate.rule, &to_doc(&rule_state)?])
            .await?;
    }
    // A key that waits its turn is not leased at once: its claim checks.
    let owner = owner.filter(|_| record.is_pending() && record.key_concurrency.is_none());
    insert_execution(tx, record, owner).await
}

/// Records a gated execution's end in its key's state (the caller holds
/// the key's lock, in the transaction that saves the record).
pub(super) async fn finish_key(tx: &Transaction<'_>, record: &ExecutionRecord) -> StoreResult<()> {
    let (Some(rule), Some(key)) = (&record.rule, &record.key) else {
        return Ok(());
    };
    let mut state = key_state(tx, &record.tenant, rule, key).await?;
    gate::finished(&mut state, record, gate::now_ms());
    put_key_state(tx, &record.tenant, rule, key, &state).await
}

/// Whether a claimed execution may start: its key's turn has come.
pub(super) async fn may_start<C: GenericClient>(
    c: &C,
    record: &ExecutionRecord,
) -> StoreResult<bool> {
    let (Some(rule), Some(key), Some(_)) = (&record.rule, &record.key, record.key_concurrency)
    else {
        return Ok(true);
    };
    let state = key_state(c, &record.tenant, rule, key).await?;
    Ok(gate::may_start(record, &state))
}

impl PostgresStore {
    async fn read_safety_settings(&self, tenant: &str) -> StoreResult<SafetySettings> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT doc FROM safety_settings WHERE tenant = $1")
            .await?;
        c.query_opt(&stmt, &[&tenant])
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

#[async_trait]
impl SafetyStore for PostgresStore {
    async fn safety_settings(&self, tenant: &str) -> StoreResult<SafetySettings> {
        self.caches
            .safety
            .get_or_load(tenant.to_string(), self.read_safety_settings(tenant))
            .await
    }

    async fn update_safety_settings(
        &self,
        tenant: &str,
        change: &(dyn for<'s> Fn(&'s mut SafetySettings) + Send + Sync),
    ) -> StoreResult<SafetySettings> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO safety_settings (tenant, doc) VALUES ($1, '{}') ON CONFLICT DO NOTHING",
            &[&tenant],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT doc FROM safety_settings WHERE tenant = $1 FOR UPDATE",
                &[&tenant],
            )
            .await?;
        let mut settings: SafetySettings = from_doc(&row, 0)?;
        change(&mut settings);
        tx.execute(
            "UPDATE safety_settings SET doc = $2 WHERE tenant = $1",
            &[&tenant, &to_doc(&settings)?],
        )
        .await?;
        tx.commit().await?;
        self.caches.safety.forget(&tenant.to_string());
        Ok(settings)
    }

    async fn policy_keys(
        &self,
        tenant: &str,
        rule: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, KeyState)>> {
        let c = self.client().await?;
        c.query(
            "SELECT key, doc FROM policy_keys WHERE tenant = $1 AND rule = $2 ORDER BY key LIMIT $3",
            &[&tenant, &rule, &(limit as i64)],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, from_doc(r, 1)?)))
        .collect()
    }

    async fn policy_rule_state(&self, tenant: &str, rule: &str) -> StoreResult<RuleState> {
        rule_state(&self.client().await?, tenant, rule).await
    }

    async fn policy_key_state(&self, tenant: &str, rule: &str, key: &str) -> StoreResult<KeyState> {
        key_state(&self.client().await?, tenant, rule, key).await
    }

    async fn close_circuit(&self, tenant: &str, rule: &str, key: &str) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        take_locks(&tx, vec![PolicyLock::key(tenant, rule, key)]).await?;
        let row = tx
            .query_opt(
                "SELECT doc FROM policy_keys WHERE tenant = $1 AND rule = $2 AND key = $3",
                &[&tenant, &rule, &key],
            )
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let mut state: KeyState = from_doc(&row, 0)?;
        gate::close_circuit(&mut state);
        put_key_state(&tx, tenant, rule, key, &state).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn awaiting_approval(&self, limit: usize) -> StoreResult<Vec<(String, String)>> {
        let c = self.client().await?;
        c.query(
            "SELECT tenant, id FROM executions WHERE awaiting ORDER BY id LIMIT $1",
            &[&(limit as i64)],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    async fn decide_approval(&self, record: &ExecutionRecord) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let ends = record.is_gated() && record.is_terminal();
        if ends {
            lock_record_key(&tx, record).await?;
        }
        let columns = ExecutionColumns::of(record)?;
        let decided = tx
            .execute(
                "UPDATE executions SET status = $3, pending = $4, awaiting = $5, denied = $6, doc = $7
                 WHERE tenant = $1 AND id = $2 AND awaiting",
                &[
                    &record.tenant,
                    &record.id,
                    &columns.status,
                    &columns.pending,
                    &columns.awaiting,
                    &columns.denied,
                    &columns.doc,
                ],
            )
            .await?;
        if decided == 0 {
            return Ok(false);
        }
        if ends {
            finish_key(&tx, record).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
