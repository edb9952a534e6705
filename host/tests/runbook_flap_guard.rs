//! The flap-guard example against a real service agent on 127.0.0.1: waits,
//! restarts with the bearer token, then escalates once its budget is spent.

mod common;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::json;
use std::sync::{Arc, Mutex};
use wolfe::capabilities::secrets::StaticSecrets;

#[tokio::test]
async fn waits_then_restarts_then_escalates_a_flapping_service() {
    let restarts: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = restarts.clone();
    let app = Router::new()
        .route(
            "/health",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/restart",
            post(move |headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    seen.lock().unwrap().push(auth.to_string());
                    "restarting"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "flap-guard", None);
    let (_dir, _store, ns) = common::temp_kv("t", "flap-guard");
    let event = json!({
        "service": "checkout",
        "health_url": format!("{base}/health"),
        "restart_url": format!("{base}/restart"),
        "failures_before_restart": 2,
        "max_restarts": 1,
    });
    let mut actions = Vec::new();
    for _ in 0..4 {
        let mut secrets = StaticSecrets::default();
        secrets.insert("RESTART_TOKEN", "restart-token-42");
        let inputs = common::Inputs {
            secrets,
            kv: Some(ns.clone()),
            ..Default::default()
        };
        let report = common::run_with(&sandbox, &runbook, event.clone(), inputs).await;
        assert!(report.succeeded(), "{}", common::show(&report));
        let output = report.output.unwrap();
        assert_eq!(output["healthy"], false);
        assert_eq!(output["health_detail"], "HTTP 503");
        actions.push(output["action"].as_str().unwrap().to_string());
    }
    // 1st failure: wait; 2nd: restart; after a restart the count starts over,
    // so the 3rd waits and the 4th finds the budget (1) spent.
    assert_eq!(actions, vec!["wait", "restarted", "wait", "escalate"]);
    assert_eq!(*restarts.lock().unwrap(), vec!["Bearer restart-token-42"]);
}
