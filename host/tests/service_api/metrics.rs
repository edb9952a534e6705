//! `GET /metrics` through a real `wolfe serve`: `promtool check metrics`
//! finds nothing to complain about, and a real Prometheus server scraping
//! it answers a PromQL query with the execution count the API reports.
//! Also `--log-format json`: log lines carry the execution's ids.

use super::common::server::{ADMIN_TOKEN, Server};
use super::hello_behind_webhook;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private Prometheus server, stopped on drop.
struct Prometheus {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn scraping(target: &str, token: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: wolfe\n    authorization:\n      credentials: {token}\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The query's single value, once Prometheus has one (it needs a few
    /// scrapes after start).
    async fn value_of(&self, query: &str) -> String {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer: Option<Value> = match http
                .get(format!("{}/api/v1/query", self.base))
                .query(&[("query", query)])
                .send()
                .await
            {
                Ok(response) => response.json().await.ok(),
                Err(_) => None,
            };
            let value = answer
                .as_ref()
                .and_then(|a| a["data"]["result"][0]["value"][1].as_str());
            if let Some(value) = value {
                return value.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no value for {query}: {answer:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary(name: &str) -> String {
    let path = format!("/usr/bin/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: run scripts/setup.sh (it installs Debian's prometheus package)"
    );
    path
}

#[tokio::test]
async fn prometheus_scrapes_what_the_api_reports() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    hello_behind_webhook(
        &api,
        &t,
        json!({"auth": {"type": "bearer"}, "split": "alerts", "id": "fingerprint"}),
        ("all", json!({"runbook": "hello", "environment": "dev"})),
    )
    .await;
    let alerts =
        json!({"alerts": [{"fingerprint": "a"}, {"fingerprint": "b"}, {"fingerprint": "c"}]});
    let v = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(alerts),
        )
        .await;
    for id in v["executions"].as_array().unwrap() {
        api.wait_terminal("acme", &t.operator, id.as_str().unwrap())
            .await;
    }
    // An unauthenticated post is counted without its (made-up) labels.
    api.expect(
        401,
        "POST",
        "/v1/hooks/nobody/nothing",
        None,
        Some(json!({})),
    )
    .await;
    let listed = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?status=succeeded",
            Some(&t.auditor),
            None,
        )
        .await;
    let succeeded = listed["executions"].as_array().unwrap().len();
    assert_eq!(succeeded, 3, "{listed}");

    let text = api
        .http
        .get(format!("{}/metrics", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "wolfe_executions_total{tenant=\"acme\",runbook=\"hello\",status=\"succeeded\"} 3",
        "wolfe_webhook_requests_total{tenant=\"acme\",source=\"am\",status=\"202\"} 1",
        "wolfe_webhook_ack_seconds_count{tenant=\"acme\",source=\"am\"} 1",
        "wolfe_execution_duration_seconds_count{tenant=\"acme\",runbook=\"hello\"} 3",
        "wolfe_webhook_requests_refused_total 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
    assert!(
        !text.contains("nobody"),
        "an unauthenticated path made a series"
    );
    let mut promtool = Command::new(binary("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let target = api.base.trim_start_matches("http://");
    let prometheus = Prometheus::scraping(target, ADMIN_TOKEN);
    let scraped = prometheus
        .value_of("sum(wolfe_executions_total{tenant=\"acme\",status=\"succeeded\"})")
        .await;
    assert_eq!(scraped, succeeded.to_string());
}

#[tokio::test]
async fn json_logs_carry_the_execution_event_and_tenant_ids() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_with_stderr(
        &data,
        &[("WOLFE_LOG", "info"), ("WOLFE_LOG_FORMAT", "json")],
        Stdio::from(log),
    );
    let api = server.api();
    let t = api.tenant("acme").await;
    hello_behind_webhook(
        &api,
        &t,
        json!({"auth": {"type": "bearer"}}),
        ("all", json!({"runbook": "hello", "environment": "dev"})),
    )
    .await;
    let v = api
        .expect(
            202,
            "POST",
            "/v1/hooks/acme/am",
            Some(&t.sender),
            Some(json!({"x": 1})),
        )
        .await;
    let event_id = v["event_id"].as_str().unwrap().to_string();
    let execution_id = v["executions"][0].as_str().unwrap().to_string();
    api.wait_terminal("acme", &t.operator, &execution_id).await;
    assert!(server.stop().success());

    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished = lines
        .iter()
        .find(|l| l["fields"]["message"] == "execution finished")
        .unwrap_or_else(|| panic!("no 'execution finished' line in:\n{text}"));
    let span = &finished["span"];
    assert_eq!(span["name"], "execution", "{finished}");
    assert_eq!(span["tenant"], "acme", "{finished}");
    assert_eq!(span["execution_id"], execution_id.as_str(), "{finished}");
    assert_eq!(span["event_id"], event_id.as_str(), "{finished}");
    assert_eq!(span["runbook"], "hello", "{finished}");
}
