//! An alert storm against a rule with `once_within_secs` and a `budget`,
//! shared by the one-host test (service_api) and the two-host test
//! (service_many_hosts): the posts, and the check that the limits held.

use crate::common::server::{Api, Tokens};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

pub const ALERTS: usize = 1_000;
pub const SERVICES: usize = 50;
/// Posts in flight at once.
const PARALLEL: usize = 20;
/// The rule's `budget.max_keys`.
pub const MAX_KEYS: usize = 5;

/// The storm's rule: one execution per service within 10 minutes, at most
/// five services an hour.
pub fn storm_rule() -> Value {
    json!({
        "source": "am", "runbook": "conformance", "environment": "dev",
        "policy": {
            "key": "{{ data.service }}",
            "once_within_secs": 600,
            "budget": {"max_keys": MAX_KEYS, "per_secs": 3600},
        },
    })
}

/// One posted alert: its service and the execution its 202 named.
pub struct Posted {
    pub service: String,
    pub execution: String,
}

/// Posts [`ALERTS`] alerts, alert `i` for service `svc-{i % SERVICES}`,
/// [`PARALLEL`] at a time, alert `i` to host `i % apis.len()`.
pub async fn post_storm(apis: &[Api], t: &Tokens) -> (Vec<Posted>, Duration) {
    let started = Instant::now();
    let mut posted = Vec::with_capacity(ALERTS);
    for batch in (0..ALERTS).collect::<Vec<_>>().chunks(PARALLEL) {
        let mut set = tokio::task::JoinSet::new();
        for &i in batch {
            let api = apis[i % apis.len()].clone();
            let token = t.sender.clone();
            let service = format!("svc-{}", i % SERVICES);
            set.spawn(async move {
                let body = json!({"service": service, "n": i});
                let accepted = api
                    .expect(202, "POST", "/v1/hooks/acme/am", Some(&token), Some(body))
                    .await;
                let ids = accepted["executions"].as_array().unwrap();
                assert_eq!(ids.len(), 1, "alert {i}: {accepted}");
                Posted {
                    service,
                    execution: ids[0].as_str().unwrap().to_string(),
                }
            });
        }
        while let Some(done) = set.join_next().await {
            posted.push(done.unwrap());
        }
    }
    (posted, started.elapsed())
}

/// Every execution of tenant `acme` that `filter` selects, every page.
pub async fn list_all(api: &Api, token: &str, filter: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/tenants/acme/executions?limit=500&{filter}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.expect(200, "GET", &path, Some(token), None).await;
        all.extend(page["executions"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}

/// The limits held: exactly [`MAX_KEYS`] services ran, once each; every
/// other alert of those services folded into its run; every alert of the
/// others was held back by the budget.
pub async fn assert_storm_held(api: &Api, t: &Tokens, posted: &[Posted]) {
    assert_eq!(posted.len(), ALERTS);
    let records: HashMap<String, Value> = list_all(api, &t.auditor, "")
        .await
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(records.len(), ALERTS, "one execution per alert, no more");

    let mut ran: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for p in posted {
        let r = &records[&p.execution];
        assert_eq!(r["key"], p.service.as_str(), "{r}");
        match r["status"].as_str().unwrap() {
            "suppressed" => {
                *reasons
                    .entry(r["suppressed"]["reason"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
            _ => ran
                .entry(p.service.clone())
                .or_default()
                .push(p.execution.clone()),
        }
    }
    assert_eq!(ran.len(), MAX_KEYS, "services that ran: {ran:?}");
    for (service, runs) in &ran {
        assert_eq!(runs.len(), 1, "service {service} ran {runs:?}");
    }
    let per_service = ALERTS / SERVICES;
    let expected: BTreeMap<String, usize> = [
        ("deduplicated".to_string(), MAX_KEYS * (per_service - 1)),
        (
            "budget_exhausted".to_string(),
            (SERVICES - MAX_KEYS) * per_service,
        ),
    ]
    .into();
    assert_eq!(reasons, expected);

    // Each repeat names the run of its own service; the budget held back
    // exactly the services that did not run.
    let ran_services: BTreeSet<&String> = ran.keys().collect();
    for p in posted {
        let r = &records[&p.execution];
        let s = &r["suppressed"];
        match s["reason"].as_str() {
            Some("deduplicated") => {
                assert_eq!(s["folded_into"], ran[&p.service][0].as_str(), "{r}");
                assert_eq!(s["policy"], "once_within_secs", "{r}");
            }
            Some("budget_exhausted") => {
                assert!(!ran_services.contains(&p.service), "{r}");
                assert_eq!(s["policy"], "budget", "{r}");
            }
            _ => {}
        }
    }

    // The filter agrees with the records.
    let deduplicated = list_all(api, &t.auditor, "status=suppressed&reason=deduplicated").await;
    assert_eq!(deduplicated.len(), expected["deduplicated"]);
    let exhausted = list_all(api, &t.auditor, "status=suppressed&reason=budget_exhausted").await;
    assert_eq!(exhausted.len(), expected["budget_exhausted"]);

    // And the five runs did run.
    for runs in ran.values() {
        let record = api.wait_terminal("acme", &t.auditor, &runs[0]).await;
        assert_eq!(record["status"], "succeeded", "{record}");
    }
}
