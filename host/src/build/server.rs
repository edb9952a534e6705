//! Builds a runbook's source for `wolfe serve` (Studio's editor sends the
//! files): one build at a time, each in a child process (`wolfe __build`)
//! behind the walls of [`super::isolate`], with a wall-clock limit, and
//! with only the SDK and the runbook's own files (no package installs).

use super::isolate::Isolation;
use super::source::{SourceFiles, SourceLimits};
use super::{BuildError, BuildOptions, build_runbook_with, find_tool};
use crate::manifest::Language;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Limits and paths of server builds.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// Wall-clock time one build may take; then it is killed.
    pub timeout: Duration,
    /// `RLIMIT_DATA` of every process of a build, bytes.
    pub data_limit: u64,
    /// How much source one build may send.
    pub source: SourceLimits,
    /// The Rust SDK that templates depend on (by path) and builds resolve.
    pub rust_sdk: PathBuf,
}

/// The largest file a build may write: a Python component is about 19 MB,
/// a cargo cache file far less.
const FILE_SIZE_LIMIT: u64 = 1 << 30;
/// The build log kept: its start (the first errors) and its end (the
/// summary), cut in between.
const LOG_HEAD: usize = 12 * 1024;
const LOG_TAIL: usize = 4 * 1024;
/// How much of the log a failure's message carries.
const MESSAGE_LOG: usize = 8 * 1024;
/// Variables a build's environment keeps (the rest is cleared): where the
/// toolchains are and which ones to use. A tool named by `WOLFE_*` is the
/// server's own configuration, not the tenant's.
const KEPT_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO",
    "RUSTC",
    "WOLFE_COMPONENTIZE_PY",
    "WOLFE_COMPONENTIZE_JS",
    "WOLFE_ESBUILD",
    "WOLFE_NODE",
];

/// A component built from source.
#[derive(Debug)]
pub struct Built {
    pub component: Vec<u8>,
    /// The build's output (stderr), bounded, paths of the build folder cut.
    pub log: String,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerBuildError {
    /// The build could not be isolated (no network namespace, read-only
    /// mounts or limits): refused rather than run without the walls.
    #[error("{0}")]
    SandboxUnavailable(String),
    /// This server lacks the language's toolchain.
    #[error("{0}")]
    ToolchainMissing(String),
    /// The source does not build: the compiler's message, bounded.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Internal(String),
}

/// One language's availability on this server.
#[derive(Debug, Clone)]
pub struct Availability {
    pub language: Language,
    /// Why it cannot be built here; `None` when it can.
    pub missing: Option<String>,
}

/// Server builds: their settings, their folder under the data directory,
/// and the turn they wait for.
pub struct BuildService {
    settings: BuildSettings,
    /// `DATA_DIR/build`: `work/` for the build running now, `cargo/TENANT/`
    /// for each tenant's cargo target folder (the second Rust build of a
    /// tenant compiles only the runbook).
    root: PathBuf,
    data_dir: PathBuf,
    /// More files the build must not read (the secrets key when it lives
    /// outside the data directory).
    also_hidden: Vec<PathBuf>,
    /// One build at a time: each may take both cores and gigabytes.
    turn: tokio::sync::Semaphore,
}

impl BuildService {
    pub fn new(
        settings: BuildSettings,
        data_dir: &Path,
        also_hidden: Vec<PathBuf>,
    ) -> std::io::Result<Self> {
        let root = data_dir.join("build");
        std::fs::create_dir_all(&root)?;
        // Absolute: the child changes folder before it mounts anything.
        let data_dir = data_dir.canonicalize()?;
        let root = root.canonicalize()?;
        Ok(Self {
            settings,
            root,
            data_dir,
            also_hidden,
            turn: tokio::sync::Semaphore::new(1),
        })
    }

    pub fn settings(&self) -> &BuildSettings {
        &self.settings
    }

    /// Builds `source` for `tenant`: waits its turn, writes the files,
    /// runs the child, returns the component.
    pub async fn build(
        &self,
        tenant: &str,
        source: &SourceFiles,
    ) -> Result<Built, ServerBuildError> {
        let _turn = self
            .turn
            .acquire()
            .await
            .map_err(|e| ServerBuildError::Internal(format!("build queue closed: {e}")))?;
        let started = Instant::now();
        let work = self.fresh_work_dir()?;
        let src = work.join("src");
        source
            .write_to(&src)
            .map_err(|e| internal("cannot write the source", e))?;
        standalone_cargo_workspace(&src)?;
        let target = self.root.join("cargo").join(tenant);
        std::fs::create_dir_all(&target)
            .map_err(|e| internal("cannot create the cargo cache", e))?;
        let output = work.join("out/runbook.wasm");
        let result = self.run_child(&work, &target, &output).await;
        let outcome = match result {
            Ok(log) => std::fs::read(&output)
                .map(|component| Built {
                    component,
                    log: scrub(&log, &work),
                    elapsed: started.elapsed(),
                })
                .map_err(|e| internal("the build wrote no component", e)),
            Err(ChildError::Build { error, log }) => Err(match error {
                ChildFailure::ToolchainMissing(m) => {
                    ServerBuildError::ToolchainMissing(scrub(&m, &work))
                }
                ChildFailure::Failed(m) => {
                    let log = scrub(&log, &work);
                    ServerBuildError::Failed(failure_message(&scrub(&m, &work), &log))
                }
            }),
            Err(ChildError::Spawn(e)) => Err(ServerBuildError::SandboxUnavailable(format!(
                "the build cannot be isolated on this server, so it is refused: {e} (builds need a network namespace, mount_setattr and setrlimit: run wolfe as root, or where unprivileged user namespaces are allowed)"
            ))),
            Err(ChildError::Other(m)) => Err(ServerBuildError::Internal(m)),
        };
        let _ = std::fs::remove_dir_all(&work);
        outcome
    }

    /// `DATA_DIR/build/work`, emptied, with `src/`, `target/`, `tmp/` and
    /// `out/`. Always the same path: cargo's cache keys include it.
    fn fresh_work_dir(&self) -> Result<PathBuf, ServerBuildError> {
        let work = self.root.join("work");
        if work.exists() {
            std::fs::remove_dir_all(&work)
                .map_err(|e| internal("cannot clear the build folder", e))?;
        }
        for sub in ["src", "target", "tmp", "out"] {
            std::fs::create_dir_all(work.join(sub))
                .map_err(|e| internal("cannot create the build folder", e))?;
        }
        Ok(work)
    }

    /// What the build must not read: everything in the data directory but
    /// the build folder (the store, the secrets key, the component cache,
    /// ...), every tenant's cargo cache (the own one is mounted in `work`),
    /// and the secrets key wherever it is.
    fn hidden(&self) -> Vec<PathBuf> {
        let mut hidden: Vec<PathBuf> = std::fs::read_dir(&self.data_dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| *p != self.root)
                    .collect()
            })
            .unwrap_or_default();
        hidden.push(self.root.join("cargo"));
        hidden.extend(
            self.also_hidden
                .iter()
                .filter_map(|p| p.canonicalize().ok()),
        );
        hidden
    }

    async fn run_child(
        &self,
        work: &Path,
        target: &Path,
        output: &Path,
    ) -> Result<String, ChildError> {
        let exe = std::env::current_exe()
            .map_err(|e| ChildError::Other(format!("cannot find the wolfe binary: {e}")))?;
        let isolation = Isolation::new(
            work,
            target,
            &work.join("target"),
            &self.hidden(),
            self.settings.data_limit,
            FILE_SIZE_LIMIT,
        )
        .map_err(ChildError::Spawn)?;
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("__build")
            .arg(work.join("src"))
            .arg(output)
            .current_dir(work.join("src"))
            .env_clear()
            .envs(
                KEPT_ENV
                    .iter()
                    .filter_map(|k| Some((k, std::env::var_os(k)?))),
            )
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TARGET_DIR", work.join("target"))
            .env("CARGO_TERM_COLOR", "never")
            .env("TMPDIR", work.join("tmp"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so that a timeout kills cargo, rustc,
            // node and whatever they started, not only the child.
            .process_group(0);
        // SAFETY: `enter` makes only system calls on memory prepared before
        // the fork (see `Isolation`).
        unsafe {
            command.pre_exec(move || isolation.enter());
        }
        let mut child = command.spawn().map_err(ChildError::Spawn)?;
        // Also when the request is dropped (the client went away) while
        // the build runs.
        let group = ProcessGroup(child.id());
        let stdout = tokio::spawn(read_bounded(child.stdout.take(), 64 * 1024, 0));
        let stderr = tokio::spawn(read_bounded(child.stderr.take(), LOG_HEAD, LOG_TAIL));
        let status = tokio::time::timeout(self.settings.timeout, child.wait()).await;
        // Whatever the child left behind goes with it, and with it the
        // pipes' last writers.
        drop(group);
        let status = match status {
            Ok(status) => {
                Some(status.map_err(|e| ChildError::Other(format!("waiting for the build: {e}")))?)
            }
            Err(_) => {
                let _ = child.wait().await;
                None
            }
        };
        let collect = |task: tokio::task::JoinHandle<String>| async move {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        let (stdout, log) = (collect(stdout).await, collect(stderr).await);
        let Some(status) = status else {
            return Err(ChildError::Build {
                error: ChildFailure::Failed(format!(
                    "the build took longer than {} s and was stopped",
                    self.settings.timeout.as_secs()
                )),
                log,
            });
        };
        match stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<ChildReport>(l).ok())
        {
            Some(ChildReport::Built { .. }) if status.success() => Ok(log),
            Some(ChildReport::Error { kind, message }) => Err(ChildError::Build {
                error: match kind.as_str() {
                    "toolchain_missing" => ChildFailure::ToolchainMissing(message),
                    _ => ChildFailure::Failed(message),
                },
                log,
            }),
            _ => Err(ChildError::Build {
                error: ChildFailure::Failed(format!(
                    "the build ended with {status}{}",
                    oom_hint(&status)
                )),
                log,
            }),
        }
    }

    /// Which languages this server can build, and why not.
    pub async fn languages(&self) -> Vec<Availability> {
        let sandbox = self.probe_isolation().await.err();
        let root = self.root.clone();
        let sdk = self.settings.rust_sdk.clone();
        let toolchains = tokio::task::spawn_blocking(move || {
            [Language::Rust, Language::Python, Language::Js]
                .map(|language| (language, toolchain_missing(language, &root, &sdk)))
        })
        .await
        .unwrap_or_else(|e| {
            [Language::Rust, Language::Python, Language::Js]
                .map(|language| (language, Some(format!("the check failed: {e}"))))
        });
        toolchains
            .into_iter()
            .map(|(language, missing)| Availability {
                language,
                missing: sandbox.clone().or(missing),
            })
            .collect()
    }

    /// Starts `wolfe --version` behind the same walls.
    async fn probe_isolation(&self) -> Result<(), String> {
        let probe = self.root.join("probe");
        std::fs::create_dir_all(&probe).map_err(|e| e.to_string())?;
        let isolation = Isolation::new(
            &probe,
            &probe,
            &probe,
            &self.hidden(),
            self.settings.data_limit,
            FILE_SIZE_LIMIT,
        )
        .map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("--version")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        // SAFETY: as in `run_child`.
        unsafe {
            command.pre_exec(move || isolation.enter());
        }
        let status = command.status().await;
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!(
                "builds cannot be isolated on this server: the probe ended with {s}"
            )),
            Err(e) => Err(format!(
                "builds cannot be isolated on this server (no network namespace, read-only mounts or limits: {e}), so none are run"
            )),
        }
    }
}

/// Why `language` cannot be built here, if it cannot.
fn toolchain_missing(language: Language, dir: &Path, rust_sdk: &Path) -> Option<String> {
    let missing = |e: BuildError| Some(e.to_string());
    match language {
        Language::Rust => {
            if let Err(e) = super::check_rust_target() {
                return missing(e);
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            match std::process::Command::new(cargo)
                .arg("--version")
                .stdin(Stdio::null())
                .output()
            {
                Ok(o) if o.status.success() => {}
                _ => return Some("cannot run cargo; install Rust from https://rustup.rs".into()),
            }
            if !rust_sdk.join("Cargo.toml").is_file() {
                return Some(format!(
                    "the Rust SDK is not at {} (set build.rust_sdk)",
                    rust_sdk.display()
                ));
            }
            None
        }
        Language::Python => find_tool(
            "WOLFE_COMPONENTIZE_PY",
            "componentize-py",
            "venv/bin/componentize-py",
            dir,
        )
        .is_none()
        .then(|| {
            "componentize-py not found: run scripts/setup.sh, or set WOLFE_COMPONENTIZE_PY".into()
        }),
        Language::Js => [
            ("WOLFE_NODE", "node", "node/bin/node"),
            (
                "WOLFE_COMPONENTIZE_JS",
                "componentize-js",
                "node/node_modules/.bin/componentize-js",
            ),
            ("WOLFE_ESBUILD", "esbuild", "node/node_modules/.bin/esbuild"),
        ]
        .into_iter()
        .find(|(var, name, relative)| find_tool(var, name, relative, dir).is_none())
        .map(|(var, name, _)| format!("{name} not found: run scripts/setup.sh, or set {var}")),
    }
}

/// A Rust runbook is built as a workspace of its own: the build folder may
/// lie inside another workspace (a data directory in a repository), which
/// cargo would otherwise refuse. Only the copy being built is changed.
fn standalone_cargo_workspace(src: &Path) -> Result<(), ServerBuildError> {
    let path = src.join("Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let has_workspace = text
        .parse::<toml::Table>()
        .map(|t| t.contains_key("workspace"))
        .unwrap_or(true); // unparsable: cargo will say why
    if !has_workspace {
        std::fs::write(&path, format!("{text}\n[workspace]\n"))
            .map_err(|e| internal("cannot write Cargo.toml", e))?;
    }
    Ok(())
}

/// Kills a build's process group when dropped.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: signals the build's own process group (its leader is
            // the child, started with `process_group(0)`) and nothing else.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }
}

enum ChildError {
    /// The child could not be started behind its walls.
    Spawn(std::io::Error),
    Build {
        error: ChildFailure,
        log: String,
    },
    Other(String),
}

enum ChildFailure {
    ToolchainMissing(String),
    Failed(String),
}

/// The one JSON line `wolfe __build` prints.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum ChildReport {
    Built { sha256: String, size: u64 },
    Error { kind: String, message: String },
}

/// `wolfe __build DIR OUTPUT`: the child's side. Builds without
/// installing anything and prints a [`ChildReport`]; false on failure.
pub fn child(dir: &Path, output: &Path) -> bool {
    let options = BuildOptions {
        install_dependencies: false,
    };
    let (report, ok) = match build_runbook_with(dir, Some(output), options) {
        Ok(built) => (
            ChildReport::Built {
                sha256: built.sha256,
                size: built.size,
            },
            true,
        ),
        Err(e) => (
            ChildReport::Error {
                kind: match e {
                    BuildError::ToolchainMissing(_) => "toolchain_missing",
                    BuildError::Manifest(_) => "manifest",
                    BuildError::Failed(_) => "failed",
                }
                .into(),
                message: e.to_string(),
            },
            false,
        ),
    };
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    ok
}

/// Reads `pipe` to its end, keeping the first `head` and last `tail` bytes.
async fn read_bounded(pipe: Option<impl AsyncRead + Unpin>, head: usize, tail: usize) -> String {
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let (mut start, mut end, mut cut) = (Vec::new(), std::collections::VecDeque::new(), 0usize);
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        let room = head.saturating_sub(start.len());
        let take = room.min(chunk.len());
        start.extend_from_slice(&chunk[..take]);
        chunk = &chunk[take..];
        end.extend(chunk.iter().copied());
        while end.len() > tail {
            end.pop_front();
            cut += 1;
        }
    }
    let mut text = String::from_utf8_lossy(&start).into_owned();
    if cut > 0 {
        text.push_str(&format!("\n[… {cut} bytes of the build log left out …]\n"));
    }
    text.push_str(&String::from_utf8_lossy(
        &end.into_iter().collect::<Vec<_>>(),
    ));
    text
}

/// The build folder's paths as the author knows them: relative to the
/// runbook folder.
fn scrub(text: &str, work: &Path) -> String {
    let work = work.display().to_string();
    text.replace(&format!("{work}/src/"), "")
        .replace(&format!("{work}/src"), ".")
        .replace(&work, "<build>")
}

/// The failure and the log's start (where the first errors are), bounded.
fn failure_message(error: &str, log: &str) -> String {
    let log = log.trim();
    if log.is_empty() {
        return error.to_string();
    }
    let mut end = log.len().min(MESSAGE_LOG);
    while !log.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < log.len() { "\n[…]" } else { "" };
    format!("{error}\n{}{more}", &log[..end])
}

fn oom_hint(status: &std::process::ExitStatus) -> &'static str {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGKILL) | Some(libc::SIGABRT) => {
            " (killed or aborted: possibly out of the build's memory limit, build.memory_mb)"
        }
        _ => "",
    }
}

fn internal(what: &str, e: std::io::Error) -> ServerBuildError {
    ServerBuildError::Internal(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_log_keeps_its_start_and_end() {
        let text: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        let log = read_bounded(Some(&text[..]), 10, 5).await;
        assert!(log.starts_with("abcdefghij\n[… 85 bytes"), "{log}");
        assert!(log.ends_with("rstuv"), "{log}");
        assert_eq!(read_bounded(Some(&b"short"[..]), 10, 5).await, "short");
    }

    #[test]
    fn paths_of_the_build_folder_are_cut() {
        let work = Path::new("/data/build/work");
        assert_eq!(
            scrub(
                "error at /data/build/work/src/app.py, in /data/build/work/src and /data/build/work/tmp",
                work
            ),
            "error at app.py, in . and <build>/tmp"
        );
    }

    #[test]
    fn a_failure_message_is_bounded() {
        let message = failure_message("build failed", &"x".repeat(MESSAGE_LOG * 2));
        assert!(message.len() < MESSAGE_LOG + 100);
        assert!(message.ends_with("[…]"));
        assert_eq!(failure_message("build failed", "  "), "build failed");
    }
}
