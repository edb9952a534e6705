//! What a security engineer reads: the capability report, the diff between
//! versions and environments, reverse look-ups, and the hash-chained audit
//! log of every administrative action — tamper-evident, readable by admin
//! and auditor only.

mod common;

use common::server::Server;
use serde_json::{Value, json};

const WIDER: &str = r#"name = "conformance"
version = "0.2.0"
language = "rust"
description = "the same component, granted more"

[limits]
memory_mb = 64
fuel = 200_000_000
timeout_ms = 5_000

[capabilities]
http = [
  { url = "http://127.0.0.1:*/allowed/*", methods = ["GET", "POST"] },
  { url = "http://127.0.0.1:*/redirect/*", methods = ["GET"] },
  { url = "https://*.example.com/api/", methods = ["GET", "DELETE"] },
]
secrets = ["API_TOKEN", "UNSET_SECRET", "PROD_DB_PASSWORD"]
kv = true
connectors = ["api", "chat", "pager", "unconfigured"]
"#;

fn actions(log: &Value) -> Vec<String> {
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

crate::on_every_store! {
    async fn report_diff_reach_and_a_tamper_evident_audit_log(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let acme = api.tenant("acme").await;
    let other = api.tenant("other").await;
    api.deploy_guest("acme", &acme.author, "conformance", "dev")
        .await;
    let (_, wasm) = common::guest("conformance");
    let (status, body) = api.upload("acme", &acme.author, WIDER, wasm.to_vec()).await;
    assert_eq!(status, 201, "{body}");
    api.expect(
        201,
        "PUT",
        "/v1/tenants/acme/secrets/PROD_DB_PASSWORD",
        Some(&acme.admin),
        Some(json!({"value": "pw-never-logged-91"})),
    )
    .await;

    // The report: every version, its grants, imports, limits, environments.
    let report = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/report",
            Some(&acme.auditor),
            None,
        )
        .await;
    let versions = report["runbooks"][0]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let v1 = versions.iter().find(|v| v["version"] == "0.1.0").unwrap();
    assert_eq!(v1["environments"], json!(["dev"]));
    assert!(
        v1["http"]
            .as_array()
            .unwrap()
            .contains(&json!("POST http://127.0.0.1:*/allowed/*")),
        "{v1}"
    );
    assert!(
        v1["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("wolfe:runbook/http"))
    );
    assert_eq!(v1["effective_limits"]["fuel"], 200_000_000);

    // The diff says what the new version adds, and that it widens access.
    let diff = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/runbooks/conformance/diff?from=dev&to=0.2.0",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(diff["widens_access"], true, "{diff}");
    assert_eq!(
        diff["http"]["added"],
        json!([
            "DELETE https://*.example.com/api/",
            "GET https://*.example.com/api/"
        ])
    );
    assert_eq!(diff["secrets"]["added"], json!(["PROD_DB_PASSWORD"]));
    assert_eq!(diff["limits"], json!(["memory_mb: 32 -> 64"]));
    let back = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/runbooks/conformance/diff?from=0.2.0&to=0.1.0",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(back["widens_access"], false, "{back}");
    api.expect(
        404,
        "GET",
        "/v1/tenants/acme/runbooks/conformance/diff?from=prod&to=dev",
        Some(&acme.auditor),
        None,
    )
    .await;

    // Reverse look-ups.
    let reach = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/reach?host=billing.example.com",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(reach["matches"].as_array().unwrap().len(), 1, "{reach}");
    assert_eq!(reach["matches"][0]["version"], "0.2.0");
    let reach = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/reach?host=127.0.0.1",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(reach["matches"].as_array().unwrap().len(), 2);
    let reach = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/reach?secret=PROD_DB_PASSWORD",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(reach["matches"][0]["grants"], json!(["PROD_DB_PASSWORD"]));
    let reach = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/reach?host=evil.test",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(reach["matches"], json!([]));

    // The audit log: who did what, before and after, never a secret value.
    let log = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/audit?limit=1000",
            Some(&acme.auditor),
            None,
        )
        .await;
    let seen = actions(&log);
    for action in [
        "tenant.create",
        "token.create",
        "runbook.upload",
        "runbook.deploy",
        "secret.put",
    ] {
        assert!(
            seen.contains(&action.to_string()),
            "{action} missing from {seen:?}"
        );
    }
    let upload = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "runbook.upload")
        .unwrap();
    assert_eq!(upload["actor"]["role"], "author");
    assert_eq!(upload["target"], "conformance@0.1.0");
    assert!(!log.to_string().contains("pw-never-logged-91"));
    let only = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/audit?action=secret.put",
            Some(&acme.admin),
            None,
        )
        .await;
    assert_eq!(actions(&only), vec!["secret.put"]);
    for token in [&acme.author, &acme.operator, &acme.sender] {
        let (status, _) = api
            .call("GET", "/v1/tenants/acme/audit", Some(token), None)
            .await;
        assert_eq!(status, 403);
    }
    api.expect(
        404,
        "GET",
        "/v1/tenants/acme/audit",
        Some(&other.auditor),
        None,
    )
    .await;
    let verdict = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/audit/verify",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(
        (verdict["ok"].as_bool(), verdict["entries"].as_u64()),
        (Some(true), Some(seen.len() as u64))
    );

    // Someone with disk access edits entry 3 behind the server's back.
    server.stop();
    {
        let store = wolfe::store::Store::open(&store.location(), data.path())
            .await
            .unwrap();
        let mut entry = store.list_audit("acme", 2, 1).await.unwrap().remove(0);
        entry.actor.role = "auditor".into();
        store
            .tamper_audit_entry("acme", 3, Some(&entry))
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    let server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let verdict = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/audit/verify",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(
        (verdict["ok"].as_bool(), verdict["broken_at"].as_u64()),
        (Some(false), Some(3)),
        "{verdict}"
    );
    // Another tenant's chain is its own and still intact.
    let verdict = api
        .expect(
            200,
            "GET",
            "/v1/tenants/other/audit/verify",
            Some(&other.auditor),
            None,
        )
        .await;
    assert_eq!(verdict["ok"], true);
}
}

crate::on_every_store! {
    /// "What did it actually try that it may not?" — the executions with a
    /// denied call, and one execution's trail cut down to its denials.
    async fn executions_and_trails_filter_by_denied_calls(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let acme = api.tenant("acme").await;
    api.deploy_guest("acme", &acme.author, "conformance", "dev")
        .await;
    let clean = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "echo"}),
        )
        .await;
    let denied = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "secret", "name": "NOT_DECLARED"}),
        )
        .await;
    let kv = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "kv_roundtrip", "key": "k", "value": "v"}),
        )
        .await;
    let ids = |page: &Value| -> Vec<String> {
        page["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let only_denied = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?denied=true",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(ids(&only_denied), vec![denied["id"].as_str().unwrap()]);
    let never_denied = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?denied=false",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(
        ids(&never_denied),
        vec![kv["id"].as_str().unwrap(), clean["id"].as_str().unwrap()]
    );

    let trail = api
        .expect(
            200,
            "GET",
            &format!(
                "/v1/tenants/acme/executions/{}/trail?denied=true",
                denied["id"].as_str().unwrap()
            ),
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(trail["denied_calls"], 1, "{trail}");
    let calls = trail["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{trail}");
    assert_eq!(calls[0]["interface"], "secrets");
    assert_eq!(calls[0]["target"], "NOT_DECLARED");
    assert_eq!(calls[0]["allowed"], false);
    assert!(
        calls[0]["outcome"].as_str().unwrap().contains("denied"),
        "the trail says why: {trail}"
    );
    let kv_trail = api
        .expect(
            200,
            "GET",
            &format!(
                "/v1/tenants/acme/executions/{}/trail?interface=kv",
                kv["id"].as_str().unwrap()
            ),
            Some(&acme.auditor),
            None,
        )
        .await;
    let kv_calls = kv_trail["calls"].as_array().unwrap();
    assert!(
        kv_calls.len() >= 2 && kv_calls.iter().all(|c| c["interface"] == "kv"),
        "{kv_trail}"
    );
    assert_eq!(kv_trail["denied_calls"], 0);
    let (status, body) = api
        .call(
            "GET",
            &format!(
                "/v1/tenants/acme/executions/{}/trail?denied=maybe",
                kv["id"].as_str().unwrap()
            ),
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // Every read endpoint answers a bad query with the JSON error body.
    for path in [
        "reach?bogus=1",
        "audit?limit=x",
        "runbooks/conformance/diff?from=dev",
    ] {
        let (status, body) = api
            .call(
                "GET",
                &format!("/v1/tenants/acme/{path}"),
                Some(&acme.auditor),
                None,
            )
            .await;
        assert_eq!(
            (status.as_u16(), body["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{path}: {body}"
        );
    }
}
}
