//! The on-call's brakes are the database's, not a host's: a pause or a
//! silence set through one host holds on the other within the caches'
//! freshness, and an execution awaiting approval is decided exactly once
//! however many hosts an operator's clicks reach.

use super::hosts;
use super::safety_storm::tenant;
use crate::common::server::{Api, TestStore, Tokens};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Longer than a host's read caches keep a look-up (500 ms).
const FRESHNESS: Duration = Duration::from_millis(700);

/// Posts one event through `api`; its one execution, as stored.
async fn fire(api: &Api, t: &Tokens, body: Value) -> Value {
    let accepted = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(body),
        )
        .await;
    let id = accepted["executions"][0].as_str().unwrap();
    api.expect(
        200,
        "GET",
        &format!("/v1/tenants/acme/executions/{id}"),
        Some(&t.auditor),
        None,
    )
    .await
}

fn reason(record: &Value) -> &str {
    record["suppressed"]["reason"].as_str().unwrap_or("-")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brakes_pulled_through_one_host_hold_on_the_other() {
    let store = TestStore::postgres();
    let hosts = hosts(&store, 2, &[]);
    let (a, b) = (hosts[0].1.api(), hosts[1].1.api());
    let t = tenant(&a).await;
    a.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/guard",
        Some(&t.author),
        Some(json!({
            "source": "am", "runbook": "conformance", "environment": "dev",
            "policy": {"key": "{{ data.service }}", "approval": {"timeout_secs": 600}},
        })),
    )
    .await;

    // Operators on both hosts decide at once: one decision is recorded,
    // the other is told it came second, and the record shows the first.
    for n in 0..5 {
        let waiting = fire(&a, &t, json!({"service": "db", "n": n})).await;
        assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");
        let id = waiting["id"].as_str().unwrap().to_string();
        let decide = |api: &Api, verdict: &'static str| {
            let (api, token, id) = (api.clone(), t.operator.clone(), id.clone());
            tokio::spawn(async move {
                let path = format!("/v1/tenants/acme/executions/{id}/{verdict}");
                api.call("POST", &path, Some(&token), None).await.0.as_u16()
            })
        };
        let (approve, reject) = (decide(&a, "approve"), decide(&b, "reject"));
        let (approve, reject) = (approve.await.unwrap(), reject.await.unwrap());
        let mut statuses = [approve, reject];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "approve {approve}, reject {reject}");
        let done = b.wait_terminal("acme", &t.auditor, &id).await;
        match approve {
            200 => {
                assert_eq!(done["status"], "succeeded", "{done}");
                assert_eq!(done["approval"]["decision"], "approved", "{done}");
            }
            _ => {
                assert_eq!(reason(&done), "rejected", "{done}");
                assert!(done["started_at"].is_null(), "{done}");
            }
        }
    }

    // A pause through one host holds on the other.
    a.expect(
        200,
        "POST",
        "/v1/tenants/acme/pause",
        Some(&t.operator),
        None,
    )
    .await;
    tokio::time::sleep(FRESHNESS).await;
    let held = fire(&b, &t, json!({"service": "db"})).await;
    assert_eq!(reason(&held), "paused", "{held}");
    b.expect(
        200,
        "POST",
        "/v1/tenants/acme/resume",
        Some(&t.operator),
        None,
    )
    .await;
    tokio::time::sleep(FRESHNESS).await;
    let resumed = fire(&a, &t, json!({"service": "db"})).await;
    assert_eq!(resumed["status"], "awaiting_approval", "{resumed}");

    // So does a silence, and its removal.
    let started = Instant::now();
    b.expect(
        200,
        "PUT",
        "/v1/tenants/acme/silences/db",
        Some(&t.operator),
        Some(json!({
            "starts_at": "2000-01-01T00:00:00Z", "ends_at": "2100-01-01T00:00:00Z",
            "matchers": [{"path": "data.service", "op": "eq", "value": "db"}],
        })),
    )
    .await;
    tokio::time::sleep(FRESHNESS).await;
    let silenced = fire(&a, &t, json!({"service": "db"})).await;
    assert_eq!(reason(&silenced), "silenced", "{silenced}");
    b.expect(
        204,
        "DELETE",
        "/v1/tenants/acme/silences/db",
        Some(&t.operator),
        None,
    )
    .await;
    tokio::time::sleep(FRESHNESS).await;
    let after = fire(&a, &t, json!({"service": "db"})).await;
    assert_eq!(after["status"], "awaiting_approval", "{after}");
    println!("brakes followed across hosts in {:?}", started.elapsed());
}
