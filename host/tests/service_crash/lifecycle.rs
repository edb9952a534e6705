//! Cancel and re-run through a real `wolfe serve`: a queued, a running and
//! an awaiting execution end `cancelled` (the running one stops mid-run), a
//! finished one cannot be cancelled, and a re-run runs the same input again.

use crate::common::server::{ADMIN_TOKEN, Api, Server, Tokens};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn setup(api: &Api, t: &Tokens, policy: Value) {
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
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/work",
        Some(&t.author),
        Some(json!({
            "source": "am", "runbook": "conformance", "environment": "dev",
            "params": {"case": "sleep_ms", "ms": "{{ data.ms }}", "n": "{{ data.n }}"},
            "policy": policy,
        })),
    )
    .await;
}

async fn post(api: &Api, t: &Tokens, ms: u64, n: u64) -> String {
    let v = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(json!({"ms": ms, "n": n})),
        )
        .await;
    v["executions"][0].as_str().unwrap().to_string()
}

async fn status_of(api: &Api, t: &Tokens, id: &str) -> Value {
    api.expect(
        200,
        "GET",
        &format!("/v1/tenants/acme/executions/{id}"),
        Some(&t.auditor),
        None,
    )
    .await
}

async fn wait_status(api: &Api, t: &Tokens, id: &str, want: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let record = status_of(api, t, id).await;
        if record["status"] == want || Instant::now() > deadline {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

crate::on_every_store! {
    async fn queued_running_and_awaiting_executions_are_cancelled(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    // One at a time: the second waits queued behind the first.
    api.expect(200, "PUT", "/v1/tenants/acme/quota", Some(ADMIN_TOKEN), Some(json!({"max_concurrent": 1}))).await;
    setup(&api, &t, json!({})).await;
    let running = post(&api, &t, 4_000, 1).await;
    wait_status(&api, &t, &running, "running", Duration::from_secs(5)).await;
    let queued = post(&api, &t, 10, 2).await;
    assert_eq!(status_of(&api, &t, &queued).await["status"], "queued");

    // A sender may not cancel.
    api.expect(403, "POST", &format!("/v1/tenants/acme/executions/{queued}/cancel"), Some(&t.sender), None).await;
    let v = api.expect(200, "POST", &format!("/v1/tenants/acme/executions/{queued}/cancel"), Some(&t.operator), None).await;
    assert_eq!(v["cancelled"], "now");
    let record = status_of(&api, &t, &queued).await;
    assert_eq!(record["status"], "cancelled", "{record}");
    assert_eq!(record["error"]["kind"], "cancelled");
    assert!(record["started_at"].is_null(), "it never ran: {record}");

    // The running one stops mid-run, long before its 4 s.
    let asked = Instant::now();
    let v = api.expect(200, "POST", &format!("/v1/tenants/acme/executions/{running}/cancel"), Some(&t.operator), None).await;
    assert_eq!(v["cancelled"], "stopping");
    let record = wait_status(&api, &t, &running, "cancelled", Duration::from_secs(3)).await;
    assert_eq!(record["status"], "cancelled", "{record}");
    assert!(asked.elapsed() < Duration::from_secs(2), "took {:?}", asked.elapsed());
    // Ended: nothing to cancel.
    let v = api.expect(409, "POST", &format!("/v1/tenants/acme/executions/{running}/cancel"), Some(&t.operator), None).await;
    assert_eq!(v["error"]["code"], "conflict");

    // The queued one stays cancelled after the slot frees up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status_of(&api, &t, &queued).await["status"], "cancelled");

    // Awaiting approval.
    setup(&api, &t, json!({"approval": {"timeout_secs": 600}})).await;
    let awaiting = post(&api, &t, 10, 3).await;
    assert_eq!(status_of(&api, &t, &awaiting).await["status"], "awaiting_approval");
    api.expect(200, "POST", &format!("/v1/tenants/acme/executions/{awaiting}/cancel"), Some(&t.admin), None).await;
    assert_eq!(status_of(&api, &t, &awaiting).await["status"], "cancelled");
    // … and can no longer be approved.
    api.expect(409, "POST", &format!("/v1/tenants/acme/executions/{awaiting}/approve"), Some(&t.operator), None).await;

    let audit = api.expect(200, "GET", "/v1/tenants/acme/audit?action=execution.cancel", Some(&t.auditor), None).await;
    assert_eq!(audit["entries"].as_array().map(Vec::len), Some(3), "{audit}");
    }
}

crate::on_every_store! {
    async fn a_rerun_runs_the_same_input_again(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    setup(&api, &t, json!({})).await;
    let first = post(&api, &t, 5, 42).await;
    let done = api.wait_terminal("acme", &t.auditor, &first).await;
    assert_eq!(done["status"], "succeeded");

    let v = api.expect(202, "POST", &format!("/v1/tenants/acme/executions/{first}/rerun"), Some(&t.operator), None).await;
    assert_eq!(v["rerun_of"], first.as_str());
    let again = api.wait_terminal("acme", &t.auditor, v["execution_id"].as_str().unwrap()).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(again["rerun_of"], first.as_str());
    assert_eq!(again["input"], done["input"]);
    assert_eq!(again["output"]["n"], 42);
    assert_eq!(again["version"], done["version"]);
    assert_eq!(again["rule"], "work");

    let v = api.expect(202, "POST", &format!("/v1/tenants/acme/executions/{first}/rerun"), Some(&t.operator),
        Some(json!({"version": "deployed", "dry_run": true}))).await;
    let dry = api.wait_terminal("acme", &t.auditor, v["execution_id"].as_str().unwrap()).await;
    assert_eq!(dry["dry_run"], true, "{dry}");
    let v = api.expect(400, "POST", &format!("/v1/tenants/acme/executions/{first}/rerun"), Some(&t.operator),
        Some(json!({"version": "latest"}))).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("version"), "{v}");
    api.expect(409, "POST", &format!("/v1/tenants/acme/executions/{first}/rerun"), Some(&t.operator),
        Some(json!({"version": "deployed", "environment": "prod"}))).await;
    api.expect(403, "POST", &format!("/v1/tenants/acme/executions/{first}/rerun"), Some(&t.auditor), None).await;
    }
}

crate::on_every_store! {
    async fn executions_are_found_by_rule_time_and_input(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    setup(&api, &t, json!({})).await;
    let before = time::OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    for n in [1, 2, 42, 42] {
        ids.push(post(&api, &t, 1, n).await);
    }
    for id in &ids {
        api.wait_terminal("acme", &t.auditor, id).await;
    }
    let after = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let found = |query: String| {
        let api = api.clone();
        let token = t.auditor.clone();
        async move {
            let v = api.expect(200, "GET", &format!("/v1/tenants/acme/executions?{query}"), Some(&token), None).await;
            let mut ids: Vec<String> = v["executions"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
            ids.sort();
            ids
        }
    };
    let mut forty_two = vec![ids[2].clone(), ids[3].clone()];
    forty_two.sort();
    // `n` is a number in the input; the query cannot say so, and need not.
    assert_eq!(found("input.n=42".into()).await, forty_two);
    assert_eq!(found("input.n=42&input.case=sleep_ms&rule=work".into()).await, forty_two);
    assert_eq!(found("input.n=42&input.case=echo".into()).await, Vec::<String>::new());
    assert_eq!(found("rule=other".into()).await, Vec::<String>::new());
    let mut all = ids.clone();
    all.sort();
    assert_eq!(found(format!("since={}&until={}", rfc(before), rfc(after))).await, all);
    assert_eq!(found(format!("until={}", rfc(before))).await, Vec::<String>::new());
    assert_eq!(found(format!("since={}", rfc(after))).await, Vec::<String>::new());
    let v = api.expect(400, "GET", "/v1/tenants/acme/executions?since=yesterday", Some(&t.auditor), None).await;
    assert!(v["error"]["message"].as_str().unwrap().starts_with("since"), "{v}");
    api.expect(400, "GET", "/v1/tenants/acme/executions?colour=red", Some(&t.auditor), None).await;
    }
}
