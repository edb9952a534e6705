//! The rule as stored: which events fire which runbook, and with what input.
//! Compiling, validating and matching rules live in `rules`.

use crate::registry::Environment;
use crate::safety::policy::Policy;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A rule as configured through the API (`PUT /v1/tenants/{t}/rules/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Only events from this source (a name, or a glob where `*` matches
    /// any run of characters); absent matches every source.
    #[serde(default)]
    pub source: Option<String>,
    /// Only events of this type (a name or a `*` glob: `alert.*`, `*`);
    /// absent matches every type.
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    pub runbook: String,
    pub environment: Environment,
    /// Templates rendered into the runbook's input; absent passes `data`.
    #[serde(default)]
    pub params: Option<Value>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Safety limits on what the rule fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// A multi-event rule (instead of `source`, `type`, `criteria`): fires
    /// once when every condition has matched an event of the same policy
    /// key within `within_secs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_secs: Option<u64>,
}

/// One condition of a multi-event rule; `params` see the event that met it
/// as `events.{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub name: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    #[serde(default)]
    pub criteria: Vec<Criterion>,
}

fn enabled_by_default() -> bool {
    true
}

/// A stored rule: its name and spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub updated_at: String,
}

/// A rule's schema: the spec's fields beside `name` and `updated_at` (see
/// `schema::with_fields`).
impl utoipa::PartialSchema for Rule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use super::schema::{text, with_fields};
        let fields = [("name", text()), ("updated_at", text())];
        utoipa::openapi::schema::Schema::Object(with_fields(RuleSpec::schema(), &fields, false))
            .into()
    }
}

impl utoipa::ToSchema for Rule {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <RuleSpec as utoipa::ToSchema>::schemas(schemas);
    }
}

/// How a criterion compares the field at its path with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// The field's value is one of `value` (an array).
    In,
    /// A string contains `value`, or an array contains an element equal to it.
    Contains,
    /// A string matches the regular expression `value`.
    Matches,
    /// The field is present (`value` true, the default) or absent (false).
    Exists,
}

/// One criterion as configured: a `{path, op, value}` test over the event
/// envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub path: String,
    pub op: Op,
    #[serde(default)]
    pub value: Value,
}
