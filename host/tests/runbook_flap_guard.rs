//! The flap-guard example against a real service agent on 127.0.0.1: waits,
//! restarts with the bearer token, then escalates once its budget is spent;
//! two alerts handled at once cannot both take the last restart (on sled and
//! on PostgreSQL); and the component built against WIT 0.1.0 still runs.
//! Dry runs (of flap-guard through the service, and of every way out of the
//! sandbox) are in `dry_run`.

mod common;
// A test binary's root looks for `mod x;` beside itself (tests/x.rs, which
// cargo would build as a test binary of its own): hence the path.
#[path = "runbook_flap_guard/dry_run.rs"]
mod dry_run;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::json;
use std::sync::{Arc, Mutex};
use wolfe::capabilities::secrets::StaticSecrets;

#[tokio::test]
async fn waits_then_restarts_then_escalates_a_flapping_service() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "flap-guard", None);
    waits_then_restarts_then_escalates(&sandbox, &runbook).await;
}

/// A deployed version is immutable: the flap-guard component as built
/// against `wolfe:runbook@0.1.0` and `@0.1.1` (kept as bytes in the
/// repository) links and behaves the same on today's host.
#[tokio::test]
async fn the_component_built_against_wit_0_1_0_still_runs() {
    runs_as_before("wit-0.1.0").await;
}

#[tokio::test]
async fn the_component_built_against_wit_0_1_1_still_runs() {
    runs_as_before("wit-0.1.1").await;
}

async fn runs_as_before(fixture: &str) {
    let fixtures = common::repo_root().join("tests/fixtures").join(fixture);
    let manifest = std::fs::read_to_string(fixtures.join("flap-guard.toml")).unwrap();
    let manifest = wolfe::manifest::Manifest::parse(&manifest).unwrap();
    let wasm = std::fs::read(fixtures.join("flap_guard.wasm")).unwrap();
    let sandbox = common::sandbox();
    let runbook = sandbox.prepare(&manifest, &wasm).expect("prepare");
    waits_then_restarts_then_escalates(&sandbox, &runbook).await;
}

async fn waits_then_restarts_then_escalates(
    sandbox: &wolfe::sandbox::Sandbox,
    runbook: &wolfe::sandbox::PreparedRunbook,
) {
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
        let report = common::run_with(sandbox, runbook, event.clone(), inputs).await;
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

/// Two alerts for one service handled at the same moment, with one restart
/// left in the budget: exactly one execution restarts, the other escalates.
/// The health endpoint answers both checks together, so both executions
/// read the state before either writes it; only compare-and-swap keeps the
/// second from restarting too.
async fn concurrent_alerts_take_the_last_restart_once(store: wolfe::store::Store) {
    let restarts = Arc::new(Mutex::new(0usize));
    let both_checking = Arc::new(tokio::sync::Barrier::new(2));
    let seen = restarts.clone();
    let app = Router::new()
        .route(
            "/health",
            get(move || {
                let both_checking = both_checking.clone();
                async move {
                    both_checking.wait().await;
                    (StatusCode::SERVICE_UNAVAILABLE, "down")
                }
            }),
        )
        .route(
            "/restart",
            post(move || {
                let seen = seen.clone();
                async move {
                    *seen.lock().unwrap() += 1;
                    "restarting"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "flap-guard", None);
    let ns = common::kv_namespace(&store, "t", "flap-guard");
    let event = json!({
        "service": "checkout",
        "health_url": format!("{base}/health"),
        "restart_url": format!("{base}/restart"),
        "failures_before_restart": 1,
        "max_restarts": 1,
    });
    let run = || {
        let inputs = common::Inputs {
            kv: Some(ns.clone()),
            ..Default::default()
        };
        common::run_with(&sandbox, &runbook, event.clone(), inputs)
    };
    let (a, b) = tokio::join!(run(), run());
    let mut actions: Vec<String> = [a, b]
        .into_iter()
        .map(|report| {
            assert!(report.succeeded(), "{}", common::show(&report));
            report.output.unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    actions.sort();
    assert_eq!(actions, vec!["escalate", "restarted"]);
    assert_eq!(
        *restarts.lock().unwrap(),
        1,
        "the service was restarted twice"
    );
    // The counter kept beside the state, by kv.increment.
    let total = ns.get("restarts-total/checkout").await.unwrap();
    assert_eq!(total.as_deref(), Some(&b"1"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_alerts_take_the_last_restart_once_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let store = wolfe::store::Store::open_sled(dir.path()).unwrap();
    concurrent_alerts_take_the_last_restart_once(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_alerts_take_the_last_restart_once_on_postgres() {
    let url = common::postgres::fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let location = wolfe::store::StoreLocation::parse(Some(&url)).unwrap();
    let store = wolfe::store::Store::open(&location, dir.path())
        .await
        .unwrap();
    concurrent_alerts_take_the_last_restart_once(store).await;
}
