//! `wolfe run`: one local execution of a runbook, printed as JSON.

use super::Outcome;
use crate::build::build_runbook;
use crate::capabilities::connectors::StaticConnectors;
use crate::capabilities::kv::KvProvider;
use crate::capabilities::secrets::StaticSecrets;
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::sandbox::replay::{EXPORT_FORMAT, ExecutionExport, Recorded};
use crate::sandbox::{ExecutionRequest, Sandbox, SandboxConfig, Transcribe};
use crate::store::{RunbookKv, Store};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Tenant name for local runs: kv data written by `wolfe run` lives here.
pub const LOCAL_TENANT: &str = "local";

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["event", "event_file"])))]
pub struct RunArgs {
    /// A component (.wasm) or a runbook folder (built first).
    target: PathBuf,
    /// The manifest [default: runbook.toml in the folder, or next to the .wasm].
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// The event, as JSON text.
    #[arg(long)]
    event: Option<String>,
    /// A file holding the event JSON (`-` for stdin).
    #[arg(long)]
    event_file: Option<PathBuf>,
    /// A secret the runbook may read if its manifest declares it: NAME=VALUE.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    secrets: Vec<String>,
    /// A file of NAME=VALUE lines.
    #[arg(long)]
    secrets_file: Option<PathBuf>,
    /// Data directory: kv store (and precompiled components). Without it, a
    /// runbook that declares kv gets a temporary store for this run only.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Precompiled component cache [default: DATA/components, else
    /// $XDG_CACHE_HOME/wolfe/components or ~/.cache/wolfe/components].
    #[arg(long, env = "WOLFE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Let outbound requests reach this special-purpose range (loopback,
    /// private, link-local, metadata, ...), e.g. 127.0.0.1/32 for a local
    /// stand-in service. Repeatable. Default: none, as under `wolfe serve`.
    #[arg(long = "allow-cidr", value_name = "CIDR")]
    allow_cidrs: Vec<ipnet::IpNet>,
    /// Connector configurations: a TOML file of `[name]` tables (`kind =
    /// "http" | "slack" | "pagerduty"`); their credentials are secrets given
    /// with --secret or --secrets-file.
    #[arg(long)]
    connectors_file: Option<PathBuf>,
    /// Run it, but send only reads: GET, HEAD and OPTIONS requests go out;
    /// other requests and connector calls get a synthetic success, and kv
    /// writes are not kept.
    #[arg(long)]
    dry_run: bool,
    /// Record every host call and its answer, the clocks and the random
    /// numbers into FILE, for `wolfe replay --file FILE`.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let (wasm_path, manifest) = resolve_target(&args.target, args.manifest.as_deref())?;
    let wasm = std::fs::read(&wasm_path)
        .with_context(|| format!("cannot read component {}", wasm_path.display()))?;
    let input = read_event(&args)?;

    let mut secrets = StaticSecrets::default();
    if let Some(file) = &args.secrets_file {
        secrets.load_file(file)?;
    }
    for pair in &args.secrets {
        secrets.insert_pair(pair)?;
    }
    let connectors = match &args.connectors_file {
        Some(file) => StaticConnectors::load_file(file)?,
        None => StaticConnectors::default(),
    };

    // kv lives in a store under --data; without it a runbook that declares
    // kv gets a temporary store for this run, so it still runs (state is not
    // kept).
    let store = match &args.data {
        Some(dir) => Some(
            Store::open_sled(&dir.join("kv"))
                .with_context(|| format!("failed to open data directory {}", dir.display()))?,
        ),
        None if manifest.capabilities.kv => {
            eprintln!(
                "wolfe: kv is temporary for this run; pass --data DIR to keep it between runs"
            );
            Some(Store::temporary().context("failed to open a temporary kv store")?)
        }
        None => None,
    };
    let kv = store.clone().map(|store| {
        Arc::new(RunbookKv::new(store, LOCAL_TENANT, &manifest.name)) as Arc<dyn KvProvider>
    });

    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: args
            .cache_dir
            .clone()
            .or_else(|| Some(args.data.as_ref()?.join("components")))
            .or_else(default_cache_dir),
        outbound_allow_cidrs: args.allow_cidrs.clone(),
        ..SandboxConfig::default()
    })?;
    let runbook = sandbox.prepare(&manifest, &wasm)?;
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    let mut report = runtime.block_on(sandbox.execute(
        &runbook,
        ExecutionRequest {
            input: input.clone(),
            secrets: Arc::new(secrets),
            connectors: Arc::new(connectors),
            kv,
            dry_run: args.dry_run,
            on_tick: None,
            cancel: None,
            events: None,
            transcript: match args.record {
                Some(_) => Transcribe::Record,
                None => Transcribe::Off,
            },
        },
    ));
    if let Some(store) = store {
        // The store flushes in the background; this process is about to exit.
        runtime
            .block_on(store.flush())
            .context("failed to flush the kv store")?;
    }
    if let Some(file) = &args.record {
        let recorded = Recorded::from_report(&report).context("no transcript was recorded")?;
        let export = ExecutionExport {
            format: EXPORT_FORMAT.into(),
            runbook: runbook.name.clone(),
            version: runbook.version.clone(),
            sha256: runbook.component.sha256.clone(),
            component: std::path::absolute(&wasm_path)
                .ok()
                .map(|p| p.display().to_string()),
            manifest: None,
            input,
            dry_run: args.dry_run,
            limits: report.limits.clone(),
            recorded,
        };
        std::fs::write(file, serde_json::to_vec_pretty(&export)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
        // In the file, not in what is printed.
        report.transcript = None;
    }
    let record = LocalRunRecord {
        runbook: &runbook.name,
        version: &runbook.version,
        sha256: &runbook.component.sha256,
        component_cache: runbook.component.cache,
        dry_run: args.dry_run,
        report: &report,
    };
    println!("{}", serde_json::to_string_pretty(&record)?);
    Ok(if report.succeeded() {
        Outcome::Succeeded
    } else {
        Outcome::RunbookFailed
    })
}

/// What `wolfe run` prints: which runbook ran, then the execution report.
#[derive(serde::Serialize)]
struct LocalRunRecord<'a> {
    runbook: &'a str,
    version: &'a str,
    sha256: &'a str,
    /// `hit` when the precompiled cache served the component.
    component_cache: crate::sandbox::cache::CacheOutcome,
    /// As in a served execution record: shown only for a dry run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dry_run: bool,
    #[serde(flatten)]
    report: &'a crate::sandbox::report::ExecutionReport,
}

/// The component and manifest a target names: a runbook folder (built
/// first) or a `.wasm` with its manifest beside it (or `manifest`).
pub(super) fn resolve_target(
    target: &Path,
    manifest: Option<&Path>,
) -> anyhow::Result<(PathBuf, Manifest)> {
    if target.is_dir() {
        let built = build_runbook(target, None)?;
        let manifest = match manifest {
            Some(m) => Manifest::load(m)?,
            None => built.manifest,
        };
        return Ok((built.path, manifest));
    }
    if !target.exists() {
        bail!("{} does not exist", target.display());
    }
    let manifest_path = match manifest {
        Some(m) => m.to_path_buf(),
        None => target
            .parent()
            .unwrap_or(Path::new("."))
            .join(MANIFEST_FILE),
    };
    if !manifest_path.exists() {
        bail!(
            "no manifest for {}: pass --manifest FILE (looked for {})",
            target.display(),
            manifest_path.display()
        );
    }
    Ok((target.to_path_buf(), Manifest::load(&manifest_path)?))
}

fn read_event(args: &RunArgs) -> anyhow::Result<serde_json::Value> {
    let (text, origin) = match (&args.event, &args.event_file) {
        (Some(text), _) => (text.clone(), "--event".to_string()),
        (None, Some(path)) if path == Path::new("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("cannot read the event from stdin")?;
            (text, "stdin".to_string())
        }
        (None, Some(path)) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read event file {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, None) => bail!("give the event with --event JSON or --event-file FILE"),
    };
    serde_json::from_str(&text).with_context(|| format!("the event in {origin} is not valid JSON"))
}

/// $XDG_CACHE_HOME/wolfe/components or ~/.cache/wolfe/components.
pub(super) fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wolfe").join("components"))
}
