//! Policy keys: what an event's key may be, what happens when it cannot
//! be one, and that a redelivered event is counted once.

use super::{HOOK, fire, guarded, held, ids, put_rule, record, runs, suppressed, tenant};
use crate::common::server::Server;
use serde_json::{Value, json};

crate::on_every_store! {
    async fn a_key_that_cannot_be_rendered_fails_the_execution(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.missing.x }}", "once_within_secs": 60}),
    )
    .await;

    for n in 0..2 {
        let id = fire(&api, &t, json!({"service": "db", "n": n})).await;
        let r = api.wait_terminal("acme", &t.auditor, &id).await;
        assert_eq!(r["status"], "failed", "{r}");
        assert_eq!(r["error"]["kind"], "invalid_input", "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains("policy.key"), "{message}");
        assert!(r["suppressed"].is_null(), "{r}");
    }
    let failed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?status=failed",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(ids(&failed["executions"]).len(), 2, "{failed}");
}
}

crate::on_every_store! {
    async fn a_redelivered_event_is_counted_once(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = tenant(&api).await;
    // Alertmanager's shape: many alerts per post, each with its identity.
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/am",
        Some(&t.author),
        Some(json!({
            "auth": {"type": "bearer"}, "split": "alerts", "id": "fingerprint",
        })),
    )
    .await;
    put_rule(
        &api,
        &t,
        "guard",
        json!({"policy": {
            "key": "{{ data.service }}", "rate": {"max": 2, "per_secs": 600},
        }}),
    )
    .await;
    let post = |alerts: Value| {
        let (api, token) = (api.clone(), t.sender.clone());
        async move {
            api.expect(
                202,
                "POST",
                HOOK,
                Some(&token),
                Some(json!({"alerts": alerts})),
            )
            .await
        }
    };
    let fired = |accepted: &Value| -> Vec<String> {
        accepted["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    };

    let first = post(json!([{"fingerprint": "fp1", "service": "db"}])).await;
    let first = fired(&first);
    assert_eq!(first.len(), 1);
    assert_eq!(
        api.wait_terminal("acme", &t.auditor, &first[0]).await["status"],
        "succeeded"
    );
    // A redelivery fires nothing and counts nothing.
    for _ in 0..3 {
        let again = post(json!([{"fingerprint": "fp1", "service": "db"}])).await;
        assert_eq!(again["duplicates"], 1, "{again}");
        assert_eq!(again["executions"], json!([]), "{again}");
    }
    // So db has one run left in its window: the second alert of this post
    // takes it, the third is limited, and the redelivered first is skipped.
    let mixed = post(json!([
        {"fingerprint": "fp1", "service": "db"},
        {"fingerprint": "fp2", "service": "db"},
        {"fingerprint": "fp3", "service": "db"},
    ]))
    .await;
    assert_eq!(mixed["duplicates"], 1, "{mixed}");
    let made = fired(&mixed);
    assert_eq!(made.len(), 2, "{mixed}");
    let second = record(&api, &t, &made[0]).await;
    let third = record(&api, &t, &made[1]).await;
    assert_eq!(second["event"], mixed["event_ids"][1], "{second}");
    assert_eq!(
        api.wait_terminal("acme", &t.auditor, &made[0]).await["status"],
        "succeeded"
    );
    assert_eq!(third["event"], mixed["event_ids"][2], "{third}");
    suppressed(&third, "rate_limited", "rate");
}
}

crate::on_every_store! {
    async fn a_key_is_any_string_the_event_holds(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({"key": "{{ data.service }}", "once_within_secs": 600}),
    )
    .await;

    for service in ["db/primary", "ünïcødé 🚀 svc", "a'b\"c;--", "a%2Fb?c=d&e"] {
        let first = runs(&api, &t, json!({"service": service})).await;
        assert_eq!(first["key"], service, "{first}");
        let r = held(
            &api,
            &t,
            json!({"service": service}),
            "deduplicated",
            "once_within_secs",
        )
        .await;
        assert_eq!(r["suppressed"]["folded_into"], first["id"], "{r}");
        assert_eq!(r["suppressed"]["key"], service, "{r}");
    }
    // A number renders to its JSON text: 1 and "1" are one key.
    let first = runs(&api, &t, json!({"service": 1})).await;
    assert_eq!(first["key"], "1");
    let r = held(
        &api,
        &t,
        json!({"service": "1"}),
        "deduplicated",
        "once_within_secs",
    )
    .await;
    assert_eq!(r["suppressed"]["folded_into"], first["id"], "{r}");
    // Keys no store can keep are the event's fault: its execution fails,
    // naming the key, on every store alike.
    for service in ["x".repeat(513), "a\u{0}b".to_string()] {
        let id = fire(&api, &t, json!({"service": service})).await;
        let r = record(&api, &t, &id).await;
        assert_eq!(r["status"], "failed", "{r}");
        assert_eq!(r["error"]["kind"], "invalid_input", "{r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("policy.key"),
            "{r}"
        );
    }

    // The view of the keys lists them as they are.
    let safety = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/safety",
            Some(&t.auditor),
            None,
        )
        .await;
    let mut keys: Vec<&str> = safety["rules"][0]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "1",
            "a%2Fb?c=d&e",
            "a'b\"c;--",
            "db/primary",
            "ünïcødé 🚀 svc"
        ],
        "{safety}"
    );
}
}
