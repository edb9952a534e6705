//! Secrets the manifest declares under `capabilities.secrets`. Values are
//! redacted by the host from anything it records; do not log them anyway.

use crate::CapabilityError;
use crate::bindings::wolfe::runbook::secrets;

/// The value of secret `name`.
pub fn get(name: &str) -> Result<String, CapabilityError> {
    secrets::get(name).map_err(Into::into)
}
