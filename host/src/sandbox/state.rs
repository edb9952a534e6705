//! The data of one execution's `Store`: the locked-down WASI context, its
//! resource table, the memory limiter, and the execution's [`Capabilities`].
//! Created fresh for each execution and dropped with its store.

use crate::capabilities::{Capabilities, CapabilitiesView, CapabilityParts};
use crate::sandbox::memory::MemoryLimiter;
use crate::sandbox::output::GuestOutput;
use crate::sandbox::tape_clocks::{TapeMonotonicClock, TapeRandom, TapeWallClock};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct ExecutionState {
    wasi: WasiCtx,
    wasi_http: WasiHttpCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) capabilities: Capabilities,
}

impl ExecutionState {
    pub fn new(memory_limit: usize, capabilities: CapabilityParts) -> Self {
        // WASI as the design specifies: clocks and random only. No preopened
        // directories, no environment, no arguments, stdin closed; sockets
        // are denied explicitly rather than by relying on defaults.
        let mut wasi = WasiCtx::builder();
        wasi.stdout(GuestOutput::stdout(capabilities.log.clone()))
            .stderr(GuestOutput::stderr(capabilities.log.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        // Recorded or replayed: time and randomness come through the tape.
        let tape = &capabilities.tape;
        if let Some(seed) = tape.insecure_seed() {
            wasi.wall_clock(TapeWallClock::new(tape.clone()))
                .monotonic_clock(TapeMonotonicClock::new(tape.clone()))
                .secure_random(TapeRandom::new(true, tape.clone()))
                .insecure_random(TapeRandom::new(false, tape.clone()))
                .insecure_random_seed(seed);
        }
        let wasi = wasi.build();
        Self {
            wasi,
            wasi_http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_limit),
            capabilities: Capabilities::new(capabilities),
        }
    }
}

impl CapabilitiesView for ExecutionState {
    fn capabilities(&mut self) -> &mut Capabilities {
        &mut self.capabilities
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
            hooks: &mut self.capabilities.fetch,
        }
    }
}
