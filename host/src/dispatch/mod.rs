//! Dispatch: the execution queue and its workers. Executions are durable
//! (queued in the store) before they are queued here; a bounded pool runs
//! them in the sandbox and makes each result durable. On start, every
//! execution the store still holds as pending is queued again.
//!
//! Waiting (for a tenant's turn, for a worker) happens on the async runtime;
//! a short execution runs there too, a long one moves to an execution thread
//! (`threads`), and one that burns more than a few milliseconds of CPU
//! yields to interactive work (`priority`).

pub mod cancel;
mod priority;
pub mod record;
pub mod retry;
pub mod runbooks;
pub mod running;
mod threads;

use crate::capabilities::transcript::{Transcript, TranscriptSummary};
use crate::ingest::event::now_rfc3339;
use crate::sandbox::report::{ErrorKind, ExecutionStatus};
use crate::sandbox::{ExecutionRequest, Sandbox};
use crate::secrets::TenantSecrets;
use crate::secrets::vault::Vault;
use crate::store::{
    Claim, Lease, MAX_LOST_LEASES, Rescued, RunbookKv, Store, StoreError, TenantConnectors,
};
use crate::tenancy::TenantQuota;
use record::ExecutionRecord;
use runbooks::RunbookCache;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// An execution to run, by its store key.
#[derive(Debug, Clone)]
pub struct ExecutionRef {
    pub tenant: String,
    pub id: String,
    /// The record and its lease when the store leased it to this host as
    /// it was queued: the worker then runs it without claiming it first.
    pub claimed: Option<Box<(ExecutionRecord, Lease)>>,
}

impl ExecutionRef {
    /// An execution the worker must claim before running it.
    pub fn new(tenant: String, id: String) -> Self {
        Self {
            tenant,
            id,
            claimed: None,
        }
    }
}

/// The handle ingest and the API use to queue executions.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::UnboundedSender<ExecutionRef>,
    /// Executions queued or running: the backpressure gauge.
    in_flight: Arc<AtomicUsize>,
    capacity: usize,
    workers: usize,
    /// When this host last asked other hosts for help (ms since start).
    last_announce: Arc<AtomicU64>,
    started: std::time::Instant,
    /// What runs here now, to cancel.
    running: Arc<running::RunningExecutions>,
}

impl Dispatcher {
    /// Cancels an execution if it runs on this host; whether it does.
    pub fn cancel_running(&self, tenant: &str, id: &str) -> bool {
        self.running.cancel(tenant, id)
    }

    /// Whether `n` more executions fit; when not, webhooks answer 503.
    pub fn has_room_for(&self, n: usize) -> bool {
        self.in_flight.load(Ordering::Relaxed) + n <= self.capacity
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Workers with nothing to run.
    pub fn idle_workers(&self) -> usize {
        self.workers.saturating_sub(self.in_flight())
    }

    /// Whether this host has more queued than its workers can take and has
    /// not said so in the last [`ANNOUNCE_EVERY`]: then other hosts are told
    /// (on a shared store).
    pub fn wants_help(&self) -> bool {
        if self.in_flight() <= self.workers {
            return false;
        }
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_announce.load(Ordering::Relaxed);
        now.saturating_sub(last) >= ANNOUNCE_EVERY.as_millis() as u64
            && self
                .last_announce
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Queues an execution that is already durable in the store.
    pub fn enqueue(&self, execution: ExecutionRef) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(execution).is_err() {
            // Shutting down: the execution stays pending in the store and is
            // resumed at the next start.
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// How often a busy host tells the others at most.
const ANNOUNCE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// How often an idle host looks for unclaimed work when nobody announced
/// any (the fallback for lost notifications).
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How long an execution whose tenant is at its `max_concurrent` (on other
/// hosts) waits before asking again.
const BUSY_RETRY: std::time::Duration = std::time::Duration::from_millis(200);

/// Results being recorded at once at most (beyond the workers, which are
/// free again while their last result is written).
const MAX_RECORDING: usize = 1024;

/// The execution slots, and the results still being recorded.
struct Workers {
    slots: Arc<Semaphore>,
    recording: Arc<Semaphore>,
}

/// How long an execution runs before its running state is written.
const RUNNING_WRITE_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// How long an execution that could not be recorded (the store is
/// unavailable) waits before it is tried again.
const STORE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// What the workers need.
pub struct WorkerContext {
    pub store: Store,
    pub sandbox: Arc<Sandbox>,
    pub runbooks: Arc<RunbookCache>,
    /// Opens tenant secrets for the executions that declare them.
    pub vault: Arc<Vault>,
    /// Per-tenant concurrency gates, for tenants with `max_concurrent`.
    pub tenant_gates: TenantGates,
    /// Recent execution time per tenant: a heavy tenant's executions yield
    /// to the others' (see `priority`).
    pub tenant_cpu: priority::TenantCpu,
    /// Where runbooks' `events.emit` goes; set once the pipeline (which
    /// needs the dispatcher) exists.
    pub pipeline: Arc<std::sync::OnceLock<crate::pipeline::Pipeline>>,
    /// See `ServiceConfig::max_chain_depth`.
    pub max_chain_depth: u32,
}

/// One semaphore per tenant that has a `max_concurrent` quota, rebuilt when
/// the quota changes (executions already holding a turn finish under the old).
#[derive(Default)]
pub struct TenantGates {
    gates: std::sync::Mutex<HashMap<String, (u32, Arc<Semaphore>)>>,
}

impl TenantGates {
    fn gate(&self, tenant: &str, max_concurrent: Option<u32>) -> Option<Arc<Semaphore>> {
        let mut gates = self.gates.lock().expect("tenant gates poisoned");
        let Some(max) = max_concurrent else {
            gates.remove(tenant);
            return None;
        };
        let entry = gates
            .entry(tenant.to_string())
            .or_insert_with(|| (max, Arc::new(Semaphore::new(max as usize))));
        if entry.0 != max {
            *entry = (max, Arc::new(Semaphore::new(max as usize)));
        }
        Some(entry.1.clone())
    }
}

/// Starts the dispatcher and its worker pool; returns the handle and a
/// future that completes when shutdown has drained in-flight executions.
pub fn start(
    ctx: WorkerContext,
    workers: usize,
    capacity: usize,
    shutdown: CancellationToken,
) -> std::io::Result<(Dispatcher, tokio::task::JoinHandle<()>)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<ExecutionRef>();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let dispatcher = Dispatcher {
        tx,
        in_flight: in_flight.clone(),
        capacity,
        workers,
        last_announce: Arc::default(),
        started: std::time::Instant::now(),
        running: Arc::default(),
    };
    let requeue = dispatcher.clone();
    let ctx = Arc::new(ctx);
    let slots = Arc::new(Semaphore::new(workers));
    let recording = Arc::new(Semaphore::new(MAX_RECORDING));
    let threads = Arc::new(threads::ExecutionThreads::start(workers)?);
    let pool = tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break,
                next = rx.recv() => next,
            };
            let Some(execution) = next else { break };
            let (ctx, in_flight) = (ctx.clone(), in_flight.clone());
            let (slots, shutdown, threads) = (slots.clone(), shutdown.clone(), threads.clone());
            let recording = recording.clone();
            let requeue = requeue.clone();
            tokio::spawn(async move {
                let workers = Workers { slots, recording };
                // Every log line of this execution carries its ids (the
                // runbook and event once the record is read).
                let span = tracing::info_span!(
                    "execution",
                    tenant = %execution.tenant,
                    execution_id = %execution.id,
                    runbook = tracing::field::Empty,
                    event_id = tracing::field::Empty,
                );
                let retry =
                    run_when_admitted(ctx, &execution, workers, &threads, &shutdown, &requeue)
                        .instrument(span)
                        .await;
                in_flight.fetch_sub(1, Ordering::Relaxed);
                if retry && !shutdown.is_cancelled() {
                    // The store was unavailable: the execution is still
                    // pending there; try again rather than leave it for the
                    // next start — claiming it afresh.
                    tokio::time::sleep(STORE_RETRY).await;
                    requeue.enqueue(ExecutionRef::new(execution.tenant, execution.id));
                }
            });
        }
        // Drain: wait for every running execution to finish and be durable.
        let _ = slots.acquire_many(workers as u32).await;
        let _ = recording.acquire_many(MAX_RECORDING as u32).await;
    });
    Ok((dispatcher, pool))
}

/// Queues every execution the store holds as pending (after a crash or a
/// shutdown that left work queued).
pub async fn resume_pending(store: &Store, dispatcher: &Dispatcher) -> usize {
    match store.executions_to_resume().await {
        Ok(pending) => {
            let n = pending.len();
            for (tenant, id) in pending {
                dispatcher.enqueue(ExecutionRef::new(tenant, id));
            }
            n
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read pending executions");
            0
        }
    }
}

/// On a shared store: renews this host's leases (its heartbeat) and takes
/// over executions whose host stopped renewing theirs, every third of the
/// lease time, until `shutdown`. An execution lost [`MAX_LOST_LEASES`]
/// times ends `failed` with kind `lost` instead of running again.
pub async fn keep_leases(store: Store, dispatcher: Dispatcher, shutdown: CancellationToken) {
    if !store.is_shared() {
        return;
    }
    let mut heartbeat = tokio::time::interval(crate::store::postgres::LEASE_TTL / 3);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut poll = tokio::time::interval(POLL_EVERY);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = heartbeat.tick() => renew_and_rescue(&store, &dispatcher).await,
            _ = poll.tick() => take_unclaimed(&store, &dispatcher).await,
            () = store.work_announced() => take_unclaimed(&store, &dispatcher).await,
        }
    }
}

async fn renew_and_rescue(store: &Store, dispatcher: &Dispatcher) {
    if let Err(e) = store.renew_leases().await {
        tracing::warn!(error = %e, "cannot renew execution leases");
        return;
    }
    let rescued = match store.rescue_expired(RESCUE_BATCH).await {
        Ok(rescued) => rescued,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for expired leases");
            return;
        }
    };
    for execution in rescued {
        tracing::warn!(tenant = %execution.tenant, id = %execution.id, lost_leases = execution.lost_leases, "taking over an execution whose host stopped renewing its lease");
        if execution.lost_leases >= MAX_LOST_LEASES {
            if let Err(e) = fail_lost(store, &execution).await {
                tracing::error!(tenant = %execution.tenant, id = %execution.id, error = %e, "cannot record a lost execution");
            }
            continue;
        }
        dispatcher.enqueue(ExecutionRef::new(execution.tenant, execution.id));
    }
}

/// Queues unclaimed executions, as many as this host has idle workers —
/// work another host accepted and has no worker for yet, or whose host
/// died before claiming it. Queuing is not claiming: whichever host's
/// worker claims an execution first runs it, the others skip it.
async fn take_unclaimed(store: &Store, dispatcher: &Dispatcher) {
    let idle = dispatcher.idle_workers();
    if idle == 0 {
        return;
    }
    match store.unclaimed_executions(idle).await {
        Ok(found) => {
            for (tenant, id) in found {
                dispatcher.enqueue(ExecutionRef::new(tenant, id));
            }
        }
        Err(e) => tracing::debug!(error = %e, "cannot look for unclaimed executions"),
    }
}

/// Executions taken over per heartbeat at most.
const RESCUE_BATCH: usize = 100;

async fn fail_lost(store: &Store, execution: &Rescued) -> Result<(), String> {
    let Claim::Claimed(record, lease) = store
        .claim_execution(&execution.tenant, &execution.id, None)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let mut record = *record;
    record.fail_before_run(
        ErrorKind::Lost,
        format!(
            "the hosts running this execution stopped answering {} times (killed or paused past their lease); \
             it is not started again — look for a runbook that crashes or stalls its host",
            execution.lost_leases
        ),
        now_rfc3339(),
    );
    if store
        .finish_leased(&record, lease)
        .await
        .map_err(|e| e.to_string())?
    {
        crate::metrics::execution_finished(&record);
    }
    Ok(())
}

/// Waits for the tenant's turn (its `max_concurrent` quota, on every host
/// sharing the store), then for a worker, then runs the execution. A tenant
/// at its quota waits without holding a worker, so other tenants'
/// executions keep running. At shutdown a waiting execution stays pending
/// in the store for the next start. `true` when the store failed and the
/// execution should be tried again.
async fn run_when_admitted(
    ctx: Arc<WorkerContext>,
    execution: &ExecutionRef,
    workers: Workers,
    threads: &threads::ExecutionThreads,
    shutdown: &CancellationToken,
    dispatcher: &Dispatcher,
) -> bool {
    let quota = match ctx.store.get_tenant(&execution.tenant).await {
        Ok(tenant) => tenant.map(|t| t.quota).unwrap_or_default(),
        Err(e) => {
            tracing::error!(tenant = %execution.tenant, error = %e, "cannot read the tenant's quota");
            return true;
        }
    };
    loop {
        let _turn = match ctx
            .tenant_gates
            .gate(&execution.tenant, quota.max_concurrent)
        {
            Some(gate) => tokio::select! {
                _ = shutdown.cancelled() => return false,
                turn = gate.acquire_owned() => Some(turn.expect("gates are never closed")),
            },
            None => None,
        };
        let mut worker = tokio::select! {
            _ = shutdown.cancelled() => return false,
            worker = workers.slots.clone().acquire_owned() => Some(worker.expect("semaphore never closed")),
        };
        if shutdown.is_cancelled() {
            return false;
        }
        let wait = match try_run_one(
            &ctx,
            execution,
            &quota,
            threads,
            &mut worker,
            &workers.recording,
            dispatcher,
        )
        .await
        {
            Ok(Ran::Done) => return false,
            Ok(Ran::Busy) => BUSY_RETRY,
            // Re-checked at least once a minute, so a shutdown or a lost
            // lease is noticed.
            Ok(Ran::NotYet(wait)) => wait.min(std::time::Duration::from_secs(60)),
            Err(e) => {
                tracing::error!(tenant = %execution.tenant, id = %execution.id, error = %e, "execution could not be recorded; it stays pending and is tried again");
                return true;
            }
        };
        // The tenant's quota is taken on other hosts, the key's turn has not
        // come, or the retry is not due: wait without holding a turn or a
        // worker.
        drop((_turn, worker));
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// How an attempt to run an execution ended.
enum Ran {
    /// Run and recorded, or nothing to do (another host has it).
    Done,
    /// The tenant is at its `max_concurrent` on other hosts, or the key's
    /// turn has not come.
    Busy,
    /// A retry not due yet.
    NotYet(std::time::Duration),
}

async fn try_run_one(
    ctx: &WorkerContext,
    execution: &ExecutionRef,
    quota: &TenantQuota,
    threads: &threads::ExecutionThreads,
    worker: &mut Option<OwnedSemaphorePermit>,
    recording: &Arc<Semaphore>,
    dispatcher: &Dispatcher,
) -> Result<Ran, String> {
    let store = &ctx.store;
    // The lease: on a shared store another host may hold this execution.
    let (mut record, lease) = match &execution.claimed {
        Some(claimed) => (**claimed).clone(),
        None => match store
            .claim_execution(&execution.tenant, &execution.id, quota.max_concurrent)
            .await
            .map_err(|e| e.to_string())?
        {
            Claim::Claimed(record, lease) => (*record, lease),
            Claim::Gone => return Ok(Ran::Done),
            Claim::Busy => return Ok(Ran::Busy),
            Claim::NotYet(wait) => return Ok(Ran::NotYet(wait)),
        },
    };
    let span = tracing::Span::current();
    span.record("runbook", record.runbook.as_str());
    if let Some(event_id) = &record.event_id {
        span.record("event_id", event_id.as_str());
    }
    // A pause holds what was queued before it, retries and approved
    // executions included: it ends them suppressed instead of running.
    let pause = store
        .safety_settings(&record.tenant)
        .await
        .map_err(|e| e.to_string())?
        .pause_of(&record.runbook);
    if let Some(pause) = pause {
        record.suppress(pause);
        worker.take();
        if store
            .finish_leased(&record, lease)
            .await
            .map_err(|e| e.to_string())?
        {
            crate::metrics::execution_finished(&record);
        }
        crate::safety::metrics::count(&record.tenant, crate::safety::suppression::Reason::Paused);
        return Ok(Ran::Done);
    }
    record.status = ExecutionStatus::Running;
    record.attempt += 1;
    record.started_at = Some(now_rfc3339());

    // The running state is written only for an execution still running
    // after RUNNING_WRITE_DELAY: most finish sooner, and their one write is
    // the result (a crash before it re-runs them either way).
    let running = record.clone();
    let mark_running = async {
        tokio::time::sleep(RUNNING_WRITE_DELAY).await;
        match store.update_leased(&running, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(tenant = %running.tenant, id = %running.id, "another host took this execution over while it runs here; its completion will be refused")
            }
            Err(e) => {
                tracing::warn!(tenant = %running.tenant, id = %running.id, error = %e, "cannot record that the execution is running")
            }
        }
        std::future::pending::<()>().await
    };
    let registered = dispatcher.running.register(&record.tenant, &record.id);
    let run = prepare_and_run(ctx, &mut record, quota, threads, registered.token.clone());
    let ran = tokio::select! {
        ran = run => ran,
        () = mark_running => unreachable!("mark_running never completes"),
    };
    if let Err((kind, message)) = ran {
        record.fail_before_run(kind, message, now_rfc3339());
    }
    // The worker is free once the sandbox is; recording the result (a
    // database round trip on a shared store) is tracked on its own, so
    // shutdown still waits for it.
    let _recording = recording
        .clone()
        .acquire_owned()
        .await
        .expect("semaphore never closed");
    worker.take();
    // The retry is made durable before the failure it follows: a crash in
    // between re-runs this execution, whose next failure finds the retry
    // there ((event, rule, retry) is unique) instead of doubling it.
    // The record as stored: after a crash the store may hand back the id
    // of the retry it had claimed already.
    let mut successor = retry::successor(&mut record);
    if let Some(next) = successor.as_mut() {
        store
            .create_execution(next, None)
            .await
            .map_err(|e| e.to_string())?;
    }
    // So are its notifications (delivery checks the end still holds).
    crate::notify::enqueue_for(store, &record)
        .await
        .map_err(|e| e.to_string())?;
    let writing = std::time::Instant::now();
    let finished = store
        .finish_leased(&record, lease)
        .await
        .map_err(|e| e.to_string())?;
    crate::metrics::store_write("finish", writing.elapsed());
    if !finished {
        tracing::warn!(tenant = %record.tenant, id = %record.id, status = record.status.as_str(), "late completion refused: this host lost the execution's lease, another host ran it");
        return Ok(Ran::Done);
    }
    // No need to hold a worker until the result is on disk: until it is, the
    // execution is still pending there, and a crash re-runs it.
    store.commit_soon();
    crate::metrics::execution_finished(&record);
    tracing::info!(tenant = %record.tenant, id = %record.id, runbook = %record.runbook, status = record.status.as_str(), "execution finished");
    if let Some(next) = successor {
        tracing::info!(tenant = %next.tenant, id = %next.id, retry_of = %record.id, retry = next.retry, not_before = ?next.not_before, "retry scheduled");
        dispatcher.enqueue(ExecutionRef::new(next.tenant, next.id));
    }
    Ok(Ran::Done)
}

async fn prepare_and_run(
    ctx: &WorkerContext,
    record: &mut ExecutionRecord,
    quota: &TenantQuota,
    threads: &threads::ExecutionThreads,
    cancel: CancellationToken,
) -> Result<(), (ErrorKind, String)> {
    let version = record.version.clone().ok_or_else(|| {
        (
            ErrorKind::RunbookUnavailable,
            format!(
                "no version of {} is deployed to {}",
                record.runbook, record.environment
            ),
        )
    })?;
    let mut runbook = ctx
        .runbooks
        .get(&record.tenant, &record.runbook, &version)
        .await
        .map_err(|e| (ErrorKind::RunbookUnavailable, e))?;
    // The tenant's quota lowers what the manifest and the host allow.
    quota.clamp(&mut runbook.limits);
    let heavy = ctx.tenant_cpu.is_heavy(&record.tenant);
    let sandbox = ctx.sandbox.clone();
    let long_running = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut watch = priority::Demoter::new(long_running.clone());
    let request = ExecutionRequest {
        input: record.input.clone(),
        secrets: Arc::new(TenantSecrets::new(
            ctx.store.clone(),
            ctx.vault.clone(),
            &record.tenant,
        )),
        connectors: Arc::new(TenantConnectors::new(ctx.store.clone(), &record.tenant)),
        kv: Some(Arc::new(RunbookKv::new(
            ctx.store.clone(),
            &record.tenant,
            &record.runbook,
        ))),
        dry_run: record.dry_run,
        on_tick: Some(Box::new(move || watch.tick())),
        cancel: Some(cancel),
        transcript: match quota.record_transcripts {
            Some(false) => crate::sandbox::Transcribe::Off,
            _ => crate::sandbox::Transcribe::Record,
        },
        events: ctx.pipeline.get().map(|pipeline| {
            Arc::new(crate::ingest::emitted::EmittedEvents {
                pipeline: pipeline.clone(),
                tenant: record.tenant.clone(),
                runbook: record.runbook.clone(),
                execution: record.id.clone(),
                chain: record.chain,
                max_depth: ctx.max_chain_depth,
            }) as Arc<dyn crate::capabilities::events::EventSink>
        }),
    };
    let started = std::time::Instant::now();
    let run: threads::Work<_> = Box::pin(async move { sandbox.execute(&runbook, request).await });
    let report = threads
        .run(tokio::runtime::Handle::current(), heavy, long_running, run)
        .await
        .ok_or_else(|| {
            (
                ErrorKind::Trap,
                "the execution thread failed before the runbook finished".to_string(),
            )
        })?;
    ctx.tenant_cpu.charge(&record.tenant, started.elapsed());
    let mut report = report;
    if let Some(transcript) = report.transcript.take() {
        record.transcript = keep_transcript(&ctx.store, record, &transcript).await;
    }
    record.apply_report(report, now_rfc3339());
    Ok(())
}

/// Stores an execution's transcript beside its record. A transcript that
/// cannot be stored costs the execution its replay, never its result.
async fn keep_transcript(
    store: &Store,
    record: &ExecutionRecord,
    transcript: &Transcript,
) -> Option<TranscriptSummary> {
    let stored = match transcript.to_stored() {
        Ok(bytes) => store
            .put_transcript(&record.tenant, &record.id, &bytes)
            .await
            .map(|()| bytes.len()),
        Err(e) => Err(StoreError::Backend(format!(
            "writing out the transcript: {e}"
        ))),
    };
    match stored {
        Ok(len) => Some(transcript.summary(len)),
        Err(e) => {
            tracing::warn!(tenant = %record.tenant, id = %record.id, error = %e, "the transcript was not stored; the execution cannot be replayed");
            None
        }
    }
}
