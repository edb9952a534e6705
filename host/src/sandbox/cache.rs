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
}

/// On-disk cache of precompiled components (`None` dir: compile every time).
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_fingerprint: String,
}

impl ComponentCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            engine_fingerprint: engine_fingerprint(engine),
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
        if path.exists() {
            // SAFETY: the artifact was written by `store` below from a
            // component this engine compiled; the cache directory belongs to
            // the host and is not writable by tenants. A failed check (other
            // wasmtime, other config) is an error, not undefined behaviour.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, CacheOutcome::Hit)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable precompiled component")
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

/// `\0asm` then version 0x0d and layer 1: the component binary format.
const COMPONENT_HEADER: &[u8] = b"\0asm\x0d\0\x01\0";
/// `\0asm` version 1, layer 0: a core module.
const CORE_MODULE_HEADER: &[u8] = b"\0asm\x01\0\0\0";

fn is_component(wasm: &[u8]) -> bool {
    wasm.starts_with(COMPONENT_HEADER)
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
