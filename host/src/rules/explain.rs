//! "Why did (or didn't) it run": which check of a rule an event failed,
//! with the value found at the path, or which conditions of a multi-event
//! rule it met. The same checks as matching, reported instead of answered.

use super::CompiledRule;
use super::criteria::{CompiledCriterion, Op};
use super::path;
use serde::Serialize;
use serde_json::{Value, json};

/// The first check an event failed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Mismatch {
    /// `enabled`, `source`, `type`, `criteria[2]`, `all[1].criteria[0]`.
    pub check: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    pub expected: Value,
    /// What the event has there (`null` inside when the path is missing).
    pub found: Value,
}

/// How an event fared against one rule.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    pub matched: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<Mismatch>,
    /// A multi-event rule: the conditions this event met.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions_met: Vec<String>,
    /// A multi-event rule: why each other condition was not met.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions_failed: Vec<(String, Mismatch)>,
}

impl CompiledRule {
    /// Explains [`matches`](CompiledRule::matches) for one event.
    pub fn explain(&self, source: &str, event_type: &str, envelope: &Value) -> Explanation {
        let spec = &self.rule.spec;
        if !spec.enabled {
            return not_matched(Mismatch {
                check: "enabled".into(),
                path: None,
                op: None,
                expected: json!(true),
                found: json!(false),
            });
        }
        if self.conditions.is_empty() {
            let failed = first_failure(
                "",
                spec.source.as_deref(),
                spec.event_type.as_deref(),
                &self.criteria,
                source,
                event_type,
                envelope,
            );
            return Explanation {
                matched: failed.is_none(),
                failed,
                conditions_met: Vec::new(),
                conditions_failed: Vec::new(),
            };
        }
        let mut met = Vec::new();
        let mut failed = Vec::new();
        for (i, c) in self.conditions.iter().enumerate() {
            match first_failure(
                &format!("all[{i}]."),
                c.source.as_deref(),
                c.event_type.as_deref(),
                &c.criteria,
                source,
                event_type,
                envelope,
            ) {
                None => met.push(c.name.clone()),
                Some(m) => failed.push((c.name.clone(), m)),
            }
        }
        Explanation {
            matched: !met.is_empty(),
            failed: None,
            conditions_met: met,
            conditions_failed: failed,
        }
    }
}

fn not_matched(m: Mismatch) -> Explanation {
    Explanation {
        matched: false,
        failed: Some(m),
        conditions_met: Vec::new(),
        conditions_failed: Vec::new(),
    }
}

fn first_failure(
    prefix: &str,
    want_source: Option<&str>,
    want_type: Option<&str>,
    criteria: &[CompiledCriterion],
    source: &str,
    event_type: &str,
    envelope: &Value,
) -> Option<Mismatch> {
    let simple = |check: &str, want: &str, got: &str| Mismatch {
        check: format!("{prefix}{check}"),
        path: None,
        op: None,
        expected: json!(want),
        found: json!(got),
    };
    if let Some(want) = want_source.filter(|w| !super::glob::matches(w, source)) {
        return Some(simple("source", want, source));
    }
    if let Some(want) = want_type.filter(|w| !super::glob::matches(w, event_type)) {
        return Some(simple("type", want, event_type));
    }
    criteria
        .iter()
        .enumerate()
        .find(|(_, c)| !c.matches(envelope))
        .map(|(i, c)| {
            let criterion = c.criterion();
            Mismatch {
                check: format!("{prefix}criteria[{i}]"),
                path: Some(criterion.path.clone()),
                op: Some(criterion.op),
                expected: criterion.value.clone(),
                found: path::lookup(envelope, &criterion.path)
                    .cloned()
                    .unwrap_or(Value::Null),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Rule, RuleSpec};

    fn rule(spec: Value) -> CompiledRule {
        let spec: RuleSpec = serde_json::from_value(spec).unwrap();
        CompiledRule::compile(Rule {
            name: "r".into(),
            spec,
            updated_at: "t".into(),
        })
        .unwrap()
    }

    #[test]
    fn names_the_first_failing_criterion_with_the_value_found() {
        let r = rule(json!({
            "source": "am", "runbook": "rb", "environment": "dev",
            "criteria": [{"path": "data.status", "op": "eq", "value": "firing"},
                         {"path": "data.labels.severity", "op": "in", "value": ["page"]}]
        }));
        let e = r.explain(
            "am",
            "alert",
            &json!({"data": {"status": "firing", "labels": {"severity": "info"}}}),
        );
        assert!(!e.matched);
        let m = e.failed.unwrap();
        assert_eq!((m.check.as_str(), m.found), ("criteria[1]", json!("info")));
        let e = r.explain("other", "alert", &json!({}));
        assert_eq!(e.failed.unwrap().check, "source");
        let e = r.explain(
            "am",
            "x",
            &json!({"data": {"status": "firing", "labels": {"severity": "page"}}}),
        );
        assert!(e.matched && e.failed.is_none());
        let missing = r.explain("am", "x", &json!({"data": {}}));
        assert_eq!(missing.failed.unwrap().found, Value::Null);
    }

    #[test]
    fn a_multi_event_rule_says_which_conditions_were_met() {
        let r = rule(json!({
            "runbook": "rb", "environment": "dev", "within_secs": 60,
            "all": [{"name": "offline", "type": "BrokerOffline"},
                    {"name": "urp", "type": "UnderReplicated"}]
        }));
        let e = r.explain("am", "BrokerOffline", &json!({}));
        assert!(e.matched);
        assert_eq!(e.conditions_met, vec!["offline".to_string()]);
        assert_eq!(e.conditions_failed[0].0, "urp");
        assert_eq!(e.conditions_failed[0].1.check, "all[1].type");
    }
}
