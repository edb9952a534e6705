//! The windows a policy keeps per key: once_within_secs, rate, threshold,
//! and the budget of keys across the rule; and what a policy accepts.

use super::{guarded, held, put_rule, rule_spec, runs, sleep_until, tenant};
use crate::common::server::Server;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

crate::on_every_store! {
    async fn a_policy_is_validated_when_its_rule_is_stored(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = tenant(&api).await;
    let put = |policy: Value| {
        let api = api.clone();
        let token = t.author.clone();
        async move {
            api.call(
                "PUT",
                "/v1/tenants/acme/rules/guard",
                Some(&token),
                Some(rule_spec(json!({"policy": policy}))),
            )
            .await
        }
    };

    let out_of_range = [
        (
            json!({"rate": {"max": 0, "per_secs": 60}}),
            "policy.rate.max",
        ),
        (
            json!({"rate": {"max": 10_001, "per_secs": 60}}),
            "policy.rate.max",
        ),
        (
            json!({"rate": {"max": 1, "per_secs": 0}}),
            "policy.rate.per_secs",
        ),
        (json!({"once_within_secs": 0}), "policy.once_within_secs"),
        (
            json!({"once_within_secs": 2_592_001}),
            "policy.once_within_secs",
        ),
        (
            json!({"threshold": {"count": 0, "within_secs": 60}}),
            "policy.threshold.count",
        ),
        (
            json!({"threshold": {"count": 3, "within_secs": 0}}),
            "policy.threshold.within_secs",
        ),
        (json!({"concurrency": {"max": 0}}), "policy.concurrency.max"),
        (
            json!({"budget": {"max_keys": 0, "per_secs": 60}}),
            "policy.budget.max_keys",
        ),
        (
            json!({"budget": {"max_keys": 5, "per_secs": 99_999_999}}),
            "policy.budget.per_secs",
        ),
        (
            json!({"circuit": {"failures": 0, "within_secs": 60, "cooldown_secs": 60}}),
            "policy.circuit.failures",
        ),
        (
            json!({"circuit": {"failures": 3, "within_secs": 60, "cooldown_secs": 0}}),
            "policy.circuit.cooldown_secs",
        ),
        (
            json!({"approval": {"timeout_secs": 0}}),
            "policy.approval.timeout_secs",
        ),
        (json!({"key": "{{ data.service "}), "policy.key"),
        (json!({"key": "  "}), "policy.key"),
    ];
    for (policy, field) in out_of_range {
        let (status, body) = put(policy.clone()).await;
        assert_eq!(status, 400, "{policy}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{policy}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(field),
            "{policy}: {message:?} does not name {field}"
        );
    }
    // Unknown fields and values are refused, not ignored.
    for (policy, named) in [
        (json!({"dedupe_secs": 60}), "dedupe_secs"),
        (
            json!({"rate": {"max": 1, "per_secs": 60, "burst": 2}}),
            "burst",
        ),
        (
            json!({"concurrency": {"max": 1, "on_busy": "drop"}}),
            "drop",
        ),
    ] {
        let (status, body) = put(policy.clone()).await;
        assert_eq!(status, 400, "{policy}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{policy}: {message:?}");
    }
    // Nothing refused was stored.
    api.expect(
        404,
        "GET",
        "/v1/tenants/acme/rules/guard",
        Some(&t.author),
        None,
    )
    .await;

    // A valid policy is stored as given.
    let policy = json!({
        "key": "{{ data.service }}",
        "once_within_secs": 600,
        "rate": {"max": 5, "per_secs": 3600},
        "threshold": {"count": 3, "within_secs": 300},
        "concurrency": {"max": 1, "on_busy": "suppress"},
        "budget": {"max_keys": 5, "per_secs": 3600},
        "circuit": {"failures": 3, "within_secs": 3600, "cooldown_secs": 1800},
        "approval": {"timeout_secs": 1800},
    });
    let (status, body) = put(policy.clone()).await;
    assert_eq!(status, 200, "{body}");
    let stored = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/rules/guard",
            Some(&t.author),
            None,
        )
        .await;
    assert_eq!(stored["policy"], policy);
}
}

crate::on_every_store! {
    async fn once_within_folds_repeats_into_the_first_run(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "once_within_secs": 2}),
    )
    .await;

    let window = Instant::now();
    let first = runs(&api, &t, json!({"service": "db", "n": 1})).await;
    assert_eq!(first["key"], "db");
    let first_id = first["id"].as_str().unwrap();
    for n in 2..4 {
        let r = held(
            &api,
            &t,
            json!({"service": "db", "n": n}),
            "deduplicated",
            "once_within_secs",
        )
        .await;
        assert_eq!(r["suppressed"]["folded_into"], first_id, "{r}");
        assert_eq!(r["suppressed"]["key"], "db", "{r}");
        assert_eq!(r["key"], "db", "{r}");
    }
    // Another key has a window of its own.
    let other = runs(&api, &t, json!({"service": "web", "n": 4})).await;
    let r = held(
        &api,
        &t,
        json!({"service": "web", "n": 5}),
        "deduplicated",
        "once_within_secs",
    )
    .await;
    assert_eq!(r["suppressed"]["folded_into"], other["id"], "{r}");
    assert!(
        window.elapsed() < Duration::from_secs(2),
        "too slow to test inside the window: {:?}",
        window.elapsed()
    );

    // Once the window has passed, the key runs again, and its repeats fold
    // into the new run.
    sleep_until(window, 2.2).await;
    let again = runs(&api, &t, json!({"service": "db", "n": 6})).await;
    assert_ne!(again["id"], first["id"]);
    let r = held(
        &api,
        &t,
        json!({"service": "db", "n": 7}),
        "deduplicated",
        "once_within_secs",
    )
    .await;
    assert_eq!(r["suppressed"]["folded_into"], again["id"], "{r}");
}
}

crate::on_every_store! {
    async fn rate_admits_max_per_window_per_key(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "rate": {"max": 2, "per_secs": 2}}),
    )
    .await;

    let window = Instant::now();
    runs(&api, &t, json!({"service": "db", "n": 1})).await;
    runs(&api, &t, json!({"service": "db", "n": 2})).await;
    let r = held(
        &api,
        &t,
        json!({"service": "db", "n": 3}),
        "rate_limited",
        "rate",
    )
    .await;
    assert_eq!(r["suppressed"]["key"], "db");
    assert!(r["suppressed"]["folded_into"].is_null(), "{r}");
    // Suppressed events do not count: another one is held just the same.
    held(
        &api,
        &t,
        json!({"service": "db", "n": 4}),
        "rate_limited",
        "rate",
    )
    .await;
    // Other keys have their own window.
    runs(&api, &t, json!({"service": "web", "n": 5})).await;
    assert!(
        window.elapsed() < Duration::from_secs(2),
        "{:?}",
        window.elapsed()
    );

    // The window slides: once the first two runs are older than 2 s, two
    // more are admitted, and no third.
    sleep_until(window, 2.5).await;
    runs(&api, &t, json!({"service": "db", "n": 6})).await;
    runs(&api, &t, json!({"service": "db", "n": 7})).await;
    held(
        &api,
        &t,
        json!({"service": "db", "n": 8}),
        "rate_limited",
        "rate",
    )
    .await;
}
}

crate::on_every_store! {
    async fn threshold_fires_once_with_every_correlated_event(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = tenant(&api).await;
    let threshold =
        json!({"key": "{{ data.service }}", "threshold": {"count": 3, "within_secs": 2}});
    // `events` is in the params' context when the threshold fires.
    put_rule(
        &api,
        &t,
        "guard",
        json!({
            "criteria": [{"path": "data.rule", "op": "eq", "value": "params"}],
            "policy": threshold,
            "params": {
                "case": "echo", "service": "{{ data.service }}",
                "events": "{{ events }}", "count": "{{ events | length }}",
            },
        }),
    )
    .await;
    // Without params the input is {data, events}.
    put_rule(
        &api,
        &t,
        "plain",
        json!({
            "criteria": [{"path": "data.rule", "op": "eq", "value": "plain"}],
            "policy": threshold,
        }),
    )
    .await;

    for rule in ["params", "plain"] {
        let window = Instant::now();
        let body = |service: &str, n: u32| json!({"rule": rule, "service": service, "n": n});
        for (n, of) in [(1, "1 of 3"), (2, "2 of 3")] {
            let r = held(&api, &t, body("db", n), "threshold_pending", "threshold").await;
            let detail = r["suppressed"]["detail"].as_str().unwrap();
            assert!(detail.starts_with(of), "{rule}: {detail}");
        }
        // Another key counts on its own.
        let r = held(&api, &t, body("web", 1), "threshold_pending", "threshold").await;
        assert!(
            r["suppressed"]["detail"]
                .as_str()
                .unwrap()
                .starts_with("1 of 3"),
            "{r}"
        );

        let fired = runs(&api, &t, body("db", 3)).await;
        assert_eq!(fired["key"], "db");
        let input = &fired["input"];
        let events = input["events"]
            .as_array()
            .unwrap_or_else(|| panic!("{rule}: {fired}"));
        let ns: Vec<&Value> = events.iter().map(|e| &e["data"]["n"]).collect();
        assert_eq!(
            ns,
            [1, 2, 3],
            "{rule}: every correlated event of key db, oldest first: {fired}"
        );
        assert!(
            events.iter().all(|e| e["data"]["service"] == "db"),
            "{fired}"
        );
        match rule {
            "params" => {
                assert_eq!(input["service"], "db", "{fired}");
                assert_eq!(input["count"], 3, "{fired}");
            }
            _ => assert_eq!(input["data"], body("db", 3), "{fired}"),
        }
        assert!(
            window.elapsed() < Duration::from_secs(2),
            "{:?}",
            window.elapsed()
        );

        // Fired once: counting starts again.
        let r = held(&api, &t, body("db", 4), "threshold_pending", "threshold").await;
        assert!(
            r["suppressed"]["detail"]
                .as_str()
                .unwrap()
                .starts_with("1 of 3"),
            "{r}"
        );
        // Events older than the window fall out: after 2 s, web's first
        // and db's fourth no longer count.
        sleep_until(window, 2.2).await;
        let r = held(&api, &t, body("web", 2), "threshold_pending", "threshold").await;
        assert!(
            r["suppressed"]["detail"]
                .as_str()
                .unwrap()
                .starts_with("1 of 3"),
            "{r}"
        );
        let r = held(&api, &t, body("db", 5), "threshold_pending", "threshold").await;
        assert!(
            r["suppressed"]["detail"]
                .as_str()
                .unwrap()
                .starts_with("1 of 3"),
            "{r}"
        );
    }
}
}

crate::on_every_store! {
    async fn budget_holds_the_keys_acted_on(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "budget": {"max_keys": 2, "per_secs": 3600}}),
    )
    .await;

    runs(&api, &t, json!({"service": "db"})).await;
    runs(&api, &t, json!({"service": "web"})).await;
    let r = held(
        &api,
        &t,
        json!({"service": "cache"}),
        "budget_exhausted",
        "budget",
    )
    .await;
    assert_eq!(r["suppressed"]["key"], "cache");
    let detail = r["suppressed"]["detail"].as_str().unwrap();
    assert!(detail.contains("db") && detail.contains("web"), "{detail}");
    // A key acted on already still runs, as often as it comes.
    runs(&api, &t, json!({"service": "db"})).await;
    runs(&api, &t, json!({"service": "web"})).await;
    held(
        &api,
        &t,
        json!({"service": "queue"}),
        "budget_exhausted",
        "budget",
    )
    .await;
    held(
        &api,
        &t,
        json!({"service": "cache"}),
        "budget_exhausted",
        "budget",
    )
    .await;

    let safety = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/safety",
            Some(&t.auditor),
            None,
        )
        .await;
    let budget = &safety["rules"][0]["budget"];
    assert_eq!(budget["keys_used"], 2, "{safety}");
    assert_eq!(budget["keys"], json!(["db", "web"]), "{safety}");
}
}
