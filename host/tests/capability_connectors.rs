//! Connectors in every language: the host builds the request and adds the
//! credentials from the tenant's secrets; the runbook and its record never
//! see them; the trail names the connector and action, never the URL.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use wolfe::capabilities::connectors::{ConnectorSpec, HttpAuth, StaticConnectors};
use wolfe::capabilities::secrets::StaticSecrets;

const API_KEY: &str = "api-key-secret-123";
const PD_KEY: &str = "pd-routing-key-456";

/// (path, Authorization header, body) of every request the stand-in got.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

async fn record(
    State(seen): State<Seen>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> axum::Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    seen.lock()
        .unwrap()
        .push((uri.path().to_string(), auth, body));
    axum::Json(json!({"status": "success"}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_add_credentials_the_runbook_never_sees() {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/api/v1/things", get(record).post(record))
        .route("/hooks/slack/T1/B1", post(record))
        .route("/pd/enqueue", post(record))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let slack_url = format!("{base}/hooks/slack/T1/B1");
    let inputs = || {
        let mut secrets = StaticSecrets::default();
        secrets.insert("API_KEY", API_KEY);
        secrets.insert("SLACK_URL", slack_url.clone());
        secrets.insert("PD_KEY", PD_KEY);
        let mut connectors = StaticConnectors::default();
        connectors.insert(
            "api",
            ConnectorSpec::Http {
                base_url: format!("{base}/api/v1"),
                auth: HttpAuth::Bearer {
                    secret: "API_KEY".into(),
                },
            },
        );
        connectors.insert(
            "chat",
            ConnectorSpec::Slack {
                webhook_url_secret: "SLACK_URL".into(),
            },
        );
        connectors.insert(
            "pager",
            ConnectorSpec::Pagerduty {
                routing_key_secret: "PD_KEY".into(),
                events_url: Some(format!("{base}/pd/enqueue")),
            },
        );
        common::Inputs {
            secrets,
            connectors,
            ..Default::default()
        }
    };

    let sandbox = common::sandbox();
    for language in ["rust/conformance", "python/conformance", "js/conformance"] {
        let runbook = {
            let (manifest, wasm) = tokio::task::spawn_blocking(move || common::guest(language))
                .await
                .unwrap();
            sandbox.prepare(&manifest, &wasm).unwrap()
        };
        let call = |name: &str, action: &str, payload: &str| json!({"case": "connector", "name": name, "action": action, "payload": payload});
        let cases = [
            (call("api", "GET /things", ""), true, None),
            (call("api", "POST /things", r#"{"a":1}"#), true, None),
            (
                call("chat", "post", r#"{"text":"broker b3 restarted"}"#),
                true,
                None,
            ),
            (
                call(
                    "pager",
                    "trigger",
                    r#"{"payload":{"summary":"b3 down","source":"wolfe","severity":"error"}}"#,
                ),
                true,
                None,
            ),
            (
                call("nope", "GET /things", ""),
                false,
                Some("denied: connector \"nope\" is not declared"),
            ),
            (
                call("unconfigured", "post", "{}"),
                true,
                Some("failed: connector \"unconfigured\" is not configured"),
            ),
            (
                call("api", "GET /../admin", ""),
                true,
                Some("invalid: connector \"api\""),
            ),
            (
                call("chat", "post", "not json"),
                true,
                Some("invalid: connector \"chat\""),
            ),
        ];
        seen.lock().unwrap().clear();
        for (event, allowed, error) in cases {
            let report = common::run_with(&sandbox, &runbook, event.clone(), inputs()).await;
            let at = format!("{language} {event}");
            assert!(report.succeeded(), "{at}: {}", common::show(&report));
            let output = report.output.clone().unwrap();
            match error {
                Some(fragment) => assert!(
                    output["error"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with(fragment),
                    "{at}: {output}"
                ),
                None => assert_eq!(output["status"], 200, "{at}: {output}"),
            }
            let trail: Vec<(&str, &str, &str, bool)> = report
                .capability_calls
                .iter()
                .map(|c| {
                    (
                        c.interface.as_str(),
                        c.operation.as_str(),
                        c.target.as_str(),
                        c.allowed,
                    )
                })
                .collect();
            assert_eq!(
                trail,
                vec![(
                    "connectors",
                    event["action"].as_str().unwrap(),
                    event["name"].as_str().unwrap(),
                    allowed
                )],
                "{at}"
            );
            let shown = common::show(&report);
            for credential in [API_KEY, PD_KEY, slack_url.as_str(), "/hooks/slack"] {
                assert!(
                    !shown.contains(credential),
                    "{at}: {credential} in the record"
                );
            }
        }
        // What the services received: credentials added by the host.
        let got = seen.lock().unwrap().clone();
        assert_eq!(got.len(), 4, "{language}: {got:?}");
        assert_eq!(
            got[0],
            (
                "/api/v1/things".into(),
                format!("Bearer {API_KEY}"),
                String::new()
            )
        );
        assert_eq!(got[1].2, r#"{"a":1}"#);
        assert_eq!(
            serde_json::from_str::<Value>(&got[2].2).unwrap(),
            json!({"text": "broker b3 restarted"})
        );
        assert_eq!(got[2].1, "", "no credential header on the webhook");
        let event: Value = serde_json::from_str(&got[3].2).unwrap();
        assert_eq!(
            (
                event["routing_key"].as_str(),
                event["event_action"].as_str()
            ),
            (Some(PD_KEY), Some("trigger"))
        );
        assert_eq!(event["payload"]["summary"], "b3 down");
    }
}
