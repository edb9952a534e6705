//! The on-call's brakes: silences, pauses and approvals.

use super::{
    at, fire, guarded, held, put_rule, put_silence, record, runs, sleep_until, suppressed, tenant,
};
use crate::common::server::Server;
use serde_json::json;
use std::time::{Duration, Instant};

crate::on_every_store! {
    async fn silences_hold_matching_events_while_they_last(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    // No policy: silences hold back any rule's executions.
    let t = tenant(&api).await;
    put_rule(&api, &t, "guard", json!({})).await;
    let path = "/v1/tenants/acme/silences/db-maintenance";
    let silence = json!({
        "starts_at": at(-60), "ends_at": at(3600),
        "matchers": [{"path": "data.service", "op": "eq", "value": "db"}],
        "comment": "failover drill",
    });

    api.expect(403, "PUT", path, Some(&t.sender), Some(silence.clone()))
        .await;
    api.expect(403, "PUT", path, Some(&t.auditor), Some(silence.clone()))
        .await;
    let mut backwards = silence.clone();
    backwards["ends_at"] = json!(at(-120));
    let v = api
        .expect(400, "PUT", path, Some(&t.operator), Some(backwards))
        .await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("ends_at"),
        "{v}"
    );
    let mut no_matchers = silence.clone();
    no_matchers["matchers"] = json!([]);
    api.expect(400, "PUT", path, Some(&t.operator), Some(no_matchers))
        .await;
    let stored = api
        .expect(200, "PUT", path, Some(&t.operator), Some(silence.clone()))
        .await;
    assert_eq!(stored["active"], true, "{stored}");
    assert_eq!(stored["name"], "db-maintenance");

    let r = held(
        &api,
        &t,
        json!({"service": "db"}),
        "silenced",
        "silence:db-maintenance",
    )
    .await;
    assert!(
        r["suppressed"]["detail"]
            .as_str()
            .unwrap()
            .contains("failover drill"),
        "{r}"
    );
    runs(&api, &t, json!({"service": "web"})).await;

    // A silence that starts later holds nothing yet.
    put_silence(&api, &t, "later", "web", 3600, 7200).await;
    runs(&api, &t, json!({"service": "web"})).await;

    let listed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/silences",
            Some(&t.auditor),
            None,
        )
        .await;
    let names: Vec<(&str, bool)> = listed["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        names,
        [("db-maintenance", true), ("later", false)],
        "{listed}"
    );

    // Deleted, it holds nothing.
    api.expect(403, "DELETE", path, Some(&t.sender), None).await;
    api.expect(204, "DELETE", path, Some(&t.operator), None)
        .await;
    api.expect(404, "GET", path, Some(&t.auditor), None).await;
    api.expect(404, "DELETE", path, Some(&t.operator), None)
        .await;
    runs(&api, &t, json!({"service": "db"})).await;

    // A silence ends on time, unasked.
    put_silence(&api, &t, "short", "db", -60, 2).await;
    let put = Instant::now();
    held(
        &api,
        &t,
        json!({"service": "db"}),
        "silenced",
        "silence:short",
    )
    .await;
    sleep_until(put, 2.5).await;
    runs(&api, &t, json!({"service": "db"})).await;
}
}

crate::on_every_store! {
    async fn pauses_hold_the_tenant_or_one_runbook(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    // A policy with limits: a paused event must not count towards them.
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "once_within_secs": 600}),
    )
    .await;

    api.expect(403, "POST", "/v1/tenants/acme/pause", Some(&t.sender), None)
        .await;
    api.expect(
        403,
        "POST",
        "/v1/tenants/acme/pause",
        Some(&t.auditor),
        None,
    )
    .await;
    let paused = api
        .expect(
            200,
            "POST",
            "/v1/tenants/acme/pause",
            Some(&t.operator),
            None,
        )
        .await;
    assert!(paused["paused"]["by"].is_string(), "{paused}");
    let r = held(&api, &t, json!({"service": "db"}), "paused", "pause:tenant").await;
    assert!(r["suppressed"]["folded_into"].is_null(), "{r}");
    api.expect(
        403,
        "POST",
        "/v1/tenants/acme/resume",
        Some(&t.sender),
        None,
    )
    .await;
    api.expect(
        200,
        "POST",
        "/v1/tenants/acme/resume",
        Some(&t.operator),
        None,
    )
    .await;
    // The paused event was not counted: db's first run is this one.
    let first = runs(&api, &t, json!({"service": "db"})).await;
    let r = held(
        &api,
        &t,
        json!({"service": "db"}),
        "deduplicated",
        "once_within_secs",
    )
    .await;
    assert_eq!(r["suppressed"]["folded_into"], first["id"]);

    let pause = "/v1/tenants/acme/runbooks/conformance/pause";
    api.expect(403, "POST", pause, Some(&t.sender), None).await;
    let paused = api
        .expect(200, "POST", pause, Some(&t.operator), None)
        .await;
    assert_eq!(paused["runbook"], "conformance");
    held(
        &api,
        &t,
        json!({"service": "web"}),
        "paused",
        "pause:runbook",
    )
    .await;
    // Pausing another runbook does not hold this one.
    api.expect(
        200,
        "POST",
        "/v1/tenants/acme/runbooks/conformance/resume",
        Some(&t.operator),
        None,
    )
    .await;
    api.expect(
        200,
        "POST",
        "/v1/tenants/acme/runbooks/hello/pause",
        Some(&t.operator),
        None,
    )
    .await;
    runs(&api, &t, json!({"service": "web"})).await;

    let safety = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/safety",
            Some(&t.auditor),
            None,
        )
        .await;
    assert!(safety["paused"].is_null(), "{safety}");
    let runbooks: Vec<&String> = safety["paused_runbooks"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(runbooks, ["hello"], "{safety}");
}
}

crate::on_every_store! {
    async fn approvals_wait_for_an_operator(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "approval": {"timeout_secs": 600}}),
    )
    .await;
    let decide = |id: &str, verdict: &str| format!("/v1/tenants/acme/executions/{id}/{verdict}");

    let id = fire(&api, &t, json!({"service": "db", "n": 1})).await;
    let waiting = record(&api, &t, &id).await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");
    assert!(waiting["approval"]["deadline"].is_string(), "{waiting}");
    // It stays waiting: nobody picks it up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(record(&api, &t, &id).await["status"], "awaiting_approval");

    api.expect(403, "POST", &decide(&id, "approve"), Some(&t.sender), None)
        .await;
    api.expect(403, "POST", &decide(&id, "approve"), Some(&t.auditor), None)
        .await;
    api.expect(403, "POST", &decide(&id, "reject"), Some(&t.auditor), None)
        .await;
    api.expect(
        404,
        "POST",
        &decide("nosuch", "approve"),
        Some(&t.operator),
        None,
    )
    .await;
    let approved = api
        .expect(
            200,
            "POST",
            &decide(&id, "approve"),
            Some(&t.operator),
            Some(json!({"comment": "go"})),
        )
        .await;
    assert_eq!(approved["status"], "queued", "{approved}");
    let done = api.wait_terminal("acme", &t.auditor, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["output"]["n"], 1, "{done}");
    assert_eq!(done["approval"]["decision"], "approved", "{done}");
    assert_eq!(done["approval"]["comment"], "go", "{done}");
    assert!(done["approval"]["decided_by"].is_string(), "{done}");
    // Decided once.
    let v = api
        .expect(
            409,
            "POST",
            &decide(&id, "approve"),
            Some(&t.operator),
            None,
        )
        .await;
    assert_eq!(v["error"]["code"], "conflict");
    api.expect(409, "POST", &decide(&id, "reject"), Some(&t.operator), None)
        .await;

    // Rejected, it never runs.
    let id = fire(&api, &t, json!({"service": "db", "n": 2})).await;
    let rejected = api
        .expect(
            200,
            "POST",
            &decide(&id, "reject"),
            Some(&t.operator),
            Some(json!({"comment": "not now"})),
        )
        .await;
    assert_eq!(rejected["status"], "suppressed", "{rejected}");
    let r = record(&api, &t, &id).await;
    let s = suppressed(&r, "rejected", "approval");
    assert!(s["detail"].as_str().unwrap().contains("not now"), "{r}");
    assert_eq!(r["approval"]["decision"], "rejected", "{r}");
    api.expect(
        409,
        "POST",
        &decide(&id, "approve"),
        Some(&t.operator),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(record(&api, &t, &id).await["status"], "suppressed");

    // Nobody decides within the timeout: it ends suppressed.
    put_rule(
        &api,
        &t,
        "guard",
        json!({"policy": {"key": "{{ data.service }}", "approval": {"timeout_secs": 1}}}),
    )
    .await;
    let id = fire(&api, &t, json!({"service": "db", "n": 3})).await;
    let posted = Instant::now();
    assert_eq!(record(&api, &t, &id).await["status"], "awaiting_approval");
    let r = loop {
        let r = record(&api, &t, &id).await;
        if r["status"] != "awaiting_approval" {
            break r;
        }
        assert!(
            posted.elapsed() < Duration::from_secs(10),
            "never timed out: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        posted.elapsed() >= Duration::from_millis(900),
        "timed out early: {:?}",
        posted.elapsed()
    );
    suppressed(&r, "approval_timeout", "approval");
    api.expect(
        409,
        "POST",
        &decide(&id, "approve"),
        Some(&t.operator),
        None,
    )
    .await;
}
}
