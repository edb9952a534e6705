//! What recording transcripts costs: each runbook run with the transcript
//! off and on, in alternating blocks so both see the same machine, and the
//! transcript's size per execution (as counted, and as stored: JSON, gzip when large).

use super::Stats;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Instant;
use wolfe::capabilities::connectors::StaticConnectors;
use wolfe::capabilities::kv::{KvOverlay, KvProvider};
use wolfe::capabilities::secrets::StaticSecrets;
use wolfe::sandbox::{ExecutionRequest, PreparedRunbook, Sandbox, SandboxConfig, Transcribe};
use wolfe::store::{RunbookKv, Store};

/// Blocks per mode: off, on, off, on, …
const BLOCKS: usize = 10;

/// How many times the last transcript is written out for storage.
const STORE_RUNS: usize = 1_000;

struct Case<'a> {
    name: &'a str,
    sandbox: &'a Sandbox,
    runbook: &'a PreparedRunbook,
    event: serde_json::Value,
    secrets: Arc<StaticSecrets>,
    /// Each execution sees this namespace through a fresh in-memory
    /// overlay, so every run of flap-guard takes the same path.
    kv: Option<Arc<dyn KvProvider>>,
}

/// Measures `hello` and flap-guard, off and on.
pub fn measure(
    runtime: &tokio::runtime::Runtime,
    hello_event: &serde_json::Value,
    runs: usize,
) -> serde_json::Value {
    let root = super::support::repo_root();
    let target = super::support::target_dir();
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: Some(target.join("bench-cache")),
        // The agent flap-guard talks to listens on loopback.
        outbound_allow_cidrs: vec!["127.0.0.1/32".parse().unwrap()],
        ..SandboxConfig::default()
    })
    .unwrap();
    let built = super::support::build_hello();
    let hello = sandbox
        .prepare(&built.manifest, &std::fs::read(&built.path).unwrap())
        .unwrap();
    let built = wolfe::build::build_runbook(
        &root.join("runbooks/rust/flap-guard"),
        Some(&target.join("bench-components/flap-guard.wasm")),
    )
    .expect("build runbooks/rust/flap-guard");
    let flap_guard = sandbox
        .prepare(&built.manifest, &std::fs::read(&built.path).unwrap())
        .unwrap();
    // The agent: unhealthy, and accepts restarts.
    let agent = runtime.block_on(async {
        let app = Router::new()
            .route(
                "/health",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
            )
            .route("/restart", post(|| async { "restarting" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    // Never written: the overlays keep each run's writes.
    let store = Store::temporary().unwrap();
    let mut secrets = StaticSecrets::default();
    secrets.insert("RESTART_TOKEN", "bench-restart-token");
    let cases = [
        Case {
            name: "hello",
            sandbox: &sandbox,
            runbook: &hello,
            event: hello_event.clone(),
            secrets: Arc::default(),
            kv: None,
        },
        Case {
            name: "flap-guard",
            sandbox: &sandbox,
            runbook: &flap_guard,
            event: serde_json::json!({
                "service": "checkout",
                "health_url": format!("http://{agent}/health"),
                "restart_url": format!("http://{agent}/restart"),
                "failures_before_restart": 1,
                "max_restarts": 3,
                "window_secs": 3600
            }),
            secrets: Arc::new(secrets),
            kv: Some(Arc::new(RunbookKv::new(store, "bench", "flap-guard"))),
        },
    ];
    let mut results = serde_json::Map::new();
    println!("recording transcripts (alternating blocks, off / on)");
    for case in &cases {
        // flap-guard makes real requests: fewer runs.
        let runs = if case.kv.is_some() { runs / 10 } else { runs };
        let (off, on, transcript) = compare(runtime, case, runs);
        let added = on.median.as_secs_f64() / off.median.as_secs_f64() - 1.0;
        // Kept live in the capabilities' own types, a transcript is written
        // out as JSON when it is stored: what that costs, apart.
        let stored = transcript.to_stored().unwrap().len();
        let started = Instant::now();
        for _ in 0..STORE_RUNS {
            std::hint::black_box(transcript.to_stored().unwrap());
        }
        let store_us = started.elapsed().as_secs_f64() * 1e6 / STORE_RUNS as f64;
        println!(
            "{:<11} off: median {:.1?} p99 {:.1?} | on: median {:.1?} p99 {:.1?} | {:+.1}% median | transcript {} bytes ({} calls), {} stored, written out for storage in {:.1} µs",
            case.name,
            off.median,
            off.p99,
            on.median,
            on.p99,
            added * 100.0,
            transcript.bytes,
            transcript.calls.len(),
            stored,
            store_us,
        );
        results.insert(
            case.name.to_string(),
            serde_json::json!({
                "runs_each": off.runs,
                "off_median_us": off.median.as_secs_f64() * 1e6,
                "on_median_us": on.median.as_secs_f64() * 1e6,
                "off_p99_us": off.p99.as_secs_f64() * 1e6,
                "on_p99_us": on.p99.as_secs_f64() * 1e6,
                "added_to_median": added,
                "transcript_bytes": transcript.bytes,
                "transcript_stored_bytes": stored,
                "transcript_store_us": store_us,
                "transcript_calls": transcript.calls.len(),
            }),
        );
    }
    serde_json::Value::Object(results)
}

fn compare(
    runtime: &tokio::runtime::Runtime,
    case: &Case,
    runs: usize,
) -> (Stats, Stats, wolfe::capabilities::transcript::Transcript) {
    let run_once = |record: bool| {
        let started = Instant::now();
        let report = runtime.block_on(
            case.sandbox.execute(
                case.runbook,
                ExecutionRequest {
                    input: case.event.clone(),
                    secrets: case.secrets.clone(),
                    connectors: Arc::new(StaticConnectors::default()),
                    kv: case
                        .kv
                        .clone()
                        .map(|kv| Arc::new(KvOverlay::over(kv)) as Arc<dyn KvProvider>),
                    dry_run: false,
                    on_tick: None,
                    cancel: None,
                    events: None,
                    transcript: if record {
                        Transcribe::Record
                    } else {
                        Transcribe::Off
                    },
                },
            ),
        );
        let took = started.elapsed();
        assert!(report.succeeded(), "{}: {report:?}", case.name);
        (took, report.transcript)
    };
    for record in [false, true] {
        for _ in 0..runs / 10 {
            run_once(record);
        }
    }
    let (mut off, mut on, mut transcript) = (Vec::new(), Vec::new(), None);
    for _ in 0..BLOCKS {
        off.extend((0..runs / BLOCKS).map(|_| run_once(false).0));
        for _ in 0..runs / BLOCKS {
            let (took, recorded) = run_once(true);
            on.push(took);
            transcript = recorded;
        }
    }
    (
        Stats::of(off),
        Stats::of(on),
        transcript.expect("a recorded run has a transcript"),
    )
}
