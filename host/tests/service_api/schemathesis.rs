//! Generated attacks on a live `wolfe serve`, the bounded CI pass of what
//! scripts/fuzz-api.sh runs longer: schemathesis (installed by
//! scripts/setup.sh into .tools/venv; `WOLFE_SCHEMATHESIS` names another
//! one) reads the served OpenAPI document and sends every documented
//! operation generated requests, valid and invalid, once per token: the server admin token, a token of each role of the
//! tenant, a token of another tenant and a forged one. The checks
//! (scripts/schemathesis/config.toml and hooks.py): no 5xx, every status,
//! content type and body as documented, every 4xx the JSON error body,
//! undeclared methods 405 with Allow, schema-invalid input and missing
//! tokens refused. Whatever the document gains is covered without a change
//! here.

use super::common::repo_root;
use super::common::server::{ADMIN_TOKEN, Api, Server, TestStore, Tokens};
use super::hello_behind_webhook;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Test cases per operation and phase; with the seed, the whole pass is
/// reproducible (`schemathesis run --seed`).
const MAX_EXAMPLES: &str = "8";
const SEED: &str = "20261202";

fn schemathesis() -> PathBuf {
    let path = std::env::var_os("WOLFE_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/venv/bin/schemathesis"));
    assert!(
        path.exists(),
        "{} not found: run scripts/setup.sh",
        path.display()
    );
    path
}

/// Real objects in acme for the generated requests to find: hello deployed
/// to dev, webhook source `am`, rule `page`, an event and an execution from
/// one alert, a manual execution, a secret, a connector and a silence.
/// Returns them by the path segment before their parameter, as hooks.py
/// reads them from WOLFE_FUZZ_OBJECTS.
async fn objects(api: &Api, t: &Tokens) -> Value {
    hello_behind_webhook(
        api,
        t,
        json!({"auth": {"type": "bearer"}, "split": "alerts", "id": "fingerprint", "type_path": "labels.alertname"}),
        ("page", json!({"source": "am", "runbook": "hello", "environment": "dev"})),
    )
    .await;
    let accepted = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(json!({"alerts": [{"fingerprint": "fp1", "labels": {"alertname": "DiskFull"}}]})),
        )
        .await;
    let fired = accepted["executions"][0].as_str().unwrap().to_string();
    let fired = api.wait_terminal("acme", &t.auditor, &fired).await;
    let manual = api
        .run_and_wait("acme", &t.operator, "hello", json!({"service": "checkout"}))
        .await;
    api.expect(
        201,
        "PUT",
        "/v1/tenants/acme/secrets/CHAT_URL",
        Some(&t.admin),
        Some(json!({"value": "http://127.0.0.1:9/chat"})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/connectors/chat",
        Some(&t.admin),
        Some(json!({"kind": "slack", "webhook_url_secret": "CHAT_URL"})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/silences/maintenance",
        Some(&t.operator),
        Some(json!({
            "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-01T01:00:00Z",
            "matchers": [{"path": "data.service", "op": "eq", "value": "checkout"}],
        })),
    )
    .await;
    json!({
        "tenants": ["acme"],
        "runbooks": ["hello"],
        "environments": ["dev", "test", "prod"],
        "sources": ["am"],
        "rules": ["page"],
        "executions": [fired["id"], manual["id"]],
        "events": [fired["event"]],
        "secrets": ["CHAT_URL"],
        "connectors": ["chat"],
        "silences": ["maintenance"],
    })
}

/// One schemathesis run against `base` with `token`; `objects` (JSON for
/// WOLFE_FUZZ_OBJECTS) fixes the tenant and offers real names. Runs in its
/// own directory under `work` (schemathesis writes there). Returns whether
/// every check passed, and what it printed.
async fn attack(
    base: &str,
    work: &Path,
    label: &str,
    token: &str,
    objects: &Value,
) -> (bool, String) {
    let dir = work.join(label);
    std::fs::create_dir_all(&dir).unwrap();
    let scripts = repo_root().join("scripts/schemathesis");
    let output = tokio::process::Command::new(schemathesis())
        .arg("--config-file")
        .arg(scripts.join("config.toml"))
        .args(["run", &format!("{base}/v1/openapi.json")])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        // Not shrunk: a failure's first example is reported as found,
        // which keeps a failing pass as quick as a clean one.
        .args(["--no-shrink", "--workers", "1", "--no-color"])
        .current_dir(&dir)
        .env("WOLFE_FUZZ_TOKEN", token)
        .env("WOLFE_FUZZ_OBJECTS", objects.to_string())
        .env("SCHEMATHESIS_HOOKS", scripts.join("hooks.py"))
        .env_remove("WOLFE_FUZZ_STATS")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), findings(&text).to_string())
}

/// schemathesis's report from its errors and failures on (the whole output
/// when it has neither: it failed before testing).
fn findings(output: &str) -> &str {
    let from = ["=== ERRORS ===", "=== FAILURES ==="]
        .iter()
        .filter_map(|heading| output.find(heading))
        .min();
    let line = from.map_or(0, |at| output[..at].rfind('\n').map_or(0, |n| n + 1));
    &output[line..]
}

/// In a network namespace of its own (`common::private_net`): generated
/// requests configure SQS sources and connectors with whatever endpoints
/// they like, and the server would reach for them.
#[test]
fn generated_requests_from_every_token_meet_the_document() {
    super::common::private_net::run(generated_requests_meet_the_document);
}

async fn generated_requests_meet_the_document() {
    let started = Instant::now();
    let schemathesis = schemathesis();
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&TestStore::sled(), data.path(), &[]);
    let api = server.api();
    let acme = api.tenant("acme").await;
    let globex = api.tenant("globex").await;
    let acme_objects = objects(&api, &acme).await;

    // Tokens that may do least first, so the fixtures survive until the
    // roles that may change them; the server admin token last, once on acme
    // and once on generated tenant names.
    let any_tenant = json!({});
    let passes: Vec<(&str, &str, &Value)> = vec![
        ("forged", "wolfe_forged0123456789", &acme_objects),
        ("other-tenant-admin", &globex.admin, &acme_objects),
        ("sender", &acme.sender, &acme_objects),
        ("auditor", &acme.auditor, &acme_objects),
        ("operator", &acme.operator, &acme_objects),
        ("author", &acme.author, &acme_objects),
        ("admin", &acme.admin, &acme_objects),
        ("server-admin", ADMIN_TOKEN, &acme_objects),
        ("server-admin-any-tenant", ADMIN_TOKEN, &any_tenant),
    ];
    let mut failed = Vec::new();
    for (label, token, objects) in passes {
        let (ok, output) = attack(&api.base, dir.path(), label, token, objects).await;
        if !ok {
            failed.push(format!("==== {label}: schemathesis failed\n{output}"));
        }
    }
    // The server survived all of it.
    api.expect(200, "GET", "/healthz", None, None).await;
    assert!(
        failed.is_empty(),
        "{} of the schemathesis passes failed ({} with --seed {SEED}):\n{}",
        failed.len(),
        schemathesis.display(),
        failed.join("\n")
    );
    eprintln!(
        "schemathesis: every pass clean in {:.0?}",
        started.elapsed()
    );
}
