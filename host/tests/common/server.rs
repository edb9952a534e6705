//! A real `wolfe serve` child process on 127.0.0.1:0, and a small JSON client
//! for its API.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct Server {
    child: Child,
    pub base: String,
    pub data: PathBuf,
}

impl Server {
    /// Starts `wolfe serve` on `data` with extra `WOLFE_*` settings.
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_with_stderr(data, env, Stdio::inherit())
    }

    /// [`Self::start`] with the server's log (stderr) sent to `stderr`.
    pub fn start_with_stderr(data: &Path, env: &[(&str, &str)], stderr: Stdio) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wolfe"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("WOLFE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("WOLFE_LOG", "warn")
            // Stand-in services listen on loopback: allowed by configuration.
            .env("WOLFE_OUTBOUND_ALLOW_CIDRS", r#"["127.0.0.1/32"]"#)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn wolfe serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {} // keep the pipe drained
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("wolfe serve did not report its address");
        let started: Value = serde_json::from_str(&line).expect("started line is JSON");
        let addr = started["started"]["listening"]
            .as_str()
            .unwrap()
            .to_string();
        Server {
            child,
            base: format!("http://{addr}"),
            data: data.to_path_buf(),
        }
    }

    /// SIGKILL: no graceful anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        unsafe_sigterm(self.child.id());
        self.child.wait().unwrap()
    }

    pub fn api(&self) -> Api {
        Api {
            http: wolfe::cli::api_client(),
            base: self.base.clone(),
        }
    }
}

fn unsafe_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

/// Tokens of every role in one tenant.
pub struct Tokens {
    pub admin: String,
    pub author: String,
    pub operator: String,
    pub auditor: String,
    pub sender: String,
}

impl Api {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// Asserts the status and returns the body.
    pub async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (got, value) = self.call(method, path, token, body).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {value}");
        value
    }

    pub async fn tenant(&self, name: &str) -> Tokens {
        self.expect(
            201,
            "POST",
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            Some(json!({"name": name})),
        )
        .await;
        let mut tokens = Vec::new();
        for role in ["admin", "author", "operator", "auditor", "sender"] {
            let v = self
                .expect(
                    201,
                    "POST",
                    &format!("/v1/tenants/{name}/tokens"),
                    Some(ADMIN_TOKEN),
                    Some(json!({"role": role})),
                )
                .await;
            tokens.push(v["token"].as_str().unwrap().to_string());
        }
        let mut t = tokens.into_iter();
        let mut next = || t.next().unwrap();
        Tokens {
            admin: next(),
            author: next(),
            operator: next(),
            auditor: next(),
            sender: next(),
        }
    }

    pub async fn upload(
        &self,
        tenant: &str,
        token: &str,
        manifest: &str,
        component: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .text("manifest", manifest.to_string())
            .part(
                "component",
                reqwest::multipart::Part::bytes(component).file_name("runbook.wasm"),
            );
        let response = self
            .http
            .post(format!("{}/v1/tenants/{tenant}/runbooks", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Uploads a repo guest with its own manifest and deploys it to `env`.
    pub async fn deploy_guest(&self, tenant: &str, token: &str, guest: &str, env: &str) {
        let (manifest, wasm) = super::guest(guest);
        let text = std::fs::read_to_string(guest_manifest_path(guest)).unwrap();
        let (status, body) = self.upload(tenant, token, &text, wasm.to_vec()).await;
        assert!(
            status == 201 || status == 200,
            "upload {guest}: {status} {body}"
        );
        self.expect(
            200,
            "PUT",
            &format!(
                "/v1/tenants/{tenant}/runbooks/{}/environments/{env}",
                manifest.name
            ),
            Some(token),
            Some(json!({"version": manifest.version})),
        )
        .await;
    }

    /// Runs a deployed runbook manually and waits for its record.
    pub async fn run_and_wait(
        &self,
        tenant: &str,
        token: &str,
        runbook: &str,
        input: Value,
    ) -> Value {
        let started = self
            .expect(
                202,
                "POST",
                &format!("/v1/tenants/{tenant}/runbooks/{runbook}/run"),
                Some(token),
                Some(json!({"environment": "dev", "input": input})),
            )
            .await;
        let id = started["execution_id"].as_str().unwrap();
        self.wait_terminal(tenant, token, id).await
    }

    /// Polls until `execution` is terminal; returns it.
    pub async fn wait_terminal(&self, tenant: &str, token: &str, execution: &str) -> Value {
        for _ in 0..300 {
            let (status, record) = self
                .call(
                    "GET",
                    &format!("/v1/tenants/{tenant}/executions/{execution}"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{record}");
            if !matches!(record["status"].as_str(), Some("queued" | "running")) {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("execution {execution} did not finish");
    }
}

pub fn guest_manifest_path(guest: &str) -> PathBuf {
    let test_guest = super::repo_root()
        .join("tests/guests/rust")
        .join(guest)
        .join("runbook.toml");
    if test_guest.exists() {
        test_guest
    } else {
        super::repo_root()
            .join("runbooks/rust")
            .join(guest)
            .join("runbook.toml")
    }
}

/// The store a test's servers use: sled under their data directory, or a
/// PostgreSQL database of its own.
#[derive(Debug, Clone)]
pub enum TestStore {
    Sled,
    Postgres(String),
}

impl TestStore {
    pub fn sled() -> Self {
        Self::Sled
    }

    /// A fresh database on this test binary's PostgreSQL server.
    pub fn postgres() -> Self {
        Self::Postgres(super::postgres::fresh_database())
    }

    /// Where a test opens this store itself (to look behind a server's back).
    pub fn location(&self) -> wolfe::store::StoreLocation {
        match self {
            Self::Sled => wolfe::store::StoreLocation::Sled,
            Self::Postgres(url) => wolfe::store::StoreLocation::Postgres(url.clone()),
        }
    }

    /// The `WOLFE_STORE` setting for a server on this store.
    pub fn env(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::Sled => None,
            Self::Postgres(url) => Some(("WOLFE_STORE", url.as_str())),
        }
    }
}

impl Server {
    /// Starts `wolfe serve` on `store` (its component cache under `data`).
    pub fn start_on(store: &TestStore, data: &Path, env: &[(&str, &str)]) -> Server {
        let mut env = env.to_vec();
        env.extend(store.env());
        Server::start(data, &env)
    }
}

/// Defines a test once and runs it on every store: `NAME::sled` and
/// `NAME::postgres`, each given its [`TestStore`].
#[macro_export]
macro_rules! on_every_store {
    ($(#[$meta:meta])* async fn $name:ident($store:ident: TestStore) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sled() {
                run($crate::common::server::TestStore::sled()).await
            }

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::common::server::TestStore::postgres()).await
            }

            async fn run($store: $crate::common::server::TestStore) $body
        }
    };
}
