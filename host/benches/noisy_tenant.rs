//! Noisy neighbour benchmark: does a tenant running hostile runbooks at its
//! quota slow another tenant down?
//!
//! One `wolfe serve` child (this build's binary, default worker count) with
//! two tenants:
//! - `quiet` posts webhooks at a fixed rate (open loop), each running the
//!   `hello` runbook;
//! - `noisy` has a quota (one execution at a time, a capped rate, clamped
//!   fuel, memory and timeout) and senders posting five times faster than
//!   its per-minute quota, whose events run the conformance guest's hostile
//!   cases: an infinite loop (stopped by fuel or the clamped timeout) and a
//!   memory bomb (stopped at its memory limit). Most of its posts are
//!   refused with 429 — that is the quota working — and it always has a
//!   backlog, so one of its hostile runbooks is running at every moment.
//!   (An unpaced flood of requests is a network-level attack that any HTTP
//!   server shares its CPU with; that belongs in front of Wolfe, in a rate
//!   limiting proxy, and is not what this measures.)
//!
//! The quiet tenant is measured twice on the same server, first alone, then
//! with the noisy tenant at its quota: webhook acknowledgement latency (by
//! the client) and completion latency (the execution record's `created_at`
//! to `finished_at`, millisecond timestamps), p50 and p99. Goal: the quiet
//! tenant's p99 with the noisy one stays within 2× of its solo p99.
//!
//! Run: `cargo bench -p wolfe --bench noisy_tenant` (`-- --quick` for a
//! short run). Results are printed and written to
//! target/bench-results/noisy_tenant.json.

use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod support;

use support::{ADMIN, call};

/// Quiet tenant's event rate.
const QUIET_RATE: u64 = 100;
/// Noisy tenant's senders and their combined rate: five times its quota of
/// 600 executions a minute.
const NOISY_SENDERS: usize = 4;
const NOISY_RATE: u64 = 50;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 4 } else { 15 };
    let hello = Built::from(
        support::build_hello(),
        &support::repo_root().join("runbooks/rust/hello"),
    );
    let dir = support::repo_root().join("tests/guests/rust/conformance");
    let conformance = Built::from(
        wolfe::build::build_runbook(
            &dir,
            Some(&support::target_dir().join("bench-components/conformance.wasm")),
        )
        .expect("build tests/guests/rust/conformance"),
        &dir,
    );
    let data = tempfile::tempdir().unwrap();
    let server = support::ServeProcess::start(data.path(), &[]);
    let base = server.base.clone();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let results = runtime.block_on(async move {
        let http = reqwest::Client::new();
        let quiet = tenant(&http, &base, "quiet", "hello", &hello, json!({})).await;
        let noisy = tenant(
            &http,
            &base,
            "noisy",
            "conformance",
            &conformance,
            json!({"case": "{{ data.case }}"}),
        )
        .await;
        let quota = json!({
            "max_concurrent": 1,
            "max_executions_per_minute": 600,
            "max_timeout_ms": 1_000,
            "max_fuel": 100_000_000,
            "max_memory_mb": 32,
        });
        call(
            &http,
            Method::PUT,
            format!("{base}/v1/tenants/noisy/quota"),
            ADMIN,
            Some(quota.clone()),
        )
        .await;

        let solo = measure_quiet(&http, &base, &quiet, seconds, "solo").await;

        let stop = Arc::new(AtomicBool::new(false));
        let (accepted, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        // The hostile cases to run, e.g. `WOLFE_BENCH_NOISY_CASES=infinite_loop`
        // to see one at a time.
        let cases: Arc<Vec<String>> = Arc::new(
            std::env::var("WOLFE_BENCH_NOISY_CASES")
                .unwrap_or_else(|_| "infinite_loop,memory_bomb".into())
                .split(',')
                .map(str::to_string)
                .collect(),
        );
        let mut hose = Vec::new();
        for i in 0..NOISY_SENDERS {
            let cases = cases.clone();
            let (http, base, noisy, stop, accepted, refused) = (
                http.clone(),
                base.clone(),
                noisy.clone(),
                stop.clone(),
                accepted.clone(),
                refused.clone(),
            );
            hose.push(tokio::spawn(async move {
                let case = cases[i % cases.len()].clone();
                let mut tick = tokio::time::interval(Duration::from_micros(
                    1_000_000 * NOISY_SENDERS as u64 / NOISY_RATE,
                ));
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let status = http
                        .post(format!("{base}/v1/hooks/noisy/events"))
                        .bearer_auth(noisy.as_str())
                        .json(&json!({"case": case}))
                        .send()
                        .await
                        .expect("noisy post")
                        .status();
                    match status.as_u16() {
                        202 => accepted.fetch_add(1, Ordering::Relaxed),
                        429 => refused.fetch_add(1, Ordering::Relaxed),
                        other => panic!("noisy tenant got {other}"),
                    };
                }
            }));
        }
        // Let the noisy tenant reach its quota before measuring.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let busy_before = noisy_finished(&http, &base).await;
        let with_noise = measure_quiet(&http, &base, &quiet, seconds, "with noisy").await;
        let busy_after = noisy_finished(&http, &base).await;
        stop.store(true, Ordering::Relaxed);
        for task in hose {
            task.await.unwrap();
        }
        let ratio = |key: &str| {
            with_noise[key].as_f64().unwrap() / solo[key].as_f64().unwrap().max(1e-9)
        };
        json!({
            "quiet_rate_per_second": QUIET_RATE,
            "seconds": seconds,
            "noisy_quota": quota,
            "noisy": {
                "senders": NOISY_SENDERS,
                "rate_per_second": NOISY_RATE,
                "accepted": accepted.load(Ordering::Relaxed),
                "refused_429": refused.load(Ordering::Relaxed),
                "hostile_executions_finished_while_measured": busy_after.saturating_sub(busy_before),
            },
            "solo": solo,
            "with_noisy": with_noise,
            "ack_p99_ratio": ratio("ack_p99_ms"),
            "completion_p99_ratio": ratio("completion_p99_ms"),
        })
    });
    drop(server);
    print_results(&results);
    support::write_results("noisy_tenant", &results);
}

fn print_results(r: &Value) {
    println!(
        "quiet tenant: hello at {} events/s for {} s, alone and beside a noisy tenant at its quota",
        r["quiet_rate_per_second"], r["seconds"]
    );
    println!(
        "noisy tenant: {} senders at {} events/s in all, {} accepted, {} refused with 429, {} hostile executions finished while measured",
        r["noisy"]["senders"],
        r["noisy"]["rate_per_second"],
        r["noisy"]["accepted"],
        r["noisy"]["refused_429"],
        r["noisy"]["hostile_executions_finished_while_measured"]
    );
    for (label, key) in [("alone", "solo"), ("with noisy", "with_noisy")] {
        let m = &r[key];
        println!(
            "{label:>10}: ack p50 {:.2} ms p99 {:.2} ms | completion p50 {:.1} ms p99 {:.1} ms ({} executions)",
            m["ack_p50_ms"].as_f64().unwrap(),
            m["ack_p99_ms"].as_f64().unwrap(),
            m["completion_p50_ms"].as_f64().unwrap(),
            m["completion_p99_ms"].as_f64().unwrap(),
            m["executions"]
        );
    }
    println!(
        "p99 with noisy / alone: ack {:.2}x, completion {:.2}x (goal <= 2x)",
        r["ack_p99_ratio"].as_f64().unwrap(),
        r["completion_p99_ratio"].as_f64().unwrap()
    );
}

/// Posts the quiet tenant's events at `QUIET_RATE` for `seconds`, waits for
/// their executions, and returns ack and completion latency percentiles.
async fn measure_quiet(
    http: &reqwest::Client,
    base: &str,
    sender: &Arc<String>,
    seconds: u64,
    label: &str,
) -> Value {
    let interval = Duration::from_nanos(1_000_000_000 / QUIET_RATE);
    let total = QUIET_RATE * seconds;
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        tokio::time::sleep_until((begin + interval * i as u32).into()).await;
        let (http, url, sender) = (
            http.clone(),
            format!("{base}/v1/hooks/quiet/events"),
            sender.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let response = http
                .post(url)
                .bearer_auth(sender.as_str())
                .json(&json!({"label": "quiet", "n": i}))
                .send()
                .await
                .expect("quiet post");
            let elapsed = sent.elapsed();
            assert_eq!(response.status(), 202, "quiet tenant refused");
            let body: Value = response.json().await.unwrap();
            (elapsed, body["executions"][0].as_str().unwrap().to_string())
        }));
    }
    let mut acks = Vec::new();
    let mut ids = Vec::new();
    for task in tasks {
        let (elapsed, id) = task.await.unwrap();
        acks.push(elapsed.as_secs_f64() * 1e3);
        ids.push(id);
    }
    let mut completions = Vec::new();
    for id in &ids {
        completions.push(completion_ms(http, base, id).await);
    }
    eprintln!("{label}: {} quiet executions measured", ids.len());
    json!({
        "executions": ids.len(),
        "ack_p50_ms": percentile(&mut acks, 0.50),
        "ack_p99_ms": percentile(&mut acks, 0.99),
        "completion_p50_ms": percentile(&mut completions, 0.50),
        "completion_p99_ms": percentile(&mut completions, 0.99),
    })
}

/// Waits for one quiet execution to finish; its `finished_at - created_at`.
async fn completion_ms(http: &reqwest::Client, base: &str, id: &str) -> f64 {
    loop {
        let record = call(
            http,
            Method::GET,
            format!("{base}/v1/tenants/quiet/executions/{id}"),
            ADMIN,
            None,
        )
        .await;
        if let (Some(created), Some(finished)) = (
            record["created_at"].as_str(),
            record["finished_at"].as_str(),
        ) {
            assert_eq!(record["status"], "succeeded", "{record}");
            return (timestamp(finished) - timestamp(created)).as_seconds_f64() * 1e3;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn timestamp(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("timestamp {s:?}: {e}"))
}

/// How many of the noisy tenant's executions have finished.
async fn noisy_finished(http: &reqwest::Client, base: &str) -> u64 {
    let mut finished = 0;
    let mut cursor = String::new();
    loop {
        let page = call(
            http,
            Method::GET,
            format!("{base}/v1/tenants/noisy/executions?limit=500{cursor}"),
            ADMIN,
            None,
        )
        .await;
        finished += page["executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["finished_at"].is_string())
            .count() as u64;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return finished,
        }
    }
}

/// What an upload needs: the manifest's text, the component and its version.
struct Built {
    manifest: String,
    wasm: Vec<u8>,
    version: String,
}

impl Built {
    fn from(built: wolfe::build::BuiltComponent, dir: &std::path::Path) -> Self {
        Self {
            manifest: std::fs::read_to_string(dir.join("runbook.toml")).unwrap(),
            wasm: std::fs::read(&built.path).unwrap(),
            version: built.manifest.version.to_string(),
        }
    }
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * q) as usize).min(values.len() - 1)]
}

/// A tenant with `runbook` deployed to dev, a bearer webhook source `events`
/// and one rule running it for every event; returns a sender token.
async fn tenant(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    runbook: &str,
    built: &Built,
    params: Value,
) -> Arc<String> {
    call(
        http,
        Method::POST,
        format!("{base}/v1/tenants"),
        ADMIN,
        Some(json!({"name": name})),
    )
    .await;
    let sender = call(
        http,
        Method::POST,
        format!("{base}/v1/tenants/{name}/tokens"),
        ADMIN,
        Some(json!({"role": "sender"})),
    )
    .await;
    let form = reqwest::multipart::Form::new()
        .text("manifest", built.manifest.clone())
        .part(
            "component",
            reqwest::multipart::Part::bytes(built.wasm.clone())
                .file_name(format!("{runbook}.wasm")),
        );
    let r = http
        .post(format!("{base}/v1/tenants/{name}/runbooks"))
        .bearer_auth(ADMIN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    call(
        http,
        Method::PUT,
        format!("{base}/v1/tenants/{name}/runbooks/{runbook}/environments/dev"),
        ADMIN,
        Some(json!({"version": built.version})),
    )
    .await;
    call(
        http,
        Method::PUT,
        format!("{base}/v1/tenants/{name}/sources/events"),
        ADMIN,
        Some(json!({"auth": {"type": "bearer"}})),
    )
    .await;
    call(
        http,
        Method::PUT,
        format!("{base}/v1/tenants/{name}/rules/all"),
        ADMIN,
        Some(json!({"runbook": runbook, "environment": "dev", "params": params})),
    )
    .await;
    Arc::new(sender["token"].as_str().unwrap().to_string())
}
