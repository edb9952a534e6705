//! Removes secret values from what an execution leaves behind. A runbook that
//! read a secret may echo it into its output, logs or a URL; the record that
//! operators and auditors read must not carry it.

use crate::sandbox::report::ExecutionReport;
use serde_json::Value;

/// Shorter values are not redacted: they would shred unrelated text while
/// hiding nothing an attacker could not guess.
pub const MIN_REDACTED_LEN: usize = 4;
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every occurrence of each secret in the report's recorded text.
pub fn redact_report(report: &mut ExecutionReport, secrets: &[String]) {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.len() >= MIN_REDACTED_LEN)
        .collect();
    if secrets.is_empty() {
        return;
    }
    // Longest first, so a secret containing another is removed whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let scrub = |text: &mut String| {
        for s in &secrets {
            if text.contains(s) {
                *text = text.replace(s, REDACTED);
            }
        }
    };
    for entry in &mut report.logs {
        scrub(&mut entry.message);
    }
    for call in &mut report.capability_calls {
        scrub(&mut call.target);
        scrub(&mut call.outcome);
    }
    if let Some(error) = &mut report.error {
        scrub(&mut error.message);
    }
    if let Some(output) = &mut report.output {
        redact_value(output, &scrub);
    }
}

fn redact_value(value: &mut Value, scrub: &impl Fn(&mut String)) {
    match value {
        Value::String(s) => scrub(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, scrub)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (mut key, mut v) in entries {
                scrub(&mut key);
                redact_value(&mut v, scrub);
                map.insert(key, v);
            }
        }
        _ => {}
    }
}
