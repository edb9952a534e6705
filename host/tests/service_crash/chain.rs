//! Chained runbooks through a real `wolfe serve`: a diagnostic runbook
//! emits an event that a second rule turns into a remediation — exactly
//! once across a SIGKILL of the emitter — and a self-triggering loop stops
//! at the chain's depth limit.

use crate::common::server::{Api, Server, Tokens};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn rule(api: &Api, t: &Tokens, name: &str, spec: Value) {
    api.expect(
        200,
        "PUT",
        &format!("/v1/tenants/acme/rules/{name}"),
        Some(&t.author),
        Some(spec),
    )
    .await;
}

async fn of_rule(api: &Api, t: &Tokens, rule: &str) -> Vec<Value> {
    let v = api
        .expect(
            200,
            "GET",
            &format!("/v1/tenants/acme/executions?rule={rule}&limit=100"),
            Some(&t.auditor),
            None,
        )
        .await;
    v["executions"].as_array().unwrap().clone()
}

async fn wait_rule(api: &Api, t: &Tokens, rule: &str, n: usize, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let all = of_rule(api, t, rule).await;
        let done = all.len() >= n
            && all
                .iter()
                .all(|e| !matches!(e["status"].as_str(), Some("queued" | "running")));
        if done || Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn setup(api: &Api, t: &Tokens) {
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/am",
        Some(&t.author),
        Some(json!({"auth": {"type": "bearer"}})),
    )
    .await;
}

crate::on_every_store! {
    async fn a_diagnosis_hands_on_to_a_remediation_once_across_a_crash(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    setup(&api, &t).await;
    // Diagnose: emit the finding, then take a while (the kill lands here).
    rule(&api, &t, "diagnose", json!({
        "source": "am", "runbook": "conformance", "environment": "dev",
        "params": {"case": "emit", "emit_type": "diagnosed", "emit_data": {"service": "{{ data.service }}", "verdict": "restart"}, "ms": 4_000},
    })).await;
    rule(&api, &t, "remediate", json!({
        "source": "runbook:conformance", "type": "diagnosed", "runbook": "conformance", "environment": "dev",
        "criteria": [{"path": "data.verdict", "op": "eq", "value": "restart"}],
        "params": {"case": "echo", "service": "{{ data.service }}"},
    })).await;
    api.expect(202, "POST", "/v1/hooks/acme/am", Some(&t.sender), Some(json!({"service": "checkout"}))).await;
    // The finding is in as soon as the remediation exists; the diagnosis
    // still sleeps: kill it then.
    let deadline = Instant::now() + Duration::from_secs(10);
    while of_rule(&api, &t, "remediate").await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // (Its running state is written once it has run 100 ms.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(of_rule(&api, &t, "diagnose").await[0]["status"], "running");
    server.kill();
    let killed_at = time::OffsetDateTime::now_utc();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    // The diagnosis runs again after the crash and emits again (`attempt`
    // may not say so: on sled the running state is not flushed) …
    let diagnosed = wait_rule(&api, &t, "diagnose", 1, Duration::from_secs(20)).await;
    let diagnosis = diagnosed.iter().find(|e| e["status"] == "succeeded").unwrap_or_else(|| panic!("{diagnosed:#?}"));
    let started = diagnosis["started_at"].as_str().unwrap();
    let started = time::OffsetDateTime::parse(started, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(started > killed_at, "it ran again after the crash: {diagnosis}");
    // … under the same event id: nothing is remediated twice.
    let remediated = wait_rule(&api, &t, "remediate", 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(of_rule(&api, &t, "remediate").await.len(), remediated.len());
    assert_eq!(remediated.len(), 1, "one remediation: {remediated:#?}");
    let r = &remediated[0];
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["output"]["service"], "checkout");
    assert_eq!(r["chain"], 1);
    assert_eq!(r["caused_by"], diagnosis["id"]);
    assert_eq!(diagnosis["output"]["emitted"][0], r["event"], "the emitted id is the event's");
    let event = api.expect(200, "GET", &format!("/v1/tenants/acme/events/{}", r["event"].as_str().unwrap()), Some(&t.auditor), None).await;
    assert_eq!(event["event"]["source"], "runbook:conformance");
    assert_eq!(event["event"]["metadata"]["emitted_by"], diagnosis["id"]);
    }
}

crate::on_every_store! {
    async fn a_self_triggering_loop_stops_at_the_depth_limit(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    // A host configured for chains of 3 (default 5).
    let server = Server::start_on(&store, dir.path(), &[("WOLFE_MAX_CHAIN_DEPTH", "3")]);
    let api = server.api();
    let t = api.tenant("acme").await;
    setup(&api, &t).await;
    let emit = json!({"case": "emit", "emit_type": "again", "emit_data": {}});
    rule(&api, &t, "start", json!({"source": "am", "runbook": "conformance", "environment": "dev", "params": emit})).await;
    rule(&api, &t, "loop", json!({"source": "runbook:conformance", "type": "again", "runbook": "conformance", "environment": "dev", "params": emit})).await;
    api.expect(202, "POST", "/v1/hooks/acme/am", Some(&t.sender), Some(json!({}))).await;
    // Depth 0 (the webhook's) emits depth 1, …, depth 3 emits nothing.
    let looped = wait_rule(&api, &t, "loop", 3, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let looped_now = of_rule(&api, &t, "loop").await;
    assert_eq!(looped_now.len(), 3, "{looped:#?}");
    let mut chains: Vec<u64> = looped_now.iter().map(|e| e["chain"].as_u64().unwrap()).collect();
    chains.sort_unstable();
    assert_eq!(chains, [1, 2, 3]);
    let last = looped_now.iter().find(|e| e["chain"] == 3).unwrap();
    assert!(last["output"]["error"].as_str().unwrap().contains("limited"), "{last}");
    let trail = &last["capability_calls"][0];
    assert_eq!((trail["interface"].as_str(), trail["operation"].as_str()), (Some("events"), Some("emit")));
    assert!(trail["outcome"].as_str().unwrap().starts_with("limited"), "{trail}");
    }
}

#[test]
fn a_chain_depth_out_of_range_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("WOLFE_MAX_CHAIN_DEPTH", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("max_chain_depth: must be between 1 and 20, not 0"),
        "{stderr}"
    );
}
