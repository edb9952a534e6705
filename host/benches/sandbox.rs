//! Per-execution cost of the sandbox: `hello` run N times, each execution a
//! fresh store, instantiation from the cached `InstancePre`, the `run` call,
//! and the drop — against the same work done the way a process-per-execution
//! runner does it (one `python3` process spawned per execution), measured in
//! the same run on the same machine; then `hello` in Python and JavaScript.
//!
//! Last, the cost of recording transcripts (`recording`): Rust `hello` and
//! the flap-guard example (kv, http to a local agent, a secret) with the
//! transcript off and on, in alternating blocks of the same run.
//!
//! Run: `cargo bench -p wolfe --bench sandbox` (add `-- --quick` for a short
//! run, `-- --recording` for the recording part alone). Results are printed
//! and written to target/bench-results/sandbox.json.

#[path = "sandbox/recording.rs"]
mod recording;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wolfe::capabilities::secrets::StaticSecrets;
use wolfe::sandbox::{ExecutionRequest, Sandbox, SandboxConfig};

/// The baseline: the same echo-and-log work as runbooks/rust/hello.
const PYTHON_HELLO: &str = r#"
import json, sys
event = json.load(sys.stdin)
keys = len(event) if isinstance(event, dict) else 0
print(f"hello: event with {keys} top-level keys", file=sys.stderr)
json.dump({"greeting": "hello from wolfe", "echo": event}, sys.stdout)
"#;

pub(crate) struct Stats {
    pub(crate) median: Duration,
    pub(crate) p99: Duration,
    mean: Duration,
    pub(crate) runs: usize,
}

impl Stats {
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let runs = samples.len();
        let pick = |q: f64| samples[((runs as f64 * q) as usize).min(runs - 1)];
        Self {
            median: pick(0.5),
            p99: pick(0.99),
            mean: samples.iter().sum::<Duration>() / runs as u32,
            runs,
        }
    }

    fn per_second(&self) -> f64 {
        1.0 / self.mean.as_secs_f64()
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (wasm_runs, process_runs) = if quick { (2_000, 50) } else { (20_000, 300) };
    let root = support::repo_root();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("runbooks/rust/hello/event.json")).unwrap(),
    )
    .unwrap();
    // `-- --recording`: only the cost of recording transcripts.
    if std::env::args().any(|a| a == "--recording") {
        let results =
            serde_json::json!({"recording": recording::measure(&runtime, &event, wasm_runs)});
        support::write_results("sandbox-recording", &results);
        return;
    }
    let target = support::target_dir();
    let built = support::build_hello();
    let wasm = std::fs::read(&built.path).unwrap();
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: Some(target.join("bench-cache")),
        ..SandboxConfig::default()
    })
    .unwrap();
    let runbook = sandbox.prepare(&built.manifest, &wasm).unwrap();
    let secrets: Arc<StaticSecrets> = Arc::new(StaticSecrets::default());
    let measure = |runbook: &wolfe::sandbox::PreparedRunbook, runs: usize| {
        let mut fuel = 0;
        let mut memory = 0;
        let mut run_once = || {
            let started = Instant::now();
            let report = runtime.block_on(sandbox.execute(
                runbook,
                ExecutionRequest {
                    input: event.clone(),
                    secrets: secrets.clone(),
                    connectors: Arc::new(
                        wolfe::capabilities::connectors::StaticConnectors::default(),
                    ),
                    kv: None,
                    dry_run: false,
                    on_tick: None,
                    cancel: None,
                    events: None,
                    transcript: wolfe::sandbox::Transcribe::Off,
                },
            ));
            let took = started.elapsed();
            assert!(report.succeeded(), "hello must succeed: {report:?}");
            fuel = report.fuel_consumed;
            memory = report.memory_peak_bytes;
            took
        };
        for _ in 0..runs / 10 {
            run_once();
        }
        let stats = Stats::of((0..runs).map(|_| run_once()).collect());
        (stats, fuel, memory)
    };
    let (wolfe, fuel, memory) = measure(&runbook, wasm_runs);
    // The same hello in the interpreted languages: fewer runs, each costs more.
    let interpreted: Vec<(&str, Stats, u64, u64)> = ["python", "js"]
        .into_iter()
        .map(|language| {
            let built = wolfe::build::build_runbook(
                &root.join("runbooks").join(language).join("hello"),
                Some(&target.join(format!("bench-components/hello-{language}.wasm"))),
            )
            .unwrap_or_else(|e| {
                panic!("build runbooks/{language}/hello (needs scripts/setup.sh): {e}")
            });
            let prepared = sandbox
                .prepare(&built.manifest, &std::fs::read(&built.path).unwrap())
                .unwrap();
            let (stats, fuel, memory) = measure(&prepared, wasm_runs / 10);
            (language, stats, fuel, memory)
        })
        .collect();

    let event_text = event.to_string();
    let spawn_once = || {
        let started = Instant::now();
        let mut child = Command::new("python3")
            .args(["-c", PYTHON_HELLO])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the process-per-execution baseline");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(event_text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let took = started.elapsed();
        assert!(out.status.success());
        let _: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        took
    };
    for _ in 0..5 {
        spawn_once();
    }
    let process = Stats::of((0..process_runs).map(|_| spawn_once()).collect());

    let ratio = wolfe.per_second() / process.per_second();
    println!("per-execution cost of runbooks/rust/hello (sequential, one at a time)");
    println!(
        "{:<28} {:>7} {:>12} {:>12} {:>14}",
        "runner", "runs", "median", "p99", "executions/s"
    );
    for (name, s) in [
        ("wolfe sandbox (fresh store)", &wolfe),
        ("process per execution (py)", &process),
    ] {
        println!(
            "{:<28} {:>7} {:>12.1?} {:>12.1?} {:>14.0}",
            name,
            s.runs,
            s.median,
            s.p99,
            s.per_second()
        );
    }
    println!(
        "throughput ratio: {ratio:.0}x   fuel per execution: {fuel}   peak linear memory: {memory} bytes"
    );
    for (language, stats, fuel, memory) in &interpreted {
        println!(
            "{language} hello ({} runs): median {:.1?}, p99 {:.1?}, {:.0} executions/s, fuel {fuel}, peak linear memory {memory} bytes",
            stats.runs,
            stats.median,
            stats.p99,
            stats.per_second()
        );
    }
    let mut results = serde_json::json!({
        "runbook": "hello",
        "wolfe": {"runs": wolfe.runs, "median_us": wolfe.median.as_secs_f64() * 1e6, "p99_us": wolfe.p99.as_secs_f64() * 1e6, "per_second": wolfe.per_second()},
        "process_per_execution": {"runs": process.runs, "median_us": process.median.as_secs_f64() * 1e6, "p99_us": process.p99.as_secs_f64() * 1e6, "per_second": process.per_second()},
        "throughput_ratio": ratio,
        "fuel_per_execution": fuel,
        "memory_peak_bytes": memory,
    });
    for (language, stats, fuel, memory) in &interpreted {
        results[*language] = serde_json::json!({"runs": stats.runs, "median_us": stats.median.as_secs_f64() * 1e6, "p99_us": stats.p99.as_secs_f64() * 1e6, "per_second": stats.per_second(), "fuel_per_execution": fuel, "memory_peak_bytes": memory});
    }
    results["recording"] = recording::measure(&runtime, &event, wasm_runs);
    support::write_results("sandbox", &results);
}
