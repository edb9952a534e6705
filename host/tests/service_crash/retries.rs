//! Retries through a real `wolfe serve`: a runbook that fails twice is
//! retried with growing delays and ends with three linked records; a
//! restart while a retry waits runs it exactly once; the last attempt says
//! `retries_exhausted`.

use crate::common::server::{Api, Server, Tokens};
use serde_json::{Value, json};
use std::time::Duration;

async fn flaky_rule(api: &Api, t: &Tokens, times: u32, retry: Value) {
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
        "/v1/tenants/acme/rules/flaky",
        Some(&t.author),
        Some(json!({
            "source": "am", "runbook": "conformance", "environment": "dev",
            "params": {"case": "fail_times", "key": "{{ data.key }}", "times": times},
            "policy": {"retry": retry},
        })),
    )
    .await;
}

/// Every execution of `event`, first run first.
async fn chain(api: &Api, t: &Tokens, event: &str) -> Vec<Value> {
    let page = api
        .expect(
            200,
            "GET",
            &format!("/v1/tenants/acme/executions?event_id={event}&limit=100"),
            Some(&t.auditor),
            None,
        )
        .await;
    let mut all = page["executions"].as_array().unwrap().clone();
    all.sort_by_key(|e| e["retry"].as_u64().unwrap_or(0));
    all
}

/// Waits until the event's chain has `n` records, the last terminal.
async fn wait_chain(api: &Api, t: &Tokens, event: &str, n: usize, within: Duration) -> Vec<Value> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let all = chain(api, t, event).await;
        let done = all.len() == n
            && all
                .last()
                .is_some_and(|e| !matches!(e["status"].as_str(), Some("queued" | "running")));
        if done || std::time::Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ms(rfc3339: &Value) -> i128 {
    let t = time::OffsetDateTime::parse(
        rfc3339.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    t.unix_timestamp_nanos() / 1_000_000
}

crate::on_every_store! {
    async fn a_runbook_failing_twice_is_retried_with_growing_delays(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    flaky_rule(&api, &t, 2, json!({"max_attempts": 3, "initial_delay_secs": 1, "max_delay_secs": 2, "on": ["failed"]})).await;
    let posted = api.expect(202, "POST", "/v1/hooks/acme/am", Some(&t.sender), Some(json!({"key": "a"}))).await;
    let event = posted["event_id"].as_str().unwrap();
    let all = wait_chain(&api, &t, event, 3, Duration::from_secs(30)).await;
    let statuses: Vec<&str> = all.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["failed", "failed", "succeeded"], "{all:#?}");
    assert_eq!(all[2]["output"]["attempt"], 3);
    for (i, e) in all.iter().enumerate().skip(1) {
        assert_eq!(e["retry"], i as u64);
        assert_eq!(e["retry_of"], all[i - 1]["id"], "retry {i} links to the run before it");
    }
    assert!(all.iter().all(|e| e["retries_exhausted"].is_null()));
    // Backoff with equal jitter: retry 1 waits 0.5–1 s, retry 2 1–2 s
    // after the run before it ended.
    let gap = |i: usize| ms(&all[i]["not_before"]) - ms(&all[i - 1]["finished_at"]);
    assert!((400..=1_100).contains(&gap(1)), "first delay {} ms", gap(1));
    assert!((900..=2_100).contains(&gap(2)), "second delay {} ms", gap(2));
    for (i, retry) in all.iter().enumerate().skip(1) {
        assert!(ms(&retry["started_at"]) >= ms(&retry["not_before"]), "retry {i} started early");
    }
    }
}

crate::on_every_store! {
    async fn the_last_attempt_says_retries_are_exhausted(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    flaky_rule(&api, &t, 5, json!({"max_attempts": 2, "initial_delay_secs": 1, "max_delay_secs": 1})).await;
    let posted = api.expect(202, "POST", "/v1/hooks/acme/am", Some(&t.sender), Some(json!({"key": "b"}))).await;
    let event = posted["event_id"].as_str().unwrap();
    let all = wait_chain(&api, &t, event, 2, Duration::from_secs(20)).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[1]["status"], "failed");
    assert_eq!(all[1]["retries_exhausted"], true, "{:#}", all[1]);
    // Nothing more is scheduled.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(chain(&api, &t, event).await.len(), 2);
    }
}

crate::on_every_store! {
    async fn a_retry_pending_across_a_sigkill_runs_once(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    flaky_rule(&api, &t, 1, json!({"max_attempts": 3, "initial_delay_secs": 3, "max_delay_secs": 3})).await;
    let posted = api.expect(202, "POST", "/v1/hooks/acme/am", Some(&t.sender), Some(json!({"key": "c"}))).await;
    let event = posted["event_id"].as_str().unwrap().to_string();
    // The first run fails; its retry waits its backoff (1.5–3 s).
    let mut waiting = chain(&api, &t, &event).await;
    for _ in 0..100 {
        if waiting.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiting = chain(&api, &t, &event).await;
    }
    assert_eq!(waiting.len(), 2, "{waiting:#?}");
    assert_eq!((waiting[0]["status"].as_str(), waiting[1]["status"].as_str()), (Some("failed"), Some("queued")));
    server.kill();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let all = wait_chain(&api, &t, &event, 2, Duration::from_secs(20)).await;
    assert_eq!(all.len(), 2, "no retry doubled or added: {all:#?}");
    assert_eq!(all[1]["status"], "succeeded", "{:#}", all[1]);
    // Counted in kv by the runbook itself: two runs in all, not three.
    assert_eq!(all[1]["output"]["attempt"], 2);
    }
}
