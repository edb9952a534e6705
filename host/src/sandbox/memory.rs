//! The memory limiter of one execution: caps the *total* linear memory of all
//! the component's memories (a QuickJS component has two), records the peak,
//! and turns an over-limit growth into a typed trap the sandbox can classify.

use wasmtime::ResourceLimiter;

/// Tables hold function references; generous, but bounded so a guest cannot
/// exhaust host memory through them.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;
/// Core instances, memories and tables per store. Python components need a
/// few dozen instances; nothing legitimate comes near these.
const MAX_INSTANCES: usize = 100;
const MAX_TABLES: usize = 100;
const MAX_MEMORIES: usize = 16;

/// Raised (as a trap) when a guest asks for more memory than its limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "memory limit exceeded: the guest asked for {requested} bytes of linear memory, the limit is {limit} bytes"
)]
pub struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    total: usize,
    peak: usize,
}

impl MemoryLimiter {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            total: 0,
            peak: 0,
        }
    }

    /// Highest total linear memory the execution reached, in bytes.
    pub fn peak(&self) -> usize {
        self.peak
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let requested = self.total.saturating_sub(current).saturating_add(desired);
        if requested > self.limit {
            // An error, not `Ok(false)`: a failed grow makes Rust guests abort
            // with a bare `unreachable`, which would hide the real cause.
            return Err(MemoryLimitExceeded {
                requested,
                limit: self.limit,
            }
            .into());
        }
        self.total = requested;
        self.peak = self.peak.max(requested);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_across_memories_is_capped_and_peak_recorded() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 40, None).unwrap());
        assert!(l.memory_growing(0, 50, None).unwrap()); // second memory
        assert!(l.memory_growing(40, 50, None).unwrap()); // total 100
        let err = l.memory_growing(50, 51, None).unwrap_err();
        assert!(err.downcast_ref::<MemoryLimitExceeded>().is_some());
        assert_eq!(l.peak(), 100);
        assert!(!l.memory_growing(0, 10, Some(5)).unwrap());
    }
}
