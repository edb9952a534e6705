//! Every resource limit of an execution, in one place: the defaults a manifest
//! gets when it declares nothing, the host-wide maximums that clamp what it
//! declares, and the fixed caps on what an execution may produce.
//!
//! A manifest's `[limits]` are first checked against the absolute ranges
//! (`*_RANGE`, an error that names the key when outside), then clamped to the
//! host's [`HostLimits`] (reported in the execution record, never an error).

// The caps on capability calls live with the capabilities, which depend on
// nothing in the sandbox; they are part of this one list of limits.
pub use crate::capabilities::limits::*;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::time::Duration;

/// Linear memory a runbook gets when its manifest says nothing. Enough for a
/// Python or JS interpreter (about 12 MiB at rest) with room for real work.
pub const DEFAULT_MEMORY_MB: u64 = 64;
/// Host-wide ceiling for `limits.memory_mb`.
pub const MAX_MEMORY_MB: u64 = 512;
/// Fuel (about one unit per wasm instruction) when the manifest says nothing:
/// roughly half a second of pure compute, 250× what a trivial JS run needs.
pub const DEFAULT_FUEL: u64 = 500_000_000;
/// Host-wide ceiling for `limits.fuel`.
pub const MAX_FUEL: u64 = 20_000_000_000;
/// Wall-clock budget when the manifest says nothing.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Host-wide ceiling for `limits.timeout_ms`: a runbook is a remediation step,
/// not a batch job.
pub const MAX_TIMEOUT_MS: u64 = 300_000;

/// What a manifest may declare at all; outside these it is a manifest error.
/// wasm32 cannot address more than 4 GiB.
pub const MEMORY_MB_RANGE: RangeInclusive<u64> = 1..=4096;
pub const FUEL_RANGE: RangeInclusive<u64> = 1_000..=1_000_000_000_000;
pub const TIMEOUT_MS_RANGE: RangeInclusive<u64> = 1..=86_400_000;

/// Largest JSON result a runbook may return; bigger ends `output_too_large`.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// Epoch tick period: the granularity of wall-clock enforcement and of the
/// cooperative yields that keep one busy guest from starving the executor
/// (and the longest a busy guest holds a runtime thread before the service
/// moves it to an execution thread of its own).
pub const EPOCH_TICK: Duration = Duration::from_millis(2);
/// Native stack for wasm code; deep recursion traps with "call stack exhausted".
pub const MAX_WASM_STACK_BYTES: usize = 1024 * 1024;

/// The ceilings this host applies to every runbook (later: per tenant quota).
// `[limits]` in the config file: a misspelt key is an error, not a ceiling
// silently left at its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostLimits {
    pub max_memory_mb: u64,
    pub max_fuel: u64,
    pub max_timeout_ms: u64,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            max_memory_mb: MAX_MEMORY_MB,
            max_fuel: MAX_FUEL,
            max_timeout_ms: MAX_TIMEOUT_MS,
        }
    }
}

/// The limits one execution actually runs under, after clamping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExecutionLimits {
    pub memory_mb: u64,
    pub fuel: u64,
    pub timeout_ms: u64,
    /// Names of the limits the host lowered from what the manifest declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clamped: Vec<String>,
}

impl ExecutionLimits {
    /// Clamps declared limits (or the defaults) to the host's ceilings.
    pub fn clamp(
        memory_mb: Option<u64>,
        fuel: Option<u64>,
        timeout_ms: Option<u64>,
        host: &HostLimits,
    ) -> Self {
        let mut clamped = Vec::new();
        let mut pick = |name: &str, declared: Option<u64>, default: u64, max: u64| {
            let wanted = declared.unwrap_or(default);
            if wanted > max {
                clamped.push(format!("{name}: {wanted} -> {max}"));
                max
            } else {
                wanted
            }
        };
        let memory_mb = pick(
            "memory_mb",
            memory_mb,
            DEFAULT_MEMORY_MB,
            host.max_memory_mb,
        );
        let fuel = pick("fuel", fuel, DEFAULT_FUEL, host.max_fuel);
        let timeout_ms = pick(
            "timeout_ms",
            timeout_ms,
            DEFAULT_TIMEOUT_MS,
            host.max_timeout_ms,
        );
        Self {
            memory_mb,
            fuel,
            timeout_ms,
            clamped,
        }
    }

    pub fn memory_bytes(&self) -> usize {
        (self.memory_mb * 1024 * 1024) as usize
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_declared() {
        let limits = ExecutionLimits::clamp(None, None, None, &HostLimits::default());
        assert_eq!(limits.memory_mb, DEFAULT_MEMORY_MB);
        assert_eq!(limits.fuel, DEFAULT_FUEL);
        assert_eq!(limits.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(limits.clamped.is_empty());
    }

    #[test]
    fn declared_limits_above_the_host_ceiling_are_clamped_and_reported() {
        let host = HostLimits {
            max_memory_mb: 32,
            max_fuel: 1_000_000,
            max_timeout_ms: 500,
        };
        let limits = ExecutionLimits::clamp(Some(64), Some(10), Some(1_000), &host);
        assert_eq!(limits.memory_mb, 32);
        assert_eq!(limits.fuel, 10);
        assert_eq!(limits.timeout_ms, 500);
        assert_eq!(
            limits.clamped,
            vec!["memory_mb: 64 -> 32", "timeout_ms: 1000 -> 500"]
        );
    }
}
