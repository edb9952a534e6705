//! Tenant secrets through a real `wolfe serve`: write-only over the API,
//! readable only by the tenant's runbooks that declare them, sealed at rest,
//! never in a response, a record or a file of the data directory — and still
//! readable after the master key is rotated.

mod common;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use common::server::Server;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const VALUE: &str = "s3cr3t-tenant-value-7f2a";

/// Every file under `dir`, as bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

crate::on_every_store! {
    async fn secrets_are_write_only_tenant_scoped_sealed_and_survive_rotation(store: TestStore) {
    // A service that records the Authorization header it receives: the
    // secret must reach the outside world, and only there.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorder = seen.clone();
    let app = Router::new().route(
        "/allowed/whoami",
        get(move |headers: HeaderMap| {
            let recorder = recorder.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                recorder.lock().unwrap().push(auth);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = format!("http://{}/allowed/whoami", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let acme = api.tenant("acme").await;
    let other = api.tenant("other").await;
    let mut responses: Vec<Value> = Vec::new();

    // Write-only: admin writes (201, then 200), nobody reads the value back.
    let path = "/v1/tenants/acme/secrets/API_TOKEN";
    let created = api
        .expect(
            201,
            "PUT",
            path,
            Some(&acme.admin),
            Some(json!({"value": VALUE})),
        )
        .await;
    assert_eq!(created["name"], "API_TOKEN");
    responses.push(created);
    responses.push(
        api.expect(
            200,
            "PUT",
            path,
            Some(&acme.admin),
            Some(json!({"value": VALUE})),
        )
        .await,
    );
    for token in [&acme.author, &acme.operator, &acme.auditor] {
        responses.push(
            api.expect(
                403,
                "PUT",
                path,
                Some(token),
                Some(json!({"value": "x-overwrite"})),
            )
            .await,
        );
    }
    responses.push(
        api.expect(
            404,
            "PUT",
            path,
            Some(&other.admin),
            Some(json!({"value": "x-overwrite"})),
        )
        .await,
    );
    responses.push(
        api.expect(404, "DELETE", path, Some(&other.admin), None)
            .await,
    );
    let listed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/secrets",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(listed["secrets"][0]["name"], "API_TOKEN");
    let key_id = listed["secrets"][0]["key_id"].as_str().unwrap().to_string();
    responses.push(listed);
    responses.push(
        api.expect(
            404,
            "GET",
            "/v1/tenants/acme/secrets",
            Some(&other.auditor),
            None,
        )
        .await,
    );
    let bad = api
        .expect(
            400,
            "PUT",
            "/v1/tenants/acme/secrets/bad%20name",
            Some(&acme.admin),
            Some(json!({"value": "v"})),
        )
        .await;
    assert_eq!(bad["error"]["code"], "invalid_request");

    // The tenant's runbook reads it (the guest declares API_TOKEN) and uses
    // it; the record shows it redacted.
    api.deploy_guest("acme", &acme.author, "conformance", "dev")
        .await;
    api.deploy_guest("other", &other.author, "conformance", "dev")
        .await;
    let record = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "secret", "name": "API_TOKEN"}),
        )
        .await;
    assert_eq!(record["output"], json!({"value": "[REDACTED]"}), "{record}");
    responses.push(record);
    let record = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "http", "url": service, "bearer_secret": "API_TOKEN"}),
        )
        .await;
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {VALUE}")
    );
    responses.push(record);
    // Another tenant's runbook, same name, same declaration: not its secret.
    let record = api
        .run_and_wait(
            "other",
            &other.operator,
            "conformance",
            json!({"case": "secret", "name": "API_TOKEN"}),
        )
        .await;
    assert!(
        record["output"]["error"]
            .as_str()
            .unwrap()
            .contains("not set on this host"),
        "{record}"
    );
    responses.push(record);
    let listed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?limit=50",
            Some(&acme.auditor),
            None,
        )
        .await;
    responses.push(listed);

    for response in &responses {
        assert!(
            !response.to_string().contains(VALUE),
            "leaked in a response: {response}"
        );
    }
    server.stop();
    for (path, bytes) in files_under(data.path()) {
        assert!(
            !contains(&bytes, VALUE),
            "plaintext secret in {}",
            path.display()
        );
    }
    if let common::server::TestStore::Postgres(url) = &store {
        assert!(
            !contains(&common::postgres::dump(url), VALUE),
            "plaintext secret in the database"
        );
    }

    // Rotation: offline, resumable, and the secret still works afterwards.
    let new_key = data.path().join("new.key");
    std::fs::write(&new_key, "ab".repeat(32)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(["rotate-secrets-key", "--data"])
        .arg(data.path())
        .arg("--new-key-file")
        .arg(&new_key)
        .envs(store.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotation: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            rotation["rotated"].as_u64(),
            rotation["old_key_id"].as_str()
        ),
        (Some(1), Some(key_id.as_str()))
    );
    assert_eq!(
        std::fs::read_to_string(data.path().join("secrets.key")).unwrap(),
        "ab".repeat(32)
    );

    let server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let listed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/secrets",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(listed["secrets"][0]["key_id"], rotation["new_key_id"]);
    let record = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "http", "url": service, "bearer_secret": "API_TOKEN"}),
        )
        .await;
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {VALUE}")
    );
    api.expect(
        204,
        "DELETE",
        "/v1/tenants/acme/secrets/API_TOKEN",
        Some(&acme.admin),
        None,
    )
    .await;
    let record = api
        .run_and_wait(
            "acme",
            &acme.operator,
            "conformance",
            json!({"case": "secret", "name": "API_TOKEN"}),
        )
        .await;
    assert!(
        record["output"]["error"]
            .as_str()
            .unwrap()
            .contains("not set on this host"),
        "{record}"
    );
}
}
