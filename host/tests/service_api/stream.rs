//! The live execution stream through a real server: an execution fired
//! after the stream opened arrives as an `execution` event and is followed
//! to its end; one that existed before is not sent again; the stream takes
//! the list's filters but no paging.

use super::common::server::Server;
use super::{error_code, hello_behind_webhook};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The `execution` events' data read from `response` until `done` says
/// enough, or 30 s pass.
async fn read_events(
    response: &mut reqwest::Response,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut text, mut events) = (String::new(), Vec::new());
    while !done(&events) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no more events within 30 s; got {events:?}"))
            .unwrap()
            .expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if block.lines().any(|l| l == "event: execution") {
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                events.push(serde_json::from_str(data).unwrap());
            }
        }
    }
    events
}

#[tokio::test]
async fn executions_arrive_on_the_stream_as_they_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    hello_behind_webhook(
        &api,
        &t,
        json!({"auth": {"type": "bearer"}}),
        (
            "all",
            json!({"source": "am", "runbook": "hello", "environment": "dev"}),
        ),
    )
    .await;
    let post = |service: &'static str| {
        api.expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(json!({"service": service})),
        )
    };
    let before = post("before").await["executions"][0]
        .as_str()
        .unwrap()
        .to_string();
    api.wait_terminal("acme", &t.auditor, &before).await;

    let mut stream = api
        .http
        .get(format!(
            "{}/v1/tenants/acme/executions/stream?runbook=hello",
            api.base
        ))
        .bearer_auth(&t.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let fired = post("after").await["executions"][0]
        .as_str()
        .unwrap()
        .to_string();
    let events = read_events(&mut stream, |events| {
        events
            .iter()
            .any(|e| e["id"] == fired.as_str() && e["status"] == "succeeded")
    })
    .await;
    assert!(
        events.iter().all(|e| e["id"] != before.as_str()),
        "an execution from before the stream was sent: {events:?}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["runbook"], "hello");
    assert_eq!(last["rule"], "all");
    assert_eq!(last["denied_calls"], 0);
    assert!(last["finished_at"].is_string(), "{last}");

    for (query, named) in [("limit=5", "limit"), ("status=nope", "status")] {
        let v = api
            .expect(
                400,
                "GET",
                &format!("/v1/tenants/acme/executions/stream?{query}"),
                Some(&t.auditor),
                None,
            )
            .await;
        assert_eq!(error_code(&v), "invalid_request");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(named),
            "{v}"
        );
    }
    api.expect(
        403,
        "GET",
        "/v1/tenants/acme/executions/stream",
        Some(&t.sender),
        None,
    )
    .await;
    // Another tenant's stream does not exist for this tenant's tokens.
    let other = api.tenant("globex").await;
    api.expect(
        404,
        "GET",
        "/v1/tenants/acme/executions/stream",
        Some(&other.auditor),
        None,
    )
    .await;
}
