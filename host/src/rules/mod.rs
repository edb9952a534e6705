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

/// The key of every event of a rule whose policy gives no `key`.
pub const WHOLE_RULE_KEY: &str = "*";
/// The longest policy key.
pub const MAX_KEY_BYTES: usize = 512;

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
        if let Some(policy) = &self.policy {
            policy.validate()?;
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
        self.render_input_with(envelope, None)
    }

    /// The input of a threshold that fired: templates also see `events`,
    /// every correlated envelope (oldest first); without `params` the input
    /// is `{data, events}`.
    pub fn render_input_with(
        &self,
        envelope: &Value,
        events: Option<&[Value]>,
    ) -> Result<Value, String> {
        match &self.rule.spec.params {
            Some(params) => {
                let mut context = envelope.clone();
                if let Value::Object(map) = &mut context {
                    map.insert("event".into(), envelope.clone());
                    if let Some(events) = events {
                        map.insert("events".into(), Value::Array(events.to_vec()));
                    }
                }
                params::render_params(params, &context)
            }
            None => Ok(match events {
                Some(events) => serde_json::json!({
                    "data": envelope["data"],
                    "events": events,
                }),
                None => envelope["data"].clone(),
            }),
        }
    }

    /// The policy key of an event (`policy.key` rendered like `params`; a
    /// non-string result is its JSON text). [`WHOLE_RULE_KEY`] when the
    /// policy has no key.
    pub fn render_key(&self, envelope: &Value) -> Result<String, String> {
        let Some(template) = self.rule.spec.policy.as_ref().and_then(|p| p.key.as_ref()) else {
            return Ok(WHOLE_RULE_KEY.to_string());
        };
        let mut context = envelope.clone();
        if let Value::Object(map) = &mut context {
            map.insert("event".into(), envelope.clone());
        }
        let rendered = params::render_params(&Value::String(template.clone()), &context)
            .map_err(|e| format!("policy.key: {}", e.trim_start_matches("params: ")))?;
        let key = match rendered {
            Value::String(s) => s,
            other => other.to_string(),
        };
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "policy.key rendered to {} bytes: a key must have 1 to {MAX_KEY_BYTES}",
                key.len()
            ));
        }
        Ok(key)
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
