//! The data of one execution's `Store`: the locked-down WASI context, the
//! memory limiter, and the per-execution state of every capability. Created
//! fresh for each execution and dropped with its store.

use crate::capabilities::Grants;
use crate::capabilities::connectors::ConnectorProvider;
use crate::capabilities::events::EventSink;
use crate::capabilities::http::fetch::FetchHooks;
use crate::capabilities::http::{HttpContext, Outbound};
use crate::capabilities::kv::{KvOverlay, KvProvider};
use crate::capabilities::log::SharedLog;
use crate::capabilities::secrets::SecretsProvider;
use crate::capabilities::trail::SharedTrail;
use crate::sandbox::memory::MemoryLimiter;
use crate::sandbox::output::GuestOutput;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct ExecutionState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: SharedLog,
    pub(crate) trail: SharedTrail,
    pub(crate) grants: Arc<Grants>,
    /// Outbound requests from the `http` interface.
    pub(crate) http: HttpContext,
    /// `wasi:http` (a JS runbook's `fetch()`): the same [`HttpContext`],
    /// reached through the hook every outgoing request passes.
    wasi_http: WasiHttpCtx,
    fetch_hooks: FetchHooks,
    pub(crate) secrets: Arc<dyn SecretsProvider>,
    pub(crate) connectors: Arc<dyn ConnectorProvider>,
    /// Values handed to the guest, to be redacted from what is recorded.
    pub(crate) revealed_secrets: Vec<String>,
    pub(crate) kv: Option<Arc<dyn KvProvider>>,
    /// kv writes and value bytes so far, against the per-execution caps.
    pub(crate) kv_writes: usize,
    pub(crate) kv_written_bytes: usize,
    /// Where `events.emit` goes; `None` outside the service.
    pub(crate) events: Option<Arc<dyn EventSink>>,
    /// Events emitted so far (each one's place in the execution).
    pub(crate) emitted: u32,
}

/// What an execution needs from outside the sandbox.
pub struct StateParts {
    pub grants: Arc<Grants>,
    pub memory_limit: usize,
    pub log: SharedLog,
    pub outbound: Outbound,
    pub secrets: Arc<dyn SecretsProvider>,
    pub connectors: Arc<dyn ConnectorProvider>,
    pub kv: Option<Arc<dyn KvProvider>>,
    pub events: Option<Arc<dyn EventSink>>,
    pub deadline: Instant,
    /// Only reads go out: writes are withheld (http, connectors) or kept in
    /// memory for this execution (kv).
    pub dry_run: bool,
}

impl ExecutionState {
    pub fn new(parts: StateParts) -> Self {
        // WASI as the design specifies: clocks and random only. No preopened
        // directories, no environment, no arguments, stdin closed; sockets
        // are denied explicitly rather than by relying on defaults.
        let wasi = WasiCtx::builder()
            .stdout(GuestOutput::stdout(parts.log.clone()))
            .stderr(GuestOutput::stderr(parts.log.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let trail = SharedTrail::default();
        let http = HttpContext::new(
            parts.grants.clone(),
            &parts.outbound,
            trail.clone(),
            parts.deadline,
            parts.dry_run,
        );
        // Dropped with this state: a dry run's kv writes end with it.
        let kv = match (parts.kv, parts.dry_run) {
            (Some(store), true) => Some(Arc::new(KvOverlay::over(store)) as Arc<dyn KvProvider>),
            (kv, _) => kv,
        };
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(parts.memory_limit),
            log: parts.log,
            trail,
            grants: parts.grants,
            fetch_hooks: FetchHooks::new(http.clone()),
            http,
            wasi_http: WasiHttpCtx::new(),
            secrets: parts.secrets,
            connectors: parts.connectors,
            revealed_secrets: Vec::new(),
            kv,
            kv_writes: 0,
            kv_written_bytes: 0,
            events: parts.events,
            emitted: 0,
        }
    }
}

impl WasiView for ExecutionState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for ExecutionState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.wasi_http,
            table: &mut self.table,
            hooks: &mut self.fetch_hooks,
        }
    }
}
