//! Secrets: only declared names, values never recorded. KV: private to
//! (tenant, runbook), persistent across executions, denied when undeclared.

mod common;

use serde_json::json;
use wolfe::capabilities::secrets::StaticSecrets;
use wolfe::sandbox::report::{ErrorKind, ExecutionStatus};

fn secrets() -> StaticSecrets {
    let mut s = StaticSecrets::default();
    s.insert("API_TOKEN", "tok-1234567890");
    s.insert("NOT_DECLARED", "should-never-be-read");
    s
}

#[tokio::test]
async fn a_declared_secret_is_readable_and_redacted_from_the_record() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let inputs = common::Inputs {
        secrets: secrets(),
        ..Default::default()
    };
    let report = common::run_with(
        &sandbox,
        &runbook,
        json!({"case": "secret", "name": "API_TOKEN"}),
        inputs,
    )
    .await;
    assert_eq!(report.status, ExecutionStatus::Succeeded);
    assert_eq!(
        report.output.clone().unwrap(),
        json!({"value": "[REDACTED]"})
    );
    let call = &report.capability_calls[0];
    assert_eq!(
        (call.interface.as_str(), call.target.as_str(), call.allowed),
        ("secrets", "API_TOKEN", true)
    );
    assert!(!common::show(&report).contains("tok-1234567890"));
}

#[tokio::test]
async fn an_undeclared_secret_is_denied_and_recorded() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let inputs = common::Inputs {
        secrets: secrets(),
        ..Default::default()
    };
    let report = common::run_with(
        &sandbox,
        &runbook,
        json!({"case": "secret", "name": "NOT_DECLARED"}),
        inputs,
    )
    .await;
    let error = report.output.clone().unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        "denied: secret \"NOT_DECLARED\" is not declared in the manifest"
    );
    let call = &report.capability_calls[0];
    assert!(!call.allowed);
    assert_eq!(call.target, "NOT_DECLARED");
    assert!(!common::show(&report).contains("should-never-be-read"));
}

#[tokio::test]
async fn a_declared_but_unset_secret_fails_without_denial() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let report = common::run(
        &sandbox,
        &runbook,
        json!({"case": "secret", "name": "UNSET_SECRET"}),
    )
    .await;
    let error = report.output.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("failed: secret \"UNSET_SECRET\" is not set"),
        "{error}"
    );
    assert!(report.capability_calls[0].allowed);
}

#[tokio::test]
async fn kv_persists_across_executions_within_its_namespace_only() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let (_dir, store, ns) = common::temp_kv("tenant-a", "conformance");
    for expected in 1..=3 {
        let inputs = common::Inputs {
            kv: Some(ns.clone()),
            ..Default::default()
        };
        let report =
            common::run_with(&sandbox, &runbook, json!({"case": "kv_counter"}), inputs).await;
        assert_eq!(report.output.unwrap(), json!({"counter": expected}));
    }
    // Another tenant's copy of the same runbook starts from nothing.
    let other = common::kv_namespace(&store, "tenant-b", "conformance");
    let inputs = common::Inputs {
        kv: Some(other),
        ..Default::default()
    };
    let report = common::run_with(&sandbox, &runbook, json!({"case": "kv_counter"}), inputs).await;
    assert_eq!(report.output.unwrap(), json!({"counter": 1}));

    let inputs = common::Inputs {
        kv: Some(ns.clone()),
        ..Default::default()
    };
    let report = common::run_with(
        &sandbox,
        &runbook,
        json!({"case": "kv_roundtrip", "key": "k", "value": "v1"}),
        inputs,
    )
    .await;
    assert_eq!(
        report.output.unwrap(),
        json!({"before": null, "after": "v1"})
    );
    let ops: Vec<(&str, &str, bool)> = report
        .capability_calls
        .iter()
        .map(|c| (c.operation.as_str(), c.target.as_str(), c.allowed))
        .collect();
    assert_eq!(
        ops,
        vec![("get", "k", true), ("set", "k", true), ("get", "k", true)]
    );
}

#[tokio::test]
async fn kv_is_denied_when_undeclared_and_fails_without_a_store() {
    let sandbox = common::sandbox();
    let no_kv = "name = \"conformance\"\nversion = \"0.1.0\"\nlanguage = \"rust\"\n";
    let runbook = common::prepare(&sandbox, "conformance", Some(no_kv));
    let (_dir, _store, ns) = common::temp_kv("t", "conformance");
    let inputs = common::Inputs {
        kv: Some(ns),
        ..Default::default()
    };
    let report = common::run_with(&sandbox, &runbook, json!({"case": "kv_counter"}), inputs).await;
    assert_eq!(report.status, ExecutionStatus::Failed);
    let error = report.error.unwrap();
    assert_eq!(error.kind, ErrorKind::GuestError);
    assert_eq!(error.message, "denied: kv is not declared in the manifest");
    assert!(!report.capability_calls[0].allowed);

    let declared = common::prepare(&sandbox, "conformance", None);
    let report = common::run(&sandbox, &declared, json!({"case": "kv_counter"})).await;
    assert_eq!(
        report.error.unwrap().message,
        "failed: no kv store is configured on this host"
    );
}

#[tokio::test]
async fn kv_rejects_oversized_keys() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let (_dir, _store, ns) = common::temp_kv("t", "conformance");
    let inputs = common::Inputs {
        kv: Some(ns),
        ..Default::default()
    };
    let key = "k".repeat(wolfe::sandbox::limits::MAX_KV_KEY_BYTES + 1);
    let report = common::run_with(
        &sandbox,
        &runbook,
        json!({"case": "kv_roundtrip", "key": key, "value": "v"}),
        inputs,
    )
    .await;
    assert!(
        report
            .error
            .unwrap()
            .message
            .starts_with("invalid: kv keys must be")
    );
}

#[tokio::test]
async fn a_kv_write_flood_is_cut_off_per_execution() {
    use wolfe::sandbox::limits::{MAX_KV_VALUE_BYTES, MAX_KV_WRITES, MAX_KV_WRITTEN_BYTES};
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let (_dir, _store, ns) = common::temp_kv("t", "conformance");
    let flood = |size: usize| {
        let (sandbox, runbook, ns) = (&sandbox, &runbook, ns.clone());
        async move {
            let inputs = common::Inputs {
                kv: Some(ns),
                ..Default::default()
            };
            let report = common::run_with(
                sandbox,
                runbook,
                json!({"case": "kv_flood", "size": size}),
                inputs,
            )
            .await;
            assert_eq!(
                report.status,
                ExecutionStatus::Succeeded,
                "{}",
                common::show(&report)
            );
            report.output.unwrap()
        }
    };
    let big = flood(MAX_KV_VALUE_BYTES).await;
    assert_eq!(
        big["writes"],
        (MAX_KV_WRITTEN_BYTES / MAX_KV_VALUE_BYTES) as u64
    );
    assert!(
        big["error"]
            .as_str()
            .unwrap()
            .starts_with("limited: at most 16777216 bytes"),
        "{big}"
    );
    let many = flood(1).await;
    assert_eq!(many["writes"], MAX_KV_WRITES as u64);
    assert!(
        many["error"]
            .as_str()
            .unwrap()
            .starts_with("limited: at most 1000 kv writes"),
        "{many}"
    );
}
