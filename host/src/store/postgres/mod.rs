//! The PostgreSQL backend: one database shared by every host. Records are
//! JSON documents (the same serde definitions as on sled) beside the columns
//! that queries filter, order or enforce uniqueness on. Each operation is
//! one transaction, durable when it returns; a pool of connections serves
//! the host's tasks.
//!
//! Connection failures become [`StoreError::Unavailable`] (the API answers
//! 503 and nothing is acknowledged); the pool reconnects by itself.

mod audit;
mod cache;
mod copy;
mod executions;
mod notify;
mod outbox;
mod registry;
mod safety;
mod schedules;
mod schema;
mod secrets;
mod tenants;
mod triggers;

use super::{Backend, KvStore, StoreError, StoreResult};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{NoTls, Row};

/// Connections each host keeps at most: every worker, webhook and API call
/// needs one only for the length of one operation.
const POOL_SIZE: usize = 16;

/// Connections for executions' progress (claims, state, completion,
/// heartbeats), which commit without waiting for the fsync.
const PROGRESS_POOL_SIZE: usize = 8;

/// How long an operation waits for a connection (or to make one) before the
/// store counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            // The server is going away or not there yet (shutting down,
            // restarting, out of connections): retry later, nothing failed.
            Some(db) if is_unavailable(db.code()) => {
                StoreError::Unavailable(format!("postgres: {}", db.message()))
            }
            Some(db) => StoreError::Backend(format!("postgres: {}", db.message())),
            // No answer from the server: a closed connection, an I/O error.
            None => StoreError::Unavailable(format!("postgres: {e}")),
        }
    }
}

/// SQLSTATEs that mean "the server cannot serve now" rather than "this
/// operation is wrong": connection exceptions (class 08), shutdown and
/// start-up (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now), too many connections (53300).
fn is_unavailable(code: &tokio_postgres::error::SqlState) -> bool {
    use tokio_postgres::error::SqlState;
    code.code().starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Unavailable(format!("postgres: {other}")),
        }
    }
}

/// How long a host's leases last without a heartbeat: a dead host's
/// executions are taken over by another after this long. The heartbeat
/// renews every third of it.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// The store on PostgreSQL.
pub struct PostgresStore {
    pool: Pool,
    /// Sessions with `synchronous_commit = off`, for writes a crash may
    /// lose without losing anything acknowledged (see `save_execution`).
    progress: Pool,
    caches: cache::ReadCaches,
    /// Woken when another host announces queued work.
    work: Arc<tokio::sync::Notify>,
    /// Cancels other hosts announced, for this host's dispatcher.
    cancels: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<(String, String)>>,
    /// `HOST:PORT/DB`, for messages (never the password).
    target: String,
    /// This host's name in leases (see [`host_id`]).
    host_id: String,
}

/// Connects, applies the schema migrations this build knows (under an
/// advisory lock, so hosts starting together do not race) and refuses a
/// database whose schema is newer than this build.
pub async fn open(url: &str, host_id: &str) -> StoreResult<Arc<dyn Backend>> {
    Ok(Arc::new(PostgresStore::connect(url, host_id).await?))
}

/// This host's name in leases, kept in `DATA_DIR/host-id`: a host restarted
/// on the same data directory is the same host, and takes back the
/// executions it held at once instead of waiting for their leases to expire.
pub fn host_id(data_dir: &std::path::Path) -> StoreResult<String> {
    let path = data_dir.join("host-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let id = format!("host-{}", uuid::Uuid::now_v7().simple());
            std::fs::create_dir_all(data_dir)
                .and_then(|()| std::fs::write(&path, &id))
                .map_err(|e| {
                    StoreError::Backend(format!("cannot write {}: {e}", path.display()))
                })?;
            Ok(id)
        }
    }
}

/// Checks a `postgres://` URL's shape before connecting: it must parse and
/// name a host and a database.
pub fn check_url(url: &str) -> Result<(), String> {
    parse_url(url).map(|_| ())
}

fn parse_url(url: &str) -> Result<tokio_postgres::Config, String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("--store {}: not a PostgreSQL URL: {e}", redact_url(url)))?;
    if config.get_hosts().is_empty() {
        return Err(format!(
            "--store {}: the URL names no host",
            redact_url(url)
        ));
    }
    if config.get_dbname().is_none() {
        return Err(format!(
            "--store {}: the URL names no database (postgres://USER@HOST:PORT/DB)",
            redact_url(url)
        ));
    }
    Ok(config)
}

/// The URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn describe_target(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "?".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or("?"))
}

impl PostgresStore {
    pub async fn connect(url: &str, host_id: &str) -> StoreResult<Self> {
        let mut config = parse_url(url).map_err(StoreError::Backend)?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("wolfe");
        let target = describe_target(&config);
        let mut progress_config = config.clone();
        progress_config.options("-c synchronous_commit=off");
        let work = Arc::new(tokio::sync::Notify::new());
        let (cancel_tx, cancel_rx) = tokio::sync::mpsc::unbounded_channel();
        let store = Self {
            pool: pool(config.clone(), POOL_SIZE)?,
            progress: pool(progress_config, PROGRESS_POOL_SIZE)?,
            caches: cache::ReadCaches::new(),
            work: work.clone(),
            cancels: tokio::sync::Mutex::new(cancel_rx),
            target,
            host_id: host_id.to_string(),
        };
        let mut client = store.pool.get().await.map_err(|e| {
            StoreError::Unavailable(format!("cannot connect to {}: {e}", store.target))
        })?;
        schema::migrate(&mut client).await?;
        store.heartbeat(&client).await?;
        notify::listen(config, store.host_id.clone(), work, cancel_tx);
        Ok(store)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// A connection whose commits do not wait for the fsync.
    async fn progress_client(&self) -> StoreResult<deadpool_postgres::Object> {
        Ok(self.progress.get().await?)
    }

    /// Extends this host's leases — every execution it holds — by
    /// [`LEASE_TTL`] from now.
    async fn heartbeat(&self, client: &deadpool_postgres::Object) -> StoreResult<()> {
        let stmt = client
            .prepare_cached(
                "INSERT INTO hosts (id, expires) VALUES ($1, now() + make_interval(secs => $2))
                 ON CONFLICT (id) DO UPDATE SET expires = EXCLUDED.expires",
            )
            .await?;
        client
            .execute(&stmt, &[&self.host_id, &LEASE_TTL.as_secs_f64()])
            .await?;
        Ok(())
    }
}

fn pool(config: tokio_postgres::Config, size: usize) -> StoreResult<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))
}

impl Backend for PostgresStore {
    fn describe(&self) -> String {
        format!("postgres at {}", self.target)
    }
}

/// A record as its JSON document.
fn to_doc<T: Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

/// Column `index` of `row`, a JSON document, as a record.
fn from_doc<T: DeserializeOwned>(row: &Row, index: usize) -> StoreResult<T> {
    let text: &str = row.try_get(index)?;
    Ok(serde_json::from_str(text)?)
}

fn docs<T: DeserializeOwned>(rows: &[Row]) -> StoreResult<Vec<T>> {
    rows.iter().map(|r| from_doc(r, 0)).collect()
}

#[async_trait]
impl KvStore for PostgresStore {
    async fn kv_get(&self, tenant: &str, runbook: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT value FROM kv WHERE tenant = $1 AND runbook = $2 AND key = $3")
            .await?;
        let row = c.query_opt(&stmt, &[&tenant, &runbook, &key]).await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn kv_set(
        &self,
        tenant: &str,
        runbook: &str,
        key: &str,
        value: &[u8],
    ) -> StoreResult<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO kv (tenant, runbook, key, value) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant, runbook, key) DO UPDATE SET value = EXCLUDED.value",
            )
            .await?;
        c.execute(&stmt, &[&tenant, &runbook, &key, &value]).await?;
        Ok(())
    }

    async fn kv_delete(&self, tenant: &str, runbook: &str, key: &str) -> StoreResult<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("DELETE FROM kv WHERE tenant = $1 AND runbook = $2 AND key = $3")
            .await?;
        c.execute(&stmt, &[&tenant, &runbook, &key]).await?;
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
        let c = self.client().await?;
        // One statement either way, so the check and the write are atomic
        // against every other host's.
        let changed = match expected {
            None => {
                let stmt = c
                    .prepare_cached(
                        "INSERT INTO kv (tenant, runbook, key, value) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (tenant, runbook, key) DO NOTHING",
                    )
                    .await?;
                c.execute(&stmt, &[&tenant, &runbook, &key, &new]).await?
            }
            Some(expected) => {
                let stmt = c
                    .prepare_cached(
                        "UPDATE kv SET value = $4
                         WHERE tenant = $1 AND runbook = $2 AND key = $3 AND value = $5",
                    )
                    .await?;
                c.execute(&stmt, &[&tenant, &runbook, &key, &new, &expected])
                    .await?
            }
        };
        Ok(changed == 1)
    }
}
