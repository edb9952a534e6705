//! The CLI client against a real server, graceful shutdown, and retention.

mod common;

use common::server::{ADMIN_TOKEN, Server};
use serde_json::{Value, json};
use std::process::Command;

fn wolfe(server: &Server, token: &str, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(args)
        .env("WOLFE_SERVER", &server.base)
        .env("WOLFE_TOKEN", token)
        .env("WOLFE_TENANT", "acme")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.code().unwrap(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

crate::on_every_store! {
    async fn the_cli_client_deploys_promotes_applies_rules_and_reads_executions(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let (code, tenant, err) = wolfe(&server, ADMIN_TOKEN, &["tenant", "create", "acme"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tenant["name"], "acme");
    let (_, token, _) = wolfe(
        &server,
        ADMIN_TOKEN,
        &["token", "create", "--role", "admin"],
    );
    let admin = token["token"].as_str().unwrap().to_string();

    let hello = common::repo_root().join("runbooks/rust/hello");
    let (code, deployed, err) = wolfe(
        &server,
        &admin,
        &["deploy", hello.to_str().unwrap(), "--env", "dev"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(deployed["deployed"]["version"], "0.1.0");
    // Promotion shows the capability diff and wants a confirmation, which
    // a script gives with --yes.
    let (code, _, err) = wolfe(
        &server,
        &admin,
        &["promote", "hello", "--from", "dev", "--to", "test"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs confirmation"), "{err}");
    let (code, promoted, err) = wolfe(
        &server,
        &admin,
        &["promote", "hello", "--from", "dev", "--to", "test", "--yes"],
    );
    assert_eq!(
        (code, promoted["environment"].as_str()),
        (0, Some("test")),
        "{err}"
    );
    assert!(err.contains("becomes live in test"), "{err}");
    let (code, diff, err) = wolfe(
        &server,
        &admin,
        &["audit", "diff", "hello", "--from", "dev", "--to", "test"],
    );
    assert_eq!(
        (code, diff["unchanged"].as_bool()),
        (0, Some(true)),
        "{err}"
    );
    let (code, verdict, err) = wolfe(&server, &admin, &["audit", "verify"]);
    assert_eq!((code, verdict["ok"].as_bool()), (0, Some(true)), "{err}");
    let (code, _, err) = wolfe(
        &server,
        &admin,
        &["promote", "hello", "--from", "dev", "--to", "prod", "--yes"],
    );
    assert_eq!(code, 1, "a refused request exits 1");
    assert!(err.contains("HTTP 400 invalid_request"), "{err}");

    let rules = tempfile::tempdir().unwrap();
    let rule = rules.path().join("r.toml");
    std::fs::write(&rule, "name = \"r1\"\nrunbook = \"hello\"\nenvironment = \"test\"\n[params]\nx = \"{{ data.x }}\"\n").unwrap();
    let (code, applied, err) = wolfe(&server, &admin, &["rule", "apply", rule.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(applied["name"], "r1");
    let source = rules.path().join("s.json");
    std::fs::write(&source, r#"{"name": "s1", "auth": {"type": "bearer"}}"#).unwrap();
    assert_eq!(
        wolfe(
            &server,
            &admin,
            &["source", "apply", source.to_str().unwrap()]
        )
        .0,
        0
    );

    let api = server.api();
    let v = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/s1",
            Some(&admin),
            Some(json!({"x": 42})),
        )
        .await;
    let id = v["executions"][0].as_str().unwrap().to_string();
    api.wait_terminal("acme", &admin, &id).await;
    let (code, list, _) = wolfe(&server, &admin, &["exec", "list", "--runbook", "hello"]);
    assert_eq!(code, 0);
    assert_eq!(list["executions"][0]["input"], json!({"x": 42}));
    let (code, shown, _) = wolfe(&server, &admin, &["exec", "show", &id]);
    assert_eq!((code, shown["status"].as_str()), (0, Some("succeeded")));
}
}

crate::on_every_store! {
    async fn sigterm_drains_running_executions_and_restart_keeps_everything(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, dir.path(), &[("WOLFE_WORKERS", "1")]);
    let api = server.api();
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    let v = api
        .expect(
            202,
            "POST",
            "/v1/tenants/acme/runbooks/conformance/run",
            Some(&t.operator),
            Some(json!({"environment": "dev", "input": {"case": "sleep_ms", "ms": 800}})),
        )
        .await;
    let running = v["execution_id"].as_str().unwrap().to_string();
    let v = api
        .expect(
            202,
            "POST",
            "/v1/tenants/acme/runbooks/conformance/run",
            Some(&t.operator),
            Some(json!({"environment": "dev", "input": {"case": "echo", "n": 2}})),
        )
        .await;
    let queued = v["execution_id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let status = server.stop();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");

    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    // The running one finished before exit; the queued one resumes now.
    let first = api
        .expect(
            200,
            "GET",
            &format!("/v1/tenants/acme/executions/{running}"),
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["attempt"], 1);
    let second = api.wait_terminal("acme", &t.auditor, &queued).await;
    assert_eq!(second["status"], "succeeded");
    assert_eq!(second["output"]["n"], 2);
}
}

crate::on_every_store! {
    async fn retention_prunes_old_and_excess_records_but_never_pending_ones(test_store: TestStore) {
    use wolfe::dispatch::record::ExecutionRecord;
    use wolfe::ingest::event::{Event, new_event_id};
    use wolfe::registry::Environment;
    use wolfe::store::{Retention, Store};
    use wolfe::tenancy::Tenant;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&test_store.location(), dir.path())
        .await
        .unwrap();
    store
        .create_tenant(&Tenant {
            name: "acme".into(),
            created_at: "now".into(),
            quota: Default::default(),
        }).await
        .unwrap();
    let mut finished = Vec::new();
    for i in 0..10 {
        let event = Event {
            id: new_event_id(),
            tenant: "acme".into(),
            source: "s".into(),
            event_type: "t".into(),
            time: "now".into(),
            data: json!({"i": i}),
            metadata: Default::default(),
        };
        store.put_event_if_absent(&event).await.unwrap();
        let mut record = ExecutionRecord::queued(
            "acme",
            Some("r"),
            Some(&event.id),
            "hello",
            None,
            Environment::Dev,
            json!(i),
        );
        assert!(store.create_execution(&mut record, None).await.unwrap());
        if i < 8 {
            record.status = wolfe::sandbox::report::ExecutionStatus::Succeeded;
            store.finish_execution(&record).await.unwrap();
            finished.push(record.id.clone());
        }
    }
    let keep_counts = Retention {
        max_age: std::time::Duration::from_secs(3600),
        max_executions_per_tenant: 5,
        max_events: 4,
    };
    let pruned = store.prune(&keep_counts).await.unwrap();
    assert_eq!(pruned.events, 6);
    assert_eq!(
        pruned.executions, 5,
        "10 executions, 5 kept; the 2 pending ones are never pruned"
    );
    for old in &finished[..5] {
        assert!(store.get_execution("acme", old).await.unwrap().is_none());
    }
    assert!(store.get_execution("acme", &finished[7]).await.unwrap().is_some());
    assert_eq!(store.pending_executions().await.unwrap().len(), 2);

    let everything_old = Retention {
        max_age: std::time::Duration::ZERO,
        ..keep_counts
    };
    std::thread::sleep(std::time::Duration::from_millis(5));
    let pruned = store.prune(&everything_old).await.unwrap();
    assert_eq!((pruned.events, pruned.executions), (4, 3));
    assert_eq!(
        store.pending_executions().await.unwrap().len(),
        2,
        "pending work survives any retention"
    );
}
}
