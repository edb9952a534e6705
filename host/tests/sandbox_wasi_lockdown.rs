//! WASI is linked locked down: no files, no environment, no arguments, no
//! sockets; stdout and stderr land in the execution log.

mod common;

use serde_json::json;
use wolfe::capabilities::log::{LogLevel, LogSource};
use wolfe::sandbox::report::ExecutionStatus;

#[tokio::test]
async fn the_guest_sees_no_filesystem_environment_or_sockets() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();

    let fs = common::run(&sandbox, &runbook, json!({"case": "filesystem"})).await;
    let out = fs.output.unwrap();
    assert!(
        out["read"].is_string(),
        "reading /etc/passwd must fail: {out}"
    );
    assert!(out["list"].is_string(), "listing / must fail: {out}");

    let env = common::run(&sandbox, &runbook, json!({"case": "environment"})).await;
    assert_eq!(env.output.unwrap(), json!({"vars": 0, "args": 0}));

    let socket = common::run(&sandbox, &runbook, json!({"case": "socket", "addr": addr})).await;
    assert_eq!(socket.status, ExecutionStatus::Succeeded);
    assert!(
        socket.output.unwrap()["connect"].is_string(),
        "a TCP connect must fail"
    );
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing may have connected");
}

#[tokio::test]
async fn log_levels_stdout_and_stderr_are_captured_in_order() {
    let sandbox = common::sandbox();
    let runbook = common::prepare(&sandbox, "conformance", None);
    let report = common::run(&sandbox, &runbook, json!({"case": "log"})).await;
    let got: Vec<(LogLevel, LogSource, &str)> = report
        .logs
        .iter()
        .map(|e| (e.level, e.source, e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (LogLevel::Debug, LogSource::Log, "debug line"),
            (LogLevel::Info, LogSource::Log, "info line"),
            (LogLevel::Warn, LogSource::Log, "warn line"),
            (LogLevel::Error, LogSource::Log, "error line"),
            (LogLevel::Info, LogSource::Stdout, "stdout line"),
            (LogLevel::Warn, LogSource::Stderr, "stderr line"),
        ]
    );
}
