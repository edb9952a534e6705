//! `wolfe replay --file exec.json`: runs a recorded execution again on this
//! machine, every host call answered from its transcript (nothing is sent,
//! no secret or store is needed), and prints one verdict. Exit 0 only for
//! `identical`.

use super::Outcome;
use super::run::{default_cache_dir, resolve_target};
use crate::capabilities::connectors::StaticConnectors;
use crate::capabilities::secrets::StaticSecrets;
use crate::sandbox::replay::{EXPORT_FORMAT, ExecutionExport, Verdict, compare};
use crate::sandbox::report::ExecutionReport;
use crate::sandbox::{ExecutionRequest, Sandbox, SandboxConfig, Transcribe};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The execution and its transcript (`wolfe run --record FILE`).
    #[arg(long)]
    file: PathBuf,
    /// Replay another build: a runbook folder (built first) or a `.wasm`
    /// [default: the component the execution ran].
    #[arg(long, value_name = "DIR_OR_WASM")]
    component: Option<PathBuf>,
    /// The manifest [default: the component's runbook.toml].
    #[arg(long)]
    manifest: Option<PathBuf>,
}

pub fn replay(args: ReplayArgs) -> anyhow::Result<Outcome> {
    let text = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let export: ExecutionExport = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an exported execution", args.file.display()))?;
    if export.format != EXPORT_FORMAT {
        bail!(
            "{} has format {:?}; this wolfe replays {EXPORT_FORMAT:?}",
            args.file.display(),
            export.format
        );
    }
    if !export.recorded.transcript.complete {
        bail!(
            "the transcript of {} outgrew its cap and is incomplete: the execution cannot be replayed",
            args.file.display()
        );
    }
    let target = match (&args.component, &export.component) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => PathBuf::from(path),
        (None, None) => bail!("the file names no component: pass --component DIR_OR_WASM"),
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
        ExecutionRequest {
            input: export.input.clone(),
            secrets: Arc::new(StaticSecrets::default()),
            connectors: Arc::new(StaticConnectors::default()),
            kv: None,
            events: None,
            dry_run: export.dry_run,
            on_tick: None,
            cancel: None,
            transcript: Transcribe::Replay(Arc::new(export.recorded.transcript.clone())),
        },
    ));
    let verdict = compare(&export.recorded, &replayed);
    print!("{}", describe(&verdict, &export, &replayed));
    Ok(match verdict {
        Verdict::Identical => Outcome::Succeeded,
        _ => Outcome::RunbookFailed,
    })
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
