//! Removes secret values from what an execution leaves behind. A runbook that
//! read a secret may echo it into its output, logs or a URL; the record that
//! operators and auditors read must not carry it — neither verbatim nor in
//! the encodings a runbook reaches for without thinking (URL, base64, hex,
//! JSON escaping). A secret folded into a larger encoded value (base64 of
//! `user:password`) or deliberately transformed cannot be recognised; the
//! trail still shows where every outbound call went.

use crate::redaction::Redactor;
use crate::sandbox::report::ExecutionReport;
use serde_json::Value;

/// Replaces every occurrence of each secret in the report's recorded text.
pub fn redact_report(report: &mut ExecutionReport, secrets: &[String]) {
    let redactor = Redactor::new(secrets);
    if redactor.is_empty() {
        return;
    }
    let scrub = |text: &mut String| redactor.scrub(text);
    for entry in &mut report.logs {
        scrub(&mut entry.message);
    }
    for call in &mut report.capability_calls {
        scrub(&mut call.target);
        scrub(&mut call.outcome);
    }
    if let Some(error) = &mut report.error {
        scrub(&mut error.message);
        if let Some(backtrace) = &mut error.backtrace {
            scrub(backtrace);
        }
    }
    if let Some(output) = &mut report.output {
        redact_value(output, &scrub);
    }
    if let Some(transcript) = &mut report.transcript {
        transcript.scrub(&scrub);
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
