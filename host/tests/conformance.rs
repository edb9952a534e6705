//! One table of behaviour cases, run by the conformance guest of every
//! language: the same status, error kind and capability-trail shape whatever
//! the runbook is written in.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wolfe::capabilities::secrets::StaticSecrets;
use wolfe::sandbox::Transcribe;
use wolfe::sandbox::replay::{Recorded, Verdict, compare};
use wolfe::sandbox::report::{ErrorKind, ExecutionReport, ExecutionStatus};

const LANGUAGES: &[&str] = &["rust/conformance", "python/conformance", "js/conformance"];

struct Case {
    name: &'static str,
    event: Value,
    status: ExecutionStatus,
    /// `None`: the kind may differ by language (a Rust panic is a trap, a
    /// Python exception is the runbook's own error), the message may not.
    kind: Option<ErrorKind>,
    message: Option<&'static str>,
    /// (interface, operation, allowed) of each capability call, in order.
    trail: Vec<(&'static str, &'static str, bool)>,
    check: fn(&ExecutionReport),
}

fn no_check(_: &ExecutionReport) {}

fn cases(base: &str) -> Vec<Case> {
    use ExecutionStatus::*;
    vec![
        Case {
            name: "echo",
            event: json!({"case": "echo", "x": [1, "two"]}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![],
            check: |r| assert_eq!(r.output.as_ref().unwrap()["x"], json!([1, "two"])),
        },
        Case {
            name: "entropy",
            event: json!({"case": "entropy"}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![],
            check: |r| {
                let output = r.output.as_ref().unwrap();
                assert!(output["now_ns"].as_str().unwrap().len() > 15, "{output}");
                assert!(!output["random"].as_str().unwrap().is_empty(), "{output}");
                // Read through the tape, so a replay sees the same.
                assert!(!r.transcript.as_ref().unwrap().wall_clock_ns.is_empty());
            },
        },
        Case {
            name: "log",
            event: json!({"case": "log"}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![],
            check: |r| {
                let lines: Vec<(String, String)> = r
                    .logs
                    .iter()
                    .map(|e| {
                        (
                            serde_json::to_value(e.source)
                                .unwrap()
                                .as_str()
                                .unwrap()
                                .to_string(),
                            e.message.clone(),
                        )
                    })
                    .collect();
                let expected: Vec<(String, String)> = [
                    ("log", "debug line"),
                    ("log", "info line"),
                    ("log", "warn line"),
                    ("log", "error line"),
                    ("stdout", "stdout line"),
                    ("stderr", "stderr line"),
                ]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
                assert_eq!(lines, expected);
            },
        },
        Case {
            name: "allowed http",
            event: json!({"case": "http", "url": format!("{base}/allowed/ok")}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![("http", "GET", true)],
            check: |r| {
                assert_eq!(
                    r.output.as_ref().unwrap(),
                    &json!({"status": 200, "body": "fine"})
                )
            },
        },
        Case {
            // A secret sent in a header: recorded redacted, and its replay
            // (which sends a stand-in) must still match the recording.
            name: "http with a secret header",
            event: json!({"case": "http", "url": format!("{base}/allowed/ok"), "bearer_secret": "API_TOKEN"}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![("secrets", "get", true), ("http", "GET", true)],
            check: |r| {
                assert_eq!(
                    r.output.as_ref().unwrap(),
                    &json!({"status": 200, "body": "fine"})
                )
            },
        },
        Case {
            name: "denied http",
            event: json!({"case": "http", "url": format!("{base}/secret/admin")}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![("http", "GET", false)],
            check: |r| {
                assert!(
                    r.output.as_ref().unwrap()["error"]
                        .as_str()
                        .unwrap()
                        .starts_with("denied: URL")
                )
            },
        },
        Case {
            name: "allowed secret",
            event: json!({"case": "secret", "name": "API_TOKEN"}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![("secrets", "get", true)],
            check: |r| assert_eq!(r.output.as_ref().unwrap(), &json!({"value": "[REDACTED]"})),
        },
        Case {
            name: "undeclared secret",
            event: json!({"case": "secret", "name": "NOT_DECLARED"}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![("secrets", "get", false)],
            check: |r| {
                assert!(
                    r.output.as_ref().unwrap()["error"]
                        .as_str()
                        .unwrap()
                        .starts_with("denied: secret")
                )
            },
        },
        Case {
            name: "kv round trip",
            event: json!({"case": "kv_roundtrip", "key": "k", "value": "v1"}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![
                ("kv", "get", true),
                ("kv", "set", true),
                ("kv", "get", true),
            ],
            check: |r| {
                assert_eq!(
                    r.output.as_ref().unwrap(),
                    &json!({"before": null, "after": "v1"})
                )
            },
        },
        Case {
            name: "kv compare-and-swap and increment",
            event: json!({"case": "kv_atomic"}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![
                ("kv", "compare-and-swap", true),
                ("kv", "compare-and-swap", true),
                ("kv", "compare-and-swap", true),
                ("kv", "get", true),
                ("kv", "increment", true),
                ("kv", "increment", true),
                ("kv", "increment", true),
            ],
            check: |r| {
                assert_eq!(
                    r.output.as_ref().unwrap(),
                    &json!({
                        "swaps": [true, false, true],
                        "value": "c",
                        "counts": [2, 5],
                        "not_a_counter": "invalid: the value of \"atomic\" is not a counter (decimal integer text)",
                    })
                )
            },
        },
        Case {
            name: "emit",
            event: json!({"case": "emit", "emit_type": "diagnosed", "emit_data": {"hosts": ["b1", 2]}, "times": 2}),
            status: Succeeded,
            kind: None,
            message: None,
            trail: vec![("events", "emit", true), ("events", "emit", true)],
            check: |r| {
                // The SDK passes the type and the JSON data through intact,
                // and hands back the host's id for each.
                let data = r#"{"hosts":["b1",2]}"#;
                assert_eq!(
                    r.output.as_ref().unwrap()["emitted"],
                    json!([format!("0:diagnosed:{data}"), format!("1:diagnosed:{data}")])
                )
            },
        },
        Case {
            name: "guest error",
            event: json!({"case": "guest_error", "broker": "b7"}),
            status: Failed,
            kind: Some(ErrorKind::GuestError),
            message: Some("broker b7 is down"),
            trail: vec![],
            check: no_check,
        },
        Case {
            name: "infinite loop",
            event: json!({"case": "infinite_loop"}),
            status: OutOfFuel,
            kind: Some(ErrorKind::OutOfFuel),
            message: Some("fuel exhausted"),
            trail: vec![],
            check: no_check,
        },
        Case {
            name: "memory bomb",
            event: json!({"case": "memory_bomb"}),
            status: OutOfMemory,
            kind: Some(ErrorKind::OutOfMemory),
            message: Some("memory limit exceeded"),
            trail: vec![],
            check: no_check,
        },
        Case {
            name: "oversized output",
            event: json!({"case": "big_output"}),
            status: Failed,
            kind: Some(ErrorKind::OutputTooLarge),
            message: Some("limit is 1048576 bytes"),
            trail: vec![],
            check: no_check,
        },
        Case {
            name: "panic or exception",
            event: json!({"case": "panic", "why": "on purpose"}),
            status: Failed,
            kind: None,
            message: Some("deliberate panic: on purpose"),
            trail: vec![],
            check: no_check,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_behaves_the_same() {
    let app = Router::new()
        .route("/allowed/ok", get(|| async { "fine" }))
        .route("/secret/admin", get(|| async { "never" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Every connection the server accepts, to show a replay opens none.
    let served = Arc::new(AtomicUsize::new(0));
    let counting = CountingListener(listener, served.clone());
    tokio::spawn(async move { axum::serve(counting, app).await.unwrap() });

    let sandbox = common::sandbox();
    for language in LANGUAGES {
        let runbook = {
            let (manifest, wasm) = tokio::task::spawn_blocking(move || common::guest(language))
                .await
                .unwrap();
            sandbox
                .prepare(&manifest, &wasm)
                .unwrap_or_else(|e| panic!("{language}: {e}"))
        };
        for case in cases(&base) {
            let (_dir, _store, kv) = common::temp_kv("t", "conformance");
            let mut secrets = StaticSecrets::default();
            secrets.insert("API_TOKEN", "tok-conformance-123");
            secrets.insert("NOT_DECLARED", "never-read");
            let inputs = common::Inputs {
                secrets,
                kv: Some(kv),
                events: Some(Arc::new(common::EchoingSink)),
                transcript: Transcribe::Record,
                ..Default::default()
            };
            let report = common::run_with(&sandbox, &runbook, case.event.clone(), inputs).await;
            let at = format!("{language}, case {:?}", case.name);
            assert_replays_identically(&sandbox, &runbook, &case.event, &report, &served, &at)
                .await;
            assert_eq!(
                report.status,
                case.status,
                "{at}: {}",
                common::show(&report)
            );
            let error = report.error.as_ref();
            if let Some(kind) = case.kind {
                assert_eq!(error.map(|e| e.kind), Some(kind), "{at}");
            }
            if let Some(fragment) = case.message {
                let message = &error.unwrap_or_else(|| panic!("{at}: no error")).message;
                assert!(
                    message.contains(fragment),
                    "{at}: {message:?} lacks {fragment:?}"
                );
            }
            let trail: Vec<(&str, &str, bool)> = report
                .capability_calls
                .iter()
                .map(|c| (c.interface.as_str(), c.operation.as_str(), c.allowed))
                .collect();
            assert_eq!(trail, case.trail, "{at}");
            (case.check)(&report);
            assert!(
                !common::show(&report).contains("tok-conformance-123"),
                "{at}: secret leaked"
            );
        }
    }
}

/// A listener that counts the connections it accepts.
struct CountingListener(tokio::net::TcpListener, Arc<AtomicUsize>);

impl axum::serve::Listener for CountingListener {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Ok(accepted) = self.0.accept().await {
                self.1.fetch_add(1, Ordering::SeqCst);
                return accepted;
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// Replays a recorded case with no secrets, no kv store, no event sink: the
/// transcript answers everything, the verdict is `identical` (fuel
/// included), the transcript holds no secret, and the server accepts no
/// connection meanwhile.
async fn assert_replays_identically(
    sandbox: &wolfe::sandbox::Sandbox,
    runbook: &wolfe::sandbox::PreparedRunbook,
    event: &Value,
    report: &ExecutionReport,
    served: &AtomicUsize,
    at: &str,
) {
    let recorded = Recorded::from_report(report).unwrap_or_else(|| panic!("{at}: no transcript"));
    assert!(recorded.transcript.complete, "{at}");
    let text = serde_json::to_string(&recorded.transcript).unwrap();
    assert!(
        !text.contains("tok-conformance-123"),
        "{at}: secret in transcript"
    );
    let before = served.load(Ordering::SeqCst);
    let inputs = common::Inputs {
        transcript: Transcribe::Replay(Arc::new(recorded.transcript.clone())),
        ..Default::default()
    };
    let replayed = common::run_with(sandbox, runbook, event.clone(), inputs).await;
    assert_eq!(
        compare(&recorded, &replayed),
        Verdict::Identical,
        "{at}: replayed {}",
        common::show(&replayed)
    );
    assert_eq!(
        served.load(Ordering::SeqCst),
        before,
        "{at}: a replay sent a request"
    );
}

/// A JavaScript runbook's `fetch()` goes through wasi:http, a different
/// door from the SDK's `http` helpers; it must meet the same grants, the same
/// trail, the same budget, and never reach a URL it was not granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_fetch_is_held_to_the_same_grants_and_trail() {
    let forbidden_hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/allowed/ok",
            get(|| async { "fine" }).delete(|| async { "deleted" }),
        )
        .route(
            "/allowed/echo",
            axum::routing::post(|body: String| async move { format!("got {body}") }),
        )
        .route(
            "/allowed/missing",
            get(|| async { (StatusCode::NOT_FOUND, "no such thing") }),
        )
        .route(
            "/redirect/inside",
            get(|| async { Redirect::to("/allowed/ok") }),
        )
        .route(
            "/redirect/outside",
            get(|| async { Redirect::to("/secret/admin") }),
        )
        .route(
            "/secret/admin",
            get(|State(hits): State<Arc<AtomicUsize>>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                "never"
            }),
        )
        .with_state(forbidden_hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sandbox = common::sandbox();
    let (manifest, wasm) = tokio::task::spawn_blocking(|| common::guest("js/conformance"))
        .await
        .unwrap();
    let runbook = sandbox.prepare(&manifest, &wasm).unwrap();
    let fetch = |extra: Value| {
        let mut event = json!({"case": "fetch"});
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event
    };
    let trail_of = |r: &ExecutionReport| -> Vec<(String, String, bool)> {
        r.capability_calls
            .iter()
            .map(|c| (c.operation.clone(), c.target.clone(), c.allowed))
            .collect()
    };

    // Allowed GET and POST, with the response and the body passed through.
    let r = common::run(
        &sandbox,
        &runbook,
        fetch(json!({"url": format!("{base}/allowed/ok")})),
    )
    .await;
    assert_eq!(
        r.output,
        Some(json!({"status": 200, "body": "fine"})),
        "{}",
        common::show(&r)
    );
    assert_eq!(
        trail_of(&r),
        vec![("GET".into(), format!("{base}/allowed/ok"), true)]
    );
    assert_eq!(r.capability_calls[0].interface, "http");
    assert_eq!(r.capability_calls[0].outcome, "200");
    let r = common::run(
        &sandbox,
        &runbook,
        fetch(
            json!({"url": format!("{base}/allowed/echo"), "method": "POST", "body": "payload-1"}),
        ),
    )
    .await;
    assert_eq!(
        r.output,
        Some(json!({"status": 200, "body": "got payload-1"})),
        "{}",
        common::show(&r)
    );
    assert_eq!(
        trail_of(&r),
        vec![("POST".into(), format!("{base}/allowed/echo"), true)]
    );
    // A 404 is an answer, not a refusal.
    let r = common::run(
        &sandbox,
        &runbook,
        fetch(json!({"url": format!("{base}/allowed/missing")})),
    )
    .await;
    assert_eq!(r.output.as_ref().unwrap()["status"], 404);

    // Refused: an undeclared path, an undeclared host for the same server,
    // an undeclared method. Each is a TypeError in JS, a denied entry in the
    // trail, and nothing reaches the server.
    for (url, method) in [
        (format!("{base}/secret/admin"), "GET"),
        (
            format!("http://localhost:{}/allowed/ok", addr.port()),
            "GET",
        ),
        (format!("{base}/allowed/ok"), "DELETE"),
    ] {
        let r = common::run(
            &sandbox,
            &runbook,
            fetch(json!({"url": url, "method": method})),
        )
        .await;
        let at = format!("{method} {url}");
        assert_eq!(
            r.status,
            ExecutionStatus::Succeeded,
            "{at}: {}",
            common::show(&r)
        );
        let error = r.output.as_ref().unwrap()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(error.starts_with("TypeError"), "{at}: {error:?}");
        assert_eq!(
            trail_of(&r),
            vec![(method.to_string(), url.clone(), false)],
            "{at}"
        );
        assert!(
            r.capability_calls[0].outcome.starts_with("denied: "),
            "{at}"
        );
    }
    assert_eq!(forbidden_hits.load(Ordering::SeqCst), 0);

    // Redirects are re-checked at every hop, as for the http interface.
    let r = common::run(
        &sandbox,
        &runbook,
        fetch(json!({"url": format!("{base}/redirect/inside")})),
    )
    .await;
    assert_eq!(
        r.output,
        Some(json!({"status": 200, "body": "fine"})),
        "{}",
        common::show(&r)
    );
    let r = common::run(
        &sandbox,
        &runbook,
        fetch(json!({"url": format!("{base}/redirect/outside")})),
    )
    .await;
    assert!(
        r.output.as_ref().unwrap()["error"]
            .as_str()
            .unwrap()
            .starts_with("TypeError")
    );
    assert_eq!(
        trail_of(&r),
        vec![
            ("GET".into(), format!("{base}/redirect/outside"), true),
            ("GET".into(), format!("{base}/secret/admin"), false),
        ]
    );
    assert!(r.capability_calls[1].outcome.contains("redirect refused"));
    assert_eq!(forbidden_hits.load(Ordering::SeqCst), 0);

    // fetch() and the http interface share one per-execution budget.
    let r = common::run(
        &sandbox,
        &runbook,
        json!({"case": "fetch_flood", "url": format!("{base}/allowed/ok"), "count": 260}),
    )
    .await;
    assert_eq!(
        r.output,
        Some(json!({"ok": 256, "refused": 4})),
        "{}",
        common::show(&r)
    );
    assert!(r.capability_calls[256].outcome.starts_with("limited: "));

    // A fetch() is recorded as a wasi:http call with its answer, and a
    // replay answers it from the transcript.
    let event = fetch(
        json!({"url": format!("{base}/allowed/echo"), "method": "POST", "body": "payload-2"}),
    );
    let inputs = common::Inputs {
        transcript: Transcribe::Record,
        ..Default::default()
    };
    let recorded = common::run_with(&sandbox, &runbook, event.clone(), inputs).await;
    let recorded = Recorded::from_report(&recorded).unwrap();
    let call = &recorded.transcript.calls[0];
    assert_eq!((call.interface(), call.operation()), ("wasi:http", "send"));
    assert_eq!(call.answer()["ok"]["body"]["text"], "got payload-2");
    let inputs = common::Inputs {
        transcript: Transcribe::Replay(Arc::new(recorded.transcript.clone())),
        ..Default::default()
    };
    let replayed = common::run_with(&sandbox, &runbook, event.clone(), inputs).await;
    assert_eq!(compare(&recorded, &replayed), Verdict::Identical);

    // A build whose manifest no longer grants the URL: its replay is
    // refused where the recording was answered, as it would be live.
    let mut narrowed = manifest.clone();
    narrowed.capabilities.http.clear();
    let candidate = sandbox.prepare(&narrowed, &wasm).unwrap();
    let inputs = common::Inputs {
        transcript: Transcribe::Replay(Arc::new(recorded.transcript.clone())),
        ..Default::default()
    };
    let replayed = common::run_with(&sandbox, &candidate, event, inputs).await;
    match compare(&recorded, &replayed) {
        Verdict::CallsDiffer {
            index: 0,
            recorded: Some(was),
            replayed: Some(now),
        } => {
            assert_eq!(was.request, now.request);
            assert!(now.answer["error"]["denied"].is_string(), "{now:?}");
        }
        other => panic!("{other:?}: {}", common::show(&replayed)),
    }
}

/// What only an event-loop language can do: a promise that never settles, a
/// timer that keeps the loop alive, a result JSON cannot hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_event_loop_endings_are_reported() {
    let sandbox = common::sandbox();
    let (manifest, wasm) = tokio::task::spawn_blocking(|| common::guest("js/conformance"))
        .await
        .unwrap();
    let runbook = sandbox.prepare(&manifest, &wasm).unwrap();

    let r = common::run(&sandbox, &runbook, json!({"case": "timer_forever"})).await;
    assert_eq!(r.status, ExecutionStatus::TimedOut, "{}", common::show(&r));

    let r = common::run(
        &sandbox,
        &runbook,
        json!({"case": "sleep_ms", "ms": 30, "n": 1}),
    )
    .await;
    assert_eq!(
        r.output,
        Some(json!({"slept_ms": 30, "n": 1})),
        "{}",
        common::show(&r)
    );

    let r = common::run(&sandbox, &runbook, json!({"case": "never_settles"})).await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{}", common::show(&r));
    assert!(
        r.error
            .as_ref()
            .unwrap()
            .message
            .contains("promise never settled"),
        "{}",
        common::show(&r)
    );

    let r = common::run(&sandbox, &runbook, json!({"case": "not_json"})).await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{}", common::show(&r));
    let error = r.error.unwrap();
    assert_eq!(error.kind, ErrorKind::GuestError);
    assert!(
        error.message.contains("not JSON-serialisable"),
        "{}",
        error.message
    );

    // The engine and component serve normally after all of that.
    let r = common::run(&sandbox, &runbook, json!({"case": "echo", "after": true})).await;
    assert_eq!(r.output.unwrap()["after"], true);
}
