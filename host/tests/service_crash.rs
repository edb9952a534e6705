//! Crash test: a `wolfe serve` child under concurrent webhook load is
//! SIGKILLed several times and restarted on the same data directory.
//! Afterwards every event that got a 202 has exactly one terminal execution
//! per matching rule: none lost, none run to completion twice.

mod common;
// A test binary's root looks for `mod x;` beside itself: hence the path.
#[path = "service_crash/chain.rs"]
mod chain;
#[path = "service_crash/lifecycle.rs"]
mod lifecycle;
#[path = "service_crash/notifications.rs"]
mod notifications;
#[path = "service_crash/retries.rs"]
mod retries;

use common::server::Server;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

const KILLS: usize = 4;
const CLIENTS: usize = 4;
/// Pause between one client's posts: about 600 events a second in all,
/// enough to keep executions in flight at every kill, small enough to drain fast.
const PACE: Duration = Duration::from_millis(5);

crate::on_every_store! {
    async fn acknowledged_events_survive_repeated_sigkill(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "hello", "dev").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/load",
        Some(&t.author),
        Some(json!({"auth": {"type": "bearer"}, "id": "id"})),
    )
    .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/greet",
        Some(&t.author),
        Some(json!({"runbook": "hello", "environment": "dev"})),
    )
    .await;
    // Slow enough that executions are queued and running when the kill lands.
    api.expect(200, "PUT", "/v1/tenants/acme/rules/work", Some(&t.author),
        Some(json!({"runbook": "conformance", "environment": "dev", "params": {"case": "sleep_ms", "ms": 15, "n": "{{ data.n }}"}}))).await;

    let base = Arc::new(RwLock::new(server.base.clone()));
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (base, acked, stop, sender) =
            (base.clone(), acked.clone(), stop.clone(), t.sender.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut n = 0u64;
            while !stop.is_cancelled() {
                n += 1;
                let url = format!("{}/v1/hooks/acme/load", base.read().unwrap());
                let body = json!({"id": format!("c{c}-{n}"), "n": n});
                match http.post(url).bearer_auth(&sender).json(&body).send().await {
                    Ok(r) if r.status() == 202 => {
                        let v: Value = r.json().await.unwrap();
                        acked
                            .lock()
                            .unwrap()
                            .insert(v["event_id"].as_str().unwrap().to_string());
                        tokio::time::sleep(PACE).await;
                    }
                    // Killed mid-request, refused while down, or 503: not acked.
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }

    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(400 + 150 * kill as u64)).await;
        server.kill();
        tokio::time::sleep(Duration::from_millis(50)).await;
        server = Server::start_on(&store, dir.path(), &[]);
        *base.write().unwrap() = server.base.clone();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "the load must be real: only {} events acknowledged",
        acked.len()
    );

    // Let the last server drain, then check every acknowledged event.
    let api = server.api();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let running = api
            .expect(
                200,
                "GET",
                "/v1/tenants/acme/executions?status=running&limit=1",
                Some(&t.auditor),
                None,
            )
            .await;
        let queued = api
            .expect(
                200,
                "GET",
                "/v1/tenants/acme/executions?status=queued&limit=1",
                Some(&t.auditor),
                None,
            )
            .await;
        if running["executions"] == json!([]) && queued["executions"] == json!([]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "executions did not drain"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut resumed = 0;
    for event in &acked {
        let page = api
            .expect(
                200,
                "GET",
                &format!("/v1/tenants/acme/executions?event_id={event}"),
                Some(&t.auditor),
                None,
            )
            .await;
        let executions = page["executions"].as_array().unwrap();
        let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for e in executions {
            assert_eq!(e["status"], "succeeded", "event {event}: {e}");
            *per_rule.entry(e["rule"].as_str().unwrap()).or_default() += 1;
            if e["attempt"].as_u64().unwrap() > 1 {
                resumed += 1;
            }
        }
        assert_eq!(
            per_rule,
            BTreeMap::from([("greet", 1), ("work", 1)]),
            "event {event}"
        );
    }
    eprintln!(
        "crash test: {} acknowledged events, {KILLS} kills, {resumed} executions resumed after a kill",
        acked.len()
    );
}
}
