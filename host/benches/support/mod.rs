//! What the benchmarks share: where things are, the `hello` component built
//! once, and a `wolfe serve` child process.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const ADMIN: &str = "bench-admin-token-0123456789";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// Builds runbooks/rust/hello (a no-op when fresh).
pub fn build_hello() -> wolfe::build::BuiltComponent {
    wolfe::build::build_runbook(
        &repo_root().join("runbooks/rust/hello"),
        Some(&target_dir().join("bench-components/hello.wasm")),
    )
    .expect("build runbooks/rust/hello")
}

/// Writes a bench's results under target/bench-results.
pub fn write_results(name: &str, results: &Value) {
    let dir = target_dir().join("bench-results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(results).unwrap(),
    )
    .unwrap();
}

/// A `wolfe serve` child on 127.0.0.1:0; killed on drop.
pub struct ServeProcess {
    child: Child,
    pub base: String,
}

impl ServeProcess {
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wolfe"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("WOLFE_ADMIN_TOKEN", ADMIN)
            .env("WOLFE_LOG", "error")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn wolfe serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started: Value = serde_json::from_str(&line).expect("wolfe serve's started line");
        let base = format!(
            "http://{}",
            started["started"]["listening"].as_str().unwrap()
        );
        Self { child, base }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One API call with the given token; asserts success and returns the JSON.
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    r.json().await.unwrap()
}
