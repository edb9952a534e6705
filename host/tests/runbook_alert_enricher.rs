//! The JavaScript alert-enricher example against a stand-in service catalog
//! and a Slack-compatible webhook on 127.0.0.1: enriches, posts, degrades
//! when the catalog is down, and cannot post anywhere it was not granted.

mod common;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Stand {
    catalog_up: bool,
    posts: Vec<Value>,
}

type Shared = Arc<Mutex<Stand>>;

async fn catalog(
    State(s): State<Shared>,
    Path(service): Path<String>,
) -> (StatusCode, axum::Json<Value>) {
    if !s.lock().unwrap().catalog_up {
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})));
    }
    match service.as_str() {
        "checkout" => (
            StatusCode::OK,
            axum::Json(
                json!({"team": "payments", "oncall": "#payments-oncall", "tier": 1,
                              "runbook_url": "https://wiki.example/checkout"}),
            ),
        ),
        _ => (StatusCode::NOT_FOUND, axum::Json(json!({}))),
    }
}

async fn slack(State(s): State<Shared>, axum::Json(body): axum::Json<Value>) -> &'static str {
    s.lock().unwrap().posts.push(body);
    "ok"
}

fn notification(base: &str, webhook: &str) -> Value {
    json!({
        "catalog_url": format!("{base}/catalog/services"),
        "webhook_url": webhook,
        "alert": {"status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "page"},
             "annotations": {"summary": "5xx above 5%"}},
            {"status": "resolved", "labels": {"alertname": "DiskFull", "service": "ledger", "severity": "warning"}}
        ]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enriches_posts_and_degrades() {
    let stand: Shared = Arc::new(Mutex::new(Stand {
        catalog_up: true,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/catalog/services/{service}", get(catalog))
        .route("/slack/{team}/{channel}", post(slack))
        .route("/elsewhere/hook", post(slack))
        .with_state(stand.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sandbox = common::sandbox();
    let (manifest, wasm) = tokio::task::spawn_blocking(|| common::guest("js/alert-enricher"))
        .await
        .unwrap();
    let runbook = sandbox.prepare(&manifest, &wasm).unwrap();
    let webhook = format!("{base}/slack/T1/B1");

    // Catalog up: checkout is enriched, ledger is unknown to the catalog.
    let r = common::run(&sandbox, &runbook, notification(&base, &webhook)).await;
    assert!(r.succeeded(), "{}", common::show(&r));
    let out = r.output.as_ref().unwrap();
    assert_eq!(
        out["alerts"][0],
        json!({"name": "HighErrorRate", "service": "checkout", "status": "firing", "team": "payments", "enriched": true})
    );
    assert_eq!(out["alerts"][1]["enriched"], false);
    let post = stand
        .lock()
        .unwrap()
        .posts
        .pop()
        .expect("posted to the webhook");
    let text = post["text"].as_str().unwrap();
    assert!(text.starts_with("2 alerts"), "{text}");
    assert!(
        text.contains("[FIRING] HighErrorRate on checkout (page)"),
        "{text}"
    );
    assert!(
        post["blocks"][0]["fields"]
            .to_string()
            .contains("#payments-oncall")
    );
    assert!(
        post["blocks"][1]["fields"]
            .to_string()
            .contains("not in the catalog")
    );
    let ops: Vec<(&str, bool)> = r
        .capability_calls
        .iter()
        .map(|c| (c.operation.as_str(), c.allowed))
        .collect();
    assert_eq!(ops, vec![("GET", true), ("GET", true), ("POST", true)]);

    // Catalog down: still posted, and the summary says why it is thin.
    stand.lock().unwrap().catalog_up = false;
    let r = common::run(&sandbox, &runbook, notification(&base, &webhook)).await;
    assert!(r.succeeded(), "{}", common::show(&r));
    let post = stand
        .lock()
        .unwrap()
        .posts
        .pop()
        .expect("posted while the catalog is down");
    assert!(
        post["blocks"][0]["fields"]
            .to_string()
            .contains("catalog answered 503")
    );

    // A webhook URL outside the grants: refused by the host, nothing posted.
    let r = common::run(
        &sandbox,
        &runbook,
        notification(&base, &format!("{base}/elsewhere/hook")),
    )
    .await;
    assert_eq!(
        r.status,
        wolfe::sandbox::report::ExecutionStatus::Failed,
        "{}",
        common::show(&r)
    );
    let last = r.capability_calls.last().unwrap();
    assert_eq!((last.operation.as_str(), last.allowed), ("POST", false));
    assert!(last.outcome.starts_with("denied: "), "{}", last.outcome);
    assert!(stand.lock().unwrap().posts.is_empty());
}
