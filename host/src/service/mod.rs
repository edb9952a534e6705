//! `wolfe serve`: opens the store, starts the sandbox, the dispatcher and its
//! workers, resumes pending executions, starts SQS and schedule sources,
//! prunes by retention, and serves the API until `shutdown` fires — then
//! drains in-flight executions.

pub mod config;
mod http_server;

use crate::api::{ApiLimits, AppParts, AppState, router};
use crate::dispatch::runbooks::RunbookCache;
use crate::dispatch::{self, WorkerContext};
use crate::ingest::schedule::ScheduleSupervisor;
use crate::ingest::sqs::SqsSupervisor;
use crate::ingest::sqs::metrics::SqsMetricFamilies;
use crate::pipeline::Pipeline;
use crate::rules::cache::RuleCache;
use crate::sandbox::{Compiler, Sandbox, SandboxConfig};
use crate::store::{Store, StoreLocation};
use crate::tenancy::{generate_token, token_hash};
use anyhow::Context;
use config::ServiceConfig;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Facts about a started service, printed as one JSON line on stdout.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    pub listening: String,
    pub data_dir: String,
    pub workers: usize,
    pub resumed_executions: usize,
    pub sqs_sources: usize,
    pub schedule_sources: usize,
}

/// Runs the service on `listener` until `shutdown` is cancelled.
/// `on_started` is called once the API is about to accept requests.
pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
    on_started: impl FnOnce(&Started),
) -> anyhow::Result<()> {
    let deepest = crate::ingest::emitted::MAX_CHAIN_DEPTH;
    if !(1..=deepest).contains(&config.max_chain_depth) {
        anyhow::bail!(
            "max_chain_depth: must be between 1 and {deepest}, not {}",
            config.max_chain_depth
        );
    }
    for (key, secs) in [
        ("header_read_timeout_secs", config.header_read_timeout_secs),
        ("body_read_timeout_secs", config.body_read_timeout_secs),
        ("build.timeout_secs", config.build.timeout_secs),
    ] {
        if secs == 0 {
            anyhow::bail!("{key}: must be at least 1 second, not 0");
        }
    }
    if config.build.memory_mb < 64 {
        anyhow::bail!(
            "build.memory_mb: must be at least 64 (a Python build needs about 512), not {}",
            config.build.memory_mb
        );
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let builds = Arc::new(build_service(&config)?);
    let location = StoreLocation::parse(config.store.as_deref()).map_err(anyhow::Error::msg)?;
    let store = Store::open(&location, &config.data_dir)
        .await
        .with_context(|| match &location {
            StoreLocation::Sled => {
                format!("failed to open the store in {}", config.data_dir.display())
            }
            StoreLocation::Postgres(_) => "failed to open the PostgreSQL store".to_string(),
        })?;
    tracing::info!(store = %store.describe(), "store open");
    ensure_admin_token(&store).await?;

    let sandbox = Arc::new(Sandbox::new(SandboxConfig {
        cache_dir: Some(config.data_dir.join("components")),
        host_limits: config.limits,
        pooling: config.pooling,
        compile_in: match std::env::current_exe() {
            Ok(exe) if config.compile_in_subprocess => Compiler::Subprocess {
                exe,
                pooling: config.pooling,
            },
            _ => Compiler::InProcess,
        },
        outbound_allow_cidrs: config.outbound_allow_cidrs.clone(),
    })?);
    let vault = Arc::new(crate::secrets::load_vault(&config.secrets_key_path())?);
    let workers = config.worker_count();
    let stop_workers = CancellationToken::new();
    let emit_into: Arc<std::sync::OnceLock<Pipeline>> = Arc::default();
    let (dispatcher, pool) = dispatch::start(
        WorkerContext {
            store: store.clone(),
            sandbox: sandbox.clone(),
            runbooks: Arc::new(RunbookCache::new(sandbox.clone(), store.clone())),
            vault: vault.clone(),
            tenant_gates: Default::default(),
            tenant_cpu: Default::default(),
            pipeline: emit_into.clone(),
            max_chain_depth: config.max_chain_depth,
        },
        workers,
        config.queue_capacity,
        stop_workers.clone(),
    )
    .context("failed to start the execution threads")?;
    let resumed = dispatch::resume_pending(&store, &dispatcher).await;
    let cancels = tokio::spawn(dispatch::cancel::follow_cancels(
        store.clone(),
        dispatcher.clone(),
        shutdown.clone(),
    ));
    let leases = tokio::spawn(dispatch::keep_leases(
        store.clone(),
        dispatcher.clone(),
        shutdown.clone(),
    ));
    let pipeline = Pipeline::new(
        store.clone(),
        Arc::new(RuleCache::new(store.clone())),
        dispatcher,
    );
    let _ = emit_into.set(pipeline.clone());
    let mut registry = Registry::default();
    let sqs_families = SqsMetricFamilies::default();
    sqs_families.register(&mut registry);
    crate::safety::metrics::register(&mut registry);
    crate::metrics::register(&mut registry);
    let sqs = Arc::new(SqsSupervisor::new(
        pipeline.clone(),
        store.clone(),
        sqs_families,
    ));
    let sqs_sources = sqs.start_all().await?;
    let deliverer = crate::notify::deliver::Deliverer {
        store: store.clone(),
        vault: vault.clone(),
        outbound: sandbox.outbound().clone(),
        public_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| match listener.local_addr() {
                Ok(addr) => format!("http://{addr}"),
                Err(_) => format!("http://{}", config.listen),
            }),
    };
    let notifications = tokio::spawn(deliverer.run(shutdown.clone()));
    let approvals = tokio::spawn(crate::safety::approvals::sweep(
        pipeline.clone(),
        shutdown.clone(),
    ));
    let follow_sources = tokio::spawn(sqs.clone().follow_store(shutdown.clone()));
    let schedules = Arc::new(ScheduleSupervisor::new(pipeline.clone(), store.clone()));
    let schedule_sources = schedules.reconcile().await?;
    let follow_schedules = tokio::spawn({
        let schedules = schedules.clone();
        let shutdown = shutdown.clone();
        async move { schedules.follow_store(shutdown).await }
    });
    let state = AppState::new(AppParts {
        store: store.clone(),
        sandbox,
        pipeline,
        sqs: sqs.clone(),
        metrics: Arc::new(registry),
        limits: ApiLimits {
            max_body_bytes: config.max_body_bytes,
            max_component_bytes: config.max_component_bytes,
            body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
            // JSON escapes may double a text; the files' own limit is
            // checked after reading.
            max_source_body_bytes: config
                .build
                .max_source_bytes
                .saturating_mul(2)
                .saturating_add(64 * 1024)
                .max(config.max_body_bytes),
        },
        vault,
        builds,
    });
    let retention = tokio::spawn(prune_periodically(
        store.clone(),
        config.retention.clone(),
        shutdown.clone(),
    ));

    on_started(&Started {
        listening: listener.local_addr()?.to_string(),
        data_dir: config.data_dir.display().to_string(),
        workers,
        resumed_executions: resumed,
        sqs_sources,
        schedule_sources,
    });
    http_server::serve(
        listener,
        router(state),
        Duration::from_secs(config.header_read_timeout_secs),
        shutdown.clone(),
    )
    .await;

    // No new events: stop SQS receives (deletes in flight finish) and
    // schedules (a tick being fired finishes), then let running executions
    // finish and be recorded; queued ones stay pending in the store and
    // resume at the next start.
    let _ = follow_schedules.await;
    schedules.shutdown().await;
    sqs.shutdown().await;
    stop_workers.cancel();
    let _ = pool.await;
    retention.abort();
    approvals.abort();
    notifications.abort();
    cancels.abort();
    leases.abort();
    follow_sources.abort();
    store
        .flush()
        .await
        .context("failed to flush the store at shutdown")?;
    Ok(())
}

/// Builds from source, under `DATA_DIR/build`.
fn build_service(config: &ServiceConfig) -> anyhow::Result<crate::build::server::BuildService> {
    use crate::build::server::{BuildService, BuildSettings};
    let settings = BuildSettings {
        timeout: Duration::from_secs(config.build.timeout_secs),
        data_limit: config.build.memory_mb.saturating_mul(1024 * 1024),
        source: crate::build::source::SourceLimits {
            max_files: config.build.max_files,
            max_bytes: config.build.max_source_bytes,
        },
        rust_sdk: config
            .build
            .rust_sdk
            .clone()
            .unwrap_or_else(crate::build::template::default_rust_sdk),
    };
    // The secrets key is hidden from builds wherever it lives (in the data
    // directory everything but the build folder is).
    BuildService::new(settings, &config.data_dir, vec![config.secrets_key_path()])
        .with_context(|| format!("cannot create {}", config.data_dir.join("build").display()))
}

/// The server admin token: `WOLFE_ADMIN_TOKEN` when set (its hash replaces
/// the stored one), else generated at first start and printed once.
async fn ensure_admin_token(store: &Store) -> anyhow::Result<()> {
    if let Ok(token) = std::env::var("WOLFE_ADMIN_TOKEN")
        && !token.trim().is_empty()
    {
        store
            .set_admin_token_hash(&token_hash(token.trim()))
            .await?;
        store.flush().await?;
        return Ok(());
    }
    if store.admin_token_hash().await?.is_none() {
        let token = generate_token();
        store.set_admin_token_hash(&token_hash(&token)).await?;
        store.flush().await?;
        eprintln!("wolfe: generated the server admin token (shown only now): {token}");
    }
    Ok(())
}

async fn prune_periodically(
    store: Store,
    config: config::RetentionConfig,
    shutdown: CancellationToken,
) {
    let policy = config.policy();
    let mut tick = tokio::time::interval(Duration::from_secs(config.interval_secs.max(1)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match store.prune(&policy).await {
            Ok(pruned) if pruned.events + pruned.executions > 0 => {
                tracing::info!(
                    events = pruned.events,
                    executions = pruned.executions,
                    "retention pruned old records"
                );
            }
            Err(e) => tracing::error!(error = %e, "retention pass failed"),
            _ => {}
        }
    }
}
