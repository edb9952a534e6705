//! Rules: which events fire which runbook, and with what input. One event can
//! fire many rules; many rules can target one runbook. The stored rule is
//! defined with the store ([`crate::store::model::rule`]); here it is
//! validated, compiled and matched.

pub mod cache;
pub mod criteria;
pub mod explain;
pub mod glob;
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
    /// A multi-event rule's conditions: name, source, type, criteria.
    conditions: Vec<CompiledCondition>,
}

#[derive(Debug, Clone)]
struct CompiledCondition {
    name: String,
    source: Option<String>,
    event_type: Option<String>,
    criteria: Vec<CompiledCriterion>,
}

impl CompiledCondition {
    /// Whether the event meets this condition.
    fn meets(&self, source: &str, event_type: &str, envelope: &Value) -> bool {
        glob::matches_optional(self.source.as_deref(), source)
            && glob::matches_optional(self.event_type.as_deref(), event_type)
            && self.criteria.iter().all(|m| m.matches(envelope))
    }
}

/// What templates see: the envelope's fields at the top level, the whole
/// envelope as `event`, and a correlation's `events` when it fired.
fn template_context(envelope: &Value, events: Option<&Value>) -> Value {
    let mut context = envelope.clone();
    if let Value::Object(map) = &mut context {
        map.insert("event".into(), envelope.clone());
        if let Some(events) = events {
            map.insert("events".into(), events.clone());
        }
    }
    context
}

/// Conditions one multi-event rule may have.
pub const MAX_CONDITIONS: usize = 10;

impl RuleSpec {
    /// Whether the rule fires on a correlation of events (a multi-event
    /// rule, or a threshold) whose input sees them as `events`.
    pub fn correlates(&self) -> bool {
        self.within_secs.is_some() || self.policy.as_ref().is_some_and(|p| p.threshold.is_some())
    }

    /// Validates criteria and templates; the error names the bad part.
    pub fn validate(&self) -> Result<(), String> {
        crate::manifest::check_identifier("runbook", &self.runbook, 64)
            .map_err(|e| e.to_string())?;
        glob::validate("source", self.source.as_deref())?;
        glob::validate("type", self.event_type.as_deref())?;
        CompiledCriterion::compile_all(&self.criteria)?;
        criteria::check_can_match(&self.criteria)?;
        if let Some(params) = &self.params {
            params::validate_params(params)?;
        }
        if let Some(policy) = &self.policy {
            policy.validate()?;
        }
        self.validate_all()?;
        self.check_params_variables()
    }

    /// Checks `params` read only what their context has (after
    /// [`Self::validate_all`], so the conditions they may name are sound).
    fn check_params_variables(&self) -> Result<(), String> {
        let Some(params) = &self.params else {
            return Ok(());
        };
        let conditions: Vec<&str> = self.all.iter().map(|c| c.name.as_str()).collect();
        let events = match (self.correlates(), conditions.is_empty()) {
            (false, _) => params::Events::Absent,
            (true, true) => params::Events::List,
            (true, false) => params::Events::ByCondition(&conditions),
        };
        params::check_variables(params, events)
    }

    /// A multi-event rule: 2 to [`MAX_CONDITIONS`] uniquely named
    /// conditions, a window, and no single-event matching beside them.
    fn validate_all(&self) -> Result<(), String> {
        if self.all.is_empty() {
            return match self.within_secs {
                Some(_) => Err("within_secs: only a multi-event rule (`all`) has a window".into()),
                None => Ok(()),
            };
        }
        if self.source.is_some() || self.event_type.is_some() || !self.criteria.is_empty() {
            return Err("all: a multi-event rule gives source, type and criteria per condition, not beside `all`".into());
        }
        if !(2..=MAX_CONDITIONS).contains(&self.all.len()) {
            return Err(format!("all: 2 to {MAX_CONDITIONS} conditions"));
        }
        let secs = self
            .within_secs
            .ok_or("within_secs: a multi-event rule needs its window")?;
        crate::safety::policy::window("within_secs", secs)?;
        if self.policy.as_ref().is_some_and(|p| p.threshold.is_some()) {
            return Err(
                "policy.threshold: a multi-event rule correlates with `all` already".into(),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in self.all.iter().enumerate() {
            crate::manifest::check_identifier(&format!("all[{i}].name"), &c.name, 64)
                .map_err(|e| e.to_string())?;
            if !names.insert(&c.name) {
                return Err(format!("all[{i}].name: {:?} is used twice", c.name));
            }
            glob::validate(&format!("all[{i}].source"), c.source.as_deref())?;
            glob::validate(&format!("all[{i}].type"), c.event_type.as_deref())?;
            CompiledCriterion::compile_all(&c.criteria)
                .and_then(|_| criteria::check_can_match(&c.criteria))
                .map_err(|e| format!("all[{i}].{e}"))?;
        }
        Ok(())
    }
}

impl CompiledRule {
    pub fn compile(rule: Rule) -> Result<Self, String> {
        let criteria = CompiledCriterion::compile_all(&rule.spec.criteria)?;
        let conditions = rule
            .spec
            .all
            .iter()
            .map(|c| {
                Ok(CompiledCondition {
                    name: c.name.clone(),
                    source: c.source.clone(),
                    event_type: c.event_type.clone(),
                    criteria: CompiledCriterion::compile_all(&c.criteria)?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            rule,
            criteria,
            conditions,
        })
    }

    /// The conditions of a multi-event rule this event meets (empty for a
    /// single-event rule, or when it meets none).
    pub fn matched_conditions(
        &self,
        source: &str,
        event_type: &str,
        envelope: &Value,
    ) -> Vec<String> {
        self.conditions
            .iter()
            .filter(|c| c.meets(source, event_type, envelope))
            .map(|c| c.name.clone())
            .collect()
    }

    /// The names of every condition of a multi-event rule.
    pub fn condition_names(&self) -> Vec<String> {
        self.conditions.iter().map(|c| c.name.clone()).collect()
    }

    /// Whether this rule fires for the event (`envelope` = `{id, source, type, time, data}`).
    pub fn matches(&self, source: &str, event_type: &str, envelope: &Value) -> bool {
        let spec = &self.rule.spec;
        if !self.conditions.is_empty() {
            return spec.enabled
                && self
                    .conditions
                    .iter()
                    .any(|c| c.meets(source, event_type, envelope));
        }
        spec.enabled
            && glob::matches_optional(spec.source.as_deref(), source)
            && glob::matches_optional(spec.event_type.as_deref(), event_type)
            && self.criteria.iter().all(|c| c.matches(envelope))
    }

    /// The runbook input for an event this rule matched. Templates see the
    /// envelope's fields at the top level (`{{ data.x }}`) and the whole
    /// envelope as `event` (`{{ event.data.x }}`).
    pub fn render_input(&self, envelope: &Value) -> Result<Value, String> {
        self.render_input_with(envelope, None)
    }

    /// The input of a correlation that fired: templates also see `events`
    /// (a threshold's envelopes oldest first, or a multi-event rule's
    /// envelope per condition name); without `params` the input is
    /// `{data, events}`.
    pub fn render_input_with(
        &self,
        envelope: &Value,
        events: Option<&Value>,
    ) -> Result<Value, String> {
        match &self.rule.spec.params {
            Some(params) => params::render_params(params, &template_context(envelope, events)),
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
        let context = template_context(envelope, None);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validate(extra: Value) -> Result<(), String> {
        let mut rule = json!({"runbook": "hello", "environment": "dev"});
        let extra = extra.as_object().unwrap().clone();
        rule.as_object_mut().unwrap().extend(extra);
        serde_json::from_value::<RuleSpec>(rule)
            .map_err(|e| e.to_string())?
            .validate()
    }

    /// A multi-event rule of conditions `a` (with `criteria`) and `b`.
    fn two_conditions(criteria: Value) -> Value {
        json!({"all": [{"name": "a", "criteria": criteria}, {"name": "b"}], "within_secs": 60})
    }

    fn with(mut rule: Value, key: &str, value: Value) -> Value {
        rule[key] = value;
        rule
    }

    #[test]
    fn rules_that_could_never_take_effect_are_refused_naming_the_part() {
        let cases = [
            (
                json!({"criteria": [{"path": "labels.env", "op": "ne", "value": "prod"}]}),
                "criteria[0].path",
            ),
            (
                two_conditions(json!([
                    {"path": "data.x", "op": "eq", "value": 1},
                    {"path": "event.data.x", "op": "exists"},
                ])),
                "all[0].criteria[1].path",
            ),
            (
                json!({"criteria": [{"path": "data.x", "op": "in", "value": []}]}),
                "criteria[0].value",
            ),
            (
                json!({"criteria": [{"path": "data.alerts[*].x", "op": "exists"}]}),
                "criteria[0]",
            ),
            (json!({"params": {"s": "{{ labels.service }}"}}), "params.s"),
            (json!({"params": {"e": "{{ events }}"}}), "params.e"),
            (
                with(
                    two_conditions(json!([])),
                    "params",
                    json!({"c": "{{ events.c.data }}"}),
                ),
                "params.c",
            ),
            (
                json!({"policy": {"key": "{{ labels.service }}"}}),
                "policy.key",
            ),
        ];
        for (rule, part) in cases {
            let err = validate(rule.clone()).unwrap_err();
            assert!(err.starts_with(part), "{rule}: {err}");
        }
    }

    #[test]
    fn templates_see_events_only_where_the_rule_correlates() {
        let fine = [
            json!({
                "criteria": [{"path": "data.x", "op": "ne", "value": 1}],
                "params": {"s": "{{ data.x }}", "e": "{{ event.id }}", "m": "{{ metadata }}"},
            }),
            with(
                two_conditions(json!([])),
                "params",
                json!({"a": "{{ events.a.data }}", "b": "{{ events.b }}", "all": "{{ events }}"}),
            ),
            json!({
                "policy": {"threshold": {"count": 2, "within_secs": 60}},
                "params": {"n": "{{ events | length }}"},
            }),
        ];
        for rule in fine {
            assert_eq!(validate(rule.clone()), Ok(()), "{rule}");
        }
    }
}
