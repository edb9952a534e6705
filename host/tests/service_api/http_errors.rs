//! What the HTTP layer itself refuses — unknown routes, methods a route does
//! not have, bodies over the limit, clients too slow to send their request —
//! answers the API's JSON error body, and a slow client is disconnected
//! instead of holding a connection. Also: rule `type` and `source` globs.

use super::common::server::{ADMIN_TOKEN, Server};
use super::{error_code, hello_behind_webhook};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn framework_errors_have_the_json_error_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("WOLFE_MAX_BODY_BYTES", "4096")]);
    let api = server.api();
    let t = api.tenant("acme").await;

    // The OpenAPI document is served as committed.
    let served = api.expect(200, "GET", "/v1/openapi.json", None, None).await;
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(served, committed);

    let v = api
        .expect(404, "GET", "/v1/no/such/thing", None, None)
        .await;
    assert_eq!(error_code(&v), "not_found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GET /v1/no/such/thing"),
        "{v}"
    );

    // A route that exists, with a method it does not have.
    let response = api
        .http
        .delete(format!("{}/v1/tenants", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let allow = response.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("POST"), "Allow: {allow}");
    let v: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&v), "method_not_allowed");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("DELETE"),
        "{v}"
    );

    // Over the body limit on an endpoint that takes raw bytes, and on one
    // that takes JSON: both 413 with the JSON body.
    let big = vec![b'x'; 10_000];
    for path in [
        "/v1/tenants/acme/executions/0190b7d0-0000-7000-8000-000000000000/approve",
        "/v1/tenants/acme/quota",
    ] {
        let method = if path.ends_with("quota") {
            "PUT"
        } else {
            "POST"
        };
        let response = api
            .http
            .request(method.parse().unwrap(), format!("{}{path}", api.base))
            .bearer_auth(&t.admin)
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{method} {path}");
        let v: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error_code(&v), "payload_too_large", "{method} {path}: {v}");
    }
}

/// Reads until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut received))
        .await
        .expect("the server kept the connection open")
        .ok();
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slow_clients_are_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("WOLFE_HEADER_READ_TIMEOUT_SECS", "1"),
            ("WOLFE_BODY_READ_TIMEOUT_SECS", "1"),
        ],
    );
    let api = server.api();
    api.tenant("acme").await;
    let address = api.base.trim_start_matches("http://").to_string();

    // Headers never finished.
    let started = Instant::now();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: wolfe\r\n")
        .await
        .unwrap();
    read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed too soon"
    );

    // A body announced and never sent in full.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"PUT /v1/tenants/acme/quota HTTP/1.1\r\nHost: wolfe\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"max_",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stream, Duration::from_secs(10)).await;
    let status_line = answer.lines().next().unwrap_or_default();
    assert!(status_line.starts_with("HTTP/1.1 4"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").map_or(0, |at| at + 4)..];
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{answer}"));
    assert!(v["error"]["code"].is_string(), "{v}");

    // Everyone else is still served.
    api.expect(200, "GET", "/healthz", None, None).await;
}

#[tokio::test]
async fn rule_types_and_sources_are_globs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let test = |rule: serde_json::Value, source: &str, event_type: &str| {
        let api = api.clone();
        let token = t.author.clone();
        let body =
            json!({"rule": rule, "event": {"source": source, "type": event_type, "data": {}}});
        async move {
            api.expect(
                200,
                "POST",
                "/v1/tenants/acme/rules/r/test",
                Some(&token),
                Some(body),
            )
            .await["match"]
                .clone()
        }
    };
    let rule = |source: &str, event_type: &str| json!({"runbook": "hello", "environment": "dev", "source": source, "type": event_type});
    assert_eq!(test(rule("*", "*"), "am", "alert").await["matched"], true);
    assert_eq!(
        test(rule("am", "alert.*"), "am", "alert.firing").await["matched"],
        true
    );
    let miss = test(rule("am", "alert.*"), "am", "page.firing").await;
    assert_eq!(miss["matched"], false, "{miss}");
    assert!(
        miss.to_string().contains("alert.*"),
        "the mismatch names the pattern: {miss}"
    );
    assert_eq!(
        test(rule("prom-*", "*.firing"), "prom-eu", "disk.firing").await["matched"],
        true
    );
    assert_eq!(
        test(rule("prom-*", "*.firing"), "am", "disk.firing").await["matched"],
        false
    );

    // A stored glob rule fires on real webhooks of the types it names.
    hello_behind_webhook(
        &api,
        &t,
        json!({"auth": {"type": "bearer"}, "split": "alerts", "id": "fingerprint", "type_path": "labels.alertname"}),
        ("disks", rule("a*", "Disk*")),
    )
    .await;
    let alerts = json!({"alerts": [
        {"fingerprint": "fp1", "labels": {"alertname": "DiskFull"}},
        {"fingerprint": "fp2", "labels": {"alertname": "DiskSlow"}},
        {"fingerprint": "fp3", "labels": {"alertname": "Latency"}},
    ]});
    let v = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(alerts),
        )
        .await;
    assert_eq!(v["executions"].as_array().unwrap().len(), 2, "{v}");

    // A pattern that can match nothing is refused.
    let v = api
        .expect(
            400,
            "PUT",
            "/v1/tenants/acme/rules/empty",
            Some(&t.author),
            Some(rule("am", "")),
        )
        .await;
    assert!(
        v["error"]["message"].as_str().unwrap().starts_with("type:"),
        "{v}"
    );
}

/// Found by schemathesis: serde fills a struct from an array field by
/// field, so `["zzz"]` created tenant zzz and `[1,2,3,4,5]` set a quota; and
/// a quota past what a signed 64-bit integer holds was stored.
#[tokio::test]
async fn bodies_are_objects_and_quotas_fit_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    for (method, path, token, body) in [
        ("POST", "/v1/tenants", ADMIN_TOKEN, json!(["zzz"])),
        (
            "PUT",
            "/v1/tenants/acme/quota",
            ADMIN_TOKEN,
            json!([1, 2, 3, 4, 5]),
        ),
        (
            "POST",
            "/v1/tenants/acme/executions/x/rerun",
            t.operator.as_str(),
            json!([]),
        ),
        (
            "POST",
            "/v1/tenants/acme/executions/x/approve",
            t.operator.as_str(),
            json!("yes"),
        ),
    ] {
        let v = api.expect(400, method, path, Some(token), Some(body)).await;
        assert_eq!(error_code(&v), "invalid_json", "{method} {path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("JSON object"),
            "{v}"
        );
    }
    api.expect(404, "GET", "/v1/tenants/zzz/quota", Some(ADMIN_TOKEN), None)
        .await;
    let v = api
        .expect(
            400,
            "PUT",
            "/v1/tenants/acme/quota",
            Some(ADMIN_TOKEN),
            Some(json!({"max_timeout_ms": 9223372036854775808u64})),
        )
        .await;
    assert_eq!(error_code(&v), "invalid_request");
    // A rerun of nothing, with no body or a null one, is still a 404 for
    // the missing execution, not a body error.
    api.expect(
        404,
        "POST",
        "/v1/tenants/acme/executions/x/rerun",
        Some(&t.operator),
        Some(json!(null)),
    )
    .await;
}
