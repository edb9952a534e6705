//! The smallest useful runbook: logs what it received and echoes it back.

use wolfe_sdk::{Value, json};

fn run(event: Value) -> wolfe_sdk::Result<Value> {
    let keys = event.as_object().map(|o| o.len()).unwrap_or(0);
    wolfe_sdk::log::info(&format!("hello: event with {keys} top-level keys"));
    Ok(json!({ "greeting": "hello from wolfe", "echo": event }))
}

wolfe_sdk::runbook!(run);
