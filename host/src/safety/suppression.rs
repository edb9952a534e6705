//! Why an execution was held back: the `suppressed` part of a record whose
//! status is `suppressed`. Nothing a policy stops is dropped silently.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Folded into an execution of the same key within `once_within_secs`.
    Deduplicated,
    /// The key's `rate` window is full.
    RateLimited,
    /// Counted towards the key's `threshold`, which is not reached yet.
    ThresholdPending,
    /// Met some conditions of a multi-event rule; the others not yet.
    CorrelationPending,
    /// `concurrency` with `on_busy: suppress`: the key runs `max` already.
    Busy,
    /// The rule acted on `budget.max_keys` other keys in the window.
    BudgetExhausted,
    /// The key's circuit is open.
    CircuitOpen,
    /// A silence matched the event.
    Silenced,
    /// The tenant or the runbook is paused.
    Paused,
    /// Nobody approved it within `approval.timeout_secs`.
    ApprovalTimeout,
    /// An operator rejected it.
    Rejected,
}

impl Reason {
    pub const ALL: [Reason; 11] = [
        Reason::Deduplicated,
        Reason::RateLimited,
        Reason::ThresholdPending,
        Reason::CorrelationPending,
        Reason::Busy,
        Reason::BudgetExhausted,
        Reason::CircuitOpen,
        Reason::Silenced,
        Reason::Paused,
        Reason::ApprovalTimeout,
        Reason::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Deduplicated => "deduplicated",
            Reason::RateLimited => "rate_limited",
            Reason::ThresholdPending => "threshold_pending",
            Reason::CorrelationPending => "correlation_pending",
            Reason::Busy => "busy",
            Reason::BudgetExhausted => "budget_exhausted",
            Reason::CircuitOpen => "circuit_open",
            Reason::Silenced => "silenced",
            Reason::Paused => "paused",
            Reason::ApprovalTimeout => "approval_timeout",
            Reason::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The `suppressed` object of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suppression {
    pub reason: Reason,
    /// What held it back: a policy field (`once_within_secs`, `rate`,
    /// `budget`, …), `silence:{name}`, `pause:tenant`, `pause:runbook`.
    pub policy: String,
    /// The policy key of the event, when the rule has a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A sentence for the on-call engineer.
    pub detail: String,
    /// The execution this event was folded into (`deduplicated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folded_into: Option<String>,
}
