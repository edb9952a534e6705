//! SQS ingest rate: how fast `wolfe serve` turns queued messages into durable
//! events (receive → durable write → batch delete), against the raw drain
//! rate of the same SQS-compatible server (moto) measured in the same run by
//! a plain receive+delete loop, each starting from the same queue depth.
//!
//! Run: `cargo bench -p wolfe --bench sqs` (`-- --quick` for 200 messages).
//! Results are printed and written to target/bench-results/sqs.json.

use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::ADMIN;
const REGION: &str = "us-east-1";

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: usize = if quick { 200 } else { 500 };
    let root = support::repo_root();
    let built = support::build_hello();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut moto = Command::new(root.join(".tools/venv/bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (run scripts/setup.sh)");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let endpoint = format!("http://127.0.0.1:{port}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (raw_rate, wolfe_rate) = runtime.block_on(async {
        let sqs = client(&endpoint);
        // 1. Raw drain.
        let raw_queue = filled_queue(&sqs, "raw", n).await;
        let started = Instant::now();
        let mut drained = 0;
        while drained < n {
            let out = sqs
                .receive_message()
                .queue_url(&raw_queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                continue;
            }
            let entries = messages.iter().enumerate().map(|(i, m)| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap()
            });
            sqs.delete_message_batch()
                .queue_url(&raw_queue)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .unwrap();
            drained += messages.len();
        }
        let raw_rate = n as f64 / started.elapsed().as_secs_f64();

        // 2. Wolfe, same depth, one poller like the raw loop.
        let queue = filled_queue(&sqs, "wolfe", n).await;
        let data = tempfile::tempdir().unwrap();
        let server = support::ServeProcess::start(
            data.path(),
            &[
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        );
        let base = server.base.clone();
        let http = reqwest::Client::new();
        let call = |method: reqwest::Method, path: String, body: Value| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let r = http
                    .request(method, format!("{base}{path}"))
                    .bearer_auth(ADMIN)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{path}: {:?}", r.text().await);
                r.json::<Value>().await.unwrap()
            }
        };
        use reqwest::Method;
        call(Method::POST, "/v1/tenants".into(), json!({"name": "bench"})).await;
        let manifest =
            std::fs::read_to_string(root.join("runbooks/rust/hello/runbook.toml")).unwrap();
        let form = reqwest::multipart::Form::new()
            .text("manifest", manifest)
            .part(
                "component",
                reqwest::multipart::Part::bytes(std::fs::read(&built.path).unwrap())
                    .file_name("hello.wasm"),
            );
        http.post(format!("{base}/v1/tenants/bench/runbooks"))
            .bearer_auth(ADMIN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        call(
            Method::PUT,
            "/v1/tenants/bench/runbooks/hello/environments/dev".into(),
            json!({"version": built.manifest.version}),
        )
        .await;
        call(
            Method::PUT,
            "/v1/tenants/bench/rules/all".into(),
            json!({"runbook": "hello", "environment": "dev"}),
        )
        .await;
        let started = Instant::now();
        call(
            Method::PUT,
            "/v1/tenants/bench/sources/q".into(),
            json!({
                "type": "sqs", "queue_url": queue, "region": REGION, "endpoint_url": endpoint,
                "wait_time_seconds": 1, "max_messages": 10, "pollers": 1,
            }),
        )
        .await;
        loop {
            let source = call(
                Method::GET,
                "/v1/tenants/bench/sources/q".into(),
                Value::Null,
            )
            .await;
            if source["metrics"]["accepted"].as_u64().unwrap_or(0) as usize >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The last batch's delete follows its durable write at once.
        while depth(&sqs, &queue).await > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let wolfe_rate = n as f64 / started.elapsed().as_secs_f64();
        drop(server);
        (raw_rate, wolfe_rate)
    });
    let _ = moto.kill();
    let _ = moto.wait();
    let ratio = wolfe_rate / raw_rate;
    println!("SQS drain of {n} messages from the same moto server, one receiver each");
    println!("raw receive+delete loop: {raw_rate:.0} messages/s");
    println!(
        "wolfe (receive, durable event + execution queued, delete): {wolfe_rate:.0} messages/s"
    );
    println!("ratio: {:.0}%", ratio * 100.0);
    support::write_results(
        "sqs",
        &json!({"messages": n, "raw_per_second": raw_rate, "wolfe_per_second": wolfe_rate, "ratio": ratio}),
    );
}

fn client(endpoint: &str) -> aws_sdk_sqs::Client {
    let http = wolfe::ingest::sqs::http_client();
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(REGION))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

async fn filled_queue(sqs: &aws_sdk_sqs::Client, name: &str, n: usize) -> String {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    for start in (0..n).step_by(10) {
        let entries = (start..(start + 10).min(n)).map(|i| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(json!({"n": i, "labels": {"alertname": "Bench"}}).to_string())
                .build()
                .unwrap()
        });
        sqs.send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .unwrap();
    }
    url
}

async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|k| {
        attrs
            .get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
    .sum()
}
