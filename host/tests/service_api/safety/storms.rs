//! Under load and across restarts: a storm runs five services once, the
//! dedupe window survives a killed server, and suppressed executions do
//! not spend the tenant's quota.

use super::{HOOK, guarded, held, runs, tenant};
use crate::common::server::{Server, TestStore};
use serde_json::json;
use std::time::Duration;
use time::OffsetDateTime;

/// The dedupe window is kept in the store: a server killed and started
/// again on the same data still folds the key's next event into the run
/// from before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedupe_window_survives_a_killed_server() {
    let dir = tempfile::tempdir().unwrap();
    let store = TestStore::sled();
    let mut server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "once_within_secs": 600}),
    )
    .await;
    let first = runs(&api, &t, json!({"service": "db", "n": 1})).await;

    server.kill();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let r = held(
        &api,
        &t,
        json!({"service": "db", "n": 2}),
        "deduplicated",
        "once_within_secs",
    )
    .await;
    assert_eq!(r["suppressed"]["folded_into"], first["id"], "{r}");
    // Other keys were not affected by the restart.
    runs(&api, &t, json!({"service": "web", "n": 3})).await;
}

/// 1,000 alerts for 50 services within seconds against `once_within_secs`
/// and a budget of five keys: five executions, 995 suppressed, by reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_storm_runs_five_services_once_and_suppresses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&TestStore::sled(), dir.path(), &[]);
    let api = server.api();
    let t = tenant(&api).await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/storm",
        Some(&t.author),
        Some(crate::storm::storm_rule()),
    )
    .await;
    let (posted, took) = crate::storm::post_storm(std::slice::from_ref(&api), &t).await;
    println!("{} alerts posted in {took:?}", posted.len());
    crate::storm::assert_storm_held(&api, &t, &posted).await;
}

crate::on_every_store! {
    async fn suppressed_executions_do_not_spend_the_tenant_quota(store: TestStore) {
    // The quota counts per minute: start early in one.
    let second = OffsetDateTime::now_utc().second();
    if second > 40 {
        tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "once_within_secs": 600}),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/quota",
        Some(crate::common::server::ADMIN_TOKEN),
        Some(json!({"max_executions_per_minute": 3})),
    )
    .await;

    // A storm of one key is one execution: the repeats are records, not
    // runs, and the sender is not told to back off.
    let first = runs(&api, &t, json!({"service": "db"})).await;
    for _ in 0..5 {
        let r = held(
            &api,
            &t,
            json!({"service": "db"}),
            "deduplicated",
            "once_within_secs",
        )
        .await;
        assert_eq!(r["suppressed"]["folded_into"], first["id"]);
    }
    // Nor does a paused tenant's hold spend it.
    api.expect(
        200,
        "POST",
        "/v1/tenants/acme/pause",
        Some(&t.operator),
        None,
    )
    .await;
    for _ in 0..5 {
        held(
            &api,
            &t,
            json!({"service": "web"}),
            "paused",
            "pause:tenant",
        )
        .await;
    }
    api.expect(
        200,
        "POST",
        "/v1/tenants/acme/resume",
        Some(&t.operator),
        None,
    )
    .await;

    // Two more runs use the quota up; then it holds.
    runs(&api, &t, json!({"service": "web"})).await;
    runs(&api, &t, json!({"service": "cache"})).await;
    let (status, body) = api
        .call(
            "POST",
            HOOK,
            Some(&t.sender),
            Some(json!({"service": "queue"})),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded");
}
}
