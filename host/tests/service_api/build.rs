//! Runbooks built on the server from their source (Studio's editor)
//! through a real `wolfe serve`: a template built, deployed and run with
//! its own event, its source read back; the build's refusals (a compile
//! error with the compiler's text, unsafe paths, roles, the time and
//! memory limits); which languages the server can build.

use super::common::server::Server;
use super::error_code;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Instant;

/// A stand-in service whose `/health` answers 200, on loopback (which the
/// test servers allow runbooks to reach); its port.
fn healthy_service() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    port
}

/// `GET /v1/build/templates/{language}?name=`: the template's files.
async fn template(
    api: &super::common::server::Api,
    token: &str,
    language: &str,
    name: &str,
) -> Value {
    api.expect(
        200,
        "GET",
        &format!("/v1/build/templates/{language}?name={name}"),
        Some(token),
        None,
    )
    .await
}

/// Builds the `language` template as `name` through the endpoint, deploys
/// it to dev and runs it with the template's event (its health URL pointed
/// at a healthy stand-in); returns the build's answer and the run's record.
async fn build_deploy_run(
    api: &super::common::server::Api,
    t: &super::common::server::Tokens,
    language: &str,
    name: &str,
) -> (Value, Value) {
    let template = template(api, &t.author, language, name).await;
    let started = Instant::now();
    let built = api
        .expect(
            201,
            "POST",
            &format!("/v1/tenants/acme/runbooks/{name}/source"),
            Some(&t.author),
            Some(json!({"files": template["files"]})),
        )
        .await;
    eprintln!(
        "{language} template: built in {} ms, answered in {} ms",
        built["build_ms"],
        started.elapsed().as_millis()
    );
    assert_eq!(
        (built["name"].as_str(), built["version"].as_str()),
        (Some(name), Some("0.1.0"))
    );
    api.expect(
        200,
        "PUT",
        &format!("/v1/tenants/acme/runbooks/{name}/environments/dev"),
        Some(&t.author),
        Some(json!({"version": "0.1.0"})),
    )
    .await;
    let mut event = template["event"].clone();
    event["health_url"] = json!(format!("http://127.0.0.1:{}/health", healthy_service()));
    let record = api.run_and_wait("acme", &t.operator, name, event).await;
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(
        record["output"],
        json!({"service": "checkout", "healthy": true}),
        "{record}"
    );
    (built, template)
}

crate::on_every_store! {
    async fn a_python_template_builds_runs_and_keeps_its_source(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;

    let (built, template) = build_deploy_run(&api, &t, "python", "hello-py").await;
    assert_eq!(built["sha256"].as_str().unwrap().len(), 64, "{built}");
    let source_sha256 = built["source_sha256"].as_str().unwrap().to_string();

    // The source comes back as it was sent, to any reader.
    let source = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/runbooks/hello-py/versions/0.1.0/source",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(source, json!({"files": template["files"]}));

    // The same source again: no build, the stored version.
    let again = api
        .expect(
            200,
            "POST",
            "/v1/tenants/acme/runbooks/hello-py/source",
            Some(&t.author),
            Some(json!({"files": template["files"]})),
        )
        .await;
    assert_eq!(again["sha256"], built["sha256"]);
    assert_eq!(again["build_ms"], 0);
    // Other source under the same version: versions are immutable.
    let mut edited = template["files"].clone();
    edited["app.py"] = json!(format!("{}\n# edited\n", edited["app.py"].as_str().unwrap()));
    let v = api
        .expect(
            409,
            "POST",
            "/v1/tenants/acme/runbooks/hello-py/source",
            Some(&t.author),
            Some(json!({"files": edited})),
        )
        .await;
    assert_eq!(error_code(&v), "conflict");
    assert!(v["error"]["message"].as_str().unwrap().contains("change `version`"), "{v}");

    // Audited like an upload, with the source's digest.
    let audit = api
        .expect(200, "GET", "/v1/tenants/acme/audit", Some(&t.auditor), None)
        .await;
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "runbook.build")
        .unwrap_or_else(|| panic!("no runbook.build entry: {audit}"));
    assert_eq!(entry["target"], "hello-py@0.1.0");
    assert_eq!(entry["after"]["source_sha256"], source_sha256.as_str());

    // A version uploaded as a component has no source to give.
    api.deploy_guest("acme", &t.author, "hello", "dev").await;
    let v = api
        .expect(
            404,
            "GET",
            "/v1/tenants/acme/runbooks/hello/versions/0.1.0/source",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(error_code(&v), "not_found");
    assert!(v["error"]["message"].as_str().unwrap().contains("uploaded as a built component"), "{v}");
    let v = api
        .expect(
            404,
            "GET",
            "/v1/tenants/acme/runbooks/hello-py/versions/9.9.9/source",
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(error_code(&v), "not_found");
    }
}

/// A Rust template, from a fresh data directory (its tenant's first Rust
/// build compiles the SDK's dependencies offline from the cargo registry
/// cache), then a second version (only the runbook compiles). Also the
/// JavaScript template.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_and_js_templates_build_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;

    let (first, template) = build_deploy_run(&api, &t, "rust", "hello-rs").await;
    assert!(
        template["files"]["Cargo.toml"]
            .as_str()
            .unwrap()
            .contains("wolfe-sdk = { path = "),
        "{template}"
    );
    assert!(
        first["log"]
            .as_str()
            .unwrap()
            .contains("Compiling hello-rs"),
        "{first}"
    );
    let mut files = template["files"].clone();
    files["runbook.toml"] = json!(
        files["runbook.toml"]
            .as_str()
            .unwrap()
            .replace("0.1.0", "0.2.0")
    );
    let second = api
        .expect(
            201,
            "POST",
            "/v1/tenants/acme/runbooks/hello-rs/source",
            Some(&t.author),
            Some(json!({"files": files})),
        )
        .await;
    eprintln!(
        "rust template, second version: built in {} ms",
        second["build_ms"]
    );
    assert!(
        second["build_ms"].as_u64().unwrap() < first["build_ms"].as_u64().unwrap(),
        "the tenant's cargo cache makes the second build faster: {first} {second}"
    );

    // A build script runs natively on the server: it finds the network
    // down, the store and the secrets key covered, and the file system
    // read-only.
    let data = dir.path().display().to_string();
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let mut probe = template["files"].clone();
    probe["runbook.toml"] = json!(
        probe["runbook.toml"]
            .as_str()
            .unwrap()
            .replace("0.1.0", "0.3.0")
    );
    probe["build.rs"] = json!(BUILD_SCRIPT.replace("DATA", &data).replace("PORT", &port));
    let v = api
        .expect(
            422,
            "POST",
            "/v1/tenants/acme/runbooks/hello-rs/source",
            Some(&t.author),
            Some(json!({"files": probe})),
        )
        .await;
    let message = v["error"]["message"].as_str().unwrap();
    for seen in [
        "key=Ok(0)",   // /dev/null over the key
        "store=Ok(0)", // an empty folder over the store
        "net=Err(",
        "write=Err(\"Read-only file system",
        "tmp=Err(\"Read-only file system",
    ] {
        assert!(message.contains(seen), "{seen} not in {message}");
    }
    assert!(!std::path::Path::new(&data).join("escaped").exists());

    build_deploy_run(&api, &t, "js", "hello-js").await;
}

/// What a hostile build script would try; it reports by failing.
const BUILD_SCRIPT: &str = r#"
fn main() {
    let key = std::fs::read("DATA/secrets.key").map(|b| b.len()).map_err(|e| e.to_string());
    let store = std::fs::read_dir("DATA/store").map(|d| d.count()).map_err(|e| e.to_string());
    let net = std::net::TcpStream::connect("127.0.0.1:PORT").map(|_| ()).map_err(|e| e.to_string());
    let write = std::fs::write("DATA/escaped", "x").map_err(|e| e.to_string());
    let tmp = std::fs::write("/tmp/wolfe-build-escaped", "x").map_err(|e| e.to_string());
    panic!("key={key:?} store={store:?} net={net:?} write={write:?} tmp={tmp:?}");
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let files = template(&api, &t.author, "python", "hello-py").await["files"].clone();
    let post = |token: &str, body: Value| {
        let api = api.clone();
        let token = token.to_string();
        async move {
            api.call(
                "POST",
                "/v1/tenants/acme/runbooks/hello-py/source",
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    // A syntax error: 422 with Python's own words.
    let mut broken = files.clone();
    broken["app.py"] =
        json!("from wolfe_sdk import runbook\n\n@runbook\ndef run(event:\n    return event\n");
    let (status, v) = post(&t.author, json!({"files": broken})).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(error_code(&v), "build_failed");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SyntaxError") && message.contains("was never closed"),
        "{message}"
    );
    assert!(
        message.len() < 16 * 1024,
        "bounded: {} bytes",
        message.len()
    );

    // Paths that would leave the runbook folder, and other bad sources.
    for (path, why) in [
        ("../escape.py", "`..`"),
        ("/etc/cron.d/x", "absolute"),
        ("a//b.py", "empty name"),
        (".cargo/config.toml", "hidden"),
    ] {
        let mut bad = files.clone();
        bad[path] = json!("x = 1\n");
        let (status, v) = post(&t.author, json!({"files": bad})).await;
        assert_eq!(status, 400, "{path}: {v}");
        assert_eq!(error_code(&v), "invalid_request");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(why),
            "{path}: {v}"
        );
    }
    let many: serde_json::Map<String, Value> =
        (0..300).map(|i| (format!("m{i}.py"), json!(""))).collect();
    let (status, v) = post(&t.author, json!({"files": many})).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many files: 300"),
        "{v}"
    );
    let big = json!({"files": {"runbook.toml": "x".repeat(5 * 1024 * 1024)}});
    let (status, v) = post(&t.author, big).await;
    assert_eq!(status, 413, "past the body limit: {v}");
    let big = json!({"files": {"runbook.toml": "x", "a.py": "y".repeat(2 * 1024 * 1024)}});
    let (status, v) = post(&t.author, big).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many bytes"),
        "{v}"
    );
    let mut unnamed = files.clone();
    unnamed.as_object_mut().unwrap().remove("runbook.toml");
    let (status, v) = post(&t.author, json!({"files": unnamed})).await;
    assert_eq!(
        (status.as_u16(), error_code(&v)),
        (400, "invalid_request"),
        "{v}"
    );
    let (status, v) = post(&t.author, json!({"files": files, "extra": 1})).await;
    assert_eq!(status, 400, "{v}");
    // The manifest names another runbook.
    let (status, v) = api
        .call(
            "POST",
            "/v1/tenants/acme/runbooks/other/source",
            Some(&t.author),
            Some(json!({"files": files})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), error_code(&v)),
        (400, "invalid_manifest"),
        "{v}"
    );

    // Roles: only those that upload may build; readers may read.
    for token in [&t.auditor, &t.operator, &t.sender] {
        let (status, v) = post(token, json!({"files": files})).await;
        assert_eq!((status.as_u16(), error_code(&v)), (403, "forbidden"), "{v}");
    }
    let (status, v) = api
        .call(
            "GET",
            "/v1/tenants/acme/runbooks/hello-py/versions/0.1.0/source",
            Some(&t.sender),
            None,
        )
        .await;
    assert_eq!((status.as_u16(), error_code(&v)), (403, "forbidden"), "{v}");
    let other = api.tenant("globex").await;
    let (status, _) = post(&other.admin, json!({"files": files})).await;
    assert_eq!(status, 404, "another tenant's token learns nothing");

    // What this server builds.
    let languages = api
        .expect(200, "GET", "/v1/build/languages", Some(&t.sender), None)
        .await;
    let python = languages["languages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["language"] == "python")
        .unwrap_or_else(|| panic!("{languages}"));
    assert_eq!(python["available"], true, "{languages}");
    assert!(python["reason"].is_null(), "{languages}");
    let v = api
        .expect(401, "GET", "/v1/build/languages", None, None)
        .await;
    assert_eq!(error_code(&v), "unauthorized");
    let v = api
        .expect(
            400,
            "GET",
            "/v1/build/templates/cobol",
            Some(&t.sender),
            None,
        )
        .await;
    assert_eq!(error_code(&v), "invalid_request");
    let v = api
        .expect(
            400,
            "GET",
            "/v1/build/templates/python?name=Bad%20Name",
            Some(&t.sender),
            None,
        )
        .await;
    assert_eq!(error_code(&v), "invalid_request");
}

/// A build past its time is stopped, and one past its memory fails: both
/// 422 `build_failed` with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_and_memory_limits_hold() {
    let post = |api: super::common::server::Api, token: String, files: Value| async move {
        api.call(
            "POST",
            "/v1/tenants/acme/runbooks/hello-py/source",
            Some(&token),
            Some(json!({"files": files})),
        )
        .await
    };

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("WOLFE_BUILD__TIMEOUT_SECS", "3")]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let files = template(&api, &t.author, "python", "hello-py").await["files"].clone();
    // componentize-py runs the module at build time: this never ends.
    let mut forever = files.clone();
    forever["app.py"] = json!("while True:\n    pass\n");
    let started = Instant::now();
    let (status, v) = post(api.clone(), t.author.clone(), forever).await;
    assert_eq!(
        (status.as_u16(), error_code(&v)),
        (422, "build_failed"),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 3 s"),
        "{v}"
    );
    assert!(started.elapsed().as_secs() < 20, "stopped in time");
    drop(server);

    // The template needs about 300 MiB.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("WOLFE_BUILD__MEMORY_MB", "160")]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let (status, v) = post(api.clone(), t.author.clone(), files).await;
    assert_eq!(
        (status.as_u16(), error_code(&v)),
        (422, "build_failed"),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("memory allocation"),
        "{v}"
    );
}
