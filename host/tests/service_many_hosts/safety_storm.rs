//! Safety limits are one set of limits however many hosts share the
//! database: a storm posted alternately to two hosts still runs five
//! services once each, and a key limited to one execution at a time never
//! runs twice at once across the hosts.

use super::hosts;
use crate::common::server::{Api, TestStore, Tokens};
use crate::storm::{assert_storm_held, post_storm, storm_rule};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Tenant `acme` with the conformance guest in dev and the webhook source
/// `am`, set up through `api`.
pub(super) async fn tenant(api: &Api) -> Tokens {
    let t = api.tenant("acme").await;
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
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_storm_over_two_hosts_runs_five_services_once() {
    let store = TestStore::postgres();
    let hosts = hosts(&store, 2, &[]);
    let apis: Vec<Api> = hosts.iter().map(|(_, s)| s.api()).collect();
    let t = tenant(&apis[0]).await;
    apis[0]
        .expect(
            200,
            "PUT",
            "/v1/tenants/acme/rules/storm",
            Some(&t.author),
            Some(storm_rule()),
        )
        .await;
    let (posted, took) = post_storm(&apis, &t).await;
    println!(
        "{} alerts posted alternately to two hosts in {took:?}",
        posted.len()
    );
    // Either host sees the same outcome.
    assert_storm_held(&apis[1], &t, &posted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_execution_of_a_key_at_a_time_across_two_hosts() {
    let store = TestStore::postgres();
    let hosts = hosts(&store, 2, &[]);
    let apis: Vec<Api> = hosts.iter().map(|(_, s)| s.api()).collect();
    let t = tenant(&apis[0]).await;
    apis[0]
        .expect(
            200,
            "PUT",
            "/v1/tenants/acme/rules/serial",
            Some(&t.author),
            Some(json!({
                "source": "am", "runbook": "conformance", "environment": "dev",
                "policy": {"key": "{{ data.service }}", "concurrency": {"max": 1, "on_busy": "queue"}},
            })),
        )
        .await;

    let mut ids = Vec::new();
    for n in 0..4 {
        let accepted = apis[n % 2]
            .expect(
                202,
                "POST",
                "/v1/hooks/acme/am",
                Some(&t.sender),
                Some(json!({"case": "sleep_ms", "ms": 300, "service": "db", "n": n})),
            )
            .await;
        ids.push(accepted["executions"][0].as_str().unwrap().to_string());
    }
    let parse =
        |v: &serde_json::Value| OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap();
    let mut spans = Vec::new();
    for id in &ids {
        let r = apis[1].wait_terminal("acme", &t.auditor, id).await;
        assert_eq!(r["status"], "succeeded", "{r}");
        spans.push((
            parse(&r["started_at"]),
            parse(&r["finished_at"]),
            r["output"]["n"].clone(),
        ));
    }
    // In arrival order, one after another.
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "two executions of key db overlapped across hosts: {spans:?}"
        );
    }
}
