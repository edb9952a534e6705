//! The execution report: everything the sandbox knows about one finished
//! execution, as the JSON that `wolfe run` prints and the service stores.

use crate::capabilities::log::LogEntry;
use crate::capabilities::trail::CapabilityCall;
use crate::sandbox::limits::ExecutionLimits;
use serde::{Deserialize, Serialize};

/// Where an execution stands. The sandbox ends every execution in one of
/// the terminal states; `queued`, `running` and `cancelled` belong to the
/// service's pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    Queued,
    Running,
    /// Held by a rule's `approval` policy until an operator decides.
    AwaitingApproval,
    /// Held back by a safety policy, a silence or a pause: the record's
    /// `suppressed` says why. Never ran.
    Suppressed,
    /// Stopped by an operator before it finished.
    Cancelled,
    Succeeded,
    /// The guest returned an error, trapped, or produced unusable output.
    Failed,
    /// The wall-clock deadline passed.
    TimedOut,
    /// The fuel budget ran out.
    OutOfFuel,
    /// The guest asked for more linear memory than its limit.
    OutOfMemory,
}

/// Why an execution did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// `run` returned `Err(message)`: the runbook's own failure.
    GuestError,
    /// A trap: panic/abort (`unreachable`), stack overflow, bad memory access…
    Trap,
    OutOfFuel,
    OutOfMemory,
    TimedOut,
    /// The JSON result exceeded `MAX_OUTPUT_BYTES`.
    OutputTooLarge,
    /// The result was not valid JSON.
    InvalidOutput,
    /// The component could not be instantiated (e.g. a start function failed).
    Instantiation,
    /// The service could not find or load the runbook version to run.
    RunbookUnavailable,
    /// The rule's parameter templates could not be rendered for this event.
    InvalidInput,
    /// The hosts running it stopped answering (died or paused past their
    /// lease) too many times: it is not started again, so a runbook that
    /// kills its host cannot loop forever.
    Lost,
    /// An operator cancelled it (`POST …/executions/{id}/cancel`).
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExecutionError {
    pub kind: ErrorKind,
    pub message: String,
    /// The guest's wasm backtrace, when the failure was a trap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtrace: Option<String>,
}

/// The sandbox-level record of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExecutionReport {
    pub status: ExecutionStatus,
    /// The guest's JSON result, when it succeeded.
    pub output: Option<serde_json::Value>,
    pub error: Option<ExecutionError>,
    pub logs: Vec<LogEntry>,
    pub capability_calls: Vec<CapabilityCall>,
    /// Calls made past the trail's cap, counted but not recorded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub capability_calls_dropped: u64,
    pub fuel_consumed: u64,
    pub memory_peak_bytes: u64,
    pub duration_ms: u64,
    /// The limits this execution ran under, after the host's clamping.
    pub limits: ExecutionLimits,
    /// Every host call and its answer, when the execution was recorded (or
    /// replayed), secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<crate::capabilities::transcript::Transcript>,
}

impl ExecutionStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Running | Self::AwaitingApproval)
    }

    /// Whether the execution waits for a worker or runs (awaiting approval
    /// is neither: no host picks it up until it is approved).
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    pub const ALL: [ExecutionStatus; 10] = [
        Self::Queued,
        Self::Running,
        Self::AwaitingApproval,
        Self::Suppressed,
        Self::Cancelled,
        Self::Succeeded,
        Self::Failed,
        Self::TimedOut,
        Self::OutOfFuel,
        Self::OutOfMemory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Suppressed => "suppressed",
            Self::Cancelled => "cancelled",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::OutOfFuel => "out_of_fuel",
            Self::OutOfMemory => "out_of_memory",
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ExecutionReport {
    pub fn succeeded(&self) -> bool {
        self.status == ExecutionStatus::Succeeded
    }
}
