//! The public HTTP contract through a real `wolfe serve` process: every
//! endpoint's success and error cases, JSON error bodies with stable codes.

#[path = "service_api/build.rs"]
mod build;
mod common;
#[path = "service_api/http_errors.rs"]
mod http_errors;
#[path = "service_api/metrics.rs"]
mod metrics;
#[path = "service_api/replay.rs"]
mod replay;
#[path = "service_api/safety.rs"]
mod safety;
#[path = "service_api/schemathesis.rs"]
mod schemathesis;
#[path = "service_api/session.rs"]
mod session;
#[path = "service_api/stats.rs"]
mod stats;
#[path = "service_api/storm.rs"]
mod storm;
#[path = "service_api/stream.rs"]
mod stream;
#[path = "service_api/studio.rs"]
mod studio;

use common::server::{ADMIN_TOKEN, Server};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}

crate::on_every_store! {
    async fn tenants_and_tokens(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let tokens = api.tenant("acme").await;

    let v = api
        .expect(
            409,
            "POST",
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "acme"})),
        )
        .await;
    assert_eq!(error_code(&v), "conflict");
    let v = api
        .expect(
            400,
            "POST",
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "Bad Name"})),
        )
        .await;
    assert_eq!(error_code(&v), "invalid_request");
    let v = api
        .expect(
            403,
            "POST",
            "/v1/tenants",
            Some(&tokens.admin),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(error_code(&v), "forbidden");
    let v = api
        .expect(401, "POST", "/v1/tenants", None, Some(json!({"name": "x"})))
        .await;
    assert_eq!(error_code(&v), "unauthorized");
    let v = api
        .expect(
            401,
            "POST",
            "/v1/tenants",
            Some("wolfe_forged"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(error_code(&v), "unauthorized");
    let v = api
        .expect(
            400,
            "POST",
            "/v1/tenants/acme/tokens",
            Some(&tokens.admin),
            Some(json!({"role": "root"})),
        )
        .await;
    assert_eq!(error_code(&v), "invalid_request");
    let v = api
        .expect(
            403,
            "POST",
            "/v1/tenants/acme/tokens",
            Some(&tokens.author),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(error_code(&v), "forbidden");

    // Another tenant's token learns nothing, not even that acme exists.
    let other = api.tenant("globex").await;
    let v = api
        .expect(
            404,
            "POST",
            "/v1/tenants/acme/tokens",
            Some(&other.admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(error_code(&v), "not_found");
    let v = api
        .expect(
            404,
            "GET",
            "/v1/tenants/acme/executions",
            Some(&other.admin),
            None,
        )
        .await;
    let w = api
        .expect(
            404,
            "GET",
            "/v1/tenants/nosuch/executions",
            Some(&other.admin),
            None,
        )
        .await;
    assert_eq!(
        v["error"]["message"].as_str().unwrap().replace("acme", "X"),
        w["error"]["message"]
            .as_str()
            .unwrap()
            .replace("nosuch", "X")
    );

    // Tokens are stored hashed: the store's files never contain one.
    drop(server);
    let mut found = false;
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        found |= bytes
            .windows(tokens.admin.len())
            .any(|w| w == tokens.admin.as_bytes());
    }
    assert!(!found, "a token was stored in clear");
}
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

crate::on_every_store! {
    async fn runbook_upload_deploy_promote_and_run(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let (manifest, wasm) = common::guest("hello");
    let text = std::fs::read_to_string(common::server::guest_manifest_path("hello")).unwrap();

    let (status, body) = api.upload("acme", &t.author, &text, wasm.to_vec()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "hello");
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
    let (status, _) = api.upload("acme", &t.author, &text, wasm.to_vec()).await;
    assert_eq!(status, 200, "same version, same bytes: idempotent");
    let (_, other) = common::guest("flap-guard");
    let (status, body) = api.upload("acme", &t.author, &text, other.to_vec()).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("immutable")
    );
    let (status, body) = api
        .upload(
            "acme",
            &t.author,
            "name = \"x\"\nversion = \"1\"\nlanguage = \"rust\"\n[limits]\nfuel = 1\n",
            wasm.to_vec(),
        )
        .await;
    assert_eq!(
        (status.as_u16(), error_code(&body)),
        (400, "invalid_manifest")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limits.fuel")
    );
    let (status, body) = api
        .upload("acme", &t.author, &text, b"\0asm\x01\0\0\0".to_vec())
        .await;
    assert_eq!(
        (status.as_u16(), error_code(&body)),
        (400, "invalid_component")
    );
    // The import check: named in the refusal, nothing stored.
    let rogue =
        wat::parse_str(r#"(component (import "acme:backdoor/shell@1.0.0" (instance)))"#).unwrap();
    let rogue_manifest = "name = \"rogue\"\nversion = \"1.0.0\"\nlanguage = \"rust\"\n";
    let (status, body) = api.upload("acme", &t.author, rogue_manifest, rogue).await;
    assert_eq!(
        (status.as_u16(), error_code(&body)),
        (400, "invalid_component")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("acme:backdoor/shell@1.0.0"),
        "{body}"
    );
    api.expect(
        404,
        "GET",
        "/v1/tenants/acme/runbooks/rogue",
        Some(&t.author),
        None,
    )
    .await;
    // Refused before the body is read: send a stub, not megabytes.
    let (status, _) = api
        .upload("acme", &t.operator, &text, b"\0asm".to_vec())
        .await;
    assert_eq!(status, 403);

    let base = "/v1/tenants/acme/runbooks/hello";
    let v = api
        .expect(
            404,
            "PUT",
            &format!("{base}/environments/dev"),
            Some(&t.author),
            Some(json!({"version": "9.9.9"})),
        )
        .await;
    assert_eq!(error_code(&v), "not_found");
    let v = api
        .expect(
            400,
            "PUT",
            &format!("{base}/environments/staging"),
            Some(&t.author),
            Some(json!({"version": "0.1.0"})),
        )
        .await;
    assert!(v["error"]["message"].as_str().unwrap().contains("staging"));
    let v = api
        .expect(
            404,
            "POST",
            &format!("{base}/promote"),
            Some(&t.author),
            Some(json!({"from": "dev", "to": "test"})),
        )
        .await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing deployed to dev")
    );
    api.expect(
        200,
        "PUT",
        &format!("{base}/environments/dev"),
        Some(&t.author),
        Some(json!({"version": manifest.version})),
    )
    .await;
    let v = api
        .expect(
            400,
            "POST",
            &format!("{base}/promote"),
            Some(&t.author),
            Some(json!({"from": "dev", "to": "prod"})),
        )
        .await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one step at a time")
    );
    api.expect(
        200,
        "POST",
        &format!("{base}/promote"),
        Some(&t.author),
        Some(json!({"from": "dev", "to": "test"})),
    )
    .await;
    let shown = api.expect(200, "GET", base, Some(&t.auditor), None).await;
    assert_eq!(
        shown["deployments"],
        json!({"dev": "0.1.0", "test": "0.1.0"})
    );

    let v = api
        .expect(
            404,
            "POST",
            &format!("{base}/run"),
            Some(&t.operator),
            Some(json!({"environment": "prod", "input": {}})),
        )
        .await;
    assert_eq!(error_code(&v), "not_found");
    api.expect(
        403,
        "POST",
        &format!("{base}/run"),
        Some(&t.auditor),
        Some(json!({"environment": "test", "input": {}})),
    )
    .await;
    let v = api
        .expect(
            202,
            "POST",
            &format!("{base}/run"),
            Some(&t.operator),
            Some(json!({"environment": "test", "input": {"k": 1}})),
        )
        .await;
    let id = v["execution_id"].as_str().unwrap();
    let record = api.wait_terminal("acme", &t.auditor, id).await;
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(record["output"]["echo"], json!({"k": 1}));
    assert_eq!(
        (
            record["runbook"].as_str(),
            record["version"].as_str(),
            record["environment"].as_str()
        ),
        (Some("hello"), Some("0.1.0"), Some("test"))
    );
    assert_eq!(record["attempt"], 1);
    assert!(record["rule"].is_null() && record["event"].is_null());
    assert!(record["started_at"].is_string() && record["finished_at"].is_string());
}
}

/// `hello` deployed to dev behind the webhook source `am` and one rule: what
/// a test of the HTTP layer needs to fire a real execution.
async fn hello_behind_webhook(
    api: &common::server::Api,
    t: &common::server::Tokens,
    source: Value,
    rule: (&str, Value),
) {
    api.deploy_guest("acme", &t.author, "hello", "dev").await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/am",
        Some(&t.author),
        Some(source),
    )
    .await;
    let (name, spec) = rule;
    api.expect(
        200,
        "PUT",
        &format!("/v1/tenants/acme/rules/{name}"),
        Some(&t.author),
        Some(spec),
    )
    .await;
}

async fn setup_pipeline(api: &common::server::Api) -> common::server::Tokens {
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "hello", "dev").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    api.expect(200, "PUT", "/v1/tenants/acme/sources/am", Some(&t.author),
        Some(json!({"auth": {"type": "bearer"}, "split": "alerts", "id": "fingerprint", "type_path": "labels.alertname"}))).await;
    // One-to-many: two rules fire for every page; many-to-one: both rules
    // and a third target hello.
    api.expect(200, "PUT", "/v1/tenants/acme/rules/page-hello", Some(&t.author), Some(json!({
        "source": "am", "criteria": [{"path": "data.labels.severity", "op": "eq", "value": "page"}],
        "runbook": "hello", "environment": "dev",
        "params": {"service": "{{ data.labels.service }}", "alert": "{{ type }}"},
    }))).await;
    api.expect(200, "PUT", "/v1/tenants/acme/rules/page-echo", Some(&t.author), Some(json!({
        "source": "am", "criteria": [{"path": "data.labels.severity", "op": "in", "value": ["page", "critical"]}],
        "runbook": "conformance", "environment": "dev",
        "params": {"case": "echo", "fp": "{{ data.fingerprint }}"},
    }))).await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/disk-hello",
        Some(&t.author),
        Some(json!({
            "source": "am", "type": "DiskFull", "runbook": "hello", "environment": "dev",
        })),
    )
    .await;
    t
}

crate::on_every_store! {
    async fn webhooks_fire_rules_durably_and_idempotently(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = setup_pipeline(&api).await;

    let body = json!({"alerts": [
        {"fingerprint": "fp1", "labels": {"alertname": "DiskFull", "severity": "page", "service": "db"}},
        {"fingerprint": "fp2", "labels": {"alertname": "Latency", "severity": "info", "service": "web"}},
    ]});
    let v = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(body.clone()),
        )
        .await;
    let first = v["event_id"].as_str().unwrap().to_string();
    assert_eq!(v["event_ids"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["executions"].as_array().unwrap().len(),
        3,
        "fp1 fires three rules, fp2 none: {v}"
    );

    // The same alerts again: same event ids, no new executions.
    let again = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(body),
        )
        .await;
    assert_eq!(again["event_id"], first.as_str());
    assert_eq!(again["duplicates"], 2);
    assert_eq!(again["executions"], json!([]));

    let mut by_rule = std::collections::BTreeMap::new();
    for id in v["executions"].as_array().unwrap() {
        let record = api
            .wait_terminal("acme", &t.operator, id.as_str().unwrap())
            .await;
        assert_eq!(record["status"], "succeeded", "{record}");
        assert_eq!(record["event"], first.as_str());
        by_rule.insert(record["rule"].as_str().unwrap().to_string(), record);
    }
    assert_eq!(
        by_rule.keys().collect::<Vec<_>>(),
        vec!["disk-hello", "page-echo", "page-hello"]
    );
    assert_eq!(
        by_rule["page-hello"]["input"],
        json!({"service": "db", "alert": "DiskFull"})
    );
    assert_eq!(
        by_rule["page-echo"]["output"],
        json!({"case": "echo", "fp": "fp1"})
    );
    assert_eq!(
        by_rule["disk-hello"]["input"]["fingerprint"], "fp1",
        "no params: the event data is the input"
    );

    // Filters and paging.
    let page = api
        .expect(
            200,
            "GET",
            &format!("/v1/tenants/acme/executions?event_id={first}"),
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(page["executions"].as_array().unwrap().len(), 3);
    let page = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?runbook=hello&status=succeeded&limit=1",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(page["executions"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = api
        .expect(
            200,
            "GET",
            &format!("/v1/tenants/acme/executions?runbook=hello&limit=1&cursor={cursor}"),
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(next["executions"].as_array().unwrap().len(), 1);
    assert_ne!(next["executions"][0]["id"], page["executions"][0]["id"]);
    assert!(next["next_cursor"].is_null());
    let none = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?status=failed",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(none["executions"], json!([]));
    api.expect(
        400,
        "GET",
        "/v1/tenants/acme/executions?status=bogus",
        Some(&t.auditor),
        None,
    )
    .await;
    api.expect(
        403,
        "GET",
        "/v1/tenants/acme/executions",
        Some(&t.sender),
        None,
    )
    .await;
    api.expect(
        404,
        "GET",
        "/v1/tenants/acme/executions/00000000-0000-7000-8000-000000000000",
        Some(&t.auditor),
        None,
    )
    .await;
}
}

crate::on_every_store! {
    async fn webhook_errors(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[("WOLFE_MAX_BODY_BYTES", "4096")]);
    let api = server.api();
    let t = setup_pipeline(&api).await;
    let secret = "0123456789abcdef-hmac";
    api.expect(200, "PUT", "/v1/tenants/acme/sources/gh", Some(&t.author),
        Some(json!({"auth": {"type": "hmac-sha256", "secret": secret}, "type_header": "X-GitHub-Event"}))).await;
    let shown = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/sources/gh",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(shown["auth"]["secret"], "[REDACTED]");
    let v = api
        .expect(
            400,
            "PUT",
            "/v1/tenants/acme/sources/bad",
            Some(&t.author),
            Some(json!({"split": "alerts"})),
        )
        .await;
    assert!(v["error"]["message"].as_str().unwrap().starts_with("auth:"));
    let v = api.expect(400, "PUT", "/v1/tenants/acme/rules/bad", Some(&t.author),
        Some(json!({"runbook": "hello", "environment": "dev", "criteria": [{"path": "data.x", "op": "matches", "value": "("}]}))).await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("criteria[0]")
    );

    let post = |path: &'static str,
                token: Option<String>,
                body: Vec<u8>,
                headers: Vec<(&'static str, String)>| {
        let api = api.clone();
        async move {
            let mut r = api
                .http
                .post(format!("{}{path}", api.base))
                .body(body)
                .header("content-type", "application/json");
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            for (k, v) in headers {
                r = r.header(k, v);
            }
            let resp = r.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let ok = br#"{"alerts": []}"#.to_vec();
    let (s, v) = post(
        "/v1/hooks/acme/am",
        Some(t.author.clone()),
        ok.clone(),
        vec![],
    )
    .await;
    assert_eq!(
        (s, error_code(&v)),
        (401, "unauthorized"),
        "an author token is not a sender token"
    );
    let (s, _) = post("/v1/hooks/acme/am", None, ok.clone(), vec![]).await;
    assert_eq!(s, 401);
    let (s, v) = post(
        "/v1/hooks/acme/nosource",
        Some(t.sender.clone()),
        ok.clone(),
        vec![],
    )
    .await;
    assert_eq!((s, error_code(&v)), (404, "not_found"));
    // Another tenant's existence is not this sender's to learn, and the
    // unauthenticated internet cannot tell a missing source from a guarded one.
    let (s, unknown_tenant) = post(
        "/v1/hooks/nosuch/am",
        Some(t.sender.clone()),
        ok.clone(),
        vec![],
    )
    .await;
    assert_eq!(s, 401);
    let (s, unknown_source) = post("/v1/hooks/acme/nosource", None, ok.clone(), vec![]).await;
    assert_eq!(s, 401);
    let (_, guarded) = post("/v1/hooks/acme/am", None, ok.clone(), vec![]).await;
    assert_eq!(unknown_tenant, guarded);
    assert_eq!(unknown_source, guarded);
    let (s, v) = post(
        "/v1/hooks/acme/am",
        Some(t.sender.clone()),
        b"{not json".to_vec(),
        vec![],
    )
    .await;
    assert_eq!((s, error_code(&v)), (400, "invalid_json"));
    let big = format!("{{\"alerts\": [], \"pad\": \"{}\"}}", "x".repeat(5000)).into_bytes();
    let (s, v) = post("/v1/hooks/acme/am", Some(t.sender.clone()), big, vec![]).await;
    assert_eq!((s, error_code(&v)), (413, "payload_too_large"));

    let sign = |body: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let body = br#"{"ref": "main"}"#.to_vec();
    let (s, v) = post(
        "/v1/hooks/acme/gh",
        None,
        body.clone(),
        vec![
            ("X-Hub-Signature-256", sign(&body)),
            ("X-GitHub-Event", "push".into()),
        ],
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let (s, _) = post(
        "/v1/hooks/acme/gh",
        None,
        body.clone(),
        vec![("X-Hub-Signature-256", sign(b"{}"))],
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = post("/v1/hooks/acme/gh", None, body.clone(), vec![]).await;
    assert_eq!(s, 401);
}
}

crate::on_every_store! {
    async fn a_full_queue_answers_503_with_retry_after(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store,
        dir.path(),
        &[("WOLFE_QUEUE_CAPACITY", "2"), ("WOLFE_WORKERS", "1")],
    );
    let api = server.api();
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/s",
        Some(&t.author),
        Some(json!({"auth": {"type": "bearer"}})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/slow",
        Some(&t.author),
        Some(json!({"runbook": "conformance", "environment": "dev", "params": {"case": "sleep"}})),
    )
    .await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..4 {
        let resp = api
            .http
            .post(format!("{}/v1/hooks/acme/s", api.base))
            .bearer_auth(&t.sender)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status() == 503 {
            retry_after = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            assert_eq!(
                resp.json::<Value>().await.unwrap()["error"]["code"],
                "queue_full"
            );
        }
    }
    assert_eq!(statuses, vec![202, 202, 503, 503]);
    assert_eq!(retry_after.as_deref(), Some("1"));
    let ready = api.call("GET", "/readyz", None, None).await;
    assert_eq!(ready.0, 503);
    assert_eq!(api.call("GET", "/healthz", None, None).await.0, 200);
}
}

/// A source switched off keeps its settings and refuses posts (409 to a
/// sender, still the 401 of a wrong token to anyone else); nothing is
/// stored until it is switched on again.
#[tokio::test]
async fn a_disabled_source_refuses_posts_until_it_is_enabled_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let rule = json!({"source": "am", "runbook": "hello", "environment": "dev"});
    hello_behind_webhook(&api, &t, json!({"auth": {"type": "bearer"}}), ("all", rule)).await;
    let source = "/v1/tenants/acme/sources/am";
    let off = json!({"auth": {"type": "bearer"}, "enabled": false});
    api.expect(200, "PUT", source, Some(&t.author), Some(off))
        .await;
    let shown = api.expect(200, "GET", source, Some(&t.auditor), None).await;
    assert_eq!(shown["enabled"], false, "{shown}");

    let event = json!({"service": "checkout"});
    let refused = api
        .expect(
            409,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(event.clone()),
        )
        .await;
    assert_eq!(error_code(&refused), "conflict");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{refused}"
    );
    // Whoever holds no token of the tenant learns nothing new.
    api.expect(
        401,
        "POST",
        "/v1/hooks/acme/am",
        Some("wolfe_forged"),
        Some(event.clone()),
    )
    .await;
    let listed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(
        listed["executions"],
        json!([]),
        "a refused post stored something"
    );

    let on = json!({"auth": {"type": "bearer"}, "enabled": true});
    api.expect(200, "PUT", source, Some(&t.author), Some(on))
        .await;
    let shown = api.expect(200, "GET", source, Some(&t.auditor), None).await;
    assert!(shown.get("enabled").is_none_or(|e| e == true), "{shown}");
    let accepted = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(event),
        )
        .await;
    assert_eq!(
        accepted["executions"].as_array().map(Vec::len),
        Some(1),
        "{accepted}"
    );
}

/// A source read back (its HMAC secret shown as `[REDACTED]`) and put
/// again — as Studio's on/off switch does — keeps its secret: signed posts
/// still verify. A placeholder with no secret stored is refused.
#[tokio::test]
async fn a_source_put_back_as_read_keeps_its_hmac_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let secret = "0123456789abcdef-kept";
    let path = "/v1/tenants/acme/sources/gh";
    api.expect(
        200,
        "PUT",
        path,
        Some(&t.author),
        Some(json!({"auth": {"type": "hmac-sha256", "secret": secret}})),
    )
    .await;
    for enabled in [false, true] {
        let mut shown = api.expect(200, "GET", path, Some(&t.author), None).await;
        assert_eq!(shown["auth"]["secret"], "[REDACTED]");
        let spec = shown.as_object_mut().unwrap();
        for added in ["name", "updated_at", "metrics", "next_ticks"] {
            spec.remove(added);
        }
        spec.insert("enabled".into(), json!(enabled));
        api.expect(200, "PUT", path, Some(&t.author), Some(shown))
            .await;
    }
    let body = br#"{"ref": "main"}"#.to_vec();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let response = api
        .http
        .post(format!("{}/v1/hooks/acme/gh", api.base))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "the stored secret was replaced");

    let refused = api
        .expect(
            400,
            "PUT",
            "/v1/tenants/acme/sources/new-gh",
            Some(&t.author),
            Some(json!({"auth": {"type": "hmac-sha256", "secret": "[REDACTED]"}})),
        )
        .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("auth.secret"),
        "{refused}"
    );
}
