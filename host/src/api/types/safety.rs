//! Bodies of the brakes and of the view of why automation holds back:
//! pauses, silences, circuits, approvals and `GET …/safety`.

use crate::safety::gate::OpenCircuit;
use crate::safety::policy::Policy;
use crate::safety::settings::{Pause, Silence};
use crate::store::model::execution::ApprovalState;
use crate::store::model::schema::{flag, text, with_fields};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// `POST …/pause` and `…/resume`: the tenant's kill switch now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantPause {
    /// Who paused it and when; null when it runs.
    pub paused: Option<Pause>,
}

/// `POST …/runbooks/{name}/pause` and `…/resume`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookPause {
    pub runbook: String,
    pub paused: Option<Pause>,
}

/// A silence as readers see it: with its name and whether it holds now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShownSilence {
    pub name: String,
    #[serde(flatten)]
    pub silence: Silence,
    /// Between `starts_at` and `ends_at` now.
    pub active: bool,
}

/// The silence's fields beside `name` and `active` (see
/// `store::model::schema::with_fields`).
impl utoipa::PartialSchema for ShownSilence {
    fn schema() -> RefOr<Schema> {
        let fields = [("name", text()), ("active", flag())];
        Schema::Object(with_fields(Silence::schema(), &fields, false)).into()
    }
}

impl ToSchema for ShownSilence {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <Silence as ToSchema>::schemas(schemas);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SilenceList {
    pub silences: Vec<ShownSilence>,
}

/// `GET …/rules/{rule}/circuits`: its keys whose circuit is not closed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CircuitList {
    pub rule: String,
    pub circuits: Vec<OpenCircuit>,
}

/// `POST …/rules/{rule}/circuits/close`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseCircuit {
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CircuitClosed {
    pub rule: String,
    pub key: String,
    pub closed: bool,
}

/// `POST …/executions/{id}/approve` and `…/reject` (the body is optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why, for the audit log; at most 4096 bytes.
    #[serde(default)]
    pub comment: Option<String>,
}

/// `GET …/safety`: why automation is holding back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SafetyOverview {
    pub paused: Option<Pause>,
    pub paused_runbooks: BTreeMap<String, Pause>,
    /// Silences not yet ended.
    pub silences: Vec<ShownSilence>,
    pub open_circuits: Vec<RuleCircuit>,
    pub awaiting_approval: Vec<AwaitingApproval>,
    /// Every rule with a policy, and its windows now.
    pub rules: Vec<RuleSafety>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuleCircuit {
    pub rule: String,
    pub circuit: OpenCircuit,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AwaitingApproval {
    pub id: String,
    pub runbook: String,
    pub rule: Option<String>,
    pub key: Option<String>,
    pub created_at: String,
    pub approval: Option<ApprovalState>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuleSafety {
    pub rule: String,
    pub runbook: String,
    pub policy: Policy,
    /// With a `budget`: the keys it has spent in its window.
    pub budget: Option<BudgetUse>,
    pub keys: Vec<KeyWindow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BudgetUse {
    pub max_keys: u32,
    pub per_secs: u64,
    pub keys_used: usize,
    pub keys: Vec<String>,
}

/// One key's counters in the current windows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyWindow {
    pub key: String,
    pub last_run: Option<LastRun>,
    pub runs_in_window: usize,
    pub active: Vec<String>,
    /// Partial matches of a multi-event rule waiting for the rest.
    pub correlating: usize,
    pub failures_in_window: usize,
    pub circuit: Option<OpenCircuit>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LastRun {
    pub execution: String,
    pub at: String,
}
