//! The http capability against a real HTTP server on 127.0.0.1: granted
//! requests go through, everything else is denied to the guest, recorded in
//! the trail, and never reaches the server.

mod common;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use wolfe::capabilities::secrets::StaticSecrets;
use wolfe::sandbox::report::ExecutionStatus;

/// A server that records every path it serves.
struct TestServer {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
}

async fn start_server() -> TestServer {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let recorded = hits.clone();
    let app = Router::new()
        .route("/allowed/ok", get(|| async { "fine" }))
        .route("/allowed/echo", post(|body: String| async move { body }))
        .route(
            "/allowed/auth",
            get(|headers: HeaderMap| async move {
                headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_string()
            }),
        )
        .route(
            "/allowed/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/allowed/big",
            get(|| async { "z".repeat(5 * 1024 * 1024) }),
        )
        .route(
            "/redirect/to-allowed",
            get(|| async { redirect("/allowed/ok") }),
        )
        .route(
            "/redirect/to-denied",
            get(|| async { redirect("/secret/admin") }),
        )
        .route("/secret/admin", get(|| async { "the crown jewels" }))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let recorded = recorded.clone();
                async move {
                    recorded.lock().unwrap().push(req.uri().path().to_string());
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestServer { base, hits }
}

fn redirect(to: &str) -> impl IntoResponse {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())])
}

impl TestServer {
    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

async fn call(
    server: &TestServer,
    event: Value,
) -> (Value, wolfe::sandbox::report::ExecutionReport) {
    call_with(server, event, StaticSecrets::default()).await
}

async fn call_with(
    server: &TestServer,
    mut event: Value,
    secrets: StaticSecrets,
) -> (Value, wolfe::sandbox::report::ExecutionReport) {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    event["case"] = json!("http");
    let path = event["path"].as_str().unwrap().to_string();
    event["url"] = json!(format!("{}{path}", server.base));
    let inputs = common::Inputs {
        secrets,
        ..Default::default()
    };
    let report = common::run_with(&sandbox, &runbook, event, inputs).await;
    assert_eq!(
        report.status,
        ExecutionStatus::Succeeded,
        "{}",
        common::show(&report)
    );
    (report.output.clone().unwrap(), report)
}

#[tokio::test]
async fn a_granted_request_reaches_the_server_and_is_recorded() {
    let server = start_server().await;
    let (out, report) = call(&server, json!({"path": "/allowed/ok"})).await;
    assert_eq!(out, json!({"status": 200, "body": "fine"}));
    assert_eq!(report.capability_calls.len(), 1);
    let call = &report.capability_calls[0];
    assert_eq!(
        (call.interface.as_str(), call.operation.as_str()),
        ("http", "GET")
    );
    assert_eq!(call.target, format!("{}/allowed/ok", server.base));
    assert!(call.allowed);
    assert_eq!(call.outcome, "200");
    assert_eq!(server.hits(), vec!["/allowed/ok"]);
}

#[tokio::test]
async fn a_post_body_goes_through() {
    let server = start_server().await;
    let (out, _) = call(
        &server,
        json!({"path": "/allowed/echo", "method": "POST", "body": "ping"}),
    )
    .await;
    assert_eq!(out, json!({"status": 200, "body": "ping"}));
}

#[tokio::test]
async fn an_undeclared_url_is_denied_and_never_sent() {
    let server = start_server().await;
    let (out, report) = call(&server, json!({"path": "/secret/admin"})).await;
    let error = out["error"].as_str().unwrap();
    assert!(error.starts_with("denied: URL"), "{error}");
    assert!(error.contains("matches no http grant"), "{error}");
    let call = &report.capability_calls[0];
    assert!(!call.allowed);
    assert!(call.outcome.starts_with("denied:"));
    assert!(
        server.hits().is_empty(),
        "the server must not be contacted: {:?}",
        server.hits()
    );
}

#[tokio::test]
async fn an_ungranted_method_is_denied() {
    let server = start_server().await;
    let (out, report) = call(&server, json!({"path": "/allowed/ok", "method": "DELETE"})).await;
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("method DELETE is not granted"),
        "{out}"
    );
    assert!(!report.capability_calls[0].allowed);
    assert!(server.hits().is_empty());
}

#[tokio::test]
async fn redirects_are_followed_only_to_granted_urls() {
    let server = start_server().await;
    let (out, report) = call(&server, json!({"path": "/redirect/to-allowed"})).await;
    assert_eq!(out, json!({"status": 200, "body": "fine"}));
    let outcomes: Vec<&str> = report
        .capability_calls
        .iter()
        .map(|c| c.outcome.as_str())
        .collect();
    assert_eq!(outcomes, vec!["302", "200"]);

    let (out, report) = call(&server, json!({"path": "/redirect/to-denied"})).await;
    assert!(
        out["error"].as_str().unwrap().contains("redirect refused"),
        "{out}"
    );
    let last = report.capability_calls.last().unwrap();
    assert!(!last.allowed);
    assert!(last.target.ends_with("/secret/admin"));
    assert!(!server.hits().contains(&"/secret/admin".to_string()));
}

#[tokio::test]
async fn size_time_and_connection_failures_come_back_as_errors() {
    let server = start_server().await;
    let (out, _) = call(&server, json!({"path": "/allowed/big"})).await;
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .starts_with("limited: response body larger"),
        "{out}"
    );

    let (out, report) = call(&server, json!({"path": "/allowed/slow", "timeout_ms": 200})).await;
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .starts_with("limited: request timed out"),
        "{out}"
    );
    assert!(report.duration_ms < 3_000);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = TestServer {
        base: format!("http://127.0.0.1:{port}"),
        hits: Default::default(),
    };
    let (out, _) = call(&refused, json!({"path": "/allowed/ok"})).await;
    assert!(
        out["error"].as_str().unwrap().starts_with("failed:"),
        "{out}"
    );
}

#[tokio::test]
async fn a_secret_sent_as_a_header_is_redacted_from_the_record() {
    let server = start_server().await;
    let mut secrets = StaticSecrets::default();
    secrets.insert("API_TOKEN", "s3cr3t-token-value");
    let (out, report) = call_with(
        &server,
        json!({"path": "/allowed/auth", "bearer_secret": "API_TOKEN"}),
        secrets,
    )
    .await;
    // The server really received the token...
    assert_eq!(out["status"], 200);
    // ...but the record shows only the redaction marker.
    assert_eq!(out["body"], "Bearer [REDACTED]");
    assert!(!common::show(&report).contains("s3cr3t-token-value"));
}
