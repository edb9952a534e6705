//! The precompiled component cache. Compiling a component costs 0.15 s (Rust)
//! to 17 s (JS); loading its precompiled form costs milliseconds. Artifacts
//! are keyed by the component's sha256 *and* a fingerprint of the engine's
//! compatibility hash (wasmtime version + every codegen-relevant setting), so
//! a changed configuration or wasmtime upgrade can never load a stale file.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheOutcome {
    /// Loaded from a precompiled artifact on disk.
    Hit,
    /// Compiled now (and written to the cache when there is one).
    Compiled,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error("component failed to compile: {0}")]
    Compile(String),
    #[error("component cannot be linked: {0}")]
    Link(String),
    #[error("component imports what the host does not offer: {}; a runbook may import wolfe:runbook@0.1 and the WASI 0.2 interfaces io, clocks, random, cli, filesystem, sockets and http (types, outgoing-handler)", .0.join(", "))]
    ForbiddenImports(Vec<String>),
}

/// Where components are compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Compiler {
    /// In this process (a one-shot `wolfe run`, tests).
    #[default]
    InProcess,
    /// In a short-lived child: `EXE __precompile`. Compiling a Python or JS
    /// component takes about 0.5 GB; in a child that memory is returned to
    /// the system when it exits, instead of staying in a long-running
    /// server's heap. `pooling` must match the parent engine's setting.
    Subprocess { exe: PathBuf, pooling: bool },
}

/// On-disk cache of precompiled components (`None` dir: compile every time).
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_fingerprint: String,
    compiler: Compiler,
    /// One compilation at a time: each can take 0.5 GB and both cores.
    compiling: std::sync::Mutex<()>,
}

impl ComponentCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>, compiler: Compiler) -> Self {
        Self {
            dir,
            engine_fingerprint: engine_fingerprint(engine),
            compiler,
            compiling: std::sync::Mutex::new(()),
        }
    }

    /// The sha256 of component bytes, as the cache and registry name them.
    pub fn digest(wasm: &[u8]) -> String {
        hex::encode(Sha256::digest(wasm))
    }

    pub fn artifact_path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_fingerprint)))
    }

    /// Loads the precompiled artifact for `wasm`, or compiles it (and stores
    /// the artifact). A corrupt or incompatible artifact is recompiled.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> Result<(Component, CacheOutcome), LoadError> {
        if !is_component(wasm) {
            let what = if wasm.starts_with(CORE_MODULE_HEADER) {
                "this is a core wasm module; build it as a component (wasm32-wasip2)"
            } else {
                "the bytes are not WebAssembly"
            };
            return Err(LoadError::NotAComponent(what.to_string()));
        }
        let Some(path) = self.artifact_path(sha256) else {
            let component =
                Component::new(engine, wasm).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
            return Ok((component, CacheOutcome::Compiled));
        };
        if let Some(hit) = load_artifact(engine, &path) {
            return Ok((hit, CacheOutcome::Hit));
        }
        let _one_at_a_time = self.compiling.lock().expect("compile lock poisoned");
        // Someone may have compiled it while we waited.
        if let Some(hit) = load_artifact(engine, &path) {
            return Ok((hit, CacheOutcome::Hit));
        }
        if let Compiler::Subprocess { exe, pooling } = &self.compiler {
            match compile_in_child(exe, *pooling, wasm, &path) {
                Ok(()) => {
                    // SAFETY: written by a child running this binary with this
                    // engine's settings; a mismatch fails the check, and we
                    // fall back to compiling here.
                    match unsafe { Component::deserialize_file(engine, &path) } {
                        Ok(c) => return Ok((c, CacheOutcome::Compiled)),
                        Err(e) => {
                            tracing::warn!(error = %e, "the child's artifact does not load; compiling in process")
                        }
                    }
                }
                Err(ChildCompile::Refused(message)) => return Err(LoadError::Compile(message)),
                Err(ChildCompile::Unavailable(e)) => {
                    tracing::warn!(error = %e, "cannot compile in a child process; compiling in process")
                }
            }
        }
        let artifact = engine
            .precompile_component(wasm)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        if let Err(e) = store_atomically(&path, &artifact) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write precompiled component; continuing without cache");
            // SAFETY: the bytes were produced by this engine just now.
            let c = unsafe { Component::deserialize(engine, &artifact) }
                .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
            return Ok((c, CacheOutcome::Compiled));
        }
        // Load from the file so the code is mapped, not copied: later loads of
        // the same artifact share pages.
        // SAFETY: as above; written by this engine a moment ago.
        let c = unsafe { Component::deserialize_file(engine, &path) }
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        Ok((c, CacheOutcome::Compiled))
    }
}

/// A cached artifact, if there is a usable one at `path`.
fn load_artifact(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: the artifact was written by this binary (in process or in its
    // `__precompile` child) from a component compiled with this engine's
    // settings; the cache directory belongs to the host and is not writable
    // by tenants. A failed compatibility check (other wasmtime, other
    // config) is an error, not undefined behaviour.
    match unsafe { Component::deserialize_file(engine, path) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "discarding unusable precompiled component");
            None
        }
    }
}

/// `\0asm` then version 0x0d and layer 1: the component binary format.
const COMPONENT_HEADER: &[u8] = b"\0asm\x0d\0\x01\0";
/// `\0asm` version 1, layer 0: a core module.
const CORE_MODULE_HEADER: &[u8] = b"\0asm\x01\0\0\0";

fn is_component(wasm: &[u8]) -> bool {
    wasm.starts_with(COMPONENT_HEADER)
}

enum ChildCompile {
    /// The child ran and refused the component: its message.
    Refused(String),
    /// The child could not be run at all.
    Unavailable(String),
}

/// Runs `EXE __precompile` on the component; it writes the artifact to `out`.
fn compile_in_child(
    exe: &Path,
    pooling: bool,
    wasm: &[u8],
    out: &Path,
) -> Result<(), ChildCompile> {
    let dir = out.parent().expect("artifact paths have a parent");
    std::fs::create_dir_all(dir).map_err(|e| ChildCompile::Unavailable(e.to_string()))?;
    let input = tempfile_in(dir).map_err(|e| ChildCompile::Unavailable(e.to_string()))?;
    std::fs::write(&input, wasm).map_err(|e| ChildCompile::Unavailable(e.to_string()))?;
    let result = std::process::Command::new(exe)
        .arg("__precompile")
        .arg(if pooling { "--pooling" } else { "--no-pooling" })
        .arg(&input)
        .arg(out)
        .stdin(std::process::Stdio::null())
        .output();
    let _ = std::fs::remove_file(&input);
    let output =
        result.map_err(|e| ChildCompile::Unavailable(format!("{}: {e}", exe.display())))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(ChildCompile::Refused(
            stderr.trim().trim_start_matches("wolfe: ").to_string(),
        ))
    }
}

/// What `wolfe __precompile` does in the child: compile with an engine built
/// exactly like the parent's and write the artifact atomically.
pub fn precompile_to_file(pooling: bool, input: &Path, output: &Path) -> anyhow::Result<()> {
    let engine = crate::sandbox::engine::build_engine(pooling)?;
    let wasm = std::fs::read(input)?;
    let artifact = engine
        .precompile_component(&wasm)
        .map_err(|e| anyhow::anyhow!("component failed to compile: {e:#}"))?;
    store_atomically(output, &artifact)?;
    Ok(())
}

fn store_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("artifact paths have a parent");
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile_in(dir)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// A unique temporary name next to the final file, so the rename is atomic.
fn tempfile_in(dir: &Path) -> std::io::Result<PathBuf> {
    let unique = format!(
        ".tmp-{}-{:?}-{}",
        std::process::id(),
        std::thread::current().id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    Ok(dir.join(unique.replace(['(', ')'], "")))
}

/// Feeds the engine's compatibility hash into sha256 so the fingerprint is
/// stable across processes (std's `DefaultHasher` makes no such promise).
fn engine_fingerprint(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            unreachable!("only the digest is read")
        }
    }
    let mut hasher = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}
