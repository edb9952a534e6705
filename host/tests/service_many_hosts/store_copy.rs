//! `wolfe store copy`: a stopped sled deployment moved onto an empty
//! PostgreSQL database keeps its admin and tenant tokens, quota, runbook,
//! trigger, sealed secret, connector, kv, audit chain, event and executions,
//! and a host on the database carries on where the sled host stopped; a
//! second copy into the now non-empty database is refused.

use crate::common::postgres::{dump, fresh_database};
use crate::common::server::{ADMIN_TOKEN, Server, TestStore};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use wolfe::store::{Store, StoreLocation};

const VALUE: &str = "copied-secret-value-41c9e7";

fn store_copy(from: &Path, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(["store", "copy", "--from"])
        .arg(from)
        .args(["--to", to])
        .env("WOLFE_LOG", "warn")
        .output()
        .expect("run wolfe store copy")
}

/// The count of `kind` in the copy's summary line (`tenants 1, tokens 5, …`).
fn count(summary: &str, kind: &str) -> Option<u64> {
    let counts = summary.trim().split_once(": ")?.1;
    counts
        .split(", ")
        .find_map(|part| part.strip_prefix(kind)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_sled_deployment_carries_on_from_an_empty_postgres_database() {
    // A sled deployment with one of everything.
    let old = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&TestStore::sled(), old.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let quota = json!({"max_memory_mb": 64, "max_concurrent": 4});
    let quota = api
        .expect(
            200,
            "PUT",
            "/v1/tenants/acme/quota",
            Some(ADMIN_TOKEN),
            Some(quota),
        )
        .await;
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    api.expect(
        201,
        "PUT",
        "/v1/tenants/acme/secrets/API_TOKEN",
        Some(&t.admin),
        Some(json!({"value": VALUE})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/connectors/chat",
        Some(&t.admin),
        Some(json!({"kind": "slack", "webhook_url_secret": "API_TOKEN"})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/am",
        Some(&t.author),
        Some(json!({"auth": {"type": "bearer"}, "id": "fingerprint"})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/echo",
        Some(&t.author),
        Some(json!({
            "source": "am", "runbook": "conformance", "environment": "dev",
            "params": {"case": "echo", "fp": "{{ data.fingerprint }}"},
        })),
    )
    .await;
    let secret = api
        .run_and_wait(
            "acme",
            &t.operator,
            "conformance",
            json!({"case": "secret", "name": "API_TOKEN"}),
        )
        .await;
    assert_eq!(secret["output"], json!({"value": "[REDACTED]"}), "{secret}");
    let counter = api
        .run_and_wait(
            "acme",
            &t.operator,
            "conformance",
            json!({"case": "kv_counter"}),
        )
        .await;
    assert_eq!(counter["output"], json!({"counter": 1}), "{counter}");
    let alert = json!({"fingerprint": "fp1"});
    let hooked = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(alert.clone()),
        )
        .await;
    let fired = hooked["executions"][0].as_str().unwrap().to_string();
    let fired = api.wait_terminal("acme", &t.operator, &fired).await;
    assert_eq!(fired["status"], "succeeded", "{fired}");
    let verdict_before = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/audit/verify",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(verdict_before["ok"], true, "{verdict_before}");
    let audit_entries = verdict_before["entries"].as_u64().unwrap();
    assert!(server.stop().success());

    // The copy: one summary line, a count per kind.
    let url = fresh_database();
    let out = store_copy(old.path(), &url);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    for (kind, n) in [
        ("admin_token", 1),
        ("tenants", 1),
        ("tokens", 5),
        ("runbook_versions", 1),
        ("deployments", 1),
        ("sources", 1),
        ("rules", 1),
        ("rejected_messages", 0),
        ("secrets", 1),
        ("connectors", 1),
        ("kv_entries", 1),
        ("audit_entries", audit_entries),
        ("events", 1),
        ("executions", 3),
        ("transcripts", 3),
    ] {
        assert_eq!(count(&stdout, kind), Some(n), "{kind} in {stdout}");
    }

    // Behind the hosts' backs: the sealed secret and the audit chain are the
    // stored bytes, and the value is nowhere in the database.
    {
        let sled = Store::open_sled(old.path()).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let pg = Store::open(&StoreLocation::Postgres(url.clone()), scratch.path())
            .await
            .unwrap();
        assert_eq!(
            pg.all_secrets().await.unwrap(),
            sled.all_secrets().await.unwrap()
        );
        assert_eq!(
            pg.audit_chain("acme").await.unwrap(),
            sled.audit_chain("acme").await.unwrap()
        );
        sled.flush().await.unwrap();
    }
    assert!(
        !dump(&url)
            .windows(VALUE.len())
            .any(|w| w == VALUE.as_bytes()),
        "plaintext secret in the database"
    );

    // A host on the database with a new data directory: the stored admin
    // token hash (none given), the old host's secrets key.
    let new = tempfile::tempdir().unwrap();
    let key_file = old.path().join("secrets.key");
    let server = Server::start_on(
        &TestStore::Postgres(url.clone()),
        new.path(),
        &[
            ("WOLFE_ADMIN_TOKEN", ""),
            ("WOLFE_SECRETS_KEY_FILE", key_file.to_str().unwrap()),
        ],
    );
    let api = server.api();
    // The chain verifies, entry for entry, to the same head.
    let verdict = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/audit/verify",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(verdict, verdict_before);
    // The executions from before, as they were.
    let listed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?limit=50",
            Some(&t.auditor),
            None,
        )
        .await;
    let listed: Vec<&Value> = listed["executions"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    for before in [&secret, &counter, &fired] {
        assert!(listed.contains(&before), "{before} not in {listed:?}");
    }
    // Their transcripts came along: an execution from before still exports.
    let export = api
        .expect(
            200,
            "GET",
            &format!(
                "/v1/tenants/acme/executions/{}/export",
                counter["id"].as_str().unwrap()
            ),
            Some(&t.operator),
            None,
        )
        .await;
    let calls = export["recorded"]["transcript"]["calls"]
        .as_array()
        .unwrap();
    assert!(calls.iter().any(|c| c["interface"] == "kv"), "{export}");
    // Old tokens authenticate; the admin token too (its hash was copied).
    assert_eq!(
        api.expect(200, "GET", "/v1/tenants/acme/quota", Some(&t.auditor), None)
            .await,
        quota
    );
    api.expect(
        201,
        "POST",
        "/v1/tenants/acme/tokens",
        Some(ADMIN_TOKEN),
        Some(json!({"role": "auditor"})),
    )
    .await;
    api.expect(
        200,
        "GET",
        "/v1/tenants/acme/connectors/chat",
        Some(&t.admin),
        None,
    )
    .await;
    // The runbook runs, opens the sealed secret and continues its kv.
    let record = api
        .run_and_wait(
            "acme",
            &t.operator,
            "conformance",
            json!({"case": "secret", "name": "API_TOKEN"}),
        )
        .await;
    assert_eq!(record["output"], json!({"value": "[REDACTED]"}), "{record}");
    let record = api
        .run_and_wait(
            "acme",
            &t.operator,
            "conformance",
            json!({"case": "kv_counter"}),
        )
        .await;
    assert_eq!(record["output"], json!({"counter": 2}), "{record}");
    // The event is known: the same alert again fires nothing.
    let again = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(alert),
        )
        .await;
    assert_eq!(
        (&again["duplicates"], &again["executions"]),
        (&json!(1), &json!([])),
        "{again}"
    );

    // The database is no longer empty: a second copy is refused, in one line.
    let out = store_copy(old.path(), &url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not empty"), "{stderr}");
}
