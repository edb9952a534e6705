//! Every tenant endpoint × every role × own tenant and another tenant:
//! a role the design allows is never refused (401/403), a role it does not
//! is refused with 403 `forbidden`, and any token of another tenant gets the
//! same 404 as a tenant that does not exist — never a name of the tenant's
//! runbooks, rules, sources or secrets.

mod common;

use common::server::{ADMIN_TOKEN, Server, Tokens};
use serde_json::{Value, json};

const ROLES: [&str; 5] = ["admin", "author", "operator", "auditor", "sender"];
const READERS: &[&str] = &["admin", "author", "operator", "auditor"];
const WRITERS: &[&str] = &["admin", "author"];
const RUNNERS: &[&str] = &["admin", "operator"];
const AUDIT: &[&str] = &["admin", "auditor"];
const ADMIN: &[&str] = &["admin"];
const NOBODY: &[&str] = &[];

fn token<'a>(tokens: &'a Tokens, role: &str) -> &'a str {
    match role {
        "admin" => &tokens.admin,
        "author" => &tokens.author,
        "operator" => &tokens.operator,
        "auditor" => &tokens.auditor,
        _ => &tokens.sender,
    }
}

crate::on_every_store! {
    async fn every_endpoint_every_role_own_and_other_tenant(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let acme = api.tenant("acme").await;
    let other = api.tenant("other").await;
    api.deploy_guest("acme", &acme.author, "conformance", "dev")
        .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/r1",
        Some(&acme.author),
        Some(json!({"runbook": "conformance", "environment": "dev"})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/s1",
        Some(&acme.author),
        Some(json!({"auth": {"type": "bearer"}})),
    )
    .await;
    api.expect(
        201,
        "PUT",
        "/v1/tenants/acme/secrets/SECRET_ONE",
        Some(&acme.admin),
        Some(json!({"value": "matrix-secret-value"})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/connectors/chat",
        Some(&acme.admin),
        Some(json!({"kind": "slack", "webhook_url_secret": "SECRET_ONE"})),
    )
    .await;
    let run = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "echo"}),
        )
        .await;
    let execution = run["id"].as_str().unwrap().to_string();

    let rule = json!({"runbook": "conformance", "environment": "dev"});
    let source = json!({"auth": {"type": "bearer"}});
    let endpoints: Vec<(&str, String, Option<Value>, &[&str])> = vec![
        (
            "POST",
            "tokens".into(),
            Some(json!({"role": "sender"})),
            ADMIN,
        ),
        ("GET", "quota".into(), None, READERS),
        ("PUT", "quota".into(), Some(json!({})), NOBODY),
        ("GET", "runbooks".into(), None, READERS),
        ("GET", "runbooks/conformance".into(), None, READERS),
        (
            "PUT",
            "runbooks/conformance/environments/dev".into(),
            Some(json!({"version": "0.1.0"})),
            WRITERS,
        ),
        (
            "POST",
            "runbooks/conformance/promote".into(),
            Some(json!({"from": "dev", "to": "test"})),
            WRITERS,
        ),
        (
            "POST",
            "runbooks/conformance/run".into(),
            Some(json!({"environment": "dev", "input": {"case": "echo"}})),
            RUNNERS,
        ),
        (
            "GET",
            "runbooks/conformance/diff?from=dev&to=0.1.0".into(),
            None,
            READERS,
        ),
        (
            "POST",
            "runbooks/conformance/source".into(),
            Some(json!({"files": {"app.py": ""}})),
            WRITERS,
        ),
        (
            "GET",
            "runbooks/conformance/versions/0.1.0/source".into(),
            None,
            READERS,
        ),
        ("GET", "report".into(), None, READERS),
        ("GET", "reach?host=127.0.0.1".into(), None, READERS),
        ("GET", "sources".into(), None, READERS),
        ("GET", "sources/s1".into(), None, READERS),
        ("GET", "sources/s1/rejected".into(), None, READERS),
        ("PUT", "sources/s1".into(), Some(source), WRITERS),
        ("GET", "rules".into(), None, READERS),
        ("GET", "rules/r1".into(), None, READERS),
        ("PUT", "rules/r1".into(), Some(rule), WRITERS),
        ("GET", "secrets".into(), None, READERS),
        (
            "PUT",
            "secrets/SECRET_ONE".into(),
            Some(json!({"value": "matrix-secret-value"})),
            ADMIN,
        ),
        ("GET", "executions".into(), None, READERS),
        ("GET", format!("executions/{execution}"), None, READERS),
        (
            "GET",
            format!("executions/{execution}/trail?denied=true"),
            None,
            READERS,
        ),
        ("GET", "executions?denied=true".into(), None, READERS),
        ("GET", "stats?window=7d".into(), None, READERS),
        ("GET", "connectors".into(), None, READERS),
        ("GET", "connectors/chat".into(), None, READERS),
        (
            "PUT",
            "connectors/chat".into(),
            Some(json!({"kind": "slack", "webhook_url_secret": "SECRET_ONE"})),
            ADMIN,
        ),
        ("GET", "audit".into(), None, AUDIT),
        ("GET", "audit/verify".into(), None, AUDIT),
        ("DELETE", "rules/r1".into(), None, WRITERS),
        ("DELETE", "sources/s1".into(), None, WRITERS),
        ("DELETE", "connectors/chat".into(), None, ADMIN),
        ("DELETE", "secrets/SECRET_ONE".into(), None, ADMIN),
    ];
    // What a tenant that does not exist looks like, to the server admin.
    let (_, ghost) = api
        .call("GET", "/v1/tenants/ghost/runbooks", Some(ADMIN_TOKEN), None)
        .await;
    let not_found = ghost["error"]["message"]
        .as_str()
        .unwrap()
        .replace("ghost", "acme");

    let mut checks = 0;
    for (method, tail, body, allowed) in &endpoints {
        let path = format!("/v1/tenants/acme/{tail}");
        for role in ROLES {
            let (status, response) = api
                .call(method, &path, Some(token(&acme, role)), body.clone())
                .await;
            let at = format!("{role} {method} {path}: {status} {response}");
            if allowed.contains(&role) {
                assert!(
                    ![401, 403].contains(&status.as_u16()),
                    "allowed but refused: {at}"
                );
            } else {
                assert_eq!(status, 403, "{at}");
                assert_eq!(response["error"]["code"], "forbidden", "{at}");
            }
            let (status, response) = api
                .call(method, &path, Some(token(&other, role)), body.clone())
                .await;
            let at = format!("other tenant's {role} {method} {path}: {status} {response}");
            assert_eq!(status, 404, "{at}");
            assert_eq!(response["error"]["message"], not_found.as_str(), "{at}");
            for name in [
                "conformance",
                "r1",
                "s1",
                "SECRET_ONE",
                "chat",
                "matrix-secret-value",
                execution.as_str(),
            ] {
                assert!(!response.to_string().contains(name), "{at} leaks {name}");
            }
            checks += 2;
        }
        // No token at all: 401, whatever the endpoint.
        let (status, _) = api.call(method, &path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path} without a token");
    }
    // Upload is multipart: the same matrix by hand.
    let (_, wasm) = common::guest("conformance");
    let manifest =
        std::fs::read_to_string(common::server::guest_manifest_path("conformance")).unwrap();
    // Refusals come before the body is read: a refused upload sends a few
    // bytes, so the client is not still sending when the answer arrives.
    let stub = b"\0asm\x0d\0\x01\0".to_vec();
    for role in ROLES {
        if WRITERS.contains(&role) {
            let (status, body) = api
                .upload("acme", token(&acme, role), &manifest, wasm.to_vec())
                .await;
            assert!(status.is_success(), "{role} upload: {status} {body}");
        } else {
            let (status, body) = api
                .upload("acme", token(&acme, role), &manifest, stub.clone())
                .await;
            assert_eq!(status, 403, "{role} upload: {body}");
        }
        let (status, body) = api
            .upload("acme", token(&other, role), &manifest, stub.clone())
            .await;
        assert_eq!(
            (status.as_u16(), body["error"]["message"].as_str()),
            (404, Some(not_found.as_str())),
            "other {role} upload"
        );
        checks += 2;
    }
    // Creating tenants is the server admin's alone.
    for role in ROLES {
        let (status, _) = api
            .call(
                "POST",
                "/v1/tenants",
                Some(token(&acme, role)),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(status, 403, "{role} created a tenant");
    }
    assert!(checks > 250, "{checks} checks");
}
}
