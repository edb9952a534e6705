//! The Python kafka-broker-offline example against a fake cluster admin API
//! on 127.0.0.1: restarts only when safe, escalates with reasons otherwise.

mod common;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use wolfe::capabilities::secrets::StaticSecrets;

#[derive(Default)]
struct Cluster {
    offline: Vec<u32>,
    controller: u32,
    restarts: Vec<(u32, String)>,
}

type Shared = Arc<Mutex<Cluster>>;

async fn brokers(State(c): State<Shared>) -> axum::Json<Value> {
    let c = c.lock().unwrap();
    let brokers: Vec<Value> = (1..=4)
        .map(|id| json!({"id": id, "status": if c.offline.contains(&id) { "offline" } else { "online" }}))
        .collect();
    axum::Json(json!({ "brokers": brokers }))
}

async fn diagnostics(
    State(c): State<Shared>,
    Path((_, id)): Path<(String, u32)>,
) -> axum::Json<Value> {
    let c = c.lock().unwrap();
    axum::Json(
        json!({"under_replicated_partitions": 12, "controller": c.controller == id, "disk_free_pct": 41}),
    )
}

async fn restart(
    State(c): State<Shared>,
    Path((_, id)): Path<(String, u32)>,
    headers: HeaderMap,
) -> &'static str {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    c.lock().unwrap().restarts.push((id, auth));
    "restarting"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_only_when_safe() {
    let cluster: Shared = Arc::new(Mutex::new(Cluster {
        offline: vec![3],
        controller: 1,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/api/clusters/{cluster}/brokers", get(brokers))
        .route(
            "/api/clusters/{cluster}/brokers/{id}/diagnostics",
            get(diagnostics),
        )
        .route(
            "/api/clusters/{cluster}/brokers/{id}/restart",
            post(restart),
        )
        .with_state(cluster.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sandbox = common::sandbox();
    let (manifest, wasm) =
        tokio::task::spawn_blocking(|| common::guest("python/kafka-broker-offline"))
            .await
            .unwrap();
    let runbook = sandbox.prepare(&manifest, &wasm).unwrap();
    let (_dir, _store, kv) = common::temp_kv("t", "kafka-broker-offline");
    let event = json!({"cluster": "events-prod", "broker_id": 3, "admin_url": admin_url});
    let run = |kv: std::sync::Arc<dyn wolfe::capabilities::kv::KvProvider>| {
        let (sandbox, runbook, event) = (&sandbox, &runbook, event.clone());
        async move {
            let mut secrets = StaticSecrets::default();
            secrets.insert("KAFKA_ADMIN_TOKEN", "kafka-admin-secret");
            let report = common::run_with(
                sandbox,
                runbook,
                event,
                common::Inputs {
                    secrets,
                    kv: Some(kv),
                    ..Default::default()
                },
            )
            .await;
            assert!(report.succeeded(), "{}", common::show(&report));
            assert!(!common::show(&report).contains("kafka-admin-secret"));
            report.output.unwrap()
        }
    };

    // Only broker 3 is down, it is not the controller, few URPs: restart.
    let out = run(kv.clone()).await;
    assert_eq!(out["action"], "restarted", "{out}");
    assert_eq!(
        cluster.lock().unwrap().restarts,
        vec![(3, "Bearer kafka-admin-secret".to_string())]
    );

    // The same alert again: within the cooldown, so escalate.
    let out = run(kv.clone()).await;
    assert_eq!(out["action"], "escalate");
    assert!(
        out["reasons"][0].as_str().unwrap().contains("cooldown"),
        "{out}"
    );

    // A wider outage: never restart into it.
    cluster.lock().unwrap().offline = vec![1, 3];
    let (_d2, _s2, fresh) = common::temp_kv("t", "kafka-broker-offline");
    let out = run(fresh).await;
    assert_eq!(out["action"], "escalate");
    assert_eq!(out["reasons"], json!(["other brokers are down too: [1]"]));

    // Recovered on its own.
    cluster.lock().unwrap().offline = vec![];
    let (_d3, _s3, fresh) = common::temp_kv("t", "kafka-broker-offline");
    assert_eq!(run(fresh).await["action"], "none");
    assert_eq!(
        cluster.lock().unwrap().restarts.len(),
        1,
        "exactly one restart in all"
    );
}
