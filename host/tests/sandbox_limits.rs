//! Hostile guests end in the status their behaviour deserves, with a message
//! that says why — and the same sandbox serves the next execution normally.

mod common;

use serde_json::json;
use wolfe::sandbox::report::{ErrorKind, ExecutionStatus};

/// (case, expected status, expected error kind, fragment of the message)
const HOSTILE: &[(&str, ExecutionStatus, ErrorKind, &str)] = &[
    (
        "infinite_loop",
        ExecutionStatus::OutOfFuel,
        ErrorKind::OutOfFuel,
        "fuel exhausted",
    ),
    (
        "memory_bomb",
        ExecutionStatus::OutOfMemory,
        ErrorKind::OutOfMemory,
        "memory limit exceeded",
    ),
    (
        "recursion",
        ExecutionStatus::Failed,
        ErrorKind::Trap,
        "unbounded recursion",
    ),
    (
        "panic",
        ExecutionStatus::Failed,
        ErrorKind::Trap,
        "deliberate panic: on purpose",
    ),
    (
        "big_output",
        ExecutionStatus::Failed,
        ErrorKind::OutputTooLarge,
        "limit is 1048576 bytes",
    ),
    (
        "guest_error",
        ExecutionStatus::Failed,
        ErrorKind::GuestError,
        "broker b7 is down",
    ),
    (
        "exit",
        ExecutionStatus::Failed,
        ErrorKind::Trap,
        "guest called exit",
    ),
    (
        "sleep",
        ExecutionStatus::TimedOut,
        ErrorKind::TimedOut,
        "deadline of 300 ms",
    ),
];

const SHORT_DEADLINE: &str = r#"
name = "conformance"
version = "0.1.0"
language = "rust"
[limits]
memory_mb = 32
fuel = 200_000_000
timeout_ms = 300
"#;

#[tokio::test]
async fn each_hostile_case_ends_in_its_status_and_the_engine_keeps_serving() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", Some(SHORT_DEADLINE));
    for (case, status, kind, fragment) in HOSTILE {
        let report = common::run(
            &sandbox,
            &runbook,
            json!({"case": case, "why": "on purpose", "broker": "b7"}),
        )
        .await;
        assert_eq!(
            report.status,
            *status,
            "case {case}: {}",
            common::show(&report)
        );
        let error = report
            .error
            .as_ref()
            .expect("a failed execution carries an error");
        assert_eq!(error.kind, *kind, "case {case}");
        assert!(
            error.message.contains(fragment),
            "case {case}: message {:?} lacks {fragment:?}",
            error.message
        );
        assert!(report.output.is_none(), "case {case} has no output");

        let next = common::run(&sandbox, &runbook, json!({"case": "echo", "after": case})).await;
        assert_eq!(
            next.status,
            ExecutionStatus::Succeeded,
            "after {case}: {}",
            common::show(&next)
        );
        assert_eq!(next.output.unwrap()["after"], *case);
    }
}

#[tokio::test]
async fn ample_fuel_but_a_short_deadline_times_out_a_busy_loop() {
    let sandbox = common::sandbox();
    let manifest = SHORT_DEADLINE.replace("fuel = 200_000_000", "fuel = 1_000_000_000_000");
    let runbook = common::prepare(&sandbox, "conformance", Some(&manifest));
    let report = common::run(&sandbox, &runbook, json!({"case": "infinite_loop"})).await;
    assert_eq!(
        report.status,
        ExecutionStatus::TimedOut,
        "{}",
        common::show(&report)
    );
    // Stopped near its deadline, not after it burned its fuel.
    assert!(
        report.duration_ms >= 300 && report.duration_ms < 2_000,
        "took {} ms",
        report.duration_ms
    );
    assert!(report.fuel_consumed < 1_000_000_000_000);
}

#[tokio::test]
async fn fuel_and_memory_are_measured_on_success() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "hello", None);
    let report = common::run(&sandbox, &runbook, json!({"x": 1})).await;
    assert_eq!(report.status, ExecutionStatus::Succeeded);
    assert!(report.fuel_consumed > 0 && report.fuel_consumed < runbook.limits.fuel);
    assert!(
        report.memory_peak_bytes >= 64 * 1024,
        "at least one wasm page: {}",
        report.memory_peak_bytes
    );
    assert_eq!(report.output.unwrap()["echo"], json!({"x": 1}));
}

#[tokio::test]
async fn a_log_flood_is_truncated_with_a_marker() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    for case in ["log_flood", "stdout_flood"] {
        let report = common::run(&sandbox, &runbook, json!({"case": case})).await;
        assert_eq!(report.status, ExecutionStatus::Succeeded, "{case}");
        let bytes: usize = report.logs.iter().map(|e| e.message.len()).sum();
        assert!(
            bytes <= wolfe::sandbox::limits::MAX_LOG_BYTES + 200,
            "{case}: {bytes} bytes kept"
        );
        assert!(report.logs.len() <= wolfe::sandbox::limits::MAX_LOG_ENTRIES + 1);
        let marker = report.logs.last().unwrap();
        assert!(
            marker.message.starts_with("[log truncated:"),
            "{case}: {}",
            marker.message
        );
    }
}

/// 100,000 log calls make a transcript larger than its cap: recording stops
/// there, the transcript says it is incomplete, and `wolfe replay` refuses
/// it rather than calling every later call a difference.
#[tokio::test]
async fn a_transcript_over_its_cap_is_marked_and_not_replayed() {
    use wolfe::capabilities::transcript::MAX_TRANSCRIPT_BYTES;
    use wolfe::sandbox::replay::{EXPORT_FORMAT, ExecutionExport, Recorded};
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let inputs = common::Inputs {
        transcript: wolfe::sandbox::Transcribe::Record,
        ..Default::default()
    };
    let event = json!({"case": "log_flood"});
    let report = common::run_with(&sandbox, &runbook, event.clone(), inputs).await;
    assert_eq!(report.status, ExecutionStatus::Succeeded);
    let recorded = Recorded::from_report(&report).unwrap();
    let transcript = &recorded.transcript;
    assert!(!transcript.complete);
    assert!(transcript.bytes as usize <= MAX_TRANSCRIPT_BYTES);
    assert!(transcript.calls.len() > 1_000 && transcript.calls.len() < 100_000);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exec.json");
    let export = ExecutionExport {
        format: EXPORT_FORMAT.into(),
        runbook: runbook.name.clone(),
        version: runbook.version.clone(),
        sha256: runbook.component.sha256.clone(),
        component: Some(common::guest_path("conformance").display().to_string()),
        manifest: None,
        input: event,
        dry_run: false,
        limits: report.limits.clone(),
        recorded,
    };
    std::fs::write(&file, serde_json::to_vec(&export).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(["replay", "--file", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("cannot be replayed"), "{stderr}");
}

#[tokio::test]
async fn manifest_limits_above_the_host_ceiling_are_clamped_and_reported() {
    let sandbox = wolfe::sandbox::Sandbox::new(wolfe::sandbox::SandboxConfig {
        host_limits: wolfe::sandbox::limits::HostLimits {
            max_memory_mb: 8,
            max_fuel: 100_000_000,
            max_timeout_ms: 2_000,
        },
        ..Default::default()
    })
    .unwrap();
    let runbook = common::prepare(&sandbox, "conformance", None); // declares 32 MiB, 5 s
    assert_eq!(runbook.limits.memory_mb, 8);
    assert_eq!(runbook.limits.timeout_ms, 2_000);
    let report = common::run(&sandbox, &runbook, json!({"case": "memory_bomb"})).await;
    assert_eq!(report.status, ExecutionStatus::OutOfMemory);
    assert!(report.memory_peak_bytes <= 8 * 1024 * 1024);
    assert_eq!(
        report.limits.clamped,
        vec![
            "memory_mb: 32 -> 8",
            "fuel: 200000000 -> 100000000",
            "timeout_ms: 5000 -> 2000"
        ]
    );
}

#[tokio::test]
async fn concurrent_executions_are_isolated() {
    let sandbox = std::sync::Arc::new(common::sandbox());
    let runbook = common::prepare(&sandbox, "conformance", None);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (sandbox, runbook) = (sandbox.clone(), runbook.clone());
        tasks.push(tokio::spawn(async move {
            let case = if i % 2 == 0 { "infinite_loop" } else { "echo" };
            (
                i,
                common::run(&sandbox, &runbook, json!({"case": case, "i": i})).await,
            )
        }));
    }
    for task in tasks {
        let (i, report) = task.await.unwrap();
        if i % 2 == 0 {
            assert_eq!(report.status, ExecutionStatus::OutOfFuel);
        } else {
            assert_eq!(report.status, ExecutionStatus::Succeeded);
            assert_eq!(report.output.unwrap()["i"], i);
        }
    }
}
