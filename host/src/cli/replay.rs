//! `wolfe replay EXECUTION_ID` (the record and its transcript fetched from
//! the server) or `wolfe replay --file exec.json` (`wolfe exec export`,
//! `wolfe run --record`): runs a recorded execution again on this machine,
//! every host call answered from its transcript (nothing is sent, no secret
//! or store is needed), and prints one verdict. Exit 0 only for
//! `identical`.

use super::Outcome;
use super::client::{Client, Connection};
use super::run::{default_cache_dir, resolve_target};
use crate::manifest::MANIFEST_FILE;
use crate::sandbox::replay::{EXPORT_FORMAT, ExecutionExport, Verdict, compare};
use crate::sandbox::report::ExecutionReport;
use crate::sandbox::{ExecutionRequest, Sandbox, SandboxConfig};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("recorded").required(true).args(["execution", "file"])))]
pub struct ReplayArgs {
    #[command(flatten)]
    conn: Connection,
    /// An execution on the server: its record, transcript and component
    /// are fetched.
    execution: Option<String>,
    /// An exported execution (`wolfe exec export`, `wolfe run --record`).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Replay another build: a runbook folder (built first) or a `.wasm`
    /// [default: the component the execution ran].
    #[arg(long, value_name = "DIR_OR_WASM")]
    component: Option<PathBuf>,
    /// The manifest [default: the component's runbook.toml].
    #[arg(long)]
    manifest: Option<PathBuf>,
}

pub fn replay(args: ReplayArgs) -> anyhow::Result<Outcome> {
    // Holds a downloaded component until the replay is over.
    let mut download = None;
    let (export, origin) = match (&args.execution, &args.file) {
        (Some(id), _) => {
            let client = Client::new(args.conn.clone())?;
            let export = client.export(id)?;
            if args.component.is_none() {
                download = Some(fetch_component(&client, &export)?);
            }
            (export, format!("execution {id}"))
        }
        (None, Some(file)) => (read_export(file)?, file.display().to_string()),
        (None, None) => bail!("name an execution, or pass --file FILE"),
    };
    if export.format != EXPORT_FORMAT {
        bail!(
            "{origin} has format {:?}; this wolfe replays {EXPORT_FORMAT:?}",
            export.format
        );
    }
    if !export.recorded.transcript.complete {
        bail!(
            "the transcript of {origin} outgrew its cap and is incomplete: the execution cannot be replayed"
        );
    }
    let target = match (&args.component, &download, &export.component) {
        (Some(path), _, _) => path.clone(),
        (None, Some(dir), _) => dir.path().join("runbook.wasm"),
        (None, None, Some(path)) => PathBuf::from(path),
        (None, None, None) => bail!("{origin} names no component: pass --component DIR_OR_WASM"),
    };
    let (wasm_path, manifest) = resolve_target(&target, args.manifest.as_deref())?;
    let wasm = std::fs::read(&wasm_path)
        .with_context(|| format!("cannot read component {}", wasm_path.display()))?;
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: default_cache_dir(),
        ..SandboxConfig::default()
    })?;
    let mut runbook = sandbox.prepare(&manifest, &wasm)?;
    if runbook.component.sha256 != export.sha256 {
        eprintln!(
            "wolfe: replaying {} {} ({}) against an execution of {} {}",
            runbook.name,
            runbook.version,
            &runbook.component.sha256[..12],
            export.runbook,
            export.version
        );
    }
    // The same limits, so fuel and memory compare.
    runbook.limits = export.limits.clone();
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    let replayed = runtime.block_on(sandbox.execute(
        &runbook,
        ExecutionRequest::replaying(
            export.input.clone(),
            export.dry_run,
            Arc::new(export.recorded.transcript.clone()),
        ),
    ));
    let verdict = compare(&export.recorded, &replayed);
    print!("{}", describe(&verdict, &export, &replayed));
    Ok(match verdict {
        Verdict::Identical => Outcome::Succeeded,
        _ => Outcome::RunbookFailed,
    })
}

fn read_export(file: &std::path::Path) -> anyhow::Result<ExecutionExport> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an exported execution", file.display()))
}

/// The version's component and manifest, downloaded into a temporary
/// folder (`runbook.wasm` beside `runbook.toml`).
fn fetch_component(client: &Client, export: &ExecutionExport) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir().context("cannot make a temporary folder")?;
    let wasm = client.component(&export.runbook, &export.version)?;
    std::fs::write(dir.path().join("runbook.wasm"), wasm)?;
    let manifest = export
        .manifest
        .as_deref()
        .context("the export has no manifest: pass --component and --manifest")?;
    std::fs::write(dir.path().join(MANIFEST_FILE), manifest)?;
    Ok(dir)
}

/// The verdict as `wolfe replay` prints it: its name on the first line,
/// then what differs.
pub fn describe(verdict: &Verdict, export: &ExecutionExport, replayed: &ExecutionReport) -> String {
    let mut out = format!("{}\n", verdict.name());
    match verdict {
        Verdict::Identical => {
            out += &format!(
                "  {} calls, status {}, fuel {}\n",
                export.recorded.transcript.calls.len(),
                status_name(export.recorded.status),
                replayed.fuel_consumed
            );
        }
        Verdict::CallsDiffer {
            index,
            recorded,
            replayed,
        } => {
            out += &format!("  call #{index}\n");
            out += &format!("  recorded: {}\n", one_line(recorded));
            out += &format!("  replayed: {}\n", one_line(replayed));
        }
        Verdict::StatusDiffers {
            recorded,
            replayed: status,
        } => {
            out += &format!(
                "  recorded: {}\n  replayed: {}\n",
                status_name(*recorded),
                status_name(*status)
            );
            if let Some(error) = &replayed.error {
                out += &format!("  replay error: {}\n", error.message);
            }
        }
        Verdict::OutputDiffers { changes } => {
            for change in changes {
                out += &format!(
                    "  {}: recorded {}, replayed {}\n",
                    change.path,
                    one_line(&change.recorded),
                    one_line(&change.replayed)
                );
            }
        }
    }
    out
}

fn status_name(status: crate::sandbox::report::ExecutionStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One line of JSON; `absent` for a side that has nothing there.
fn one_line<T: serde::Serialize>(value: &Option<T>) -> String {
    match value {
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
        None => "absent".into(),
    }
}
