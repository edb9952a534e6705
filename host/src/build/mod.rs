//! Builds a runbook folder into a component, by the manifest's `language`.
//! Rust runbooks are built with cargo for `wasm32-wasip2`, which emits a
//! component directly. Each build says exactly what is missing when a
//! toolchain is not installed.

use crate::manifest::{Language, Manifest, ManifestError};
use crate::sandbox::cache::ComponentCache;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod isolate;
mod js;
mod python;
pub mod server;
pub mod source;
pub mod template;

/// The target Rust runbooks are compiled for.
pub const RUST_TARGET: &str = "wasm32-wasip2";
/// Where `wolfe build DIR` writes the component unless told otherwise.
pub const DEFAULT_OUTPUT: &str = "runbook.wasm";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{0}")]
    ToolchainMissing(String),
    #[error("build failed: {0}")]
    Failed(String),
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct BuiltComponent {
    pub manifest: Manifest,
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// How a build may behave beyond compiling.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// Run `npm ci`/`npm install` when a JavaScript runbook declares
    /// dependencies that are not installed. `wolfe build` does; the server
    /// never does (its builds have no network, and only the SDK and the
    /// runbook's own files go in).
    pub install_dependencies: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            install_dependencies: true,
        }
    }
}

/// Builds the runbook in `dir` and writes the component to `output` (default
/// `DIR/runbook.wasm`).
pub fn build_runbook(dir: &Path, output: Option<&Path>) -> Result<BuiltComponent, BuildError> {
    build_runbook_with(dir, output, BuildOptions::default())
}

/// [`build_runbook`] with `options`.
pub fn build_runbook_with(
    dir: &Path,
    output: Option<&Path>,
    options: BuildOptions,
) -> Result<BuiltComponent, BuildError> {
    let manifest = Manifest::load(dir)?;
    let output = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(DEFAULT_OUTPUT));
    // Python and JavaScript stage the WIT and the SDK next to their output;
    // the folder must outlive the copy below.
    let mut staging = None;
    let mut staging_dir = || {
        tempfile::tempdir()
            .map(|d| staging.insert(d).path().to_path_buf())
            .map_err(|e| BuildError::Failed(format!("cannot create a build directory: {e}")))
    };
    let artifact = match manifest.language {
        Language::Rust => build_rust(dir)?,
        Language::Python => python::build(dir, &staging_dir()?)?,
        Language::Js => js::build(dir, &staging_dir()?, options.install_dependencies)?,
    };
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| BuildError::Failed(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::copy(&artifact, &output).map_err(|e| {
        BuildError::Failed(format!(
            "cannot copy {} to {}: {e}",
            artifact.display(),
            output.display()
        ))
    })?;
    let bytes = std::fs::read(&output)
        .map_err(|e| BuildError::Failed(format!("cannot read {}: {e}", output.display())))?;
    Ok(BuiltComponent {
        manifest,
        sha256: ComponentCache::digest(&bytes),
        size: bytes.len() as u64,
        path: output,
    })
}

/// The WIT package every guest is built against, embedded so that runbooks
/// build outside the repository.
const WIT: &str = include_str!("../../../wit/runbook.wit");

/// Writes the WIT package to `staging/wit/`.
fn write_wit(staging: &Path) -> Result<(), BuildError> {
    write_staged(&staging.join("wit/runbook.wit"), WIT)
}

/// Writes one staged build input, creating its folder.
fn write_staged(path: &Path, text: &str) -> Result<(), BuildError> {
    std::fs::create_dir_all(path.parent().expect("staged files have a parent"))
        .and_then(|()| std::fs::write(path, text))
        .map_err(|e| BuildError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// Finds a guest toolchain binary: `$ENV_VAR`, then `PATH`, then the
/// git-ignored `.tools/` folder that `scripts/setup.sh` fills, looked for
/// above the runbook folder and then above the `wolfe` binary (so a
/// runbook made with `wolfe new` anywhere builds with the repo's tools).
pub(crate) fn find_tool(
    env_var: &str,
    name: &str,
    tools_relative: &str,
    dir: &Path,
) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for p in std::env::split_paths(&paths) {
            let candidate = p.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let exe = std::env::current_exe().ok();
    let starts = [dir.canonicalize().ok(), exe];
    starts
        .iter()
        .flatten()
        .flat_map(|start| start.ancestors())
        .map(|a| a.join(".tools").join(tools_relative))
        .find(|c| c.is_file())
}

/// `cargo build --release --target wasm32-wasip2` on the runbook's crate;
/// returns the cdylib artifact cargo reports for that crate.
fn build_rust(dir: &Path) -> Result<PathBuf, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    check_rust_target()?;
    let manifest_path = dir.join("Cargo.toml");
    if !manifest_path.exists() {
        return Err(BuildError::Failed(format!(
            "{} not found: a Rust runbook is a cdylib crate",
            manifest_path.display()
        )));
    }
    let manifest_path = manifest_path
        .canonicalize()
        .map_err(|e| BuildError::Failed(format!("{}: {e}", manifest_path.display())))?;
    let output = Command::new(&cargo)
        .args(["build", "--release", "--target", RUST_TARGET])
        .arg("--manifest-path")
        .arg(&manifest_path)
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            BuildError::ToolchainMissing(format!(
                "cannot run cargo ({e}); install Rust from https://rustup.rs"
            ))
        })?;
    if !output.status.success() {
        return Err(BuildError::Failed(format!(
            "cargo build for {} exited with {}",
            dir.display(),
            output.status
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut found = None;
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_cdylib = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        let same_crate = msg["manifest_path"]
            .as_str()
            .is_some_and(|p| Path::new(p) == manifest_path);
        if msg["reason"] == "compiler-artifact" && is_cdylib && same_crate {
            found = msg["filenames"]
                .as_array()
                .and_then(|f| {
                    f.iter()
                        .filter_map(|f| f.as_str())
                        .find(|f| f.ends_with(".wasm"))
                })
                .map(PathBuf::from);
        }
    }
    found.ok_or_else(|| {
        BuildError::Failed(format!(
            "cargo produced no .wasm for {}; is the crate `crate-type = [\"cdylib\"]`?",
            dir.display()
        ))
    })
}

pub(crate) fn check_rust_target() -> Result<(), BuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            BuildError::ToolchainMissing(format!(
                "cannot run rustc ({e}); install Rust from https://rustup.rs"
            ))
        })?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(RUST_TARGET)
        .is_dir()
    {
        Ok(())
    } else {
        Err(BuildError::ToolchainMissing(format!(
            "the Rust target {RUST_TARGET} is not installed; run `rustup target add {RUST_TARGET}`"
        )))
    }
}
