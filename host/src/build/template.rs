//! `wolfe new`: a runnable runbook template (manifest, source, README,
//! sample event) in Rust, Python or JavaScript.

use crate::manifest::{Language, check_identifier};
use std::path::{Path, PathBuf};

/// The Rust SDK of the repository this binary was built from; a template
/// depends on it by path until the crate is published.
pub fn default_rust_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/rust")
}

/// Writes a new runbook named after the last part of `dir`.
pub fn new_runbook(
    dir: &Path,
    language: Language,
    rust_sdk: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{} has no usable folder name", dir.display()))?
        .to_string();
    check_identifier("name", &name, 64)?;
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!("{} already exists and is not empty", dir.display());
    }
    let mut written = Vec::new();
    for (relative, text) in template_files(&name, language, rust_sdk)? {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().expect("template files have a parent"))?;
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// The files of a new runbook `name` (relative path, text): what
/// `wolfe new` writes and what Studio starts from (`GET
/// /v1/build/templates/{language}`), so both begin from the same template.
/// A Rust template depends on the SDK at `rust_sdk`, which must exist.
pub fn template_files(
    name: &str,
    language: Language,
    rust_sdk: &Path,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    check_identifier("name", name, 64)?;
    let mut files: Vec<(&str, String)> = match language {
        Language::Rust => {
            let sdk = rust_sdk.canonicalize().map_err(|_| {
                anyhow::anyhow!(
                    "the Rust SDK is not at {}; pass --sdk PATH/TO/wolfe/sdk/rust",
                    rust_sdk.display()
                )
            })?;
            vec![
                ("Cargo.toml", rust_cargo_toml(name, &sdk)),
                ("src/lib.rs", RUST_SOURCE.to_string()),
            ]
        }
        Language::Python => vec![("app.py", PYTHON_SOURCE.to_string())],
        Language::Js => vec![("app.js", JS_SOURCE.to_string())],
    };
    let language_name = language_name(language);
    files.extend([
        ("runbook.toml", manifest(name, language_name)),
        ("event.json", EVENT.to_string()),
        ("README.md", readme(name, language_name)),
    ]);
    Ok(files)
}

/// The template's sample event (`event.json`), as JSON.
pub fn sample_event() -> serde_json::Value {
    serde_json::from_str(EVENT).unwrap_or(serde_json::Value::Null)
}

/// A language as the manifest and `wolfe new --lang` spell it.
pub fn language_name(language: Language) -> &'static str {
    match language {
        Language::Rust => "rust",
        Language::Python => "python",
        Language::Js => "js",
    }
}

fn rust_cargo_toml(name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
wolfe-sdk = {{ path = "{}" }}
serde = {{ version = "1", features = ["derive"] }}

[profile.release]
opt-level = "s"
lto = true
strip = true
"#,
        sdk.display()
    )
}

const RUST_SOURCE: &str = r#"//! What this runbook does, in one paragraph.

use serde::{Deserialize, Serialize};
use wolfe_sdk::{http, log};

#[derive(Deserialize)]
struct Input {
    service: String,
    health_url: String,
}

#[derive(Serialize)]
struct Output {
    service: String,
    healthy: bool,
}

fn run(input: Input) -> wolfe_sdk::Result<Output> {
    log::info(&format!("checking {}", input.service));
    // Allowed only because runbook.toml grants this URL.
    let healthy = match http::Request::new("GET", &input.health_url).timeout_ms(2_000).send() {
        Ok(r) => r.is_success(),
        Err(e) => {
            log::warn(&format!("health check failed: {e}"));
            false
        }
    };
    Ok(Output { service: input.service, healthy })
}

wolfe_sdk::runbook!(run);
"#;

const PYTHON_SOURCE: &str = r#""""What this runbook does, in one paragraph."""

from wolfe_sdk import CapabilityError, http, log, runbook


@runbook
def run(event):
    log.info(f"checking {event['service']}")
    # Allowed only because runbook.toml grants this URL.
    try:
        healthy = http.get(event["health_url"], timeout_ms=2000).ok
    except CapabilityError as e:
        log.warn(f"health check failed: {e}")
        healthy = False
    return {"service": event["service"], "healthy": healthy}
"#;

const JS_SOURCE: &str = r#"// What this runbook does, in one paragraph.

import { log } from 'wolfe-sdk';

export async function run(event) {
  log.info(`checking ${event.service}`);
  // Allowed only because runbook.toml grants this URL; anything else is
  // refused by the host and recorded in the execution's capability trail.
  let healthy = false;
  try {
    const response = await fetch(event.health_url);
    healthy = response.ok;
  } catch (e) {
    log.warn(`health check failed: ${e}`);
  }
  return { service: event.service, healthy };
}
"#;

const EVENT: &str = r#"{"service": "checkout", "health_url": "http://127.0.0.1:9/health"}
"#;

fn manifest(name: &str, language: &str) -> String {
    format!(
        r#"name = "{name}"
version = "0.1.0"
language = "{language}"
description = "Describe what this runbook remediates"

[limits]
memory_mb = 64
fuel = 100_000_000
timeout_ms = 5_000

[capabilities]
# Everything not listed here is denied.
http = [
  {{ url = "http://127.0.0.1:*/health", methods = ["GET"] }},
]
secrets = []
kv = false
"#
    )
}

fn readme(name: &str, language: &str) -> String {
    format!(
        r#"# {name}

A {language} runbook for Wolfe.

- **Event**: `{{"service", "health_url"}}`, e.g. `event.json`.
- **Does**: checks `health_url` and reports whether the service is healthy.
- **Capabilities**: `GET http://127.0.0.1:*/health`.

```sh
wolfe build {name}
wolfe run {name} --event-file {name}/event.json --allow-cidr 127.0.0.1/32
```

The host refuses loopback and private addresses unless configured to allow
them (`--allow-cidr` here, `outbound_allow_cidrs` under `wolfe serve`);
the sample event's health URL is on loopback.
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_have_a_valid_manifest_and_refuse_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("my-check");
        let written = new_runbook(&target, Language::Python, &default_rust_sdk()).unwrap();
        assert_eq!(written.len(), 4);
        let manifest = crate::manifest::Manifest::load(&target).unwrap();
        assert_eq!(
            (manifest.name.as_str(), manifest.language),
            ("my-check", Language::Python)
        );
        assert!(new_runbook(&target, Language::Python, &default_rust_sdk()).is_err());
        assert!(
            new_runbook(
                &dir.path().join("Bad Name"),
                Language::Rust,
                &default_rust_sdk()
            )
            .is_err()
        );
        // What Studio starts from is what `wolfe new` writes.
        let files = template_files("my-check", Language::Python, &default_rust_sdk()).unwrap();
        for (relative, text) in &files {
            assert_eq!(
                &std::fs::read_to_string(target.join(relative)).unwrap(),
                text
            );
        }
        assert!(sample_event()["service"].is_string());
        assert!(template_files("Bad Name", Language::Js, &default_rust_sdk()).is_err());
        let js = dir.path().join("js-one");
        new_runbook(&js, Language::Js, &default_rust_sdk()).unwrap();
        assert!(js.join("app.js").is_file());
        assert_eq!(
            crate::manifest::Manifest::load(&js).unwrap().language,
            Language::Js
        );
    }
}
