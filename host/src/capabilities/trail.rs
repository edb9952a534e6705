//! The capability trail: one entry per capability call an execution made,
//! allowed or denied, so an auditor can see exactly what a runbook reached.
//! Targets are URLs, secret names and keys — never a secret's value.

use crate::capabilities::limits::MAX_TRAIL_ENTRIES;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The outcome of a call that passed every check but was not made because
/// the execution is a dry run: the guest got a synthetic success instead.
pub const DRY_RUN: &str = "dry_run";

/// One capability call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapabilityCall {
    /// WIT interface: `http`, `secrets`, `kv`.
    pub interface: String,
    /// Operation: an HTTP method, `get`, `set`, `delete`.
    pub operation: String,
    /// What the call was aimed at: URL, secret name, kv key.
    pub target: String,
    /// Whether the grants allowed the call.
    pub allowed: bool,
    /// `ok`, an HTTP status such as `200`, the error the guest received, or
    /// [`DRY_RUN`] for a call a dry run withheld.
    pub outcome: String,
    pub duration_us: u64,
}

/// The trail of one execution, capped at [`MAX_TRAIL_ENTRIES`] entries; calls
/// past the cap are counted in `dropped`.
#[derive(Debug, Default)]
pub struct CapabilityTrail {
    calls: Vec<CapabilityCall>,
    dropped: u64,
}

impl CapabilityTrail {
    /// Records a finished call that started at `started`.
    pub fn record(
        &mut self,
        interface: &str,
        operation: &str,
        target: &str,
        allowed: bool,
        outcome: impl Into<String>,
        started: Instant,
    ) {
        if self.calls.len() >= MAX_TRAIL_ENTRIES {
            self.dropped += 1;
            return;
        }
        self.calls.push(CapabilityCall {
            interface: interface.to_string(),
            operation: operation.to_string(),
            target: target.to_string(),
            allowed,
            outcome: outcome.into(),
            duration_us: started.elapsed().as_micros() as u64,
        });
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn into_calls(self) -> Vec<CapabilityCall> {
        self.calls
    }
}

/// The trail of one execution, shared between the store and the tasks that
/// send a guest's `wasi:http` requests outside of it (a `fetch()` runs on its
/// own task, with no access to the store).
#[derive(Debug, Clone, Default)]
pub struct SharedTrail(Arc<Mutex<CapabilityTrail>>);

impl SharedTrail {
    /// Records a finished call that started at `started`.
    pub fn record(
        &self,
        interface: &str,
        operation: &str,
        target: &str,
        allowed: bool,
        outcome: impl Into<String>,
        started: Instant,
    ) {
        self.0
            .lock()
            .expect("capability trail lock poisoned")
            .record(interface, operation, target, allowed, outcome, started);
    }

    /// Takes what was recorded so far, leaving the trail empty.
    pub fn take(&self) -> CapabilityTrail {
        std::mem::take(&mut *self.0.lock().expect("capability trail lock poisoned"))
    }
}
