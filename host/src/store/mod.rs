//! Persistence behind the domain's own operations (`create_tenant`,
//! `put_version`, `put_event_if_absent`, `finish_execution`, …): handlers
//! and workers hold a [`Store`] and never see a backend type. Backends live
//! below: [`sled`](self::sled) (embedded, the default) and
//! [`postgres`](self::postgres) (shared by many hosts).
//!
//! Records are JSON documents on both backends, so one serde definition is
//! the format everywhere.

pub mod audit;
mod backend;
pub mod copy;
pub mod model;
pub mod postgres;
mod providers;
pub mod sled;

pub use backend::{
    AuditStore, Backend, ExecutionStore, KvStore, NotificationStore, RegistryStore, SafetyStore,
    ScheduleStore, SecretStore, TenantStore, TriggerStore,
};
pub use model::{
    AuditActor, AuditEntry, AuditRecord, AuditVerification, Claim, ConnectorRecord,
    ExecutionFilter, ExecutionPage, IngestOutcome, Ingested, Inserted, Lease, MAX_LOST_LEASES,
    NewEvent, NewExecution, Pruned, PutOutcome, RejectedMessage, Rescued, Retention, SecretRecord,
};
pub use providers::{RunbookKv, TenantConnectors};

use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed: I/O, a lost connection, a refused statement.
    #[error("storage error: {0}")]
    Backend(String),
    /// The backend cannot be reached right now (PostgreSQL is down); the
    /// same request may succeed later.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
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

/// Where the store lives, as given by `--store` / `WOLFE_STORE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// Embedded sled under the data directory (the default).
    Sled,
    /// A PostgreSQL database shared by every host: `postgres://USER@HOST:PORT/DB`.
    Postgres(String),
}

impl StoreLocation {
    /// Parses `--store`: empty or `sled` for the embedded store, else a
    /// `postgres://` or `postgresql://` URL.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("sled") => Ok(Self::Sled),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                postgres::check_url(url)?;
                Ok(Self::Postgres(url.to_string()))
            }
            Some(other) => Err(format!(
                "--store {other:?} is not a store: give sled or a postgres://USER@HOST:PORT/DB URL"
            )),
        }
    }
}

/// The open store: a handle to one backend, cheap to clone.
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>);

impl std::ops::Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl Store {
    /// Opens the store at `location`; sled keeps its files under `data_dir`.
    pub async fn open(location: &StoreLocation, data_dir: &Path) -> StoreResult<Self> {
        match location {
            StoreLocation::Sled => Self::open_sled(data_dir),
            StoreLocation::Postgres(url) => Ok(Self(
                postgres::open(url, &postgres::host_id(data_dir)?).await?,
            )),
        }
    }

    /// The embedded store in `dir`.
    pub fn open_sled(dir: &Path) -> StoreResult<Self> {
        Ok(Self(Arc::new(sled::SledStore::open(dir)?)))
    }

    /// A store that lives only in memory (tests, `wolfe run` without `--data`).
    pub fn temporary() -> StoreResult<Self> {
        Ok(Self(Arc::new(sled::SledStore::temporary()?)))
    }
}
