//! Limits on what runs: concurrency per key (suppress or queue) and the
//! circuit that stops a failing key.

use super::{fire, guarded, held, put_rule, runs, sleep_until, time_of};
use crate::common::server::Server;
use serde_json::json;
use std::time::{Duration, Instant};

crate::on_every_store! {
    async fn concurrency_suppresses_when_busy_or_queues_in_order(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({
            "key": "{{ data.service }}",
            "concurrency": {"max": 1, "on_busy": "suppress"},
        }),
    )
    .await;
    let sleep = |service: &str, ms: u64| json!({"case": "sleep_ms", "service": service, "ms": ms});

    let first = fire(&api, &t, sleep("db", 1500)).await;
    let r = held(&api, &t, sleep("db", 10), "busy", "concurrency").await;
    assert_eq!(r["suppressed"]["folded_into"], first.as_str(), "{r}");
    // Another key is not busy.
    runs(&api, &t, sleep("web", 10)).await;
    let done = api.wait_terminal("acme", &t.auditor, &first).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // Once it finished, the key takes one again.
    runs(&api, &t, sleep("db", 10)).await;

    // Queue mode: the second waits for the first to finish, then runs.
    put_rule(
        &api,
        &t,
        "guard",
        json!({"policy": {
            "key": "{{ data.service }}",
            "concurrency": {"max": 1, "on_busy": "queue"},
        }}),
    )
    .await;
    let a = fire(&api, &t, sleep("db", 700)).await;
    let b = fire(&api, &t, sleep("db", 700)).await;
    let c = fire(&api, &t, sleep("cache", 700)).await;
    let a = api.wait_terminal("acme", &t.auditor, &a).await;
    let b = api.wait_terminal("acme", &t.auditor, &b).await;
    let c = api.wait_terminal("acme", &t.auditor, &c).await;
    for r in [&a, &b, &c] {
        assert_eq!(r["status"], "succeeded", "{r}");
    }
    assert!(
        time_of(&b, "started_at") >= time_of(&a, "finished_at"),
        "the second execution of key db started before the first finished:\n{a}\n{b}"
    );
    // Another key does not wait for db.
    assert!(
        time_of(&c, "started_at") < time_of(&a, "finished_at"),
        "key cache waited for key db:\n{a}\n{c}"
    );
}
}

crate::on_every_store! {
    async fn a_circuit_opens_after_failures_and_closes_by_hand_or_by_a_trial(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({
            "key": "{{ data.service }}",
            "circuit": {"failures": 2, "within_secs": 60, "cooldown_secs": 2},
        }),
    )
    .await;
    let fail = |service: &str| json!({"case": "guest_error", "service": service});

    // Two failures of db open its circuit; web is unaffected.
    for _ in 0..2 {
        let id = fire(&api, &t, fail("db")).await;
        let r = api.wait_terminal("acme", &t.auditor, &id).await;
        assert_eq!(r["status"], "failed", "{r}");
    }
    let opened = Instant::now();
    let r = held(
        &api,
        &t,
        json!({"service": "db"}),
        "circuit_open",
        "circuit",
    )
    .await;
    assert_eq!(r["suppressed"]["key"], "db");
    runs(&api, &t, json!({"service": "web"})).await;

    let circuits = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/rules/guard/circuits",
            Some(&t.auditor),
            None,
        )
        .await;
    let open = circuits["circuits"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{circuits}");
    assert_eq!(open[0]["key"], "db");
    assert_eq!(open[0]["failures"], 2);
    assert!(open[0]["half_open_at"].is_string(), "{circuits}");

    // Closing takes an operator, a key with state, and a rule that exists.
    let close = "/v1/tenants/acme/rules/guard/circuits/close";
    api.expect(
        403,
        "POST",
        close,
        Some(&t.sender),
        Some(json!({"key": "db"})),
    )
    .await;
    api.expect(
        403,
        "POST",
        close,
        Some(&t.auditor),
        Some(json!({"key": "db"})),
    )
    .await;
    api.expect(
        404,
        "POST",
        close,
        Some(&t.operator),
        Some(json!({"key": "nosuch"})),
    )
    .await;
    api.expect(
        404,
        "POST",
        "/v1/tenants/acme/rules/nosuch/circuits/close",
        Some(&t.operator),
        Some(json!({"key": "db"})),
    )
    .await;
    let closed = api
        .expect(
            200,
            "POST",
            close,
            Some(&t.operator),
            Some(json!({"key": "db"})),
        )
        .await;
    assert_eq!(closed["closed"], true);
    assert!(
        opened.elapsed() < Duration::from_secs(2),
        "the cooldown passed: {:?}",
        opened.elapsed()
    );
    let circuits = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/rules/guard/circuits",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(circuits["circuits"], json!([]), "{circuits}");
    runs(&api, &t, json!({"service": "db"})).await;

    // After the cooldown one trial runs while the key stays held; its
    // success closes the circuit.
    for _ in 0..2 {
        let id = fire(&api, &t, fail("web")).await;
        api.wait_terminal("acme", &t.auditor, &id).await;
    }
    let opened = Instant::now();
    held(
        &api,
        &t,
        json!({"service": "web"}),
        "circuit_open",
        "circuit",
    )
    .await;
    sleep_until(opened, 2.2).await;
    let trial = fire(
        &api,
        &t,
        json!({"case": "sleep_ms", "service": "web", "ms": 1000}),
    )
    .await;
    let r = held(
        &api,
        &t,
        json!({"service": "web"}),
        "circuit_open",
        "circuit",
    )
    .await;
    let detail = r["suppressed"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("half-open") && detail.contains(&trial),
        "{detail}"
    );
    let trial = api.wait_terminal("acme", &t.auditor, &trial).await;
    assert_eq!(trial["status"], "succeeded", "{trial}");
    runs(&api, &t, json!({"service": "web"})).await;
    let circuits = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/rules/guard/circuits",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(circuits["circuits"], json!([]), "{circuits}");

    // A failed trial opens it again at once.
    for _ in 0..2 {
        let id = fire(&api, &t, fail("cache")).await;
        api.wait_terminal("acme", &t.auditor, &id).await;
    }
    let opened = Instant::now();
    held(
        &api,
        &t,
        json!({"service": "cache"}),
        "circuit_open",
        "circuit",
    )
    .await;
    sleep_until(opened, 2.2).await;
    let trial = fire(&api, &t, fail("cache")).await;
    let trial = api.wait_terminal("acme", &t.auditor, &trial).await;
    assert_eq!(trial["status"], "failed", "{trial}");
    held(
        &api,
        &t,
        json!({"service": "cache"}),
        "circuit_open",
        "circuit",
    )
    .await;
}
}
