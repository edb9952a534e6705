//! The WASI clocks and random sources of an execution whose [`Tape`] is on:
//! each reading is recorded, or in a replay answered from the transcript,
//! so a replayed guest sees the same time and the same random numbers.
//! With the tape off, WASI keeps its own sources and none of this runs.

use crate::capabilities::transcript::Tape;
use rand_core::{Rng as _, TryRng};
use std::convert::Infallible;
use std::time::Duration;
use wasmtime_wasi::clocks::{MonotonicClock, WallClock};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

pub struct TapeWallClock {
    live: WallClock,
    tape: Tape,
}

impl TapeWallClock {
    pub fn new(tape: Tape) -> Self {
        Self {
            live: WallClock::new(),
            tape,
        }
    }
}

impl HostWallClock for TapeWallClock {
    fn resolution(&self) -> Duration {
        self.live.resolution()
    }

    fn now(&self) -> Duration {
        let nanos = self
            .tape
            .wall_clock(|| u64::try_from(self.live.now().as_nanos()).unwrap_or(u64::MAX));
        Duration::from_nanos(nanos)
    }
}

pub struct TapeMonotonicClock {
    live: MonotonicClock,
    tape: Tape,
}

impl TapeMonotonicClock {
    pub fn new(tape: Tape) -> Self {
        Self {
            live: MonotonicClock::new(),
            tape,
        }
    }
}

impl HostMonotonicClock for TapeMonotonicClock {
    fn resolution(&self) -> u64 {
        self.live.resolution()
    }

    fn now(&self) -> u64 {
        self.tape.monotonic_clock(|| self.live.now())
    }
}

/// A random source (`secure` or insecure) on the tape.
pub struct TapeRandom {
    secure: bool,
    tape: Tape,
    /// Made on first use: most runbooks never ask, and a replay never does.
    live: Option<Box<dyn wasmtime_wasi::Rng + Send>>,
}

impl TapeRandom {
    pub fn new(secure: bool, tape: Tape) -> Self {
        Self {
            secure,
            tape,
            live: None,
        }
    }
}

impl TryRng for TapeRandom {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        let live = &mut self.live;
        self.tape.random(self.secure, dest, |d| {
            live.get_or_insert_with(wasmtime_wasi::thread_rng)
                .fill_bytes(d)
        });
        Ok(())
    }
}
