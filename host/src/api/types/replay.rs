//! Bodies of record and replay: a candidate version replayed against an
//! environment's recorded executions.

use crate::registry::Environment;
use crate::sandbox::replay::Verdict;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST …/runbooks/{name}/replay`: which version to replay against whose
/// recorded executions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The candidate version.
    pub version: String,
    /// Whose executions are replayed [default: prod].
    #[serde(default = "prod")]
    pub from_environment: Environment,
    /// How many of the newest recorded executions, 1 to 200 [default: 50].
    #[serde(default = "fifty")]
    pub last: usize,
}

fn prod() -> Environment {
    Environment::Prod
}

fn fifty() -> usize {
    50
}

/// What a candidate did with an environment's recorded executions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplayRun {
    pub runbook: String,
    pub version: String,
    pub from_environment: Environment,
    pub summary: ReplaySummary,
    /// Newest first.
    pub results: Vec<ReplayResult>,
}

/// How many executions got each verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplaySummary {
    pub identical: usize,
    pub output_differs: usize,
    pub calls_differ: usize,
    pub status_differs: usize,
    /// Recorded, but the transcript cannot be replayed (over its cap).
    pub not_replayable: usize,
}

impl ReplaySummary {
    pub fn count(&mut self, verdict: &Verdict) {
        *match verdict {
            Verdict::Identical => &mut self.identical,
            Verdict::OutputDiffers { .. } => &mut self.output_differs,
            Verdict::CallsDiffer { .. } => &mut self.calls_differ,
            Verdict::StatusDiffers { .. } => &mut self.status_differs,
        } += 1;
    }
}

/// One execution replayed: its verdict, or why it could not be.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplayResult {
    pub execution: String,
    /// The version that ran it.
    pub recorded_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_replayable: Option<String>,
}
