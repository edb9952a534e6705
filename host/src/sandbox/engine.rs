//! The one wasmtime `Engine` of a host, its `Linker`, and the epoch ticker
//! that drives wall-clock deadlines.

use crate::sandbox::limits::{EPOCH_TICK, MAX_MEMORY_MB, MAX_WASM_STACK_BYTES};
use crate::sandbox::state::ExecutionState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Concurrent executions the instance pool is sized for. Past it,
/// instantiation fails with a pool-exhausted error rather than growing.
pub const POOL_COMPONENT_INSTANCES: u32 = 256;

/// Bytes of each pooled memory and table kept resident between executions.
pub const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// Frames captured in a trap's backtrace.
pub const BACKTRACE_FRAMES: usize = 32;

/// Builds the engine every execution shares: component model, fuel, epoch
/// interruption, bounded wasm stack, and (optionally) the pooling allocator,
/// which halves instantiation time for small components.
pub fn build_engine(pooling: bool) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_WASM_STACK_BYTES);
    // Enough frames to see where a trap happened (and to recognise runaway
    // recursion) without a megabyte of backtrace in every record.
    config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(BACKTRACE_FRAMES));
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_COMPONENT_INSTANCES)
            .total_stacks(POOL_COMPONENT_INSTANCES)
            // Interpreted-language components (CPython, SpiderMonkey) are made
            // of several core modules with large function tables.
            .total_core_instances(POOL_COMPONENT_INSTANCES * 16)
            .total_memories(POOL_COMPONENT_INSTANCES * 4)
            .total_tables(POOL_COMPONENT_INSTANCES * 16)
            .max_memories_per_module(2)
            .max_tables_per_module(4)
            .table_elements(100_000)
            .max_core_instance_size(4 << 20)
            .max_memory_size((MAX_MEMORY_MB * 1024 * 1024) as usize)
            // Reset the first pages of a memory or table with memset rather
            // than madvise when an instance is freed: madvise forces a TLB
            // shootdown across cores on every execution, which profiling
            // showed as the largest single cost at thousands of executions/s.
            .table_keep_resident(KEEP_RESIDENT_BYTES);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).map_err(|e| anyhow::anyhow!("failed to create the wasmtime engine: {e}"))
}

/// Links WASI (see `state.rs` for how it is locked down), `wasi:http` behind
/// Wolfe's policy hook, and every Wolfe capability interface.
pub fn build_linker(engine: &Engine) -> anyhow::Result<Linker<ExecutionState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|e| anyhow::anyhow!("failed to link WASI: {e}"))?;
    // wasi:http (JS fetch()); every request goes through the policy hook.
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(|e| anyhow::anyhow!("failed to link wasi:http: {e}"))?;
    crate::capabilities::add_to_linker(&mut linker)
        .map_err(|e| anyhow::anyhow!("failed to link the runbook world: {e}"))?;
    Ok(linker)
}

/// Increments the engine's epoch every [`EPOCH_TICK`] on a background thread
/// until dropped. Each store's deadline callback compares the real clock, so a
/// late tick can delay a timeout by at most one tick, never cut one short.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wolfe-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("failed to spawn the epoch ticker thread");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
