//! Host-side integrations the manifest declares under
//! `capabilities.connectors`. The tenant configures each one (kind, URL,
//! which secret holds its credentials) and the host adds the credentials to
//! the request: they never enter the runbook.

use crate::CapabilityError;
use crate::bindings::wolfe::runbook::connectors;
use serde::Serialize;

/// What the remote service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Calls `connector` with a raw action and payload (see the WIT interface).
pub fn call(connector: &str, action: &str, payload: &str) -> Result<Reply, CapabilityError> {
    let r = connectors::call(connector, action, payload)?;
    Ok(Reply {
        status: r.status,
        body: r.body,
    })
}

/// A request through an `http` connector: `method` and a path under its base URL.
pub fn request(
    connector: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<Reply, CapabilityError> {
    call(connector, &format!("{method} {path}"), body)
}

/// Posts a message (`{"text": ...}` or with `blocks`) through a `slack` connector.
pub fn slack_post<T: Serialize>(connector: &str, message: &T) -> Result<Reply, CapabilityError> {
    call(connector, "post", &to_json(message)?)
}

/// Sends a PagerDuty Events v2 event (`trigger`, `acknowledge`, `resolve`);
/// the host adds the routing key.
pub fn pagerduty<T: Serialize>(
    connector: &str,
    action: &str,
    event: &T,
) -> Result<Reply, CapabilityError> {
    call(connector, action, &to_json(event)?)
}

fn to_json<T: Serialize>(value: &T) -> Result<String, CapabilityError> {
    serde_json::to_string(value)
        .map_err(|e| CapabilityError::Invalid(format!("payload is not JSON: {e}")))
}
