//! End-to-end service benchmark: webhook POST → durable 202 → execution run
//! and persisted, with the trivial `hello` runbook, against `wolfe serve`
//! child processes (this build's binary) on loopback.
//!
//! 1. Sustained: `CONCURRENCY` senders post as fast as acks come back;
//!    reports acknowledged events/s and events/s until every execution is
//!    persisted.
//! 2. Fixed rate: `RATE` events/s for `RATE_SECONDS`, open loop (each send at
//!    its scheduled time, not when the previous ack arrived), reporting ack
//!    latency p50/p99.
//!
//! Each is run, side by side in one run, on sled with one host, and on
//! PostgreSQL (a server the bench starts, fsync on) with one and with two
//! hosts, the senders spread over the hosts round-robin — and on sled and
//! PostgreSQL with one host again with a safety policy on the rule (key,
//! once_within, rate, concurrency; every event its own key, so every event
//! still runs and the policy's cost is what differs).
//!
//! Run: `cargo bench -p wolfe --bench service` (`-- --quick` for a short run;
//! `-- --store sled|postgres`, `-- --hosts N` and `-- --policy` for one
//! configuration).
//! Results are printed and written to target/bench-results/service.json.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

use support::{ADMIN, call};
const CONCURRENCY: usize = 64;
const RATE: u64 = 1_000;

/// One configuration of the comparison.
#[derive(Clone, Copy)]
struct Config {
    postgres: bool,
    hosts: usize,
    /// A safety policy on the rule.
    policy: bool,
}

impl Config {
    fn label(&self) -> String {
        let store = if self.postgres { "postgres" } else { "sled" };
        let hosts = if self.hosts == 1 { "host" } else { "hosts" };
        let policy = if self.policy { ", policy" } else { "" };
        format!("{store}, {} {hosts}{policy}", self.hosts)
    }
}

/// The policy of the `--policy` configurations: every limit that keeps
/// per-key state, keyed so that each event is its own key.
fn bench_policy() -> Value {
    json!({
        "key": "{{ data.labels.n }}",
        "once_within_secs": 600,
        "rate": {"max": 5, "per_secs": 3600},
        "concurrency": {"max": 1, "on_busy": "queue"},
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let hosts: Option<usize> = option("--hosts").map(|h| h.parse().expect("--hosts N"));
    let policy = args.iter().any(|a| a == "--policy");
    let config = |postgres, hosts, policy| Config {
        postgres,
        hosts,
        policy,
    };
    let configs: Vec<Config> = match option("--store").as_deref() {
        Some("sled") => vec![config(false, 1, policy)],
        Some("postgres") => vec![config(true, hosts.unwrap_or(1), policy)],
        Some(other) => panic!("--store {other}: sled or postgres"),
        None => vec![
            config(false, 1, false),
            config(false, 1, true),
            config(true, 1, false),
            config(true, 1, true),
            config(true, 2, false),
        ],
    };
    let built = support::build_hello();
    let server = configs
        .iter()
        .any(|c| c.postgres)
        .then(postgres::Postgres::start_durable);
    let mut results = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let url = server
            .as_ref()
            .filter(|_| config.postgres)
            .map(|s| s.create_database(&format!("bench_{i}")));
        let result = run(*config, url.as_deref(), quick, &built);
        print(config, &result);
        results.push(json!({"store": if config.postgres { "postgres" } else { "sled" }, "hosts": config.hosts, "policy": config.policy, "results": result}));
    }
    support::write_results("service", &Value::Array(results));
}

/// Both phases against `config.hosts` fresh hosts.
fn run(
    config: Config,
    url: Option<&str>,
    quick: bool,
    built: &wolfe::build::BuiltComponent,
) -> Value {
    let (sustained_events, rate_seconds) = if quick { (5_000, 3) } else { (30_000, 10) };
    let mut env = vec![("WOLFE_QUEUE_CAPACITY", "1000000")];
    if let Some(url) = url {
        env.push(("WOLFE_STORE", url));
    }
    let dirs: Vec<tempfile::TempDir> = (0..config.hosts)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let servers: Vec<support::ServeProcess> = dirs
        .iter()
        .map(|d| support::ServeProcess::start(d.path(), &env))
        .collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let wasm = std::fs::read(&built.path).unwrap();
    let version = built.manifest.version.clone();
    let result = runtime.block_on(async move {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .unwrap();
        let sender = setup(&http, &bases[0], &version, &wasm, config.policy).await;
        let hooks: Arc<Vec<String>> = Arc::new(
            bases
                .iter()
                .map(|b| format!("{b}/v1/hooks/bench/am"))
                .collect(),
        );
        // Caches and rule reloads of the other hosts follow within 1 s.
        tokio::time::sleep(Duration::from_millis(1_500)).await;

        // 1. Sustained.
        let commits_before = match url {
            Some(url) => Some(pg_counters(url).await),
            None => None,
        };
        let started = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for task in 0..CONCURRENCY {
            let (http, hooks, sender, next) =
                (http.clone(), hooks.clone(), sender.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let hook = &hooks[task % hooks.len()];
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= sustained_events {
                        break;
                    }
                    post(&http, hook, &sender, n).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let acked_in = started.elapsed();
        wait_drained(&http, &bases).await;
        let persisted_in = started.elapsed();
        if config.policy {
            // Every event is its own key: nothing may have been held back,
            // or the comparison would flatter the policy.
            let held = call(
                &http,
                reqwest::Method::GET,
                format!("{}/v1/tenants/bench/executions?status=suppressed&limit=1", bases[0]),
                ADMIN,
                None,
            )
            .await;
            assert_eq!(held["executions"], json!([]), "the policy suppressed executions");
        }
        // Where the PostgreSQL path spends its time: transactions and
        // statements per event over the sustained phase.
        let database = match (url, commits_before) {
            (Some(url), Some(before)) => {
                let after = pg_counters(url).await;
                let per_event = |i: usize| (after[i] - before[i]) as f64 / sustained_events as f64;
                json!({
                    "commits_per_event": per_event(0),
                    "commits_per_second": (after[0] - before[0]) as f64 / persisted_in.as_secs_f64(),
                    "wal_syncs_per_event": per_event(1),
                })
            }
            _ => Value::Null,
        };

        // 2. Fixed rate, open loop.
        let interval = Duration::from_nanos(1_000_000_000 / RATE);
        let total = RATE * rate_seconds;
        let begin = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..total {
            let at = begin + interval * i as u32;
            tokio::time::sleep_until(at.into()).await;
            let (http, hooks, sender) = (http.clone(), hooks.clone(), sender.clone());
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let hook = &hooks[i as usize % hooks.len()];
                post(&http, hook, &sender, sustained_events + i as usize).await;
                sent.elapsed()
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.push(t.await.unwrap());
        }
        wait_drained(&http, &bases).await;
        latencies.sort_unstable();
        let pick =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        json!({
            "database": database,
            "sustained": {
                "events": sustained_events,
                "concurrency": CONCURRENCY,
                "acked_per_second": sustained_events as f64 / acked_in.as_secs_f64(),
                "persisted_per_second": sustained_events as f64 / persisted_in.as_secs_f64(),
            },
            "fixed_rate": {
                "rate_per_second": RATE,
                "events": total,
                "ack_p50_ms": pick(0.50).as_secs_f64() * 1e3,
                "ack_p99_ms": pick(0.99).as_secs_f64() * 1e3,
                "ack_max_ms": latencies.last().unwrap().as_secs_f64() * 1e3,
            },
        })
    });
    drop(servers);
    result
}

/// The server's commits and WAL syncs (fsyncs of the log) so far.
async fn pg_counters(url: &str) -> [i64; 2] {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect for statistics");
    tokio::spawn(connection);
    // Backends report their statistics at most once a second.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let row = client
        .query_one(
            "SELECT (SELECT sum(xact_commit)::bigint FROM pg_stat_database),
                    (SELECT wal_sync::bigint FROM pg_stat_wal)",
            &[],
        )
        .await
        .expect("read statistics (PostgreSQL 14 to 17)");
    [
        row.get::<_, Option<i64>>(0).unwrap_or(0),
        row.get::<_, Option<i64>>(1).unwrap_or(0),
    ]
}

fn print(config: &Config, results: &Value) {
    println!(
        "[{}] webhook -> durable 202 -> execution persisted (runbook hello, one rule)",
        config.label()
    );
    println!(
        "  sustained ({} events, {} senders): {:.0} events/s acknowledged, {:.0} events/s with every execution persisted",
        results["sustained"]["events"],
        CONCURRENCY,
        results["sustained"]["acked_per_second"].as_f64().unwrap(),
        results["sustained"]["persisted_per_second"]
            .as_f64()
            .unwrap()
    );
    println!(
        "  fixed rate {} events/s for {} events: ack p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        RATE,
        results["fixed_rate"]["events"],
        results["fixed_rate"]["ack_p50_ms"].as_f64().unwrap(),
        results["fixed_rate"]["ack_p99_ms"].as_f64().unwrap(),
        results["fixed_rate"]["ack_max_ms"].as_f64().unwrap()
    );
    if let Some(db) = results["database"].as_object() {
        println!(
            "  database: {:.1} commits/event ({:.0} commits/s), {:.2} WAL syncs/event",
            db["commits_per_event"].as_f64().unwrap_or(0.0),
            db["commits_per_second"].as_f64().unwrap_or(0.0),
            db["wal_syncs_per_event"].as_f64().unwrap_or(0.0),
        );
    }
}

async fn post(http: &reqwest::Client, hook: &str, sender: &str, n: usize) {
    let body = json!({"labels": {"alertname": "BenchAlert", "n": n}, "status": "firing"});
    let response = http
        .post(hook)
        .bearer_auth(sender)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
}

/// Tenant, sender token, hello deployed, a bearer source and one rule.
async fn setup(
    http: &reqwest::Client,
    base: &str,
    version: &str,
    wasm: &[u8],
    policy: bool,
) -> Arc<String> {
    use reqwest::Method;
    call(
        http,
        Method::POST,
        format!("{base}/v1/tenants"),
        ADMIN,
        Some(json!({"name": "bench"})),
    )
    .await;
    let sender = call(
        http,
        Method::POST,
        format!("{base}/v1/tenants/bench/tokens"),
        ADMIN,
        Some(json!({"role": "sender"})),
    )
    .await;
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../runbooks/rust/hello/runbook.toml"),
    )
    .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("manifest", manifest)
        .part(
            "component",
            reqwest::multipart::Part::bytes(wasm.to_vec()).file_name("hello.wasm"),
        );
    let r = http
        .post(format!("{base}/v1/tenants/bench/runbooks"))
        .bearer_auth(ADMIN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    call(
        http,
        Method::PUT,
        format!("{base}/v1/tenants/bench/runbooks/hello/environments/dev"),
        ADMIN,
        Some(json!({"version": version})),
    )
    .await;
    call(
        http,
        Method::PUT,
        format!("{base}/v1/tenants/bench/sources/am"),
        ADMIN,
        Some(json!({"auth": {"type": "bearer"}})),
    )
    .await;
    let mut rule = json!({"runbook": "hello", "environment": "dev", "params": {"alert": "{{ data.labels.alertname }}", "n": "{{ data.labels.n }}"}});
    if policy {
        rule["policy"] = bench_policy();
    }
    call(
        http,
        Method::PUT,
        format!("{base}/v1/tenants/bench/rules/all"),
        ADMIN,
        Some(rule),
    )
    .await;
    Arc::new(sender["token"].as_str().unwrap().to_string())
}

/// Waits until no execution is queued or running on any host (all seen
/// idle in one pass: an idle host may still take work from a busy one).
async fn wait_drained(http: &reqwest::Client, bases: &[String]) {
    loop {
        let mut idle = true;
        for base in bases {
            let r: Value = http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            idle &= r["in_flight"] == 0;
        }
        if idle {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
