//! Runs one execution: a fresh `Store` with its limits, instantiate from the
//! runbook's `InstancePre`, call `run`, classify how it ended, drop the store.
//! Nothing here panics on guest behaviour: every way a guest can end becomes
//! a status and an error in the report.

use crate::capabilities::http::Outbound;
use crate::capabilities::log::{
    ExecutionLog, LogEntry, LogSource, SharedLog, truncate_at_char_boundary,
};
use crate::capabilities::transcript::Tape;
use crate::capabilities::{CapabilitiesEnd, CapabilityParts};
use crate::sandbox::limits::MAX_OUTPUT_BYTES;
use crate::sandbox::memory::MemoryLimitExceeded;
use crate::sandbox::redact::redact_report;
use crate::sandbox::report::{ErrorKind, ExecutionError, ExecutionReport, ExecutionStatus};
use crate::sandbox::state::ExecutionState;
use crate::sandbox::{ExecutionRequest, PreparedRunbook, Transcribe};
use std::time::Instant;
use wasmtime::{Engine, Store, Trap, UpdateDeadline, WasmBacktrace};

/// Fewer frames than this in a backtrace says nothing about recursion.
const RECURSION_MIN_FRAMES: usize = 16;

/// Longest guest error message kept in the record.
const MAX_GUEST_ERROR_BYTES: usize = 16 * 1024;

/// How the guest call ended, before it is turned into a report.
enum CallEnd {
    Returned(Result<String, String>),
    Trapped(wasmtime::Error, Phase),
    DeadlinePassed,
    Cancelled,
}

#[derive(Clone, Copy)]
enum Phase {
    Instantiate,
    Run,
}

pub(crate) async fn run_execution(
    engine: &Engine,
    outbound: &Outbound,
    runbook: &PreparedRunbook,
    request: ExecutionRequest,
) -> ExecutionReport {
    let started = Instant::now();
    let limits = runbook.limits.clone();
    let deadline = started + limits.timeout();
    let log = ExecutionLog::shared(started);
    let state = ExecutionState::new(
        limits.memory_bytes(),
        CapabilityParts {
            grants: runbook.grants.clone(),
            log: log.clone(),
            outbound: outbound.clone(),
            secrets: request.secrets,
            connectors: request.connectors,
            kv: request.kv,
            events: request.events,
            deadline,
            dry_run: request.dry_run,
            tape: match &request.transcript {
                Transcribe::Off => Tape::default(),
                Transcribe::Record => Tape::recording(rand::random()),
                Transcribe::Replay(source) => Tape::replaying(source.clone()),
            },
        },
    );
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store
        .set_fuel(limits.fuel)
        .expect("fuel consumption is enabled on the engine");
    // Yield to the executor on every tick so one busy guest cannot starve
    // others, and trap once the deadline has passed.
    store.set_epoch_deadline(1);
    let mut on_tick = request.on_tick;
    let cancel = request.cancel.unwrap_or_default();
    let cancelled = cancel.clone();
    store.epoch_deadline_callback(move |_| {
        if let Some(hook) = &mut on_tick {
            hook();
        }
        Ok(if Instant::now() >= deadline || cancelled.is_cancelled() {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });

    let input = request.input.to_string();
    let end = {
        let call = async {
            let instance = match runbook.component.pre.instantiate_async(&mut store).await {
                Ok(i) => i,
                Err(e) => return CallEnd::Trapped(e, Phase::Instantiate),
            };
            match instance.call_run(&mut store, &input).await {
                Ok(result) => CallEnd::Returned(result),
                Err(e) => CallEnd::Trapped(e, Phase::Run),
            }
        };
        // The epoch callback stops guest code; this also stops a guest that is
        // parked in a host call (a WASI sleep, a slow socket) past its deadline.
        let call = tokio::time::timeout_at(deadline.into(), call);
        tokio::select! {
            end = call => end.unwrap_or(CallEnd::DeadlinePassed),
            () = cancel.cancelled() => CallEnd::Cancelled,
        }
    };
    // A guest interrupted because it was cancelled traps like one past its
    // deadline: the token says which it was.
    let end = match end {
        CallEnd::Trapped(..) if cancel.is_cancelled() => CallEnd::Cancelled,
        end => end,
    };

    let fuel_consumed = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let memory_peak_bytes = store.data().limiter.peak() as u64;
    let CapabilitiesEnd {
        trail,
        revealed_secrets: revealed,
        transcript,
    } = store.into_data().capabilities.finish();
    // The state (and with it the guest's stdout/stderr streams) is dropped by
    // now, so any unterminated last line has reached the log.
    let logs = take_log(&log);

    let (status, output, error) = classify(end, &logs, &limits);
    let mut report = ExecutionReport {
        status,
        output,
        error,
        logs,
        capability_calls_dropped: trail.dropped(),
        capability_calls: trail.into_calls(),
        fuel_consumed,
        memory_peak_bytes,
        duration_ms: started.elapsed().as_millis() as u64,
        limits,
        transcript,
    };
    redact_report(&mut report, &revealed);
    report
}

fn take_log(log: &SharedLog) -> Vec<LogEntry> {
    let mut guard = log.lock().expect("execution log lock poisoned");
    let started = Instant::now();
    std::mem::replace(&mut *guard, ExecutionLog::new(started)).finish()
}

type Classified = (
    ExecutionStatus,
    Option<serde_json::Value>,
    Option<ExecutionError>,
);

fn classify(
    end: CallEnd,
    logs: &[LogEntry],
    limits: &crate::sandbox::limits::ExecutionLimits,
) -> Classified {
    match end {
        CallEnd::Returned(Ok(text)) => {
            if text.len() > MAX_OUTPUT_BYTES {
                return failed(
                    ErrorKind::OutputTooLarge,
                    format!(
                        "output is {} bytes; the limit is {MAX_OUTPUT_BYTES} bytes",
                        text.len()
                    ),
                );
            }
            match serde_json::from_str(&text) {
                Ok(value) => (ExecutionStatus::Succeeded, Some(value), None),
                Err(e) => failed(
                    ErrorKind::InvalidOutput,
                    format!("output is not valid JSON: {e}"),
                ),
            }
        }
        CallEnd::Returned(Err(message)) => match sdk_output_too_large(&message) {
            Some(at_least) => failed(
                ErrorKind::OutputTooLarge,
                format!(
                    "output is at least {at_least} bytes; the limit is {MAX_OUTPUT_BYTES} bytes"
                ),
            ),
            None => failed(
                ErrorKind::GuestError,
                truncate(&message, MAX_GUEST_ERROR_BYTES),
            ),
        },
        CallEnd::DeadlinePassed => timed_out(limits.timeout_ms),
        CallEnd::Cancelled => (
            ExecutionStatus::Cancelled,
            None,
            Some(ExecutionError {
                kind: ErrorKind::Cancelled,
                message: "cancelled by an operator while it ran".into(),
                backtrace: None,
            }),
        ),
        CallEnd::Trapped(err, phase) => classify_trap(err, phase, logs, limits),
    }
}

/// The JavaScript SDK measures a result before returning it (handing a
/// string to the host costs fuel per character, so an oversized result
/// would otherwise end `out_of_fuel`) and fails with this prefix and the
/// size. Only a size really over the cap counts, so a runbook cannot pass
/// its own failure off as one.
const SDK_OUTPUT_TOO_LARGE: &str = "wolfe-sdk: output too large: ";

fn sdk_output_too_large(message: &str) -> Option<usize> {
    message
        .strip_prefix(SDK_OUTPUT_TOO_LARGE)?
        .parse::<usize>()
        .ok()
        .filter(|n| *n > MAX_OUTPUT_BYTES)
}

fn classify_trap(
    err: wasmtime::Error,
    phase: Phase,
    logs: &[LogEntry],
    limits: &crate::sandbox::limits::ExecutionLimits,
) -> Classified {
    let wasm_backtrace = err.downcast_ref::<WasmBacktrace>();
    let backtrace = wasm_backtrace
        .map(|bt| bt.to_string())
        .filter(|bt| !bt.trim().is_empty());
    if let Some(oom) = err.downcast_ref::<MemoryLimitExceeded>() {
        return (
            ExecutionStatus::OutOfMemory,
            None,
            Some(ExecutionError {
                kind: ErrorKind::OutOfMemory,
                message: oom.to_string(),
                backtrace,
            }),
        );
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => (
            ExecutionStatus::OutOfFuel,
            None,
            Some(ExecutionError {
                kind: ErrorKind::OutOfFuel,
                message: format!("fuel exhausted: the limit is {} units", limits.fuel),
                backtrace,
            }),
        ),
        Some(Trap::Interrupt) => timed_out(limits.timeout_ms),
        Some(trap) => {
            let mut message = trap.to_string();
            if let Some(panic) = guest_panic_message(logs) {
                message = format!("{message} (guest {panic})");
            } else if js_event_loop_ran_dry(logs) {
                message = format!(
                    "{message} (the JavaScript runbook's promise never settled: its event loop had nothing left to run)"
                );
            } else if wasm_backtrace.is_some_and(looks_like_runaway_recursion) {
                // Rust and C guests keep their stack in linear memory; running
                // off its end is an out-of-bounds access, not a wasm stack trap.
                message = format!(
                    "{message} (the backtrace is one function calling itself: unbounded recursion overflowed the guest's stack)"
                );
            }
            (
                ExecutionStatus::Failed,
                None,
                Some(ExecutionError {
                    kind: ErrorKind::Trap,
                    message,
                    backtrace,
                }),
            )
        }
        None => {
            let (kind, message) = if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
                (
                    ErrorKind::Trap,
                    format!(
                        "guest called exit({}) instead of returning a result",
                        exit.0
                    ),
                )
            } else {
                let kind = match phase {
                    Phase::Instantiate => ErrorKind::Instantiation,
                    Phase::Run => ErrorKind::Trap,
                };
                (kind, format!("{err:#}"))
            };
            (
                ExecutionStatus::Failed,
                None,
                Some(ExecutionError {
                    kind,
                    message,
                    backtrace,
                }),
            )
        }
    }
}

/// Frames of one function repeated back to back, filling the captured
/// backtrace: what runaway recursion leaves behind.
fn looks_like_runaway_recursion(backtrace: &WasmBacktrace) -> bool {
    let frames = backtrace.frames();
    frames.len() >= RECURSION_MIN_FRAMES
        && frames
            .windows(2)
            .filter(|w| w[0].func_index() == w[1].func_index())
            .count()
            >= frames.len() * 3 / 4
}

/// A Rust panic explains the bare `unreachable` trap it ends in. The SDK's
/// panic hook logs `panicked at FILE:LINE:COL: MESSAGE` on one line; std's
/// default hook writes the location line, ending in `:`, then the message.
fn guest_panic_message(logs: &[LogEntry]) -> Option<String> {
    let mut lines = logs
        .iter()
        .filter(|e| e.source != LogSource::Host)
        .flat_map(|e| e.message.lines());
    while let Some(line) = lines.next() {
        if let Some(at) = line.find("panicked at ") {
            let panic = line[at..].trim_end();
            return Some(match panic.strip_suffix(':') {
                Some(location) => format!("{location}: {}", lines.next().unwrap_or("").trim()),
                None => panic.to_string(),
            });
        }
    }
    None
}

/// StarlingMonkey (componentize-js) aborts with this on stderr when `run`'s
/// promise is still pending and no timer or I/O is left to settle it.
const JS_EVENT_LOOP_DRY: &str = "event loop error, but no exception is pending";

fn js_event_loop_ran_dry(logs: &[LogEntry]) -> bool {
    logs.iter()
        .any(|e| e.source == LogSource::Stderr && e.message.contains(JS_EVENT_LOOP_DRY))
}

fn timed_out(timeout_ms: u64) -> Classified {
    (
        ExecutionStatus::TimedOut,
        None,
        Some(ExecutionError {
            kind: ErrorKind::TimedOut,
            message: format!("wall-clock deadline of {timeout_ms} ms passed"),
            backtrace: None,
        }),
    )
}

fn failed(kind: ErrorKind, message: String) -> Classified {
    (
        ExecutionStatus::Failed,
        None,
        Some(ExecutionError {
            kind,
            message,
            backtrace: None,
        }),
    )
}

fn truncate(text: &str, max: usize) -> String {
    let kept = truncate_at_char_boundary(text, max);
    if kept.len() == text.len() {
        return text.to_string();
    }
    format!("{kept}… [truncated, {} bytes in all]", text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::limits::{ExecutionLimits, HostLimits};

    fn limits() -> ExecutionLimits {
        ExecutionLimits::clamp(None, None, None, &HostLimits::default())
    }

    #[test]
    fn output_that_is_not_json_is_invalid_output() {
        let (status, output, error) =
            classify(CallEnd::Returned(Ok("{not json".into())), &[], &limits());
        assert_eq!(status, ExecutionStatus::Failed);
        assert!(output.is_none());
        let error = error.unwrap();
        assert_eq!(error.kind, ErrorKind::InvalidOutput);
        assert!(
            error.message.starts_with("output is not valid JSON"),
            "{}",
            error.message
        );
    }

    #[test]
    fn only_a_real_oversize_from_the_js_sdk_is_output_too_large() {
        let over = format!("{SDK_OUTPUT_TOO_LARGE}{}", MAX_OUTPUT_BYTES + 1);
        let (status, _, error) = classify(CallEnd::Returned(Err(over)), &[], &limits());
        assert_eq!(status, ExecutionStatus::Failed);
        assert_eq!(error.unwrap().kind, ErrorKind::OutputTooLarge);
        for claim in [
            format!("{SDK_OUTPUT_TOO_LARGE}12"),
            format!("{SDK_OUTPUT_TOO_LARGE}lots"),
        ] {
            let (_, _, error) = classify(CallEnd::Returned(Err(claim)), &[], &limits());
            assert_eq!(error.unwrap().kind, ErrorKind::GuestError);
        }
    }

    #[test]
    fn a_huge_guest_error_message_is_truncated() {
        let (_, _, error) = classify(CallEnd::Returned(Err("e".repeat(100_000))), &[], &limits());
        let message = error.unwrap().message;
        assert!(message.len() < MAX_GUEST_ERROR_BYTES + 100);
        assert!(message.ends_with("[truncated, 100000 bytes in all]"));
    }

    #[test]
    fn std_panic_output_is_quoted_from_stderr() {
        let entry = |m: &str| LogEntry {
            at_ms: 0,
            level: crate::capabilities::log::LogLevel::Warn,
            source: LogSource::Stderr,
            message: m.to_string(),
        };
        let logs = [
            entry("thread '<unnamed>' panicked at src/lib.rs:3:5:"),
            entry("boom"),
        ];
        assert_eq!(
            guest_panic_message(&logs).unwrap(),
            "panicked at src/lib.rs:3:5: boom"
        );
    }
}
