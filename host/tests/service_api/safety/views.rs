//! What operators see: `GET /safety` and the executions listed by reason.

use super::{fire, guarded, ids, put_rule, put_silence, runs, tenant};
use crate::common::server::Server;
use serde_json::json;

crate::on_every_store! {
    async fn the_safety_overview_shows_every_hold(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = tenant(&api).await;
    put_rule(
        &api,
        &t,
        "fix",
        json!({
            "criteria": [{"path": "data.kind", "op": "eq", "value": "fix"}],
            "policy": {
                "key": "{{ data.service }}",
                "rate": {"max": 10, "per_secs": 3600},
                "circuit": {"failures": 1, "within_secs": 600, "cooldown_secs": 600},
                "budget": {"max_keys": 10, "per_secs": 3600},
            },
        }),
    )
    .await;
    put_rule(
        &api,
        &t,
        "ask",
        json!({
            "criteria": [{"path": "data.kind", "op": "eq", "value": "ask"}],
            "policy": {"approval": {"timeout_secs": 600}},
        }),
    )
    .await;

    let failed = fire(
        &api,
        &t,
        json!({"kind": "fix", "service": "db", "case": "guest_error"}),
    )
    .await;
    assert_eq!(
        api.wait_terminal("acme", &t.auditor, &failed).await["status"],
        "failed"
    );
    runs(&api, &t, json!({"kind": "fix", "service": "web"})).await;
    runs(&api, &t, json!({"kind": "fix", "service": "web"})).await;
    let asked = fire(&api, &t, json!({"kind": "ask"})).await;
    put_silence(&api, &t, "cache", "cache", -60, 3600).await;
    put_silence(&api, &t, "over", "cache", -120, -60).await;
    api.expect(
        200,
        "POST",
        "/v1/tenants/acme/runbooks/conformance/pause",
        Some(&t.operator),
        None,
    )
    .await;

    api.expect(403, "GET", "/v1/tenants/acme/safety", Some(&t.sender), None)
        .await;
    let v = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/safety",
            Some(&t.auditor),
            None,
        )
        .await;
    assert!(v["paused"].is_null(), "{v}");
    assert!(v["paused_runbooks"]["conformance"]["by"].is_string(), "{v}");
    // Only silences that have not ended.
    let silences: Vec<&str> = v["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(silences, ["cache"], "{v}");
    let circuits = v["open_circuits"].as_array().unwrap();
    assert_eq!(circuits.len(), 1, "{v}");
    assert_eq!(circuits[0]["rule"], "fix");
    assert_eq!(circuits[0]["circuit"]["key"], "db");
    assert_eq!(circuits[0]["circuit"]["failures"], 1);
    assert_eq!(ids(&v["awaiting_approval"]), [asked.as_str()], "{v}");
    assert_eq!(v["awaiting_approval"][0]["rule"], "ask");

    let rules = v["rules"].as_array().unwrap();
    let rule = |name: &str| {
        rules
            .iter()
            .find(|r| r["rule"] == name)
            .unwrap_or_else(|| panic!("no rule {name}: {v}"))
    };
    let fix = rule("fix");
    assert_eq!(fix["budget"]["keys_used"], 2, "{fix}");
    let keys = fix["keys"].as_array().unwrap();
    let key = |k: &str| {
        keys.iter()
            .find(|s| s["key"] == k)
            .unwrap_or_else(|| panic!("no key {k}: {fix}"))
    };
    assert_eq!(key("db")["runs_in_window"], 1, "{fix}");
    assert_eq!(key("db")["failures_in_window"], 1, "{fix}");
    assert_eq!(key("db")["circuit"]["key"], "db", "{fix}");
    assert_eq!(key("web")["runs_in_window"], 2, "{fix}");
    assert_eq!(key("web")["failures_in_window"], 0, "{fix}");
    assert!(key("web")["circuit"].is_null(), "{fix}");
    assert_eq!(key("web")["active"], json!([]), "{fix}");
    assert_eq!(keys.len(), 2, "{fix}");
    let ask = rule("ask");
    assert_eq!(ask["keys"][0]["active"], json!([asked]), "{ask}");

    api.expect(
        200,
        "POST",
        "/v1/tenants/acme/pause",
        Some(&t.operator),
        None,
    )
    .await;
    let v = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/safety",
            Some(&t.auditor),
            None,
        )
        .await;
    assert!(v["paused"]["at"].is_string(), "{v}");
}
}

crate::on_every_store! {
    async fn suppressed_executions_filter_by_reason(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = guarded(
        &api,
        json!({
            "key": "{{ data.service }}",
            "once_within_secs": 600,
            "budget": {"max_keys": 1, "per_secs": 3600},
        }),
    )
    .await;

    let ran = runs(&api, &t, json!({"service": "db"})).await;
    let dedup = fire(&api, &t, json!({"service": "db"})).await;
    let over_a = fire(&api, &t, json!({"service": "web"})).await;
    let over_b = fire(&api, &t, json!({"service": "cache"})).await;
    let list = |filter: &str| {
        let (api, token) = (api.clone(), t.auditor.clone());
        let path = format!("/v1/tenants/acme/executions?{filter}");
        async move { api.expect(200, "GET", &path, Some(&token), None).await }
    };

    let v = list("status=suppressed&reason=deduplicated").await;
    assert_eq!(ids(&v["executions"]), [dedup.as_str()], "{v}");
    // Newest first.
    let v = list("status=suppressed&reason=budget_exhausted").await;
    assert_eq!(
        ids(&v["executions"]),
        [over_b.as_str(), over_a.as_str()],
        "{v}"
    );
    let v = list("reason=budget_exhausted").await;
    assert_eq!(ids(&v["executions"]).len(), 2, "{v}");
    let v = list("status=suppressed&reason=rate_limited").await;
    assert_eq!(ids(&v["executions"]).len(), 0, "{v}");
    let v = list("status=suppressed").await;
    assert_eq!(ids(&v["executions"]).len(), 3, "{v}");
    let v = list("status=succeeded").await;
    assert_eq!(ids(&v["executions"]), [ran["id"].as_str().unwrap()], "{v}");
    // A reason must be one of the reasons.
    let (status, v) = api
        .call(
            "GET",
            "/v1/tenants/acme/executions?reason=bored",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(status, 400, "{v}");

    // Prometheus counts them by reason.
    let metrics = api
        .http
        .get(format!("{}/metrics", api.base))
        .bearer_auth(crate::common::server::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"wolfe_suppressed_executions_total{tenant="acme",reason="deduplicated"} 1"#,
        r#"wolfe_suppressed_executions_total{tenant="acme",reason="budget_exhausted"} 2"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in\n{metrics}"
        );
    }
}
}
