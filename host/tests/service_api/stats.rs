//! `GET …/stats` through a real server: webhooks fire executions that
//! succeed, fail and are suppressed, and the dashboard's numbers are
//! exactly what happened.

use super::common::server::{Api, Server};
use super::error_code;
use serde_json::{Value, json};
use std::time::Duration;

/// Waits until the tenant has `n` executions and none is queued or running.
async fn settled(api: &Api, token: &str, n: usize) -> Vec<Value> {
    for _ in 0..600 {
        let page = api
            .expect(
                200,
                "GET",
                "/v1/tenants/acme/executions?limit=100",
                Some(token),
                None,
            )
            .await;
        let executions = page["executions"].as_array().unwrap().clone();
        let done = executions
            .iter()
            .all(|e| !matches!(e["status"].as_str(), Some("queued" | "running")));
        if executions.len() == n && done {
            return executions;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the executions did not settle");
}

fn sum_buckets(stats: &Value) -> Value {
    let mut sums = serde_json::Map::new();
    for bucket in stats["buckets"].as_array().unwrap() {
        for (status, n) in bucket["counts"].as_object().unwrap() {
            let sum = sums.get(status).and_then(Value::as_u64).unwrap_or(0);
            sums.insert(status.clone(), json!(sum + n.as_u64().unwrap()));
        }
    }
    Value::Object(sums)
}

crate::on_every_store! {
    async fn the_dashboard_counts_what_happened(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "hello", "dev").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev").await;
    for source in ["am", "other"] {
        api.expect(
            200,
            "PUT",
            &format!("/v1/tenants/acme/sources/{source}"),
            Some(&t.author),
            Some(json!({"auth": {"type": "bearer"}, "type_path": "kind"})),
        )
        .await;
    }
    let rules = [
        ("hello-ok", json!({"source": "am", "type": "ok", "runbook": "hello", "environment": "dev"})),
        ("echo-ok", json!({"source": "am", "type": "ok", "runbook": "conformance", "environment": "dev",
            "params": {"case": "echo"}})),
        ("boom", json!({"source": "am", "type": "bad", "runbook": "conformance", "environment": "dev",
            "params": {"case": "guest_error", "broker": "{{ data.service }}"}})),
        ("once", json!({"source": "am", "type": "bad", "runbook": "conformance", "environment": "dev",
            "params": {"case": "echo"},
            "policy": {"key": "{{ data.service }}", "once_within_secs": 3600}})),
    ];
    for (name, spec) in rules {
        api.expect(
            200,
            "PUT",
            &format!("/v1/tenants/acme/rules/{name}"),
            Some(&t.author),
            Some(spec),
        )
        .await;
    }
    // ok: hello and echo succeed. bad, twice: boom fails both times; once
    // runs the first time and is deduplicated the second. other: no rule.
    for (source, body) in [
        ("am", json!({"kind": "ok"})),
        ("am", json!({"kind": "bad", "service": "kafka"})),
        ("am", json!({"kind": "bad", "service": "kafka"})),
        ("other", json!({"kind": "ok"})),
    ] {
        api.expect(
            202,
            "POST",
            &format!("/v1/hooks/acme/{source}"),
            Some(&t.sender),
            Some(body),
        )
        .await;
    }
    settled(&api, &t.auditor, 6).await;

    let stats = api
        .expect(200, "GET", "/v1/tenants/acme/stats", Some(&t.auditor), None)
        .await;
    assert_eq!(stats["window"], "24h");
    assert_eq!(stats["bucket_secs"], 3600);
    assert_eq!(stats["buckets"].as_array().unwrap().len(), 24);
    let totals = json!({"succeeded": 3, "failed": 2, "suppressed": 1});
    assert_eq!(stats["totals"], totals, "{stats}");
    assert_eq!(sum_buckets(&stats), totals, "{stats}");
    assert_eq!(stats["suppressions"], json!({"deduplicated": 1}));
    assert_eq!(stats["events_by_source"], json!({"am": 3, "other": 1}));
    assert_eq!(
        stats["failing"],
        json!([{"runbook": "conformance", "failed": 2, "finished": 4, "rate": 0.5}]),
        "{stats}"
    );
    let mut slowest: Vec<(String, u64)> = stats["slowest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let (p50, p95, max) = (s["p50_ms"].as_u64().unwrap(), s["p95_ms"].as_u64().unwrap(), s["max_ms"].as_u64().unwrap());
            assert!(p50 <= p95 && p95 <= max, "{s}");
            (s["runbook"].as_str().unwrap().to_string(), s["runs"].as_u64().unwrap())
        })
        .collect();
    slowest.sort();
    assert_eq!(slowest, [("conformance".to_string(), 4), ("hello".to_string(), 1)]);
    // Every execution that started came from an event, on its first attempt.
    let wait = &stats["event_to_start"];
    assert_eq!(wait["count"], 5, "{stats}");
    let (p50, p95, max) = (wait["p50_ms"].as_u64().unwrap(), wait["p95_ms"].as_u64().unwrap(), wait["max_ms"].as_u64().unwrap());
    assert!(p50 <= p95 && p95 <= max && max < 60_000, "{wait}");

    // The week: the same executions in 6-hour buckets.
    let week = api
        .expect(200, "GET", "/v1/tenants/acme/stats?window=7d", Some(&t.operator), None)
        .await;
    assert_eq!((week["bucket_secs"].as_u64(), week["buckets"].as_array().unwrap().len()), (Some(21_600), 28));
    assert_eq!(week["totals"], totals);
    assert_eq!(sum_buckets(&week), totals);

    let v = api
        .expect(400, "GET", "/v1/tenants/acme/stats?window=1y", Some(&t.auditor), None)
        .await;
    assert_eq!(error_code(&v), "invalid_request");
    let v = api
        .expect(403, "GET", "/v1/tenants/acme/stats", Some(&t.sender), None)
        .await;
    assert_eq!(error_code(&v), "forbidden");
    // Another tenant has nothing to count.
    let other = api.tenant("globex").await;
    let empty = api
        .expect(200, "GET", "/v1/tenants/globex/stats", Some(&other.auditor), None)
        .await;
    assert_eq!(empty["totals"], json!({}));
    assert!(empty["event_to_start"].is_null());
    }
}
