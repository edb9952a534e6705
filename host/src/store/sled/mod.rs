//! The embedded backend: sled, one tree per kind of record, JSON values.
//! Writes land in sled's memory first; callers that must not acknowledge
//! before durability await `commit` (group commit: one fsync for every
//! writer that arrived since the last).

mod audit;
mod commit;
mod copy;
mod executions;
mod keys;
mod outbox;
mod rates;
mod registry;
mod safety;
mod schedules;
mod secrets;
mod tenants;
mod triggers;

use super::{Backend, KvStore, StoreError, StoreResult};
use async_trait::async_trait;
use commit::GroupCommit;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(format!("sled: {e}"))
    }
}

/// The store on sled.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    trees: Trees,
    committer: GroupCommit,
    /// Serialises audit appends: each entry needs its predecessor's hash.
    audit_lock: std::sync::Arc<std::sync::Mutex<()>>,
    rate_windows: std::sync::Arc<rates::RateWindows>,
    /// Serialises changes to a tenant's pauses and silences.
    policy_lock: std::sync::Arc<std::sync::Mutex<()>>,
    /// Serialises decisions about one policy key (see `safety`).
    policy_locks: std::sync::Arc<safety::PolicyLocks>,
    path: String,
}

#[derive(Clone)]
struct Trees {
    meta: sled::Tree,
    tenants: sled::Tree,
    tokens: sled::Tree,
    versions: sled::Tree,
    components: sled::Tree,
    deployments: sled::Tree,
    sources: sled::Tree,
    rules: sled::Tree,
    events: sled::Tree,
    /// Event time order (uuid v7 / arrival) for retention: seq → tenant\0id.
    events_by_time: sled::Tree,
    executions: sled::Tree,
    /// Transcripts as stored (`Transcript::to_stored`), by the execution's
    /// key (tenant\0id).
    transcripts: sled::Tree,
    /// (tenant, event, rule) → execution id: one execution per pair, ever.
    execution_keys: sled::Tree,
    /// Executions not yet terminal: resumed on start.
    pending: sled::Tree,
    /// SQS messages that could not be parsed: tenant\0source\0message id.
    rejected: sled::Tree,
    /// Sealed tenant secrets: tenant\0name.
    secrets: sled::Tree,
    /// Hash-chained audit log: tenant\0sequence (zero-padded).
    audit: sled::Tree,
    /// Tenant connector configurations: tenant\0name.
    connectors: sled::Tree,
    /// Runbook kv data: tenant\0runbook\0key.
    kv: sled::Tree,
    /// Policy state per key: tenant\0rule\0key → KeyState.
    policy_keys: sled::Tree,
    /// Policy state per rule (budget): tenant\0rule → RuleState.
    policy_rules: sled::Tree,
    /// Pauses and silences: tenant → SafetySettings.
    safety: sled::Tree,
    /// Executions awaiting approval: tenant\0id.
    awaiting: sled::Tree,
    /// Notifications waiting for delivery: tenant\0id.
    outbox: sled::Tree,
    /// The last tick each schedule source fired: tenant\0source → i64 BE.
    schedule_ticks: sled::Tree,
}

/// How long [`SledStore::open`] waits for another process to let go of the
/// directory before failing.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl SledStore {
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let config = sled::Config::new()
            .path(dir.join("store"))
            // Group commit decides when to fsync; sled's own periodic flush
            // stays on as a backstop for writes nobody waits for.
            .flush_every_ms(Some(500));
        // sled's lock outlives a closed database by a moment (its flusher
        // thread lets go last), and a restarted server can race the exiting
        // one: wait a little before calling the directory taken.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match config.open() {
                Ok(db) => return Self::from_db(db, dir.display().to_string()),
                // sled reports the lock as ErrorKind::Other with this text.
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A store that lives only in memory.
    pub fn temporary() -> StoreResult<Self> {
        Self::from_db(sled::Config::new().temporary(true).open()?, "memory".into())
    }

    fn from_db(db: sled::Db, path: String) -> StoreResult<Self> {
        let t = |name: &str| db.open_tree(name);
        let trees = Trees {
            meta: t("meta")?,
            tenants: t("tenants")?,
            tokens: t("tokens")?,
            versions: t("runbook_versions")?,
            components: t("components")?,
            deployments: t("deployments")?,
            sources: t("sources")?,
            rules: t("rules")?,
            events: t("events")?,
            events_by_time: t("events_by_time")?,
            executions: t("executions")?,
            transcripts: t("transcripts")?,
            execution_keys: t("execution_keys")?,
            pending: t("pending")?,
            rejected: t("rejected_messages")?,
            secrets: t("secrets")?,
            audit: t("audit")?,
            connectors: t("connectors")?,
            // The name `wolfe run --data` used before the store held kv.
            kv: t("kv")?,
            policy_keys: t("policy_keys")?,
            policy_rules: t("policy_rules")?,
            safety: t("safety")?,
            awaiting: t("awaiting")?,
            outbox: t("outbox")?,
            schedule_ticks: t("schedule_ticks")?,
        };
        Ok(Self {
            committer: GroupCommit::start(db.clone()),
            db,
            trees,
            audit_lock: Default::default(),
            rate_windows: Default::default(),
            policy_lock: Default::default(),
            policy_locks: Default::default(),
            path,
        })
    }
}

impl Backend for SledStore {
    fn describe(&self) -> String {
        format!("sled at {}", self.path)
    }
}

/// kv keys: tenant\0runbook\0key. NUL cannot occur in tenant or runbook
/// names, so no two runbooks share a prefix.
fn kv_key(tenant: &str, runbook: &str, key: &str) -> Vec<u8> {
    keys::key(&[tenant, runbook, key])
}

#[async_trait]
impl KvStore for SledStore {
    async fn kv_get(&self, tenant: &str, runbook: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .trees
            .kv
            .get(kv_key(tenant, runbook, key))?
            .map(|v| v.to_vec()))
    }

    async fn kv_set(
        &self,
        tenant: &str,
        runbook: &str,
        key: &str,
        value: &[u8],
    ) -> StoreResult<()> {
        self.trees.kv.insert(kv_key(tenant, runbook, key), value)?;
        Ok(())
    }

    async fn kv_delete(&self, tenant: &str, runbook: &str, key: &str) -> StoreResult<()> {
        self.trees.kv.remove(kv_key(tenant, runbook, key))?;
        Ok(())
    }

    async fn kv_compare_and_swap(
        &self,
        tenant: &str,
        runbook: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> StoreResult<bool> {
        Ok(self
            .trees
            .kv
            .compare_and_swap(kv_key(tenant, runbook, key), expected, Some(new))?
            .is_ok())
    }
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    Ok(serde_json::to_vec(value)?)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    Ok(serde_json::from_slice(bytes)?)
}

fn get<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> StoreResult<Option<T>> {
    tree.get(key)?.map(|v| decode(&v)).transpose()
}

fn scan<T: DeserializeOwned>(tree: &sled::Tree, prefix: &[u8]) -> StoreResult<Vec<T>> {
    tree.scan_prefix(prefix)
        .values()
        .map(|v| decode(&v?))
        .collect()
}
