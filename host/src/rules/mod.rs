//! Rules: which events fire which runbook, and with what input. One event can
//! fire many rules; many rules can target one runbook. The stored rule is
//! defined with the store ([`crate::store::model::rule`]); here it is
//! validated, compiled and matched.

pub mod cache;
pub mod criteria;
pub mod params;
pub mod path;

use criteria::CompiledCriterion;
use serde_json::Value;

pub use crate::store::model::rule::{Rule, RuleSpec};

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
