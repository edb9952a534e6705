//! The sandbox: one wasmtime engine per host, one fresh store per execution,
//! hard memory, fuel and wall-clock limits, and precise reports of how each
//! execution ended.
//!
//! Lifecycle of a runbook version: [`Sandbox::load_component`] compiles (or
//! loads precompiled) and links it once; [`Sandbox::prepare`] adds the grants
//! and limits computed from its manifest; [`Sandbox::execute`] runs it as many
//! times as needed, each run isolated in its own store.

pub mod cache;
pub mod engine;
mod execute;
pub mod imports;
pub mod limits;
mod memory;
mod output;
mod redact;
pub mod replay;
pub mod report;
pub mod state;
mod tape_clocks;

use crate::capabilities::Grants;
use crate::capabilities::connectors::ConnectorProvider;
use crate::capabilities::http::{AddressPolicy, Outbound};
use crate::capabilities::kv::KvProvider;
use crate::capabilities::secrets::SecretsProvider;
use crate::manifest::{Manifest, ManifestError};
use crate::wit::RunbookPre;
pub use cache::Compiler;
use cache::{CacheOutcome, ComponentCache, LoadError};
use limits::{ExecutionLimits, HostLimits};
use report::ExecutionReport;
use state::ExecutionState;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::Engine;
use wasmtime::component::Linker;

pub use memory::MemoryLimitExceeded;

/// How a host sets up its sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Directory for precompiled components; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Ceilings applied to every manifest's limits.
    pub host_limits: HostLimits,
    /// Use the pooling instance allocator (default true): faster
    /// instantiation, memory reserved up front.
    pub pooling: bool,
    /// Compile in this process (default) or in a short-lived child.
    pub compile_in: Compiler,
    /// Special-purpose address ranges (loopback, private, link-local,
    /// metadata, ...) that outbound requests may reach anyway. Default none:
    /// a URL grant alone never opens the host's own network.
    pub outbound_allow_cidrs: Vec<ipnet::IpNet>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            host_limits: HostLimits::default(),
            pooling: true,
            compile_in: Compiler::InProcess,
            outbound_allow_cidrs: Vec::new(),
        }
    }
}

/// A compiled and linked component, shared by every execution of it.
pub struct LoadedComponent {
    pub sha256: String,
    /// Whether this load hit the precompiled cache.
    pub cache: CacheOutcome,
    /// Every interface the component imports, sorted.
    pub imports: Vec<String>,
    pub(crate) pre: RunbookPre<ExecutionState>,
}

/// A runbook version ready to run: component, grants and clamped limits.
#[derive(Clone)]
pub struct PreparedRunbook {
    pub name: String,
    pub version: String,
    pub component: Arc<LoadedComponent>,
    pub grants: Arc<Grants>,
    pub limits: ExecutionLimits,
}

/// What varies per execution.
pub struct ExecutionRequest {
    /// The runbook's input (the `event` argument of `run`, as JSON).
    pub input: serde_json::Value,
    pub secrets: Arc<dyn SecretsProvider>,
    /// The tenant's connector configurations.
    pub connectors: Arc<dyn ConnectorProvider>,
    /// This runbook's kv namespace; `None` when the host has no store.
    pub kv: Option<Arc<dyn KvProvider>>,
    /// Where `events.emit` puts events; `None` outside the service.
    pub events: Option<Arc<dyn crate::capabilities::events::EventSink>>,
    /// A dry run: the runbook runs, but only reads go out (GET, HEAD and
    /// OPTIONS requests, kv reads). Other requests and connector calls get a
    /// synthetic success; kv writes stay in memory for this execution.
    pub dry_run: bool,
    /// Called on every epoch tick while the guest runs, on the thread that
    /// runs it (the service uses it to lower a long execution's priority).
    pub on_tick: Option<EpochTickHook>,
    /// Cancelled by an operator: the guest stops at its next epoch tick (a
    /// host call it is parked in, an outbound request included, is
    /// dropped), and the execution ends `cancelled`.
    pub cancel: Option<tokio_util::sync::CancellationToken>,
    /// Record the execution's transcript, or answer every host call from
    /// one (a replay: nothing leaves the machine).
    pub transcript: Transcribe,
}

impl ExecutionRequest {
    /// A replay of `transcript`: every host call is answered from it, so no
    /// secret, connector, kv store or event sink is given.
    pub fn replaying(
        input: serde_json::Value,
        dry_run: bool,
        transcript: Arc<crate::capabilities::transcript::Transcript>,
    ) -> Self {
        Self {
            input,
            secrets: Arc::new(crate::capabilities::secrets::StaticSecrets::default()),
            connectors: Arc::new(crate::capabilities::connectors::StaticConnectors::default()),
            kv: None,
            events: None,
            dry_run,
            on_tick: None,
            cancel: None,
            transcript: Transcribe::Replay(transcript),
        }
    }
}

/// Whether an execution's host calls are recorded, or answered from a
/// transcript (`capabilities::transcript`).
#[derive(Clone, Default)]
pub enum Transcribe {
    #[default]
    Off,
    Record,
    Replay(Arc<crate::capabilities::transcript::Transcript>),
}

/// See [`ExecutionRequest::on_tick`].
pub type EpochTickHook = Box<dyn FnMut() + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Load(#[from] LoadError),
}

pub struct Sandbox {
    engine: Engine,
    linker: Linker<ExecutionState>,
    cache: ComponentCache,
    outbound: Outbound,
    host_limits: HostLimits,
    loaded: Mutex<HashMap<String, Arc<LoadedComponent>>>,
    _ticker: engine::EpochTicker,
}

impl Sandbox {
    /// The HTTP client and address policy of runbooks' outbound requests,
    /// for what the host sends on a tenant's behalf (notifications).
    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    pub fn new(config: SandboxConfig) -> anyhow::Result<Self> {
        let engine = engine::build_engine(config.pooling)?;
        let linker = engine::build_linker(&engine)?;
        let compiler = match config.compile_in {
            // The child must build the same engine.
            Compiler::Subprocess { exe, .. } => Compiler::Subprocess {
                exe,
                pooling: config.pooling,
            },
            other => other,
        };
        let cache = ComponentCache::new(&engine, config.cache_dir, compiler);
        Ok(Self {
            _ticker: engine::EpochTicker::start(&engine),
            engine,
            linker,
            cache,
            outbound: Outbound::new(AddressPolicy::allowing(config.outbound_allow_cidrs))?,
            host_limits: config.host_limits,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn host_limits(&self) -> &HostLimits {
        &self.host_limits
    }

    /// Compiles (or loads precompiled) and links a component. Loaded
    /// components are kept in memory by sha256. This can take seconds for a
    /// large component: async callers should run it on a blocking thread.
    pub fn load_component(&self, wasm: &[u8]) -> Result<Arc<LoadedComponent>, LoadError> {
        let sha256 = ComponentCache::digest(wasm);
        if let Some(hit) = self
            .loaded
            .lock()
            .expect("loaded lock poisoned")
            .get(&sha256)
        {
            return Ok(hit.clone());
        }
        let (component, cache) = self.cache.load(&self.engine, wasm, &sha256)?;
        let imports = imports::imports_of(&self.engine, &component);
        let refused = imports::refused(&imports);
        if !refused.is_empty() {
            return Err(LoadError::ForbiddenImports(refused));
        }
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = RunbookPre::new(instance_pre).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let loaded = Arc::new(LoadedComponent {
            sha256: sha256.clone(),
            cache,
            imports,
            pre,
        });
        self.loaded
            .lock()
            .expect("loaded lock poisoned")
            .insert(sha256, loaded.clone());
        Ok(loaded)
    }

    /// Validates the manifest, computes grants and limits, loads the component.
    pub fn prepare(
        &self,
        manifest: &Manifest,
        wasm: &[u8],
    ) -> Result<PreparedRunbook, PrepareError> {
        let grants = Grants::from_manifest(manifest)?;
        let declared = &manifest.limits;
        let limits = ExecutionLimits::clamp(
            declared.memory_mb,
            declared.fuel,
            declared.timeout_ms,
            &self.host_limits,
        );
        let component = self.load_component(wasm)?;
        Ok(PreparedRunbook {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            component,
            grants: Arc::new(grants),
            limits,
        })
    }

    /// Runs one execution in a fresh store. Never fails: every way an
    /// execution can end is a status in the report.
    pub async fn execute(
        &self,
        runbook: &PreparedRunbook,
        request: ExecutionRequest,
    ) -> ExecutionReport {
        execute::run_execution(&self.engine, &self.outbound, runbook, request).await
    }
}
