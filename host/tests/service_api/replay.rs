//! Record and replay through a real `wolfe serve`: every execution is
//! recorded unless its tenant says not; an export holds no secret;
//! `wolfe replay ID` runs it again offline and finds it identical; a
//! candidate version is replayed against the recorded executions on the
//! server, and the verdicts name what changed.

use super::common::server::{ADMIN_TOKEN, Server};
use super::error_code;
use serde_json::{Value, json};
use std::process::Command;

const SECRET: &str = "tok-replayed-secret-9";

crate::on_every_store! {
    async fn executions_are_recorded_exported_and_replayed(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev").await;
    api.expect(201, "PUT", "/v1/tenants/acme/secrets/API_TOKEN", Some(&t.admin),
        Some(json!({"value": SECRET}))).await;

    let cases = [
        json!({"case": "entropy"}),
        json!({"case": "kv_roundtrip", "key": "k", "value": "v1"}),
        json!({"case": "secret", "name": "API_TOKEN"}),
    ];
    let mut ids = Vec::new();
    for input in &cases {
        let record = api.run_and_wait("acme", &t.operator, "conformance", input.clone()).await;
        assert_eq!(record["status"], "succeeded", "{record}");
        assert_eq!(record["transcript"]["complete"], true, "{record}");
        ids.push(record["id"].as_str().unwrap().to_string());
    }

    // The export has the transcript, and no secret anywhere.
    let export = api.expect(200, "GET", &format!("/v1/tenants/acme/executions/{}/export", ids[2]),
        Some(&t.auditor), None).await;
    assert_eq!(export["recorded"]["transcript"]["calls"][0]["interface"], "secrets");
    assert!(!export.to_string().contains(SECRET), "{export}");
    let random = &export["recorded"]["transcript"]["calls"];
    assert!(random.is_array());

    // `wolfe replay ID`: fetched, run offline, identical.
    for id in &ids {
        let out = Command::new(env!("CARGO_BIN_EXE_wolfe"))
            .args(["replay", id, "--server", &api.base, "--token", &t.auditor, "--tenant", "acme"])
            .env("WOLFE_CACHE_DIR", dir.path().join("replay-cache"))
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{printed}{}", String::from_utf8_lossy(&out.stderr));
        assert!(printed.starts_with("identical\n"), "{printed}");
    }

    // The same version replayed on the server: all identical.
    let run = api.expect(200, "POST", "/v1/tenants/acme/runbooks/conformance/replay", Some(&t.operator),
        Some(json!({"version": "0.1.0", "from_environment": "dev", "last": 10}))).await;
    assert_eq!(run["summary"]["identical"], 3, "{run}");
    assert_eq!(run["results"].as_array().unwrap().len(), 3);

    // A candidate built from other code (the Python twin, as 0.2.0): no
    // verdict is identical, and the entropy case's output differs where
    // the two languages format the random number differently.
    let (_, wasm) = crate::common::guest("python/conformance");
    let manifest = std::fs::read_to_string(
        crate::common::repo_root().join("tests/guests/python/conformance/runbook.toml"),
    )
    .unwrap()
    .replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    let (status, body) = api.upload("acme", &t.author, &manifest, wasm.to_vec()).await;
    assert_eq!(status, 201, "{body}");
    let run = api.expect(200, "POST", "/v1/tenants/acme/runbooks/conformance/replay", Some(&t.operator),
        Some(json!({"version": "0.2.0", "from_environment": "dev", "last": 10}))).await;
    assert_eq!(run["summary"]["identical"], 0, "{run}");
    let entropy = run["results"].as_array().unwrap().iter()
        .find(|r| r["execution"] == ids[0].as_str()).unwrap();
    assert_eq!(entropy["verdict"]["verdict"], "output_differs", "{entropy}");
    let paths: Vec<&str> = entropy["verdict"]["changes"].as_array().unwrap().iter()
        .map(|c| c["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"/random"), "{paths:?}");
    assert!(!paths.contains(&"/now_ns"), "the clock is the recorded one: {paths:?}");

    // `wolfe promote --replay`: the candidate in dev against test's
    // recorded executions, shown before the promotion.
    api.expect(200, "PUT", "/v1/tenants/acme/runbooks/conformance/environments/test", Some(&t.author),
        Some(json!({"version": "0.1.0"}))).await;
    let started = api.expect(202, "POST", "/v1/tenants/acme/runbooks/conformance/run", Some(&t.operator),
        Some(json!({"environment": "test", "input": {"case": "entropy"}}))).await;
    api.wait_terminal("acme", &t.operator, started["execution_id"].as_str().unwrap()).await;
    api.expect(200, "PUT", "/v1/tenants/acme/runbooks/conformance/environments/dev", Some(&t.author),
        Some(json!({"version": "0.2.0"}))).await;
    let out = Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(["promote", "conformance", "--from", "dev", "--to", "test", "--replay", "5", "--yes",
            "--server", &api.base, "--token", &t.author, "--tenant", "acme"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("conformance 0.2.0 replayed against the last 1 recorded executions in test: \
        0 identical, 1 output differs, 0 calls differ, 0 status differs, 0 not replayable"), "{said}");
    assert!(said.contains("output differs"), "{said}");

    let bad = api.expect(400, "POST", "/v1/tenants/acme/runbooks/conformance/replay", Some(&t.operator),
        Some(json!({"version": "0.1.0", "last": 0}))).await;
    assert_eq!(error_code(&bad), "invalid_request");
    api.expect(403, "POST", "/v1/tenants/acme/runbooks/conformance/replay", Some(&t.auditor),
        Some(json!({"version": "0.1.0"}))).await;

    // A tenant that records nothing: no transcript, and the export says why.
    api.expect(200, "PUT", "/v1/tenants/acme/quota", Some(ADMIN_TOKEN),
        Some(json!({"record_transcripts": false}))).await;
    let record = api.run_and_wait("acme", &t.operator, "conformance", json!({"case": "echo"})).await;
    assert!(record.get("transcript").is_none(), "{record}");
    let refused: Value = api.expect(409, "GET",
        &format!("/v1/tenants/acme/executions/{}/export", record["id"].as_str().unwrap()),
        Some(&t.auditor), None).await;
    assert!(error_code(&refused) == "conflict", "{refused}");
    }
}
