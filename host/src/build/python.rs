//! Python runbooks: `app.py` with a `@runbook` function, built into a
//! component by componentize-py against the WIT world and the Python SDK —
//! both embedded in this binary, so a runbook builds outside the repository.

use super::{BuildError, find_tool, write_staged};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The componentize-py version the SDK is written and tested against.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The module a Python runbook's handler lives in.
pub const ENTRY_MODULE: &str = "app";

const SDK: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../sdk/python/wolfe_sdk/__init__.py"),
    ),
    (
        "connectors.py",
        include_str!("../../../sdk/python/wolfe_sdk/connectors.py"),
    ),
    (
        "events.py",
        include_str!("../../../sdk/python/wolfe_sdk/events.py"),
    ),
    (
        "_world.py",
        include_str!("../../../sdk/python/wolfe_sdk/_world.py"),
    ),
    (
        "errors.py",
        include_str!("../../../sdk/python/wolfe_sdk/errors.py"),
    ),
    (
        "http.py",
        include_str!("../../../sdk/python/wolfe_sdk/http.py"),
    ),
    ("kv.py", include_str!("../../../sdk/python/wolfe_sdk/kv.py")),
    (
        "log.py",
        include_str!("../../../sdk/python/wolfe_sdk/log.py"),
    ),
    (
        "secrets.py",
        include_str!("../../../sdk/python/wolfe_sdk/secrets.py"),
    ),
];

/// Builds `dir` (with `app.py`) in `staging`; returns the component's path.
pub fn build(dir: &Path, staging: &Path) -> Result<PathBuf, BuildError> {
    let tool = find_tool("WOLFE_COMPONENTIZE_PY", "componentize-py", "venv/bin/componentize-py", dir)
        .ok_or_else(|| {
            BuildError::ToolchainMissing(format!(
                "componentize-py not found: run scripts/setup.sh in the wolfe repository, or `pip install componentize-py=={COMPONENTIZE_PY_VERSION}`, or set WOLFE_COMPONENTIZE_PY"
            ))
        })?;
    if !dir.join(format!("{ENTRY_MODULE}.py")).is_file() {
        return Err(BuildError::Failed(format!(
            "{} has no {ENTRY_MODULE}.py: a Python runbook's handler lives there, marked @runbook",
            dir.display()
        )));
    }
    super::write_wit(staging)?;
    for (name, text) in SDK {
        write_staged(&staging.join("python/wolfe_sdk").join(name), text)?;
    }
    // The module componentize-py exports: imports the runbook (registering
    // its handler) and re-exports the SDK's world implementation.
    write_staged(
        &staging.join("python/wolfe_main.py"),
        &format!(
            "import {ENTRY_MODULE}  # noqa: F401 (registers the @runbook handler)\nfrom wolfe_sdk._world import WitWorld  # noqa: F401\n"
        ),
    )?;
    let output = staging.join("runbook.wasm");
    let status = Command::new(&tool)
        .arg("-d")
        .arg(staging.join("wit"))
        .args(["-w", "runbook", "componentize", "wolfe_main", "-p"])
        .arg(staging.join("python"))
        .arg("-p")
        .arg(dir)
        .arg("-o")
        .arg(&output)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| BuildError::ToolchainMissing(format!("cannot run {}: {e}", tool.display())))?;
    if !status.success() {
        return Err(BuildError::Failed(format!(
            "componentize-py for {} exited with {status}",
            dir.display()
        )));
    }
    Ok(output)
}
