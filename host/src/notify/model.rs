//! What a rule asks to be told about (`policy.notify`), the outbox entry a
//! notification waits in, and the outcome the execution record keeps.

use serde::{Deserialize, Serialize};

/// The moments a notification can be sent for.
pub const TRIGGERS: [&str; 7] = [
    "failed",
    "timed_out",
    "out_of_fuel",
    "out_of_memory",
    "suppressed",
    "retries_exhausted",
    "awaiting_approval",
];

/// The internal trigger of a PagerDuty resolve: a retry succeeded after a
/// failure was reported.
pub const RESOLVED: &str = "resolved";

/// `{"on": [...], "connector": "chat"}` in a rule's `policy.notify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    pub on: Vec<String>,
    pub connector: String,
}

impl NotifySpec {
    pub fn validate(&self, index: usize) -> Result<(), String> {
        let at = format!("policy.notify[{index}]");
        crate::manifest::check_identifier(&format!("{at}.connector"), &self.connector, 64)
            .map_err(|e| e.to_string())?;
        if self.on.is_empty() {
            return Err(format!(
                "{at}.on: name at least one of {}",
                TRIGGERS.join(", ")
            ));
        }
        if let Some(bad) = self.on.iter().find(|t| !TRIGGERS.contains(&t.as_str())) {
            return Err(format!(
                "{at}.on: {bad:?} is not one of {}",
                TRIGGERS.join(", ")
            ));
        }
        Ok(())
    }
}

/// A notification waiting in the outbox for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub tenant: String,
    /// `{execution}:{on}:{connector}`: one notification per moment and
    /// connector, however often it is enqueued.
    pub id: String,
    pub execution: String,
    pub connector: String,
    pub on: String,
    pub attempts: u32,
    /// When to try (next); ms since the epoch.
    pub next_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Notification {
    pub fn new(tenant: &str, execution: &str, connector: &str, on: &str) -> Self {
        Self {
            tenant: tenant.to_string(),
            id: format!("{execution}:{on}:{connector}"),
            execution: execution.to_string(),
            connector: connector.to_string(),
            on: on.to_string(),
            attempts: 0,
            next_at_ms: 0,
            last_error: None,
        }
    }
}

/// What became of a notification, kept in the execution record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationOutcome {
    pub connector: String,
    pub on: String,
    /// `delivered`, `undeliverable: …` (gave up), `superseded` (the
    /// execution's end changed: it was re-run after a crash) or `skipped:
    /// …` (nothing to send on this connector).
    pub outcome: String,
    pub at: String,
    pub attempts: u32,
}
