//! Compile once, outside the server's heap: `wolfe serve` compiles uploaded
//! components in a short-lived child, so a Python component's ~0.5 GB compile
//! does not stay in the long-running server (measured in process: ~420 MB
//! peak RSS; in a child: under 100 MB).

mod common;

use common::server::Server;
use serde_json::json;

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_python_upload_compiles_in_a_child_and_the_server_stays_small() {
    let (_, wasm) = tokio::task::spawn_blocking(|| common::guest("python/conformance"))
        .await
        .unwrap();
    let manifest = std::fs::read_to_string(
        common::repo_root().join("tests/guests/python/conformance/runbook.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let (status, body) = api
        .upload("acme", &t.author, &manifest, wasm.to_vec())
        .await;
    assert_eq!(status, 201, "{body}");
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/runbooks/conformance/environments/dev",
        Some(&t.author),
        Some(json!({"version": "0.1.0"})),
    )
    .await;
    let v = api
        .expect(
            202,
            "POST",
            "/v1/tenants/acme/runbooks/conformance/run",
            Some(&t.operator),
            Some(json!({"environment": "dev", "input": {"case": "echo", "n": 1}})),
        )
        .await;
    let record = api
        .wait_terminal("acme", &t.operator, v["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(record["status"], "succeeded", "{record}");

    let peak = peak_rss_kb(server.pid());
    assert!(
        peak < 250 * 1024,
        "the server's peak RSS was {peak} kB: the compile did not leave with a child"
    );
    let artifacts = std::fs::read_dir(dir.path().join("components"))
        .unwrap()
        .count();
    assert_eq!(
        artifacts, 1,
        "one precompiled artifact, written by the child"
    );
}
