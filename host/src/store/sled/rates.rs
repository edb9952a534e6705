//! Executions created per tenant in the current minute, against each
//! tenant's `max_executions_per_minute`. An embedded store has one host, so
//! the windows live in its memory: a restart starts a fresh window.

use crate::store::model::current_minute;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(super) struct RateWindows {
    /// tenant → (minute, executions counted in it).
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateWindows {
    /// Counts `executions` unless the tenant used up its minute already;
    /// `Err(retry_after_secs)` when it did.
    pub fn spend(&self, tenant: &str, executions: u32, per_minute: u32) -> Result<(), u32> {
        let (minute, left) = current_minute();
        let mut windows = self.windows.lock().expect("rate windows poisoned");
        let entry = windows.entry(tenant.to_string()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= per_minute {
            return Err(left.max(1));
        }
        entry.1 = entry.1.saturating_add(executions);
        Ok(())
    }
}
