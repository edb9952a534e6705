//! Studio in a real browser against a real server: this test starts
//! `wolfe serve`, fills a tenant with what the pages need (a webhook
//! source, rules that fire a denied call and echo an alert's labels, a
//! runbook with two versions whose capabilities differ), then runs
//! `studio/tests/studio.test.mjs` — playwright-core driving Debian's
//! Chromium — and fails with its output if any browser test fails.
//! Screenshots of the pages land in `target/studio-screenshots/`.

use super::common::server::Server;
use super::common::{self, repo_root, target_dir};
use serde_json::json;
use std::process::Command;

/// What the promotion in the browser must show: the grant 0.2.0 adds.
const ADDED_GRANT: &str = "GET https://status.example.com/*";

#[tokio::test]
async fn studio_in_a_real_browser() {
    let studio = repo_root().join("studio");
    assert!(
        studio.join("dist/index.html").exists()
            && studio.join("node_modules/playwright-core").exists(),
        "Studio is not built or its packages are missing: run ./scripts/setup.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;

    // The runbook the rules run, in two versions: 0.2.0 may also reach a
    // status page, which promoting it must show before it happens.
    let (_, wasm) = common::guest("conformance");
    let manifest =
        std::fs::read_to_string(common::server::guest_manifest_path("conformance")).unwrap();
    let wider = manifest
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        .replace(
            "http = [\n",
            "http = [\n  { url = \"https://status.example.com/*\", methods = [\"GET\"] },\n",
        );
    assert_ne!(manifest, wider, "the conformance manifest changed shape");
    for (text, env) in [(&manifest, "test"), (&wider, "dev")] {
        let (status, body) = api.upload("acme", &t.author, text, wasm.to_vec()).await;
        assert!(status.is_success(), "{status} {body}");
        let version = if env == "test" { "0.1.0" } else { "0.2.0" };
        api.expect(
            200,
            "PUT",
            &format!("/v1/tenants/acme/runbooks/conformance/environments/{env}"),
            Some(&t.author),
            Some(json!({"version": version})),
        )
        .await;
    }
    api.expect(200, "PUT", "/v1/tenants/acme/sources/am", Some(&t.author), Some(json!({
        "auth": {"type": "bearer"}, "split": "alerts", "id": "fingerprint", "type_path": "labels.alertname",
    }))).await;
    // `Denied` alerts make the runbook call a URL no grant allows.
    api.expect(200, "PUT", "/v1/tenants/acme/rules/call-out", Some(&t.author), Some(json!({
        "source": "am", "type": "Denied", "runbook": "conformance", "environment": "dev",
        "params": {"case": "http", "url": "http://127.0.0.1:9/forbidden/{{ data.labels.service }}"},
    }))).await;
    // `Approve` alerts wait for an operator's decision.
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/needs-approval",
        Some(&t.author),
        Some(json!({
            "source": "am", "type": "Approve", "runbook": "conformance", "environment": "dev",
            "policy": {"key": "{{ data.labels.service }}", "approval": {"timeout_secs": 600}},
        })),
    )
    .await;
    // `Echo` alerts come back as the output, labels and all.
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/echo",
        Some(&t.author),
        Some(json!({
            "source": "am", "type": "Echo", "runbook": "conformance", "environment": "dev",
        })),
    )
    .await;

    let screenshots = target_dir().join("studio-screenshots");
    let config = dir.path().join("studio-test.json");
    std::fs::write(&config, serde_json::to_vec(&json!({
        "base": server.base,
        "tenant": "acme",
        "hook": "/v1/hooks/acme/am",
        "tokens": {"admin": t.admin, "author": t.author, "auditor": t.auditor, "sender": t.sender},
        "screenshots": screenshots,
        "promote": {"runbook": "conformance", "added": ADDED_GRANT, "older": "0.1.0"},
    })).unwrap()).unwrap();

    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "tests/"])
            .current_dir(&studio)
            .env("STUDIO_TEST_CONFIG", &config)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "Studio's browser tests failed:\n{report}"
    );
}
