//! Server-side request forgery: URL grants decide which URLs a runbook may
//! ask for; the host's address policy decides where a connection may go.
//! Loopback, private, link-local and metadata addresses are refused — by IP
//! literal, by a name that resolves there, and at a redirect hop — unless the
//! configuration allows the CIDR, whatever the manifest grants.

mod common;

use axum::Router;
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wolfe::sandbox::report::ExecutionReport;
use wolfe::sandbox::{Sandbox, SandboxConfig};

/// Grants every URL the attacks below aim at, so that only the address
/// policy stands in the way.
const GREEDY_MANIFEST: &str = r#"
name = "conformance"
version = "0.1.0"
language = "rust"
[capabilities]
http = [
  { url = "http://127.0.0.1:*/", methods = ["GET"] },
  { url = "http://localhost:*/", methods = ["GET"] },
  { url = "http://[::1]:*/", methods = ["GET"] },
  { url = "http://[::ffff:127.0.0.1]:*/", methods = ["GET"] },
  { url = "http://0.0.0.0:*/", methods = ["GET"] },
  { url = "http://10.0.0.1/", methods = ["GET"] },
  { url = "http://192.168.1.1/", methods = ["GET"] },
  { url = "http://169.254.169.254/", methods = ["GET"] },
  { url = "http://[fd00:ec2::254]/", methods = ["GET"] },
]
"#;

async fn start_target() -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/allowed/ok",
            get(|State(hits): State<Arc<AtomicUsize>>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                "fine"
            }),
        )
        .route(
            "/redirect/metadata",
            get(|| async { Redirect::to("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/redirect/private",
            get(|| async { Redirect::to("http://10.0.0.1/admin") }),
        )
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, hits)
}

fn sandbox(allow: &[&str]) -> Sandbox {
    Sandbox::new(SandboxConfig {
        cache_dir: Some(common::target_dir().join("test-cache")),
        outbound_allow_cidrs: allow.iter().map(|c| c.parse().unwrap()).collect(),
        ..SandboxConfig::default()
    })
    .unwrap()
}

fn refusal(report: &ExecutionReport) -> (String, bool, String) {
    let call = report.capability_calls.last().expect("a recorded call");
    let error = report
        .output
        .as_ref()
        .and_then(|o| o["error"].as_str())
        .unwrap_or_default()
        .to_string();
    (error, call.allowed, call.outcome.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_purpose_addresses_are_refused_whatever_the_grants() {
    let (port, hits) = start_target().await;
    let sandbox = sandbox(&[]);
    let runbook = common::prepare(&sandbox, "conformance", Some(GREEDY_MANIFEST));
    for (url, class) in [
        (format!("http://127.0.0.1:{port}/allowed/ok"), "loopback"),
        (format!("http://localhost:{port}/allowed/ok"), "loopback"),
        (format!("http://[::1]:{port}/allowed/ok"), "loopback"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/allowed/ok"),
            "loopback",
        ),
        (format!("http://0.0.0.0:{port}/allowed/ok"), "unspecified"),
        ("http://10.0.0.1/admin".into(), "private (RFC 1918)"),
        ("http://192.168.1.1/".into(), "private (RFC 1918)"),
        (
            "http://169.254.169.254/latest/meta-data/".into(),
            "cloud metadata",
        ),
        (
            "http://[fd00:ec2::254]/latest/meta-data/".into(),
            "cloud metadata",
        ),
    ] {
        let report = common::run(&sandbox, &runbook, json!({"case": "http", "url": url})).await;
        let (error, allowed, outcome) = refusal(&report);
        assert!(
            error.starts_with("denied: "),
            "{url}: {}",
            common::show(&report)
        );
        assert!(error.contains(class), "{url}: {error}");
        assert!(!allowed, "{url}: the trail must show a denial");
        assert!(
            outcome.starts_with("denied: ") && outcome.contains(class),
            "{url}: {outcome}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the loopback service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_cidr_opens_exactly_that_range_and_redirects_are_rechecked() {
    let (port, hits) = start_target().await;
    let sandbox = sandbox(&["127.0.0.1/32"]);
    let runbook = common::prepare(&sandbox, "conformance", Some(GREEDY_MANIFEST));
    let report = common::run(
        &sandbox,
        &runbook,
        json!({"case": "http", "url": format!("http://127.0.0.1:{port}/allowed/ok")}),
    )
    .await;
    assert_eq!(
        report.output,
        Some(json!({"status": 200, "body": "fine"})),
        "{}",
        common::show(&report)
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // ::1 is loopback too, but not in the allowed CIDR.
    let report = common::run(
        &sandbox,
        &runbook,
        json!({"case": "http", "url": format!("http://[::1]:{port}/allowed/ok")}),
    )
    .await;
    assert!(
        refusal(&report).0.contains("loopback"),
        "{}",
        common::show(&report)
    );
    // A granted, allowed URL that redirects to metadata or a private address:
    // refused at that hop.
    for (path, class) in [
        ("metadata", "cloud metadata"),
        ("private", "private (RFC 1918)"),
    ] {
        let url = format!("http://127.0.0.1:{port}/redirect/{path}");
        let report = common::run(&sandbox, &runbook, json!({"case": "http", "url": url})).await;
        let (error, allowed, outcome) = refusal(&report);
        assert!(
            error.contains("redirect refused") && error.contains(class),
            "{path}: {error}"
        );
        assert!(!allowed && outcome.contains(class), "{path}: {outcome}");
        let calls: Vec<bool> = report.capability_calls.iter().map(|c| c.allowed).collect();
        assert_eq!(calls, vec![true, false], "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_fetch_meets_the_same_address_policy() {
    let sandbox = sandbox(&["127.0.0.1/32"]);
    let manifest = GREEDY_MANIFEST.replace("language = \"rust\"", "language = \"js\"");
    let runbook = common::prepare(&sandbox, "js/conformance", Some(&manifest));
    let report = common::run(
        &sandbox,
        &runbook,
        json!({"case": "fetch", "url": "http://169.254.169.254/latest/meta-data/"}),
    )
    .await;
    let error: &Value = &report.output.as_ref().unwrap()["error"];
    assert!(
        error.as_str().unwrap().starts_with("TypeError"),
        "{}",
        common::show(&report)
    );
    let call = &report.capability_calls[0];
    assert!(
        !call.allowed && call.outcome.contains("cloud metadata"),
        "{call:?}"
    );
}
