//! Dry runs: the runbook runs for real, but only reads go out. Through a
//! real `wolfe serve` for flap-guard (its health check is sent, its restart
//! is not, and its kv state is as it was), and in the sandbox for the other
//! ways out: a JavaScript `fetch()`, connectors, and kv writes. Each case
//! also runs without the dry run, so a test cannot pass by sending nothing.

use crate::common;
use crate::common::server::Server;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use wolfe::capabilities::connectors::{ConnectorSpec, HttpAuth, StaticConnectors};
use wolfe::capabilities::trail::{CapabilityCall, DRY_RUN};

/// Every path a stand-in service was asked for, in order.
type Hits = Arc<Mutex<Vec<String>>>;

/// Serves `app` on 127.0.0.1, recording every request's method and path.
async fn serve(app: Router) -> (String, Hits) {
    let hits: Hits = Arc::default();
    let recorded = hits.clone();
    let app = app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let recorded = recorded.clone();
            async move {
                let hit = format!("{} {}", req.method(), req.uri().path());
                recorded.lock().unwrap().push(hit);
                next.run(req).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, hits)
}

fn hits(hits: &Hits) -> Vec<String> {
    hits.lock().unwrap().clone()
}

/// The trail entry of `operation` on `target` in a served record's JSON.
fn served_call<'a>(record: &'a Value, operation: &str, target: &str) -> &'a Value {
    record["capability_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["operation"] == operation && c["target"] == target)
        .unwrap_or_else(|| panic!("no {operation} {target} in {record:#}"))
}

fn outcomes(calls: &[CapabilityCall]) -> Vec<(&str, &str, bool, &str)> {
    calls
        .iter()
        .map(|c| {
            (
                c.operation.as_str(),
                c.target.as_str(),
                c.allowed,
                c.outcome.as_str(),
            )
        })
        .collect()
}

/// flap-guard, asked to restart at the first failed check with a budget of
/// one restart: the dry run checks health (a GET, sent), decides to restart
/// and "restarts" (a POST, withheld), and counts it in kv (kept in memory
/// only). The real run after it finds no state, so it restarts for real —
/// with one restart already spent it would have escalated — and the one
/// after that escalates, as the real run's state says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_of_flap_guard_checks_health_but_restarts_nothing_and_keeps_no_state() {
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
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                    seen.lock().unwrap().push(auth.unwrap_or("").to_string());
                    "restarting"
                }
            }),
        );
    let (base, service_hits) = serve(app).await;

    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let api = server.api();
    let acme = api.tenant("acme").await;
    api.deploy_guest("acme", &acme.author, "flap-guard", "dev")
        .await;
    api.expect(
        201,
        "PUT",
        "/v1/tenants/acme/secrets/RESTART_TOKEN",
        Some(&acme.admin),
        Some(json!({"value": "restart-token-42"})),
    )
    .await;
    let (health_url, restart_url) = (format!("{base}/health"), format!("{base}/restart"));
    let event = json!({
        "service": "checkout",
        "health_url": health_url,
        "restart_url": restart_url,
        "failures_before_restart": 1,
        "max_restarts": 1,
    });

    let started = api
        .expect(
            202,
            "POST",
            "/v1/tenants/acme/runbooks/flap-guard/run",
            Some(&acme.operator),
            Some(json!({"environment": "dev", "input": event, "dry_run": true})),
        )
        .await;
    let id = started["execution_id"].as_str().unwrap();
    let dry = api.wait_terminal("acme", &acme.operator, id).await;
    assert_eq!(dry["status"], "succeeded", "{dry:#}");
    assert_eq!(dry["dry_run"], true);
    // The runbook took its success path on the synthetic answer.
    assert_eq!(dry["output"]["action"], "restarted", "{dry:#}");
    assert_eq!(hits(&service_hits), vec!["GET /health"]);
    assert!(restarts.lock().unwrap().is_empty());
    let health = served_call(&dry, "GET", &health_url);
    assert_eq!(
        (&health["allowed"], &health["outcome"]),
        (&json!(true), &json!("503"))
    );
    let restart = served_call(&dry, "POST", &restart_url);
    assert_eq!(
        (
            &restart["interface"],
            &restart["allowed"],
            &restart["outcome"]
        ),
        (&json!("http"), &json!(true), &json!(DRY_RUN)),
        "{dry:#}"
    );
    // The audit log says the run could change nothing.
    let audit = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/audit?action=runbook.run",
            Some(&acme.auditor),
            None,
        )
        .await;
    assert_eq!(
        audit["entries"][0]["after"],
        json!({"execution_id": id, "dry_run": true})
    );

    // The same run without dry_run: as if the dry run never happened.
    let real = api
        .run_and_wait("acme", &acme.operator, "flap-guard", event.clone())
        .await;
    assert_eq!(real["status"], "succeeded", "{real:#}");
    assert!(real.get("dry_run").is_none(), "{real:#}");
    assert_eq!(real["output"]["action"], "restarted", "{real:#}");
    assert_eq!(real["output"]["restarts_in_window"], 1);
    assert_eq!(
        served_call(&real, "POST", &restart_url)["outcome"],
        "200",
        "{real:#}"
    );
    assert_eq!(*restarts.lock().unwrap(), vec!["Bearer restart-token-42"]);
    // And the real run's state is kept: its budget is spent now.
    let after = api
        .run_and_wait("acme", &acme.operator, "flap-guard", event)
        .await;
    assert_eq!(after["output"]["action"], "escalate", "{after:#}");
    assert_eq!(
        hits(&service_hits),
        vec!["GET /health", "GET /health", "POST /restart", "GET /health"]
    );
}

/// A JavaScript runbook's `fetch()` meets the same rule: a GET is sent, a
/// granted POST is withheld with a synthetic 200, and a POST the grants
/// refuse is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_fetch_sends_reads_and_withholds_writes() {
    let app = Router::new()
        .route("/allowed/ok", get(|| async { "fine" }))
        .route(
            "/allowed/echo",
            post(|body: String| async move { format!("got {body}") }),
        )
        .route("/secret/admin", post(|| async { "never" }));
    let (base, service_hits) = serve(app).await;
    let sandbox = common::sandbox();
    let (manifest, wasm) = tokio::task::spawn_blocking(|| common::guest("js/conformance"))
        .await
        .unwrap();
    let runbook = sandbox.prepare(&manifest, &wasm).unwrap();
    let fetch = |url: String, method: &str, dry_run: bool| {
        let mut event = json!({"case": "fetch", "url": url, "method": method});
        if method != "GET" {
            event["body"] = json!("payload-1");
        }
        let inputs = common::Inputs {
            dry_run,
            ..Default::default()
        };
        common::run_with(&sandbox, &runbook, event, inputs)
    };
    let (ok, echo, admin) = (
        format!("{base}/allowed/ok"),
        format!("{base}/allowed/echo"),
        format!("{base}/secret/admin"),
    );

    let r = fetch(ok.clone(), "GET", true).await;
    assert_eq!(r.output, Some(json!({"status": 200, "body": "fine"})));
    assert_eq!(
        outcomes(&r.capability_calls),
        vec![("GET", ok.as_str(), true, "200")]
    );
    let r = fetch(echo.clone(), "POST", true).await;
    assert_eq!(
        r.output,
        Some(json!({"status": 200, "body": ""})),
        "{}",
        common::show(&r)
    );
    assert_eq!(
        outcomes(&r.capability_calls),
        vec![("POST", echo.as_str(), true, DRY_RUN)]
    );
    let r = fetch(admin.clone(), "POST", true).await;
    let error = r.output.as_ref().unwrap()["error"].as_str().unwrap_or("");
    assert!(error.starts_with("TypeError"), "{}", common::show(&r));
    assert!(!r.capability_calls[0].allowed);
    assert!(r.capability_calls[0].outcome.starts_with("denied: "));
    assert_eq!(hits(&service_hits), vec!["GET /allowed/ok"]);

    let r = fetch(echo.clone(), "POST", false).await;
    assert_eq!(
        r.output,
        Some(json!({"status": 200, "body": "got payload-1"}))
    );
    assert_eq!(
        hits(&service_hits),
        vec!["GET /allowed/ok", "POST /allowed/echo"]
    );
}

/// No connector call is sent in a dry run, not even a GET: each passes its
/// checks (an undeclared connector is still denied) and gets the reply its
/// service gives on success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_sends_no_connector_call() {
    let reply = |uri: Uri| async move { axum::Json(json!({"path": uri.path()})) };
    let app = Router::new()
        .route("/api/v1/things", get(reply).post(reply))
        .route("/pd/enqueue", post(reply));
    let (base, service_hits) = serve(app).await;
    let mut connectors = StaticConnectors::default();
    connectors.insert(
        "api",
        ConnectorSpec::Http {
            base_url: format!("{base}/api/v1"),
            auth: HttpAuth::None,
        },
    );
    connectors.insert(
        "pager",
        ConnectorSpec::Pagerduty {
            routing_key_secret: "PD_KEY".into(),
            events_url: Some(format!("{base}/pd/enqueue")),
        },
    );
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let call = |name: &str, action: &str, payload: &str, dry_run: bool| {
        let event =
            json!({"case": "connector", "name": name, "action": action, "payload": payload});
        let mut secrets = wolfe::capabilities::secrets::StaticSecrets::default();
        secrets.insert("PD_KEY", "pd-routing-key-456");
        let inputs = common::Inputs {
            secrets,
            connectors: connectors.clone(),
            dry_run,
            ..Default::default()
        };
        common::run_with(&sandbox, &runbook, event, inputs)
    };

    let r = call("api", "GET /things", "", true).await;
    assert_eq!(r.output, Some(json!({"status": 200, "body": ""})));
    assert_eq!(
        outcomes(&r.capability_calls),
        vec![("GET /things", "api", true, DRY_RUN)]
    );
    let r = call("api", "POST /things", r#"{"a":1}"#, true).await;
    assert_eq!(r.output.as_ref().unwrap()["status"], 200);
    assert_eq!(r.capability_calls[0].outcome, DRY_RUN);
    let r = call("pager", "trigger", r#"{"dedup_key":"b3-down"}"#, true).await;
    let output = r.output.unwrap();
    assert_eq!(output["status"], 202);
    let body: Value = serde_json::from_str(output["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["dedup_key"], "b3-down");
    let r = call("nope", "GET /things", "", true).await;
    assert!(!r.capability_calls[0].allowed, "{}", common::show(&r));
    assert!(hits(&service_hits).is_empty(), "{:?}", hits(&service_hits));

    let r = call("api", "POST /things", r#"{"a":1}"#, false).await;
    assert_eq!(
        r.output,
        Some(json!({"status": 200, "body": r#"{"path":"/api/v1/things"}"#}))
    );
    assert_eq!(hits(&service_hits), vec!["POST /api/v1/things"]);
}

/// kv writes in a dry run: compare-and-swap and increment work on what the
/// store holds and what this execution wrote, the runbook sees the same
/// answers as a real run, and the store is unchanged afterwards.
#[tokio::test]
async fn dry_run_kv_writes_are_seen_by_the_run_and_dropped_after_it() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let (_dir, _store, ns) = common::temp_kv("t", "conformance");
    ns.set("hits", b"10").await.unwrap();
    let run = |dry_run: bool| {
        let inputs = common::Inputs {
            kv: Some(ns.clone()),
            dry_run,
            ..Default::default()
        };
        common::run_with(&sandbox, &runbook, json!({"case": "kv_atomic"}), inputs)
    };
    let expected = json!({
        "swaps": [true, false, true],
        "value": "c",
        "counts": [12, 15],
        "not_a_counter": "invalid: the value of \"atomic\" is not a counter (decimal integer text)",
    });

    let dry = run(true).await;
    assert!(dry.succeeded(), "{}", common::show(&dry));
    assert_eq!(dry.output.as_ref(), Some(&expected));
    assert_eq!(ns.get("atomic").await.unwrap(), None);
    assert_eq!(ns.get("hits").await.unwrap().as_deref(), Some(&b"10"[..]));

    let real = run(false).await;
    assert_eq!(real.output.as_ref(), Some(&expected));
    assert_eq!(ns.get("atomic").await.unwrap().as_deref(), Some(&b"c"[..]));
    assert_eq!(ns.get("hits").await.unwrap().as_deref(), Some(&b"15"[..]));
}
