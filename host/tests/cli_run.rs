//! The `wolfe` binary as a user runs it: exit codes, JSON on stdout, one-line
//! errors on stderr, the precompiled cache, and kv under `--data` (kept
//! between runs, but not by a `--dry-run`).

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn wolfe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(args)
        .env("WOLFE_CACHE_DIR", common::target_dir().join("test-cache"))
        .output()
        .expect("run wolfe")
}

fn json_stdout(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn conformance() -> (String, String) {
    let wasm = common::guest_path("conformance");
    let manifest = common::repo_root().join("tests/guests/rust/conformance/runbook.toml");
    (wasm.display().to_string(), manifest.display().to_string())
}

#[test]
fn running_an_example_folder_builds_it_and_exits_zero() {
    let dir = common::repo_root().join("runbooks/rust/hello");
    let event = dir.join("event.json");
    let out = wolfe(&[
        "run",
        dir.to_str().unwrap(),
        "--event-file",
        event.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let record = json_stdout(&out);
    assert_eq!(record["runbook"], "hello");
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["output"]["echo"]["service"], "checkout");
    assert_eq!(
        record["logs"][0]["message"],
        "hello: event with 3 top-level keys"
    );
}

#[test]
fn a_failed_runbook_exits_one_with_its_record() {
    let (wasm, manifest) = conformance();
    let out = wolfe(&[
        "run",
        &wasm,
        "--manifest",
        &manifest,
        "--event",
        r#"{"case":"guest_error","broker":"b2"}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let record = json_stdout(&out);
    assert_eq!(record["status"], "failed");
    assert_eq!(record["error"]["kind"], "guest_error");
    assert_eq!(record["error"]["message"], "broker b2 is down");
}

#[test]
fn usage_and_configuration_errors_exit_two_with_one_line() {
    let (wasm, manifest) = conformance();
    let dir = tempfile::tempdir().unwrap();
    let bad_manifest = dir.path().join("runbook.toml");
    std::fs::write(
        &bad_manifest,
        "name = \"x\"\nversion = \"1\"\nlanguage = \"rust\"\n[limits]\nmemory_mb = 0\n",
    )
    .unwrap();
    let not_component = dir.path().join("core.wasm");
    std::fs::write(&not_component, b"\0asm\x01\0\0\0").unwrap();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", &wasm, "--manifest", &manifest], "--event"),
        (
            vec!["run", &wasm, "--manifest", &manifest, "--event", "{nope"],
            "not valid JSON",
        ),
        (
            vec![
                "run",
                &wasm,
                "--manifest",
                bad_manifest.to_str().unwrap(),
                "--event",
                "{}",
            ],
            "limits.memory_mb",
        ),
        (
            vec![
                "run",
                not_component.to_str().unwrap(),
                "--manifest",
                &manifest,
                "--event",
                "{}",
            ],
            "core wasm module",
        ),
        (
            vec!["run", "/does/not/exist.wasm", "--event", "{}"],
            "does not exist",
        ),
        (
            vec![
                "run",
                &wasm,
                "--manifest",
                &manifest,
                "--event",
                "{}",
                "--secret",
                "novalue",
            ],
            "NAME=VALUE",
        ),
    ];
    for (args, fragment) in cases {
        let out = wolfe(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(fragment),
            "{args:?}: stderr {err:?} lacks {fragment:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
}

#[test]
fn the_second_run_loads_the_precompiled_component() {
    let (wasm, manifest) = conformance();
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().to_str().unwrap();
    let run = || {
        json_stdout(&wolfe(&[
            "run",
            &wasm,
            "--manifest",
            &manifest,
            "--event",
            "{}",
            "--cache-dir",
            cache,
        ]))
    };
    assert_eq!(run()["component_cache"], "compiled");
    assert_eq!(run()["component_cache"], "hit");
    let artifacts: Vec<_> = std::fs::read_dir(cache).unwrap().collect();
    assert_eq!(artifacts.len(), 1, "one .cwasm keyed by sha256 and engine");
}

#[test]
fn kv_state_under_data_survives_between_processes_and_secrets_reach_the_guest() {
    let (wasm, manifest) = conformance();
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    for expected in [1, 2] {
        let out = wolfe(&[
            "run",
            &wasm,
            "--manifest",
            &manifest,
            "--event",
            r#"{"case":"kv_counter"}"#,
            "--data",
            data,
        ]);
        assert_eq!(json_stdout(&out)["output"]["counter"], expected);
    }
    let secrets_file = Path::new(data).join("secrets.env");
    std::fs::write(&secrets_file, "# test\nAPI_TOKEN=from-a-file-123\n").unwrap();
    let out = wolfe(&[
        "run",
        &wasm,
        "--manifest",
        &manifest,
        "--event",
        r#"{"case":"secret","name":"API_TOKEN"}"#,
        "--secrets-file",
        secrets_file.to_str().unwrap(),
    ]);
    let record = json_stdout(&out);
    assert_eq!(record["output"]["value"], "[REDACTED]");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("from-a-file-123"));
}

/// `wolfe run --dry-run` reads the kv state under `--data` but keeps none:
/// the real run after it counts on from where the last real run left off.
#[test]
fn a_dry_run_reads_kv_under_data_but_leaves_it_unchanged() {
    let (wasm, manifest) = conformance();
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    let count = |dry_run: bool| {
        let mut args = vec![
            "run",
            &wasm,
            "--manifest",
            &manifest,
            "--event",
            r#"{"case":"kv_counter"}"#,
            "--data",
            data,
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let record = json_stdout(&wolfe(&args));
        assert_eq!(record["dry_run"].as_bool().unwrap_or(false), dry_run);
        record["output"]["counter"].clone()
    };
    assert_eq!(count(false), 1);
    assert_eq!(count(true), 2);
    assert_eq!(count(true), 2);
    assert_eq!(count(false), 2);
}

#[test]
fn build_writes_the_component_where_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("flap.wasm");
    let src = common::repo_root().join("runbooks/rust/flap-guard");
    let out = wolfe(&[
        "build",
        src.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let built = json_stdout(&out);
    assert_eq!(built["name"], "flap-guard");
    let bytes = std::fs::read(&out_path).unwrap();
    assert!(bytes.starts_with(b"\0asm\x0d\0\x01\0"), "a component");
    assert_eq!(built["size"], bytes.len());
}

#[test]
fn new_templates_build_and_run_in_every_language() {
    let dir = tempfile::tempdir().unwrap();
    for lang in ["rust", "python", "js"] {
        let target = dir.path().join(format!("check-{lang}"));
        let target = target.to_str().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_wolfe"))
            .args(["new", "--lang", lang, target])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let event = format!("{target}/event.json");
        // Outside the repository, with no toolchain named in the
        // environment: wolfe finds the repo's .tools/ above its own binary.
        let out = Command::new(env!("CARGO_BIN_EXE_wolfe"))
            .args([
                "run",
                target,
                "--event-file",
                &event,
                "--allow-cidr",
                "127.0.0.1/32",
            ])
            .env("WOLFE_CACHE_DIR", common::target_dir().join("test-cache"))
            .env("CARGO_TARGET_DIR", common::target_dir())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{lang}: {}", stderr(&out));
        let record = json_stdout(&out);
        assert_eq!(
            record["output"],
            serde_json::json!({"service": "checkout", "healthy": false}),
            "{lang}"
        );
        assert_eq!(
            record["capability_calls"][0]["allowed"], true,
            "{lang}: the template's grant covers its URL"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_wolfe"))
        .args(["new", "--lang", "go", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_example_runs_with_its_sample_event() {
    for example in [
        "rust/hello",
        "rust/flap-guard",
        "python/hello",
        "python/kafka-broker-offline",
        "js/hello",
    ] {
        let dir = common::repo_root().join("runbooks").join(example);
        let event = dir.join("event.json");
        let out = wolfe(&[
            "run",
            dir.to_str().unwrap(),
            "--event-file",
            event.to_str().unwrap(),
            "--allow-cidr",
            "127.0.0.1/32",
        ]);
        assert_eq!(out.status.code(), Some(0), "{example}: {}", stderr(&out));
        let record = json_stdout(&out);
        assert_eq!(record["status"], "succeeded", "{example}: {record}");
    }
}

#[test]
fn alert_enricher_sample_event_fails_as_its_readme_says() {
    // Nothing listens on the sample's port 9: the catalog lookup degrades,
    // the chat post cannot be made, and the record says why.
    let dir = common::repo_root().join("runbooks/js/alert-enricher");
    let event = dir.join("event.json");
    let out = wolfe(&[
        "run",
        dir.to_str().unwrap(),
        "--event-file",
        event.to_str().unwrap(),
        "--allow-cidr",
        "127.0.0.1/32",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let record = json_stdout(&out);
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["error"]["kind"], "guest_error", "{record}");
    let calls = record["capability_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "catalog GET, then webhook POST: {record}");
    assert!(calls.iter().all(|c| c["allowed"] == true), "{record}");
    let logs = record["logs"].to_string();
    assert!(logs.contains("catalog unreachable for checkout"), "{logs}");
}

#[test]
fn loopback_is_refused_unless_allowed_by_configuration() {
    // The template's health URL is granted by its manifest and points at
    // loopback: without --allow-cidr the host refuses the address itself.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("probe");
    let target = target.to_str().unwrap();
    let out = wolfe(&["new", "--lang", "rust", target]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = wolfe(&[
        "run",
        target,
        "--event",
        r#"{"service":"s","health_url":"http://127.0.0.1:9/health"}"#,
    ]);
    let record = json_stdout(&out);
    let call = &record["capability_calls"][0];
    assert_eq!(call["allowed"], false, "{record}");
    assert!(
        call["outcome"].as_str().unwrap().contains("loopback"),
        "{record}"
    );
}

/// `wolfe run --record` then `wolfe replay`: the unchanged component is
/// `identical` (exit 0); a build that logs something else is `calls
/// differ` at that call, one that answers something else `output differs`
/// at that field (exit 1 both).
#[test]
fn a_recorded_run_replays_identically_and_a_changed_build_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let runbook = dir.path().join("hello");
    std::fs::create_dir(&runbook).unwrap();
    let source = common::repo_root().join("runbooks/js/hello");
    for file in ["app.js", "runbook.toml"] {
        std::fs::copy(source.join(file), runbook.join(file)).unwrap();
    }
    let file = dir.path().join("exec.json");
    let (runbook_arg, file_arg) = (runbook.to_str().unwrap(), file.to_str().unwrap());
    let out = wolfe(&[
        "run",
        runbook_arg,
        "--event",
        r#"{"a": 1}"#,
        "--record",
        file_arg,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        json_stdout(&out).get("transcript").is_none(),
        "printed, not filed"
    );
    let export: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        export["recorded"]["transcript"]["calls"][0]["interface"],
        "log"
    );

    let out = wolfe(&["replay", "--file", file_arg]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{printed}{}", stderr(&out));
    assert!(printed.starts_with("identical\n"), "{printed}");

    let app = runbook.join("app.js");
    let original = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        original.replace("hello: event with", "hi: event with"),
    )
    .unwrap();
    let out = wolfe(&["replay", "--file", file_arg, "--component", runbook_arg]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{printed}{}", stderr(&out));
    assert!(
        printed.starts_with("calls differ\n  call #0\n"),
        "{printed}"
    );
    assert!(
        printed.contains("hello: event with 1 top-level keys"),
        "{printed}"
    );
    assert!(
        printed.contains("hi: event with 1 top-level keys"),
        "{printed}"
    );

    std::fs::write(
        &app,
        original.replace("hello from wolfe", "hello from a new build"),
    )
    .unwrap();
    let out = wolfe(&["replay", "--file", file_arg, "--component", runbook_arg]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{printed}{}", stderr(&out));
    assert!(printed.starts_with("output differs\n"), "{printed}");
    assert!(
        printed.contains(
            r#"/greeting: recorded "hello from wolfe", replayed "hello from a new build""#
        ),
        "{printed}"
    );
}
