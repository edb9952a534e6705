//! Shared test support: builds the repo's guest components once per test
//! binary (through the same `build_runbook` the CLI uses), and sets up
//! sandboxes with a precompiled cache shared by every test binary.

#![allow(dead_code)]

pub mod moto;
pub mod postgres;
pub mod private_net;
pub mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use wolfe::capabilities::connectors::StaticConnectors;
use wolfe::capabilities::events::{EmitError, EventSink};
use wolfe::capabilities::kv::KvProvider;
use wolfe::capabilities::secrets::StaticSecrets;
use wolfe::manifest::Manifest;
use wolfe::sandbox::report::ExecutionReport;
use wolfe::sandbox::{ExecutionRequest, PreparedRunbook, Sandbox, SandboxConfig};
use wolfe::store::{RunbookKv, Store};

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

/// Guests by name: `conformance` (tests/guests/rust), `hello`, `flap-guard`
/// (runbooks/rust); a name with a language, `python/conformance`, looks
/// under that language's folder instead.
fn guest_dir(name: &str) -> PathBuf {
    let (language, name) = name.split_once('/').unwrap_or(("rust", name));
    let test_guest = repo_root().join("tests/guests").join(language).join(name);
    if test_guest.is_dir() {
        test_guest
    } else {
        repo_root().join("runbooks").join(language).join(name)
    }
}

fn component_file(name: &str) -> PathBuf {
    target_dir()
        .join("test-components")
        .join(format!("{}.wasm", name.replace('/', "-")))
}

/// A built guest: its manifest and component bytes.
pub type Guest = (Manifest, Arc<Vec<u8>>);

/// Builds (once per process) and returns the component bytes and manifest.
pub fn guest(name: &str) -> Guest {
    static BUILT: OnceLock<Mutex<HashMap<String, Guest>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some(hit) = built.get(name) {
        return hit.clone();
    }
    let dir = guest_dir(name);
    let entry = match reusable_build(name, &dir) {
        Some(entry) => entry,
        None => {
            let out = component_file(name);
            let component = wolfe::build::build_runbook(&dir, Some(&out))
                .unwrap_or_else(|e| panic!("building guest {name} failed: {e}"));
            let bytes = Arc::new(std::fs::read(&component.path).unwrap());
            if let Some(stamp) = source_stamp(name, &dir) {
                std::fs::write(stamp_file(name), stamp).unwrap();
            }
            (component.manifest, bytes)
        }
    };
    built.insert(name.to_string(), entry.clone());
    entry
}

fn stamp_file(name: &str) -> PathBuf {
    component_file(name).with_extension("stamp")
}

/// A fingerprint of everything a Python or JavaScript guest's build reads:
/// its folder, its language's SDK, the WIT and the host's build code. Their
/// builds take half a minute, and every test binary needs them: a build from
/// an earlier test binary of this run (or an earlier run) with the same
/// fingerprint is reused. Rust guests are left to cargo's own caching.
fn source_stamp(name: &str, dir: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let language = name.split_once('/').map(|(l, _)| l)?;
    if language == "rust" {
        return None;
    }
    let root = repo_root();
    let mut files = Vec::new();
    for folder in [
        dir.to_path_buf(),
        root.join("sdk").join(language),
        root.join("wit"),
        root.join("host/src/build"),
    ] {
        collect_sources(&folder, &mut files);
    }
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(std::fs::read(&file).ok()?);
    }
    Some(hex::encode(hash.finalize()))
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.')
            || ["node_modules", "__pycache__", "target"].contains(&&*name)
            || name.ends_with(".wasm")
        {
            continue;
        }
        if path.is_dir() {
            collect_sources(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn reusable_build(name: &str, dir: &Path) -> Option<Guest> {
    let stamp = source_stamp(name, dir)?;
    if std::fs::read_to_string(stamp_file(name)).ok()? != stamp {
        return None;
    }
    let bytes = std::fs::read(component_file(name)).ok()?;
    let manifest = Manifest::load(dir).ok()?;
    Some((manifest, Arc::new(bytes)))
}

/// Path of a built guest component (built on first use).
pub fn guest_path(name: &str) -> PathBuf {
    guest(name);
    component_file(name)
}

pub fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig {
        cache_dir: Some(target_dir().join("test-cache")),
        // The tests' stand-in services listen on loopback; allowed by
        // configuration, as a deployment would, never by default.
        outbound_allow_cidrs: vec!["127.0.0.1/32".parse().unwrap()],
        ..SandboxConfig::default()
    })
    .expect("sandbox")
}

/// Prepares a guest with its own manifest, or with `manifest_text` instead.
pub fn prepare(sandbox: &Sandbox, name: &str, manifest_text: Option<&str>) -> PreparedRunbook {
    let (manifest, wasm) = guest(name);
    let manifest = match manifest_text {
        Some(text) => Manifest::parse(text).expect("test manifest"),
        None => manifest,
    };
    sandbox.prepare(&manifest, &wasm).expect("prepare")
}

/// Everything an execution may be given, with empty defaults.
#[derive(Default)]
pub struct Inputs {
    pub secrets: StaticSecrets,
    pub connectors: StaticConnectors,
    pub kv: Option<Arc<dyn KvProvider>>,
    /// Run as a dry run: only reads go out.
    pub dry_run: bool,
    /// Where `events.emit` goes; `None` as under `wolfe run`.
    pub events: Option<Arc<dyn EventSink>>,
    /// Record the transcript, or replay one.
    pub transcript: wolfe::sandbox::Transcribe,
}

/// An event sink that answers each emit with the id
/// `{seq}:{event type}:{data as JSON}`, so a test sees what arrived.
pub struct EchoingSink;

#[async_trait::async_trait]
impl EventSink for EchoingSink {
    async fn emit(
        &self,
        seq: u32,
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<String, EmitError> {
        Ok(format!("{seq}:{event_type}:{data}"))
    }
}

pub async fn run(
    sandbox: &Sandbox,
    runbook: &PreparedRunbook,
    event: serde_json::Value,
) -> ExecutionReport {
    run_with(sandbox, runbook, event, Inputs::default()).await
}

pub async fn run_with(
    sandbox: &Sandbox,
    runbook: &PreparedRunbook,
    event: serde_json::Value,
    inputs: Inputs,
) -> ExecutionReport {
    sandbox
        .execute(
            runbook,
            ExecutionRequest {
                input: event,
                secrets: Arc::new(inputs.secrets),
                connectors: Arc::new(inputs.connectors),
                kv: inputs.kv,
                dry_run: inputs.dry_run,
                on_tick: None,
                cancel: None,
                events: inputs.events,
                transcript: inputs.transcript,
            },
        )
        .await
}

/// A temporary sled store and one runbook's kv namespace in it.
pub fn temp_kv(tenant: &str, runbook: &str) -> (tempfile::TempDir, Store, Arc<dyn KvProvider>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sled(dir.path()).unwrap();
    let ns = kv_namespace(&store, tenant, runbook);
    (dir, store, ns)
}

/// `runbook`'s kv namespace in `tenant`.
pub fn kv_namespace(store: &Store, tenant: &str, runbook: &str) -> Arc<dyn KvProvider> {
    Arc::new(RunbookKv::new(store.clone(), tenant, runbook))
}

/// Pretty JSON of a report, for assertion messages.
pub fn show(report: &ExecutionReport) -> String {
    serde_json::to_string_pretty(report).unwrap()
}
