//! A test guest that does whatever the event's `case` names: the ordinary
//! capability calls, and every hostile behaviour the sandbox must contain.
//! Capability errors are returned as data (`{"error": "..."}`), so tests can
//! assert what the guest saw as well as what the host recorded.

use wolfe_sdk::{Value, connectors, http, json, kv, log, secrets};

fn run(event: Value) -> wolfe_sdk::Result<Value> {
    let case = event["case"].as_str().unwrap_or("echo");
    let arg = |name: &str| event[name].as_str().unwrap_or_default().to_string();
    match case {
        "echo" => Ok(event.clone()),
        // What only the clocks and the random sources decide: a replay must
        // answer the same.
        "entropy" => {
            use std::hash::{BuildHasher, Hasher};
            let started = std::time::Instant::now();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let random = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            Ok(json!({
                "now_ns": now.to_string(),
                "random": random.to_string(),
                "elapsed_ns": started.elapsed().as_nanos().to_string(),
            }))
        }
        "log" => {
            log::debug("debug line");
            log::info("info line");
            log::warn("warn line");
            log::error("error line");
            println!("stdout line");
            eprintln!("stderr line");
            Ok(json!({"logged": 6}))
        }
        "log_flood" => {
            for i in 0..100_000 {
                log::info(&format!(
                    "flood line {i} with some padding to make it longer"
                ));
            }
            Ok(json!({"flooded": true}))
        }
        "stdout_flood" => {
            let line = "x".repeat(1000);
            for _ in 0..2_000 {
                println!("{line}");
            }
            Ok(json!({"flooded": true}))
        }
        "http" => {
            let method = event["method"].as_str().unwrap_or("GET");
            let mut request = http::Request::new(method, &arg("url"));
            if let Some(t) = event["timeout_ms"].as_u64() {
                request = request.timeout_ms(t as u32);
            }
            if let Some(body) = event["body"].as_str() {
                request = request.body(body.as_bytes().to_vec());
            }
            if let Some(token) = event["bearer_secret"].as_str() {
                let token = secrets::get(token)?;
                request = request.header("Authorization", &format!("Bearer {token}"));
            }
            Ok(match request.send() {
                Ok(r) => json!({"status": r.status, "body": r.text()}),
                Err(e) => json!({"error": e.to_string()}),
            })
        }
        "connector" => Ok(
            match connectors::call(&arg("name"), &arg("action"), &arg("payload")) {
                Ok(r) => json!({"status": r.status, "body": r.body}),
                Err(e) => json!({"error": e.to_string()}),
            },
        ),
        "secret" => Ok(match secrets::get(&arg("name")) {
            Ok(value) => json!({"value": value}),
            Err(e) => json!({"error": e.to_string()}),
        }),
        "kv_roundtrip" => {
            let key = arg("key");
            let before = kv::get(&key)?.map(|v| String::from_utf8_lossy(&v).into_owned());
            kv::set(&key, arg("value").as_bytes())?;
            let after = kv::get(&key)?.map(|v| String::from_utf8_lossy(&v).into_owned());
            Ok(json!({"before": before, "after": after}))
        }
        "kv_atomic" => {
            let swaps = [
                kv::compare_and_swap("atomic", None, b"a")?,
                kv::compare_and_swap("atomic", None, b"b")?,
                kv::compare_and_swap("atomic", Some(&b"a"[..]), b"c")?,
            ];
            let value = kv::get("atomic")?.map(|v| String::from_utf8_lossy(&v).into_owned());
            let counts = [kv::increment("hits", 2)?, kv::increment("hits", 3)?];
            let not_a_counter = kv::increment("atomic", 1).err().map(|e| e.to_string());
            Ok(
                json!({"swaps": swaps, "value": value, "counts": counts, "not_a_counter": not_a_counter}),
            )
        }
        "kv_counter" => {
            let n: u64 = kv::get_json("counter")?.unwrap_or(0) + 1;
            kv::set_json("counter", &n)?;
            Ok(json!({"counter": n}))
        }
        "kv_flood" => {
            let value = vec![7u8; event["size"].as_u64().unwrap_or(1) as usize];
            let mut writes = 0u64;
            loop {
                match kv::set(&format!("flood/{writes}"), &value) {
                    Ok(()) => writes += 1,
                    Err(e) => return Ok(json!({"writes": writes, "error": e.to_string()})),
                }
            }
        }
        "kv_delete" => {
            kv::delete(&arg("key"))?;
            Ok(json!({"deleted": true}))
        }
        "guest_error" => wolfe_sdk::bail!("broker {} is down", arg("broker")),
        // Emits `emit_type` with `emit_data` (`times` times), then sleeps
        // `ms`: a diagnostic runbook handing findings on.
        "emit" => {
            let mut ids = Vec::new();
            for _ in 0..event["times"].as_u64().unwrap_or(1) {
                match wolfe_sdk::events::emit(&arg("emit_type"), &event["emit_data"]) {
                    Ok(id) => ids.push(json!(id)),
                    Err(e) => return Ok(json!({"emitted": ids, "error": e.to_string()})),
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(
                event["ms"].as_u64().unwrap_or(0),
            ));
            Ok(json!({"emitted": ids}))
        }
        // Fails the first `times` runs for `key` (counted in kv), then
        // succeeds: a flaky runbook for retry tests.
        "fail_times" => {
            let attempt = kv::increment(&format!("attempts:{}", arg("key")), 1)?;
            let times = event["times"].as_i64().unwrap_or(0);
            if attempt <= times {
                wolfe_sdk::bail!("attempt {attempt}: failing {times} times in all");
            }
            Ok(json!({"attempt": attempt}))
        }
        "infinite_loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "sleep_ms" => {
            let ms = event["ms"].as_u64().unwrap_or(10);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(json!({"slept_ms": ms, "n": event["n"].clone()}))
        }
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(600));
            Ok(json!({"slept": true}))
        }
        "memory_bomb" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1024 * 1024]);
                std::hint::black_box(&hoard);
            }
        }
        "recursion" => Ok(json!({"depth": recurse(std::hint::black_box(1))})),
        "panic" => panic!("deliberate panic: {}", arg("why")),
        "big_output" => Ok(json!({"blob": "y".repeat(2 * 1024 * 1024)})),
        "exit" => std::process::exit(3),
        "filesystem" => Ok(json!({
            "read": std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string()).err(),
            "list": std::fs::read_dir("/").map(|_| ()).map_err(|e| e.to_string()).err(),
        })),
        "environment" => Ok(json!({
            "vars": std::env::vars().count(),
            "args": std::env::args().count(),
        })),
        "socket" => Ok(json!({
            "connect": std::net::TcpStream::connect(arg("addr")).map(|_| ()).map_err(|e| e.to_string()).err(),
        })),
        other => wolfe_sdk::bail!("unknown case {other:?}"),
    }
}

#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 64]);
    recurse(frame[3] + 1) + frame[7]
}

wolfe_sdk::runbook!(run);
