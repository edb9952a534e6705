//! SQS sources against a real SQS-compatible server (moto) on 127.0.0.1:
//! happy path, batches, SNS envelopes, poison messages to the DLQ, a crash
//! between the durable write and the delete, removal, unreachable endpoints.
//! Schedule sources, the other kind the host fires itself, are in
//! `schedule`.

mod common;
#[path = "sqs_source/schedule.rs"]
mod schedule;

use common::moto::{self, Moto};
use common::server::{Api, Server, Tokens};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn service(
    store: &common::server::TestStore,
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> (Server, Api) {
    let mut env: Vec<(&str, &str)> = moto::SERVER_ENV.to_vec();
    env.extend_from_slice(extra);
    let server = Server::start_on(store, dir, &env);
    let api = server.api();
    (server, api)
}

async fn setup(api: &Api) -> Tokens {
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    api.expect(200, "PUT", "/v1/tenants/acme/rules/echo", Some(&t.author),
        Some(json!({"runbook": "conformance", "environment": "dev", "params": {"case": "echo", "n": "{{ data.n }}", "kind": "{{ type }}"}}))).await;
    t
}

async fn put_sqs_source(
    api: &Api,
    t: &Tokens,
    name: &str,
    queue_url: &str,
    endpoint: &str,
    extra: Value,
) {
    let mut spec = json!({
        "type": "sqs", "queue_url": queue_url, "region": moto::REGION, "endpoint_url": endpoint,
        "wait_time_seconds": 1, "visibility_timeout": 1, "max_messages": 10, "pollers": 1,
    });
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    api.expect(
        200,
        "PUT",
        &format!("/v1/tenants/acme/sources/{name}"),
        Some(&t.author),
        Some(spec),
    )
    .await;
}

async fn source_metrics(api: &Api, t: &Tokens, name: &str) -> Value {
    api.expect(
        200,
        "GET",
        &format!("/v1/tenants/acme/sources/{name}"),
        Some(&t.auditor),
        None,
    )
    .await["metrics"]
        .clone()
}

/// Polls until `check` holds or the timeout passes.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn succeeded_executions(api: &Api, t: &Tokens) -> Vec<Value> {
    let page = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?status=succeeded&limit=500",
            Some(&t.auditor),
            None,
        )
        .await;
    page["executions"].as_array().unwrap().clone()
}

crate::on_every_store! {
    async fn messages_become_executions_and_are_deleted_after_the_durable_write(store: TestStore) {
    let moto = Moto::start();
    let sqs = moto.client();
    let (queue, _) = moto::create_queue(&sqs, "happy", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (_server, api) = service(&store, dir.path(), &[]).await;
    let t = setup(&api).await;
    put_sqs_source(
        &api,
        &t,
        "alerts",
        &queue,
        &moto.endpoint,
        json!({"type_path": "kind"}),
    )
    .await;

    let sent = sqs
        .send_message()
        .queue_url(&queue)
        .message_body(r#"{"kind": "disk", "n": 1}"#)
        .message_attributes(
            "team",
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("db")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let message_id = sent.message_id().unwrap().to_string();
    eventually("the execution", Duration::from_secs(20), || async {
        !succeeded_executions(&api, &t).await.is_empty()
    })
    .await;
    let execution = &succeeded_executions(&api, &t).await[0];
    assert_eq!(
        execution["event"],
        message_id.as_str(),
        "the event id is the MessageId"
    );
    assert_eq!(
        execution["output"],
        json!({"case": "echo", "n": 1, "kind": "disk"})
    );
    eventually("the delete", Duration::from_secs(10), || async {
        moto::depth(&sqs, &queue).await == 0
    })
    .await;
    let metrics = source_metrics(&api, &t, "alerts").await;
    assert_eq!(
        (
            metrics["received"].as_u64(),
            metrics["accepted"].as_u64(),
            metrics["rejected"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );

    // A batch: every message, exactly one execution each.
    for chunk in (0..40).collect::<Vec<u32>>().chunks(10) {
        let entries = chunk.iter().map(|n| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .message_body(json!({"kind": "batch", "n": n}).to_string())
                .build()
                .unwrap()
        });
        sqs.send_message_batch()
            .queue_url(&queue)
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .unwrap();
    }
    eventually("40 more executions", Duration::from_secs(60), || async {
        succeeded_executions(&api, &t).await.len() == 41
    })
    .await;
    let mut ns: Vec<u64> = succeeded_executions(&api, &t)
        .await
        .iter()
        .filter(|e| e["output"]["kind"] == "batch")
        .map(|e| e["output"]["n"].as_u64().unwrap())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..40).collect::<Vec<u64>>());
    eventually("the queue to drain", Duration::from_secs(10), || async {
        moto::depth(&sqs, &queue).await == 0
    })
    .await;

    // The metrics are exported for Prometheus too.
    let response = api
        .http
        .get(format!("{}/metrics", api.base))
        .bearer_auth(common::server::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"wolfe_sqs_events_accepted_total{tenant="acme",source="alerts"} 41"#),
        "{text}"
    );
    api.expect(403, "GET", "/metrics", Some(&t.admin), None)
        .await;
}
}

crate::on_every_store! {
    async fn sns_envelopes_are_unwrapped(store: TestStore) {
    let moto = Moto::start();
    let sqs = moto.client();
    let (queue, _) = moto::create_queue(&sqs, "sns", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (_server, api) = service(&store, dir.path(), &[]).await;
    let t = setup(&api).await;
    put_sqs_source(
        &api,
        &t,
        "atlas",
        &queue,
        &moto.endpoint,
        json!({"format": "sns", "type_path": "kind"}),
    )
    .await;
    let envelope = json!({
        "Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:atlas",
        "Subject": "alert", "Message": json!({"kind": "cpu", "n": 7}).to_string(), "Timestamp": "2026-11-21T06:00:00Z",
        "MessageAttributes": {"severity": {"Type": "String", "Value": "page"}},
    });
    sqs.send_message()
        .queue_url(&queue)
        .message_body(envelope.to_string())
        .send()
        .await
        .unwrap();
    eventually("the execution", Duration::from_secs(20), || async {
        !succeeded_executions(&api, &t).await.is_empty()
    })
    .await;
    let execution = &succeeded_executions(&api, &t).await[0];
    assert_eq!(
        execution["output"],
        json!({"case": "echo", "n": 7, "kind": "cpu"})
    );
}
}

crate::on_every_store! {
    async fn poison_messages_reach_the_dead_letter_queue_and_are_listed(store: TestStore) {
    let moto = Moto::start();
    let sqs = moto.client();
    let (queue, dlq) = moto::create_queue(&sqs, "poison", Some(2)).await;
    let dlq = dlq.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_server, api) = service(&store, dir.path(), &[]).await;
    let t = setup(&api).await;
    put_sqs_source(&api, &t, "q", &queue, &moto.endpoint, json!({})).await;
    let sent = sqs
        .send_message()
        .queue_url(&queue)
        .message_body("this is not json")
        .send()
        .await
        .unwrap();
    let id = sent.message_id().unwrap().to_string();

    eventually("the move to the DLQ", Duration::from_secs(30), || async {
        moto::depth(&sqs, &dlq).await == 1
    })
    .await;
    let rejected = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/sources/q/rejected",
            Some(&t.auditor),
            None,
        )
        .await;
    let entry = &rejected["rejected"][0];
    assert_eq!(entry["message_id"], id.as_str());
    assert!(
        entry["reason"].as_str().unwrap().contains("not valid JSON"),
        "{entry}"
    );
    assert_eq!(
        entry["receive_count"], 2,
        "rejected on each of its 2 receives, then moved"
    );
    assert_eq!(entry["body_excerpt"], "this is not json");
    let metrics = source_metrics(&api, &t, "q").await;
    assert_eq!(metrics["rejected"], 2);
    assert_eq!(metrics["accepted"], 0);
    assert!(succeeded_executions(&api, &t).await.is_empty());
}
}

crate::on_every_store! {
    async fn a_crash_between_the_durable_write_and_the_delete_runs_nothing_twice(store: TestStore) {
    let moto = Moto::start();
    let sqs = moto.client();
    let (queue, _) = moto::create_queue(&sqs, "crash", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut server, api) = service(&store, dir.path(), &[]).await;
    let t = setup(&api).await;
    put_sqs_source(&api, &t, "q", &queue, &moto.endpoint, json!({})).await;
    api.expect(
        204,
        "DELETE",
        "/v1/tenants/acme/sources/q",
        Some(&t.author),
        None,
    )
    .await;
    server.kill();

    // Restart with the fail point: the host aborts after the durable write.
    let fail_point = format!("{}=return", wolfe::ingest::sqs::poller::CRASH_BEFORE_DELETE);
    let (mut server, api) = service(&store,
        dir.path(),
        &[("FAILPOINTS", fail_point.as_str())],
    )
    .await;
    put_sqs_source(&api, &t, "q", &queue, &moto.endpoint, json!({})).await;
    let sent = sqs
        .send_message()
        .queue_url(&queue)
        .message_body(r#"{"n": 99}"#)
        .send()
        .await
        .unwrap();
    let id = sent.message_id().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.is_running() {
        assert!(Instant::now() < deadline, "the fault hook did not fire");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        moto::depth(&sqs, &queue).await,
        1,
        "the message was not deleted"
    );

    // Restart normally: the message is redelivered, recognised, deleted.
    let (_server, api) = service(&store, dir.path(), &[]).await;
    eventually(
        "the redelivery to be deleted",
        Duration::from_secs(20),
        || async { moto::depth(&sqs, &queue).await == 0 },
    )
    .await;
    eventually("the execution", Duration::from_secs(20), || async {
        !succeeded_executions(&api, &t).await.is_empty()
    })
    .await;
    let page = api
        .expect(
            200,
            "GET",
            &format!("/v1/tenants/acme/executions?event_id={id}"),
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(
        page["executions"].as_array().unwrap().len(),
        1,
        "exactly one execution: {page}"
    );
    let metrics = source_metrics(&api, &t, "q").await;
    assert_eq!(
        (metrics["duplicates"].as_u64(), metrics["accepted"].as_u64()),
        (Some(1), Some(0)),
        "{metrics}"
    );
}
}

crate::on_every_store! {
    async fn a_removed_source_stops_polling_and_an_unreachable_one_backs_off(store: TestStore) {
    let moto = Moto::start();
    let sqs = moto.client();
    let (queue, _) = moto::create_queue(&sqs, "removed", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (_server, api) = service(&store, dir.path(), &[]).await;
    let t = setup(&api).await;
    put_sqs_source(&api, &t, "q", &queue, &moto.endpoint, json!({})).await;
    api.expect(
        204,
        "DELETE",
        "/v1/tenants/acme/sources/q",
        Some(&t.author),
        None,
    )
    .await;
    sqs.send_message()
        .queue_url(&queue)
        .message_body(r#"{"n": 1}"#)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        moto::depth(&sqs, &queue).await,
        1,
        "nobody polls a removed source"
    );
    assert!(succeeded_executions(&api, &t).await.is_empty());

    // Nothing listens on this port: poll errors, with back-off, and the
    // service keeps serving.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    put_sqs_source(
        &api,
        &t,
        "dead",
        &format!("{dead}/123456789012/q"),
        &dead,
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let metrics = source_metrics(&api, &t, "dead").await;
    let errors = metrics["poll_errors"].as_u64().unwrap();
    // 0.5 s, 1 s, 2 s, 4 s… between attempts: a handful in 4 s, not hundreds.
    assert!((1..=6).contains(&errors), "poll errors in 4 s: {errors}");
    assert!(
        metrics["last_error"].as_str().unwrap().len() > 10,
        "{metrics}"
    );
    assert_eq!(api.call("GET", "/healthz", None, None).await.0, 200);
}
}

/// A disabled SQS source stops polling and leaves its messages in the
/// queue; enabled again, it takes them.
#[tokio::test]
async fn a_disabled_source_leaves_its_messages_in_the_queue_until_enabled() {
    let store = common::server::TestStore::sled();
    let moto = Moto::start();
    let sqs = moto.client();
    let (queue, _) = moto::create_queue(&sqs, "paused", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (_server, api) = service(&store, dir.path(), &[]).await;
    let t = setup(&api).await;
    put_sqs_source(
        &api,
        &t,
        "q",
        &queue,
        &moto.endpoint,
        json!({"enabled": false}),
    )
    .await;
    sqs.send_message()
        .queue_url(&queue)
        .message_body(r#"{"n": 7}"#)
        .send()
        .await
        .unwrap();
    // Long enough for a few 1 s receives, were anyone polling.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        moto::depth(&sqs, &queue).await,
        1,
        "a disabled source polled"
    );
    assert!(succeeded_executions(&api, &t).await.is_empty());

    put_sqs_source(
        &api,
        &t,
        "q",
        &queue,
        &moto.endpoint,
        json!({"enabled": true}),
    )
    .await;
    eventually(
        "the waiting message to run",
        Duration::from_secs(30),
        || async { succeeded_executions(&api, &t).await.len() == 1 },
    )
    .await;
    eventually(
        "the message to be deleted",
        Duration::from_secs(30),
        || async { moto::depth(&sqs, &queue).await == 0 },
    )
    .await;
}
