//! Events for other rules to act on (`capabilities.emit = true`): a
//! diagnostic runbook hands its findings to a remediation runbook. Since
//! WIT 0.1.2.

use crate::CapabilityError;
use crate::bindings::wolfe::runbook::events;

/// Emits an event of `event_type` with `data` from the source
/// `runbook:{name}`; returns its id. An execution resumed after a crash
/// emits the same events again under the same ids, so nothing is doubled.
/// `Limited` past the chain's depth.
pub fn emit<T: serde::Serialize>(event_type: &str, data: &T) -> Result<String, CapabilityError> {
    let data = serde_json::to_string(data)
        .map_err(|e| CapabilityError::Invalid(format!("event data: {e}")))?;
    events::emit(event_type, &data).map_err(Into::into)
}
