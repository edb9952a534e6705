//! A rule's safety policy as configured (`"policy"` on a rule): how events
//! are grouped into keys and the limits each key (or the whole rule) is held
//! to. Validated when the rule is stored; enforced by [`super::gate`].

use crate::sandbox::report::ExecutionStatus;
use serde::{Deserialize, Serialize};

/// The longest window any limit may use: 30 days.
pub const MAX_WINDOW_SECS: u64 = 30 * 24 * 3600;
/// Events one threshold may correlate: they are kept with the key's state
/// and handed to the runbook together.
pub const MAX_THRESHOLD_COUNT: u32 = 100;
/// Executions one rate window may count per key.
pub const MAX_RATE: u32 = 10_000;
/// Keys one budget may track per window.
pub const MAX_BUDGET_KEYS: u32 = 10_000;
/// Circuit failures one key may need before opening.
pub const MAX_CIRCUIT_FAILURES: u32 = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// A template over the event envelope (like `params`, without
    /// `events`) that groups events, so it must read the event; absent: the
    /// whole rule is one group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The first event of a key runs; the next ones within the window are
    /// folded into it (`deduplicated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub once_within_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit: Option<Circuit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Runs for real, but only reads go out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Who hears about failures, suppressions and approvals, through
    /// which connector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<crate::notify::NotifySpec>,
}

/// Retry executions that ended in one of `on`, up to `max_attempts` runs in
/// all (the first run included, so at least 2), after
/// `initial_delay_secs · 2^(n-1)` (at most `max_delay_secs`), with jitter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub max_attempts: u32,
    pub initial_delay_secs: u64,
    pub max_delay_secs: u64,
    #[serde(default = "default_retry_on")]
    pub on: Vec<ExecutionStatus>,
}

fn default_retry_on() -> Vec<ExecutionStatus> {
    vec![ExecutionStatus::Failed, ExecutionStatus::TimedOut]
}

/// Runs one retry policy may ask for.
pub const MAX_ATTEMPTS: u32 = 20;

/// At most `max` executions per key per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub max: u32,
    pub per_secs: u64,
}

/// Fire once when `count` events of one key arrived within the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub count: u32,
    pub within_secs: u64,
}

/// At most `max` executions of one key between queued and finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Concurrency {
    pub max: u32,
    #[serde(default)]
    pub on_busy: OnBusy,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnBusy {
    /// Wait (without holding a worker) and run in arrival order.
    #[default]
    Queue,
    /// Suppress as `busy`.
    Suppress,
}

/// At most `max_keys` distinct keys acted on per window, across the rule
/// (so it needs a `key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub max_keys: u32,
    pub per_secs: u64,
}

/// After `failures` unsuccessful executions of a key within the window, the
/// key's events are suppressed until `cooldown_secs` pass; then one trial
/// execution is let through and its success closes the circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Circuit {
    pub failures: u32,
    pub within_secs: u64,
    pub cooldown_secs: u64,
}

/// Executions wait for an operator's approval, at most `timeout_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub timeout_secs: u64,
}

impl Policy {
    /// Checks every limit is in range and the key template compiles; the
    /// error names the field (`policy.rate.max: …`).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(key) = &self.key {
            if key.trim().is_empty() {
                return Err(
                    "policy.key: must not be empty (leave it out to make the whole rule one group)"
                        .into(),
                );
            }
            let template = serde_json::Value::String(key.clone());
            crate::rules::params::validate_params(&template)
                .and_then(|()| {
                    crate::rules::params::check_variables(
                        &template,
                        crate::rules::params::Events::Absent,
                    )
                })
                .map_err(|e| format!("policy.key: {}", e.trim_start_matches("params: ")))?;
            if !crate::rules::params::reads_context(key) {
                return Err(format!(
                    "policy.key: {key:?} reads nothing from the event, so it would group every event under one key (name a variable, e.g. {{{{ data.labels.service }}}}, or leave key out to make the whole rule one group)"
                ));
            }
        }
        if let Some(secs) = self.once_within_secs {
            window("policy.once_within_secs", secs)?;
        }
        if let Some(r) = &self.rate {
            count("policy.rate.max", r.max, MAX_RATE)?;
            window("policy.rate.per_secs", r.per_secs)?;
        }
        if let Some(t) = &self.threshold {
            count("policy.threshold.count", t.count, MAX_THRESHOLD_COUNT)?;
            window("policy.threshold.within_secs", t.within_secs)?;
        }
        if let Some(c) = &self.concurrency {
            count("policy.concurrency.max", c.max, MAX_RATE)?;
        }
        if let Some(b) = &self.budget {
            count("policy.budget.max_keys", b.max_keys, MAX_BUDGET_KEYS)?;
            window("policy.budget.per_secs", b.per_secs)?;
        }
        if let Some(c) = &self.circuit {
            count("policy.circuit.failures", c.failures, MAX_CIRCUIT_FAILURES)?;
            window("policy.circuit.within_secs", c.within_secs)?;
            window("policy.circuit.cooldown_secs", c.cooldown_secs)?;
        }
        if let Some(a) = &self.approval {
            window("policy.approval.timeout_secs", a.timeout_secs)?;
        }
        for (i, n) in self.notify.iter().enumerate() {
            n.validate(i)?;
        }
        if let Some(r) = &self.retry {
            if !(2..=MAX_ATTEMPTS).contains(&r.max_attempts) {
                return Err(format!(
                    "policy.retry.max_attempts: counts every run, the first included, so it must be between 2 (one retry) and {MAX_ATTEMPTS}, not {}",
                    r.max_attempts
                ));
            }
            window("policy.retry.initial_delay_secs", r.initial_delay_secs)?;
            window("policy.retry.max_delay_secs", r.max_delay_secs)?;
            if r.max_delay_secs < r.initial_delay_secs {
                return Err(
                    "policy.retry.max_delay_secs: must not be below initial_delay_secs".into(),
                );
            }
            if r.on.is_empty() {
                return Err("policy.retry.on: name at least one status".into());
            }
            if let Some(s) = r.on.iter().find(|s| {
                !s.is_terminal()
                    || matches!(
                        s,
                        ExecutionStatus::Succeeded
                            | ExecutionStatus::Suppressed
                            | ExecutionStatus::Cancelled
                    )
            }) {
                return Err(format!(
                    "policy.retry.on: {} cannot be retried (failed, timed_out, out_of_fuel or out_of_memory)",
                    s.as_str()
                ));
            }
        }
        self.check_takes_effect()
    }

    /// Refuses settings that are in range but could never take effect.
    fn check_takes_effect(&self) -> Result<(), String> {
        // The gate counts distinct keys against the budget; a key already
        // counted is let through. Without a key every event has the same
        // one (a key that reads no variable was refused above).
        if self.budget.is_some() && self.key.is_none() {
            return Err("policy.budget: counts distinct keys, so it needs a policy.key that reads the event (e.g. {{ data.labels.service }}); without one every event has the same key and the budget never holds anything back".into());
        }
        for (i, n) in self.notify.iter().enumerate() {
            let never = |on: &str, needs: &str| {
                format!("policy.notify[{i}].on: {on:?} never happens without policy.{needs}")
            };
            for on in &n.on {
                match on.as_str() {
                    "awaiting_approval" if self.approval.is_none() => {
                        return Err(never(on, "approval"));
                    }
                    "retries_exhausted" if self.retry.is_none() => {
                        return Err(never(on, "retry"));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Whether any limit keeps state per key (a policy of only `dry_run`
    /// or `approval` needs no key state, and takes no lock).
    pub fn has_limits(&self) -> bool {
        self.once_within_secs.is_some()
            || self.rate.is_some()
            || self.threshold.is_some()
            || self.concurrency.is_some()
            || self.budget.is_some()
            || self.circuit.is_some()
    }
}

/// A window of 1 s to [`MAX_WINDOW_SECS`], or an error naming `field`.
pub(crate) fn window(field: &str, secs: u64) -> Result<(), String> {
    if secs == 0 || secs > MAX_WINDOW_SECS {
        return Err(format!(
            "{field}: must be between 1 and {MAX_WINDOW_SECS} seconds, not {secs}"
        ));
    }
    Ok(())
}

fn count(field: &str, n: u32, max: u32) -> Result<(), String> {
    if n == 0 || n > max {
        return Err(format!("{field}: must be between 1 and {max}, not {n}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Policy, String> {
        let p: Policy = serde_json::from_value(v).map_err(|e| e.to_string())?;
        p.validate().map(|()| p)
    }

    #[test]
    fn the_documented_policy_parses_and_validates() {
        let p = parse(json!({
            "key": "{{ data.labels.service }}",
            "once_within_secs": 600,
            "rate": {"max": 5, "per_secs": 3600},
            "threshold": {"count": 3, "within_secs": 300},
            "concurrency": {"max": 1, "on_busy": "queue"},
            "budget": {"max_keys": 5, "per_secs": 3600},
            "circuit": {"failures": 3, "within_secs": 3600, "cooldown_secs": 1800},
            "approval": {"timeout_secs": 1800},
            "dry_run": false
        }))
        .unwrap();
        assert_eq!(p.concurrency.unwrap().on_busy, OnBusy::Queue);
        assert!(p.has_limits());
    }

    #[test]
    fn the_example_rules_parse_and_validate() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/alertmanager");
        let mut with_policy = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !(name.starts_with("rule-") && name.ends_with(".toml")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut spec: serde_json::Value =
                serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
            spec.as_object_mut().unwrap().remove("name");
            let spec: crate::rules::RuleSpec =
                serde_json::from_value(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
            spec.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            with_policy += usize::from(spec.policy.is_some());
        }
        assert!(with_policy >= 2, "the examples show policies");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"rate": {"max": 0, "per_secs": 60}}),
                "policy.rate.max",
            ),
            (json!({"once_within_secs": 0}), "policy.once_within_secs"),
            (
                json!({"budget": {"max_keys": 5, "per_secs": 99999999}}),
                "policy.budget.per_secs",
            ),
            (
                json!({"threshold": {"count": 101, "within_secs": 5}}),
                "policy.threshold.count",
            ),
            (json!({"key": "{{ data.x "}), "policy.key"),
            (json!({"key": "  "}), "policy.key"),
            (
                json!({"circuit": {"failures": 3, "within_secs": 60, "cooldown_secs": 0}}),
                "policy.circuit.cooldown_secs",
            ),
        ];
        for (policy, field) in cases {
            let err = parse(policy.clone()).unwrap_err();
            assert!(err.starts_with(field), "{policy}: {err}");
        }
        let retry = json!({"max_attempts": 1, "initial_delay_secs": 1, "max_delay_secs": 1});
        let notify = |on: &str| json!([{"on": [on], "connector": "chat"}]);
        let never_take_effect = [
            (
                json!({"key": "checkout", "rate": {"max": 1, "per_secs": 60}}),
                "policy.key",
                "one key",
            ),
            (
                json!({"key": "{{ 'x' }}-{{ range(2) | list }}"}),
                "policy.key",
                "one key",
            ),
            (
                json!({"key": "{{ labels.service }}"}),
                "policy.key",
                "`labels`",
            ),
            (
                json!({"key": "{{ events | length }}"}),
                "policy.key",
                "`events`",
            ),
            (
                json!({"budget": {"max_keys": 5, "per_secs": 60}}),
                "policy.budget",
                "policy.key",
            ),
            (
                json!({"notify": notify("awaiting_approval")}),
                "policy.notify[0].on",
                "policy.approval",
            ),
            (
                json!({"notify": notify("retries_exhausted")}),
                "policy.notify[0].on",
                "policy.retry",
            ),
            (
                json!({"retry": retry}),
                "policy.retry.max_attempts",
                "between 2",
            ),
        ];
        for (policy, field, why) in never_take_effect {
            let err = parse(policy.clone()).unwrap_err();
            assert!(
                err.starts_with(field) && err.contains(why),
                "{policy}: {err}"
            );
        }
        let mut retry = retry;
        retry["max_attempts"] = json!(2);
        let fine = [
            json!({"key": "{{ data.service }}", "budget": {"max_keys": 5, "per_secs": 60}}),
            json!({"approval": {"timeout_secs": 60}, "notify": notify("awaiting_approval")}),
            json!({"retry": retry, "notify": notify("retries_exhausted")}),
            json!({"notify": notify("failed")}),
        ];
        for policy in fine {
            assert!(parse(policy.clone()).is_ok(), "{policy}");
        }
        let err = parse(json!({"rate": {"max": 1, "per_secs": 1, "burst": 2}})).unwrap_err();
        assert!(err.contains("burst"), "{err}");
        let err = parse(json!({"concurrency": {"max": 1, "on_busy": "drop"}})).unwrap_err();
        assert!(err.contains("drop"), "{err}");
    }
}
