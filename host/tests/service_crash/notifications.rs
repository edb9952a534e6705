//! Failure notifications through a real `wolfe serve`: a Slack-compatible
//! and a PagerDuty-compatible receiver on loopback get readable messages;
//! a PagerDuty receiver that is not there yet neither fails the execution
//! nor loses the trigger, which arrives once it comes up, followed by the
//! resolve of the retry that succeeded.

use crate::common::server::Server;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// (path, body) of every request a receiver got.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

async fn record(State(seen): State<Seen>, uri: axum::http::Uri, body: String) -> &'static str {
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    seen.lock().unwrap().push((uri.path().to_string(), body));
    "ok"
}

async fn serve(listener: tokio::net::TcpListener, seen: Seen) {
    let app = Router::new()
        .route("/slack/hook", post(record))
        .route("/pd/enqueue", post(record))
        .with_state(seen);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

async fn wait_for(seen: &Seen, n: usize, within: Duration) -> Vec<(String, Value)> {
    let deadline = Instant::now() + within;
    loop {
        let got = seen.lock().unwrap().clone();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

crate::on_every_store! {
    async fn failures_reach_slack_and_pagerduty_even_when_a_receiver_comes_late(store: TestStore) {
    let slack_seen: Seen = Arc::default();
    let slack = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slack_base = format!("http://{}", slack.local_addr().unwrap());
    serve(slack, slack_seen.clone()).await;
    // PagerDuty's port, with nobody listening on it yet.
    let pd_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[
        ("WOLFE_OUTBOUND_ALLOW_CIDRS", "[\"127.0.0.1/32\"]"),
        ("WOLFE_PUBLIC_URL", "https://wolfe.example"),
    ]);
    let api = server.api();
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev").await;
    for (name, value) in [("SLACK_URL", format!("{slack_base}/slack/hook")), ("PD_KEY", "pd-key-1".to_string())] {
        api.expect(201, "PUT", &format!("/v1/tenants/acme/secrets/{name}"), Some(&t.admin), Some(json!({"value": value}))).await;
    }
    api.expect(200, "PUT", "/v1/tenants/acme/connectors/chat", Some(&t.admin),
        Some(json!({"kind": "slack", "webhook_url_secret": "SLACK_URL"}))).await;
    api.expect(200, "PUT", "/v1/tenants/acme/connectors/pager", Some(&t.admin),
        Some(json!({"kind": "pagerduty", "routing_key_secret": "PD_KEY", "events_url": format!("http://{pd_addr}/pd/enqueue")}))).await;
    api.expect(200, "PUT", "/v1/tenants/acme/sources/am", Some(&t.author), Some(json!({"auth": {"type": "bearer"}}))).await;
    api.expect(200, "PUT", "/v1/tenants/acme/rules/flaky", Some(&t.author), Some(json!({
        "source": "am", "runbook": "conformance", "environment": "dev",
        "params": {"case": "fail_times", "key": "{{ data.key }}", "times": 1},
        "policy": {
            "retry": {"max_attempts": 2, "initial_delay_secs": 1, "max_delay_secs": 1},
            "notify": [{"on": ["failed", "retries_exhausted"], "connector": "chat"},
                       {"on": ["failed"], "connector": "pager"}],
        },
    }))).await;

    let posted = api.expect(202, "POST", "/v1/hooks/acme/am", Some(&t.sender), Some(json!({"key": "n1"}))).await;
    let first = posted["executions"][0].as_str().unwrap().to_string();
    let failed = api.wait_terminal("acme", &t.auditor, &first).await;
    assert_eq!(failed["status"], "failed", "the notifications change nothing: {failed}");

    // Slack hears at once, with what an on-call engineer needs.
    let slack_got = wait_for(&slack_seen, 1, Duration::from_secs(10)).await;
    assert_eq!(slack_got.len(), 1, "{slack_got:?}");
    let text = slack_got[0].1["text"].as_str().unwrap();
    assert!(text.contains("conformance") && text.contains("failed") && text.contains("dev"), "{text}");
    let blocks = slack_got[0].1["blocks"].to_string();
    assert!(blocks.contains(&format!("https://wolfe.example/executions/{first}")), "{blocks}");
    assert!(blocks.contains("attempt 1"), "the error is in the message: {blocks}");

    // PagerDuty comes up late: the trigger was kept and arrives, then the
    // resolve of the successful retry — in that order.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let pd_seen: Seen = Arc::default();
    serve(tokio::net::TcpListener::bind(pd_addr).await.unwrap(), pd_seen.clone()).await;
    let pd_got = wait_for(&pd_seen, 2, Duration::from_secs(30)).await;
    assert_eq!(pd_got.len(), 2, "{pd_got:?}");
    let (trigger, resolve) = (&pd_got[0].1, &pd_got[1].1);
    assert_eq!(trigger["event_action"], "trigger", "{trigger}");
    assert_eq!(trigger["routing_key"], "pd-key-1");
    assert_eq!(trigger["dedup_key"], first.as_str());
    assert_eq!(trigger["payload"]["custom_details"]["runbook"], "conformance");
    assert_eq!(resolve["event_action"], "resolve", "{resolve}");
    assert_eq!(resolve["dedup_key"], first.as_str(), "the retry resolves the first run's incident");

    // The outcomes are in the records.
    let deadline = Instant::now() + Duration::from_secs(5);
    let record = loop {
        let r = api.expect(200, "GET", &format!("/v1/tenants/acme/executions/{first}"), Some(&t.auditor), None).await;
        if r["notifications"].as_array().map_or(0, Vec::len) == 2 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let outcomes: Vec<(String, String, String)> = record["notifications"].as_array().unwrap().iter()
        .map(|o| (o["connector"].as_str().unwrap().into(), o["on"].as_str().unwrap().into(), o["outcome"].as_str().unwrap().into()))
        .collect();
    assert!(outcomes.contains(&("chat".into(), "failed".into(), "delivered".into())), "{outcomes:?}");
    assert!(outcomes.contains(&("pager".into(), "failed".into(), "delivered".into())), "{outcomes:?}");
    let pager = record["notifications"].as_array().unwrap().iter().find(|o| o["connector"] == "pager").unwrap();
    assert!(pager["attempts"].as_u64().unwrap() >= 2, "it was retried: {pager}");
    assert_eq!(record["status"], "failed");
    // Nothing leaks: the credentials are in no record.
    assert!(!record.to_string().contains("pd-key-1") && !record.to_string().contains("/slack/hook"));
    // No second Slack message: the retry succeeded, and `succeeded` was not asked for.
    assert_eq!(slack_seen.lock().unwrap().len(), 1);
    }
}
