//! JavaScript runbooks: `app.js` exporting `run(event)`, bundled with its
//! local imports and npm dependencies by esbuild, then built into a
//! component by componentize-js (SpiderMonkey) against the WIT world. The
//! SDK and the export wrapper are embedded in this binary, so a runbook
//! builds outside the repository.

use super::{BuildError, find_tool, write_staged};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The componentize-js version the SDK is written and tested against.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// The module a JavaScript runbook's `run` is exported from.
pub const ENTRY_MODULE: &str = "app.js";

const SDK: &[(&str, &str)] = &[
    ("index.js", include_str!("../../../sdk/js/index.js")),
    (
        "connectors.js",
        include_str!("../../../sdk/js/connectors.js"),
    ),
    ("errors.js", include_str!("../../../sdk/js/errors.js")),
    ("events.js", include_str!("../../../sdk/js/events.js")),
    ("http.js", include_str!("../../../sdk/js/http.js")),
    ("kv.js", include_str!("../../../sdk/js/kv.js")),
    ("log.js", include_str!("../../../sdk/js/log.js")),
    ("secrets.js", include_str!("../../../sdk/js/secrets.js")),
    ("text.js", include_str!("../../../sdk/js/text.js")),
    ("runtime.js", include_str!("../../../sdk/js/runtime.js")),
];

fn install_hint() -> String {
    format!(
        "run scripts/setup.sh in the wolfe repository, or `npm install @bytecodealliance/componentize-js@{COMPONENTIZE_JS_VERSION} esbuild`"
    )
}

/// Builds `dir` (with `app.js`) in `staging`; returns the component's path.
/// `install`: whether missing npm dependencies may be installed first.
pub fn build(dir: &Path, staging: &Path, install: bool) -> Result<PathBuf, BuildError> {
    let entry = dir.join(ENTRY_MODULE);
    if !entry.is_file() {
        return Err(BuildError::Failed(format!(
            "{} has no {ENTRY_MODULE}: a JavaScript runbook exports `run(event)` from it",
            dir.display()
        )));
    }
    let node = find_tool("WOLFE_NODE", "node", "node/bin/node", dir).ok_or_else(|| {
        BuildError::ToolchainMissing(
            "node not found: JavaScript runbooks need Node.js 18 or newer (`apt-get install nodejs`, or set WOLFE_NODE)".into(),
        )
    })?;
    let componentize = find_tool(
        "WOLFE_COMPONENTIZE_JS",
        "componentize-js",
        "node/node_modules/.bin/componentize-js",
        dir,
    )
    .ok_or_else(|| {
        BuildError::ToolchainMissing(format!(
            "componentize-js not found: {}, or set WOLFE_COMPONENTIZE_JS",
            install_hint()
        ))
    })?;
    let esbuild = find_tool(
        "WOLFE_ESBUILD",
        "esbuild",
        "node/node_modules/.bin/esbuild",
        dir,
    )
    .ok_or_else(|| {
        BuildError::ToolchainMissing(format!(
            "esbuild not found: {}, or set WOLFE_ESBUILD",
            install_hint()
        ))
    })?;
    install_dependencies(dir, install)?;

    super::write_wit(staging)?;
    for (name, text) in SDK {
        write_staged(&staging.join("sdk").join(name), text)?;
    }
    let entry = entry
        .canonicalize()
        .map_err(|e| BuildError::Failed(format!("{}: {e}", entry.display())))?;
    // The component's export: the author's module wrapped by the SDK runtime.
    write_staged(
        &staging.join("entry.js"),
        &format!(
            "import * as app from {app};\nimport {{ runExport }} from {runtime};\n\
             export function run(event) {{\n  return runExport(app.run ?? app.default, event);\n}}\n",
            app = js_string(&entry),
            runtime = js_string(&staging.join("sdk/runtime.js")),
        ),
    )?;
    let bundle = staging.join("bundle.js");
    run_tool(
        Command::new(&esbuild)
            .arg(staging.join("entry.js"))
            .args([
                "--bundle",
                "--format=esm",
                "--platform=neutral",
                "--main-fields=module,main",
                "--target=es2022",
                "--log-level=warning",
                "--external:wolfe:*",
                // The wrapper falls back to a default export; a module
                // without one is fine.
                "--log-override:import-is-undefined=silent",
            ])
            .arg(format!(
                "--alias:wolfe-sdk={}",
                staging.join("sdk/index.js").display()
            ))
            .arg(format!("--outfile={}", bundle.display()))
            .current_dir(dir),
        "esbuild",
        dir,
    )?;
    let output = staging.join("runbook.wasm");
    run_tool(
        Command::new(&node)
            .arg(&componentize)
            .arg(&bundle)
            .arg("--wit")
            .arg(staging.join("wit"))
            .args(["--world-name", "runbook", "--disable", "fetch-event", "-o"])
            .arg(&output),
        "componentize-js",
        dir,
    )?;
    Ok(output)
}

/// `npm ci` (with a lock file) or `npm install` when `package.json`
/// declares dependencies that are not installed yet; without `install`, a
/// build that would need them fails saying so.
fn install_dependencies(dir: &Path, install: bool) -> Result<(), BuildError> {
    let manifest = dir.join("package.json");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return Ok(());
    };
    let package: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| BuildError::Failed(format!("{}: {e}", manifest.display())))?;
    let declares = package["dependencies"]
        .as_object()
        .is_some_and(|d| !d.is_empty());
    if !declares || dir.join("node_modules").is_dir() {
        return Ok(());
    }
    if !install {
        return Err(BuildError::Failed(format!(
            "{} declares npm dependencies, and this build installs none: bundle them into the runbook's own files, or build with `wolfe build` where npm can install them",
            manifest.display()
        )));
    }
    let subcommand = if dir.join("package-lock.json").is_file() {
        "ci"
    } else {
        "install"
    };
    let npm = find_tool("WOLFE_NPM", "npm", "node/bin/npm", dir).ok_or_else(|| {
        BuildError::ToolchainMissing(format!(
            "{} declares dependencies but npm was not found; install Node.js and npm",
            manifest.display()
        ))
    })?;
    run_tool(
        Command::new(npm)
            .args([subcommand, "--no-audit", "--no-fund", "--omit=dev"])
            .current_dir(dir),
        "npm",
        dir,
    )
}

fn run_tool(command: &mut Command, name: &str, dir: &Path) -> Result<(), BuildError> {
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| BuildError::ToolchainMissing(format!("cannot run {name}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Failed(format!(
            "{name} for {} exited with {status}",
            dir.display()
        )))
    }
}

/// A path as a JavaScript string literal.
fn js_string(path: &Path) -> String {
    serde_json::Value::String(path.display().to_string()).to_string()
}
