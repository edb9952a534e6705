//! Rules: which events fire which runbook, and with what input. One event can
//! fire many rules; many rules can target one runbook.

pub mod cache;
pub mod criteria;
pub mod params;
pub mod path;

use crate::registry::Environment;
use criteria::{CompiledCriterion, Criterion};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A rule as configured through the API (`PUT /v1/tenants/{t}/rules/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Only events from this source; absent matches every source.
    #[serde(default)]
    pub source: Option<String>,
    /// Only events of this type; absent matches every type.
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

/// A rule ready to match: criteria compiled once.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub rule: Rule,
    criteria: Vec<CompiledCriterion>,
}

impl RuleSpec {
    /// Validates criteria and templates; the error names the bad part.
    pub fn validate(&self) -> Result<(), String> {
        crate::manifest::check_identifier("runbook", &self.runbook, 64)
            .map_err(|e| e.to_string())?;
        for (i, c) in self.criteria.iter().enumerate() {
            CompiledCriterion::compile(i, c)?;
        }
        if let Some(params) = &self.params {
            params::validate_params(params)?;
        }
        Ok(())
    }
}

impl CompiledRule {
    pub fn compile(rule: Rule) -> Result<Self, String> {
        let criteria = rule
            .spec
            .criteria
            .iter()
            .enumerate()
            .map(|(i, c)| CompiledCriterion::compile(i, c))
            .collect::<Result<_, _>>()?;
        Ok(Self { rule, criteria })
    }

    /// Whether this rule fires for the event (`envelope` = `{id, source, type, time, data}`).
    pub fn matches(&self, source: &str, event_type: &str, envelope: &Value) -> bool {
        let spec = &self.rule.spec;
        spec.enabled
            && spec.source.as_deref().is_none_or(|s| s == source)
            && spec.event_type.as_deref().is_none_or(|t| t == event_type)
            && self.criteria.iter().all(|c| c.matches(envelope))
    }

    /// The runbook input for an event this rule matched. Templates see the
    /// envelope's fields at the top level (`{{ data.x }}`) and the whole
    /// envelope as `event` (`{{ event.data.x }}`).
    pub fn render_input(&self, envelope: &Value) -> Result<Value, String> {
        match &self.rule.spec.params {
            Some(params) => {
                let mut context = envelope.clone();
                if let Value::Object(map) = &mut context {
                    map.insert("event".into(), envelope.clone());
                }
                params::render_params(params, &context)
            }
            None => Ok(envelope["data"].clone()),
        }
    }
}

/// The rules that fire for one event, in name order.
pub fn match_rules<'a>(
    rules: &'a [CompiledRule],
    source: &str,
    event_type: &str,
    envelope: &Value,
) -> Vec<&'a CompiledRule> {
    rules
        .iter()
        .filter(|r| r.matches(source, event_type, envelope))
        .collect()
}
