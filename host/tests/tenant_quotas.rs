//! Tenant quotas through a real `wolfe serve`: set by the server admin only;
//! per-execution ceilings clamp the manifest (and say so); a tenant over its
//! rate gets 429 with Retry-After and nothing stored, while another tenant
//! carries on; executions beyond `max_concurrent` wait their turn.

mod common;

use common::server::{ADMIN_TOKEN, Server};
use serde_json::json;

crate::on_every_store! {
    async fn quotas_clamp_limit_and_serialise_one_tenant_only(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, data.path(), &[("WOLFE_WORKERS", "4")]);
    let api = server.api();
    let noisy = api.tenant("noisy").await;
    let quiet = api.tenant("quiet").await;
    for (tenant, tokens) in [("noisy", &noisy), ("quiet", &quiet)] {
        api.deploy_guest(tenant, &tokens.author, "conformance", "dev")
            .await;
    }

    // Only the server admin sets quotas; the tenant's own admin may not.
    let quota = json!({"max_fuel": 2_000_000, "max_memory_mb": 16, "max_concurrent": 1, "max_executions_per_minute": 6});
    let refused = api
        .expect(
            403,
            "PUT",
            "/v1/tenants/noisy/quota",
            Some(&noisy.admin),
            Some(quota.clone()),
        )
        .await;
    assert_eq!(refused["error"]["code"], "forbidden");
    api.expect(
        404,
        "PUT",
        "/v1/tenants/noisy/quota",
        Some(&quiet.admin),
        Some(quota.clone()),
    )
    .await;
    api.expect(
        400,
        "PUT",
        "/v1/tenants/noisy/quota",
        Some(ADMIN_TOKEN),
        Some(json!({"max_concurrent": 0})),
    )
    .await;
    api.expect(
        400,
        "PUT",
        "/v1/tenants/noisy/quota",
        Some(ADMIN_TOKEN),
        Some(json!({"max_cpu": 1})),
    )
    .await;
    let set = api
        .expect(
            200,
            "PUT",
            "/v1/tenants/noisy/quota",
            Some(ADMIN_TOKEN),
            Some(quota),
        )
        .await;
    assert_eq!(set["max_concurrent"], 1);
    assert_eq!(
        api.expect(
            200,
            "GET",
            "/v1/tenants/noisy/quota",
            Some(&noisy.auditor),
            None
        )
        .await,
        set
    );

    // The rate quota counts per calendar minute, and every run from here to
    // the 429 below is counted: start them with most of a minute left, so
    // they all fall in one (a boundary crossed on the way reset the count).
    let (_, seconds_left) = wolfe::store::model::current_minute();
    if seconds_left < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(seconds_left) * 1000 + 100)).await;
    }

    // Clamped: the manifest's 200M fuel and 32 MiB become the quota's.
    let record = api
        .run_and_wait(
            "noisy",
            &noisy.operator,
            "conformance",
            json!({"case": "infinite_loop"}),
        )
        .await;
    assert_eq!(record["status"], "out_of_fuel", "{record}");
    assert_eq!(record["limits"]["fuel"], 2_000_000);
    assert_eq!(record["limits"]["memory_mb"], 16);
    let clamped = record["limits"]["clamped"].to_string();
    assert!(
        clamped.contains("fuel: 200000000 -> 2000000 (tenant quota)"),
        "{clamped}"
    );

    // max_concurrent = 1: two sleeps of one tenant never overlap.
    let mut ids = Vec::new();
    for n in 0..2 {
        let started = api
            .expect(
                202,
                "POST",
                "/v1/tenants/noisy/runbooks/conformance/run",
                Some(&noisy.operator),
                Some(
                    json!({"environment": "dev", "input": {"case": "sleep_ms", "ms": 400, "n": n}}),
                ),
            )
            .await;
        ids.push(started["execution_id"].as_str().unwrap().to_string());
    }
    // Meanwhile the quiet tenant runs at once.
    let quick = api
        .run_and_wait(
            "quiet",
            &quiet.operator,
            "conformance",
            json!({"case": "echo"}),
        )
        .await;
    assert_eq!(quick["status"], "succeeded");
    let mut spans = Vec::new();
    for id in &ids {
        let r = api.wait_terminal("noisy", &noisy.operator, id).await;
        assert_eq!(r["status"], "succeeded", "{r}");
        spans.push((
            r["started_at"].as_str().unwrap().to_string(),
            r["finished_at"].as_str().unwrap().to_string(),
        ));
    }
    spans.sort();
    assert!(
        spans[0].1 <= spans[1].0,
        "the second started before the first finished: {spans:?}"
    );

    // Rate: 6 per minute; 1 + 2 used above, 3 more fit, then 429.
    for _ in 0..3 {
        api.expect(
            202,
            "POST",
            "/v1/tenants/noisy/runbooks/conformance/run",
            Some(&noisy.operator),
            Some(json!({"environment": "dev", "input": {"case": "echo"}})),
        )
        .await;
    }
    let before = api
        .expect(
            200,
            "GET",
            "/v1/tenants/noisy/executions?limit=100",
            Some(&noisy.auditor),
            None,
        )
        .await;
    let response = api
        .http
        .post(format!(
            "{}/v1/tenants/noisy/runbooks/conformance/run",
            api.base
        ))
        .bearer_auth(&noisy.operator)
        .json(&json!({"environment": "dev", "input": {"case": "echo"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u32 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("6 executions per minute")
    );
    let after = api
        .expect(
            200,
            "GET",
            "/v1/tenants/noisy/executions?limit=100",
            Some(&noisy.auditor),
            None,
        )
        .await;
    assert_eq!(
        before["executions"].as_array().unwrap().len(),
        after["executions"].as_array().unwrap().len(),
        "nothing stored"
    );
    // The other tenant is not affected.
    let quick = api
        .run_and_wait(
            "quiet",
            &quiet.operator,
            "conformance",
            json!({"case": "echo"}),
        )
        .await;
    assert_eq!(quick["status"], "succeeded");
    // And the quota change is in the audit log.
    let log = api
        .expect(
            200,
            "GET",
            "/v1/tenants/noisy/audit?action=quota.put",
            Some(&noisy.auditor),
            None,
        )
        .await;
    assert_eq!(log["entries"][0]["actor"]["role"], "server-admin");
}
}
