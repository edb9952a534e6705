//! Persistence on sled, behind the domain's own operations (`create_tenant`,
//! `put_version`, `ingest_event`, `finish_execution`, …): handlers and
//! workers never touch sled directly, so a second backend can follow.
//!
//! Records are JSON. Writes land in sled's memory first; callers that must
//! not acknowledge before durability await [`Store::commit`] (group commit).

mod audit;
mod commit;
mod connectors;
mod executions;
mod keys;
mod registry;
mod secrets;

pub use audit::{AuditActor, AuditEntry, AuditRecord, AuditVerification};
pub use connectors::{ConnectorRecord, TenantConnectors};
pub use executions::{ExecutionFilter, ExecutionPage, IngestOutcome, Pruned, Retention};
pub use registry::{PutOutcome, RejectedMessage};
pub use secrets::SecretRecord;

use commit::GroupCommit;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record: {0}")]
    Codec(#[from] serde_json::Error),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("durable write failed: {0}")]
    Commit(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The open store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    trees: Trees,
    committer: GroupCommit,
    /// Serialises audit appends: each entry needs its predecessor's hash.
    audit_lock: std::sync::Arc<std::sync::Mutex<()>>,
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
}

/// How long [`Store::open`] waits for another process to let go of the
/// directory before failing.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Store {
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
                Ok(db) => return Self::from_db(db),
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

    /// A store that lives only in memory (tests of logic above the store).
    pub fn temporary() -> StoreResult<Self> {
        Self::from_db(sled::Config::new().temporary(true).open()?)
    }

    fn from_db(db: sled::Db) -> StoreResult<Self> {
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
            execution_keys: t("execution_keys")?,
            pending: t("pending")?,
            rejected: t("rejected_messages")?,
            secrets: t("secrets")?,
            audit: t("audit")?,
            connectors: t("connectors")?,
        };
        Ok(Self {
            committer: GroupCommit::start(db.clone()),
            db,
            trees,
            audit_lock: Default::default(),
        })
    }

    /// The sled database, for the capabilities that keep their own trees (kv).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Waits until every write made before the call is durable.
    pub async fn commit(&self) -> StoreResult<()> {
        self.committer.commit().await.map_err(StoreError::Commit)
    }

    /// Makes everything written so far durable soon, without waiting: for
    /// writes that are safe to lose in a crash (they are redone after it).
    pub fn commit_soon(&self) {
        self.committer.request();
    }

    /// Flushes synchronously (shutdown).
    pub fn flush(&self) -> StoreResult<()> {
        self.db.flush()?;
        Ok(())
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
