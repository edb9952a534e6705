//! A replay's verdict: how an execution run again from its transcript
//! compares with the one recorded. `identical` means the same calls, the
//! same status, the same output and the same fuel (except after a timeout:
//! where the clock stopped the guest is not deterministic); otherwise
//! the first difference found, in the order calls, status, output.

use crate::capabilities::transcript::{Call, HostCall, Transcript};
use crate::sandbox::report::{ExecutionReport, ExecutionStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an execution did, as far as a replay is compared with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recorded {
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub fuel_consumed: u64,
    pub transcript: Transcript,
}

impl Recorded {
    /// What a recorded execution's report says; `None` without a transcript.
    pub fn from_report(report: &ExecutionReport) -> Option<Self> {
        Some(Self {
            status: report.status,
            output: report.output.clone(),
            fuel_consumed: report.fuel_consumed,
            transcript: report.transcript.clone()?,
        })
    }
}

/// What `wolfe replay --file` reads: an execution with its transcript, as
/// `wolfe run --record` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExecutionExport {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    pub runbook: String,
    pub version: String,
    /// The sha256 of the component that ran.
    pub sha256: String,
    /// Where the component was, for a local run (a replay's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The version's manifest as uploaded (in a server's export).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    pub input: Value,
    #[serde(default)]
    pub dry_run: bool,
    /// The limits it ran under; a replay runs under the same.
    pub limits: crate::sandbox::limits::ExecutionLimits,
    pub recorded: Recorded,
}

/// The `format` of an [`ExecutionExport`].
pub const EXPORT_FORMAT: &str = "wolfe-execution/1";

/// How a replay compares with the execution it replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Identical,
    /// The first call that differs (`index` in the transcript); `None` on
    /// one side when that side made fewer calls.
    CallsDiffer {
        index: usize,
        recorded: Option<Box<HostCall>>,
        replayed: Option<Box<HostCall>>,
    },
    StatusDiffers {
        recorded: ExecutionStatus,
        replayed: ExecutionStatus,
    },
    /// Every place the outputs (or the fuel used) differ.
    OutputDiffers {
        changes: Vec<OutputChange>,
    },
}

/// One difference between two JSON values, at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutputChange {
    pub path: String,
    pub recorded: Option<Value>,
    pub replayed: Option<Value>,
}

impl Verdict {
    /// The verdict's name as `wolfe replay` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Identical => "identical",
            Verdict::CallsDiffer { .. } => "calls differ",
            Verdict::StatusDiffers { .. } => "status differs",
            Verdict::OutputDiffers { .. } => "output differs",
        }
    }
}

/// Compares a replay with what was recorded.
pub fn compare(recorded: &Recorded, replayed: &ExecutionReport) -> Verdict {
    let empty = Transcript::default();
    let calls = &replayed.transcript.as_ref().unwrap_or(&empty).calls;
    if let Some(index) = first_different_call(&recorded.transcript.calls, calls) {
        return Verdict::CallsDiffer {
            index,
            recorded: written(recorded.transcript.calls.get(index)),
            replayed: written(calls.get(index)),
        };
    }
    if recorded.status != replayed.status {
        return Verdict::StatusDiffers {
            recorded: recorded.status,
            replayed: replayed.status,
        };
    }
    let mut changes = Vec::new();
    diff(
        "",
        recorded.output.as_ref(),
        replayed.output.as_ref(),
        &mut changes,
    );
    let timed_out = recorded.status == ExecutionStatus::TimedOut;
    if !timed_out && recorded.fuel_consumed != replayed.fuel_consumed {
        changes.push(OutputChange {
            path: "fuel_consumed".into(),
            recorded: Some(recorded.fuel_consumed.into()),
            replayed: Some(replayed.fuel_consumed.into()),
        });
    }
    if changes.is_empty() {
        Verdict::Identical
    } else {
        Verdict::OutputDiffers { changes }
    }
}

/// Calls are the same when they ask the same thing and get the same
/// answer. A replay's answers come from the recording, so where the requests
/// agree they differ only when the replayed build's manifest refuses a call
/// the recorded one was allowed.
fn first_different_call(recorded: &[Call], replayed: &[Call]) -> Option<usize> {
    (0..recorded.len().max(replayed.len())).find(|&i| match (recorded.get(i), replayed.get(i)) {
        (Some(a), Some(b)) => {
            !a.asks(b.interface(), b.operation(), &b.request()) || a.answer() != b.answer()
        }
        _ => true,
    })
}

fn written(call: Option<&Call>) -> Option<Box<HostCall>> {
    call.map(|call| Box::new(call.host_call().into_owned()))
}

fn diff(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<OutputChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                diff(&format!("{path}/{escaped}"), x.get(key), y.get(key), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                diff(&format!("{path}/{i}"), x.get(i), y.get(i), out);
            }
        }
        (a, b) if a != b => out.push(OutputChange {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            recorded: a.cloned(),
            replayed: b.cloned(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_changes_are_listed_by_pointer() {
        let mut changes = Vec::new();
        let a = json!({"a": 1, "b": [1, 2], "c/d": "x"});
        let b = json!({"a": 1, "b": [1, 3, 4], "c/d": "y", "e": null});
        diff("", Some(&a), Some(&b), &mut changes);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["/b/1", "/b/2", "/c~1d", "/e"]);
        assert_eq!(changes[2].recorded, Some(json!("x")));
        assert_eq!(changes[1].recorded, None);
    }

    #[test]
    fn a_secrets_stand_in_is_redacted_without_touching_the_placeholder() {
        use crate::capabilities::transcript::secret_stand_in;
        assert_eq!(secret_stand_in(3), "~~~");
        assert_eq!(secret_stand_in(12).len(), 12);
        // Redacting a stand-in leaves the record's placeholder whole.
        let redactor = crate::redaction::Redactor::new(&[secret_stand_in(4)]);
        let mut text = format!("{} and ~~~~", crate::redaction::REDACTED);
        redactor.scrub(&mut text);
        assert_eq!(text, "[REDACTED] and [REDACTED]");
    }

    #[test]
    fn the_first_different_call_is_named() {
        let call = |key: &str| {
            Call::from(HostCall {
                interface: "kv".into(),
                operation: "get".into(),
                request: json!({ "key": key }),
                answer: json!({"ok": null}),
            })
        };
        let a = [call("x"), call("y")];
        assert_eq!(first_different_call(&a, &a), None);
        assert_eq!(first_different_call(&a, &[call("x"), call("z")]), Some(1));
        assert_eq!(first_different_call(&a, &[call("x")]), Some(1));
        // The same request refused by the replayed build's manifest.
        let refused = Call::from(HostCall {
            answer: json!({"error": {"denied": "kv is not declared in the manifest"}}),
            ..call("y").host_call().into_owned()
        });
        assert_eq!(first_different_call(&a, &[call("x"), refused]), Some(1));
    }
}
