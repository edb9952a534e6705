//! `wolfe serve` configuration: defaults, then a TOML file (`--config`), then
//! `WOLFE_*` environment variables (nested keys with `__`, e.g.
//! `WOLFE_RETENTION__MAX_AGE_HOURS=24`), then command-line flags. Unknown
//! keys are errors, in the file and in the environment alike.

use crate::sandbox::limits::HostLimits;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address the API listens on. Default `127.0.0.1:8080` (loopback: put a
    /// TLS-terminating proxy in front to expose it).
    pub listen: String,
    /// Where the sled store and the precompiled components live. Default
    /// `.wolfe/data`. With a PostgreSQL store only the component cache is
    /// here: it stays per host.
    pub data_dir: PathBuf,
    /// The store: unset or `sled` for sled under `data_dir`, or a
    /// `postgres://USER@HOST:PORT/DB` URL for a database that every host
    /// shares. Default unset.
    pub store: Option<String>,
    /// Executions run at once. Default 0 = one per CPU core.
    pub workers: usize,
    /// Executions queued or running before webhooks get 503. Default 10,000.
    pub queue_capacity: usize,
    /// Largest webhook or JSON request body. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Largest runbook upload (manifest + component). Default 64 MiB: a
    /// Python component is about 19 MB.
    pub max_component_bytes: usize,
    /// Seconds a client may take to send its request headers, and an idle
    /// keep-alive connection stays open, before the connection is closed.
    /// Default 30.
    pub header_read_timeout_secs: u64,
    /// Seconds a client may take to send a request body (a runbook upload
    /// included) before the request fails. Default 120.
    pub body_read_timeout_secs: u64,
    /// Use the pooling instance allocator. Default true.
    pub pooling: bool,
    /// Compile uploaded components in a short-lived child process, so the
    /// ~0.5 GB a Python or JS compile takes leaves with it. Default true.
    pub compile_in_subprocess: bool,
    pub retention: RetentionConfig,
    /// Ceilings for every runbook's declared limits.
    pub limits: HostLimits,
    /// Special-purpose address ranges (loopback, private, link-local,
    /// unique-local, cloud metadata, ...) that runbooks' outbound requests
    /// may reach anyway, as CIDRs (`["10.20.0.0/16"]`). Default none: a URL
    /// grant alone never opens the host's own network to a runbook.
    pub outbound_allow_cidrs: Vec<ipnet::IpNet>,
    /// The master key that seals tenant secrets at rest (64 hex digits).
    /// Default `DATA_DIR/secrets.key`, created (mode 0600) on first start;
    /// `WOLFE_SECRETS_KEY` in the environment takes precedence.
    pub secrets_key_file: Option<PathBuf>,
    /// The address people reach this service at, for links in
    /// notifications (`{public_url}/executions/{id}`). Default
    /// `http://{listen}`.
    pub public_url: Option<String>,
    /// How deep a chain of runbooks started by each other's emitted events
    /// may go (1 to 20). Default 5.
    pub max_chain_depth: u32,
    /// Builds from source (`POST …/runbooks/{name}/source`).
    pub build: BuildConfig,
}

/// Limits of the builds the server runs from source, one at a time, each in
/// an isolated child process (no network, read-only file system but its
/// own folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildConfig {
    /// Seconds one build may take before it is killed. Default 300 (a first
    /// Rust build of a tenant takes about 25 s on two cores).
    pub timeout_secs: u64,
    /// Memory of each build process (`RLIMIT_DATA`), MiB. Default 2048.
    /// Measured on the templates: Python needs 257-512 MiB, a first Rust
    /// build (cargo, rustc) 513-1024, JavaScript (node) 513-1024. The
    /// address space (`RLIMIT_AS`) is not limited: componentize-py's
    /// wasmtime and node reserve far more than they use (a JavaScript build
    /// fails under 16 GiB of address space).
    pub memory_mb: u64,
    /// Files one source may hold. Default 256.
    pub max_files: usize,
    /// Bytes of one source's paths and texts together. Default 2 MiB.
    pub max_source_bytes: usize,
    /// The Rust SDK that Rust templates depend on by path and that builds
    /// resolve. Default this repository's `sdk/rust`.
    pub rust_sdk: Option<PathBuf>,
}

impl Default for BuildConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 300,
            memory_mb: 2048,
            max_files: 256,
            max_source_bytes: 2 * 1024 * 1024,
            rust_sdk: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Events and finished executions older than this are pruned. Default 168 (7 days).
    pub max_age_hours: u64,
    /// Finished executions kept per tenant, newest first. Default 100,000.
    pub max_executions_per_tenant: usize,
    /// Events kept in all, newest first. Default 1,000,000.
    pub max_events: usize,
    /// How often pruning runs. Default 60 s.
    pub interval_secs: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from(".wolfe/data"),
            store: None,
            workers: 0,
            queue_capacity: 10_000,
            max_body_bytes: 1024 * 1024,
            max_component_bytes: 64 * 1024 * 1024,
            header_read_timeout_secs: 30,
            body_read_timeout_secs: 120,
            pooling: true,
            compile_in_subprocess: true,
            retention: RetentionConfig::default(),
            limits: HostLimits::default(),
            outbound_allow_cidrs: Vec::new(),
            secrets_key_file: None,
            public_url: None,
            max_chain_depth: crate::ingest::emitted::DEFAULT_MAX_CHAIN_DEPTH,
            build: BuildConfig::default(),
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            max_age_hours: 168,
            max_executions_per_tenant: 100_000,
            max_events: 1_000_000,
            interval_secs: 60,
        }
    }
}

/// Top-level keys the environment may set; other `WOLFE_*` variables
/// (`WOLFE_ADMIN_TOKEN`, `WOLFE_LOG`, client settings) are not config keys.
const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "store",
    "workers",
    "queue_capacity",
    "max_body_bytes",
    "max_component_bytes",
    "header_read_timeout_secs",
    "body_read_timeout_secs",
    "pooling",
    "compile_in_subprocess",
    "retention",
    "limits",
    "outbound_allow_cidrs",
    "secrets_key_file",
    "public_url",
    "max_chain_depth",
    "build",
];

/// `WOLFE_*` variables read elsewhere, without the prefix: the server's
/// (admin token, secrets key, logging), the CLI's client settings, the
/// build tools', and those of the scripts and tests that start `wolfe
/// serve` with their own settings in its environment. Any other name that
/// is not a config key is refused: it would otherwise be dropped silently.
const OTHER_ENV: &[&str] = &[
    "admin_token",
    "secrets_key",
    "log",
    "log_format",
    "server",
    "token",
    "tenant",
    "cache_dir",
    "componentize_py",
    "componentize_js",
    "esbuild",
    "node",
    "npm",
    "update_openapi",
    "demo_port",
    "demo_exit",
    "moto_server",
    "bench_noisy_cases",
    "schemathesis",
    "fuzz_dir",
    "fuzz_token",
    "fuzz_tenant",
    "fuzz_objects",
    "fuzz_stats",
];

impl ServiceConfig {
    /// Defaults, then the file, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_with_prefix(file, "WOLFE_")
    }

    /// [`Self::load`] from variables named `{prefix}KEY`: the tests use their
    /// own prefix, so they need not change the variables other tests see.
    fn load_with_prefix(file: Option<&Path>, prefix: &str) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(ServiceConfig::default()));
        if let Some(file) = file {
            if !file.exists() {
                anyhow::bail!("config file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        let env = Env::prefixed(prefix).split("__").filter(|key| {
            // The filter sees the upper-case name, nested parts already
            // joined with `.`: `RETENTION.MAX_AGE_HOURS`.
            let name = key.as_str().to_ascii_lowercase();
            let top = name.split('.').next().unwrap_or_default();
            ENV_KEYS.contains(&top)
        });
        let config = figment
            .merge(env)
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        check_env_names(prefix, std::env::vars_os().map(|(name, _)| name))?;
        Ok(config)
    }

    /// Where the secrets master key lives.
    pub fn secrets_key_path(&self) -> PathBuf {
        self.secrets_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets.key"))
    }

    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            self.workers
        }
    }
}

/// Refuses a `{prefix}*` variable that is neither a config key (its part
/// before any `__`) nor one of [`OTHER_ENV`]: `WOLFE_WORKRES=4` must not
/// start a server with the default workers.
fn check_env_names(
    prefix: &str,
    names: impl Iterator<Item = std::ffi::OsString>,
) -> anyhow::Result<()> {
    let mut unknown: Vec<String> = names
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| {
            // The prefix matches in any case, as figment's `Env` does.
            let Some(rest) = name
                .get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .map(|_| &name[prefix.len()..])
            else {
                return false;
            };
            let top = rest
                .split("__")
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            !top.is_empty()
                && !ENV_KEYS.contains(&top.as_str())
                && !OTHER_ENV.contains(&top.as_str())
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    let keys: Vec<String> = ENV_KEYS.iter().map(|k| k.to_ascii_uppercase()).collect();
    anyhow::bail!(
        "invalid configuration: unknown environment variable {}: {prefix}KEY sets a config key ({}; nested with __, e.g. {prefix}RETENTION__MAX_AGE_HOURS), and no other {prefix} variable has that name; unset or rename it",
        unknown.join(", "),
        keys.join(", ")
    )
}

impl RetentionConfig {
    pub fn policy(&self) -> crate::store::Retention {
        crate::store::Retention {
            max_age: Duration::from_secs(self.max_age_hours * 3600),
            max_executions_per_tenant: self.max_executions_per_tenant,
            max_events: self.max_events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wolfe.toml");
        std::fs::write(&file, "workers = 3\n[retention]\nmax_age_hours = 2\n").unwrap();
        // A prefix no other test reads, set once before loading.
        let prefix = "WOLFE_CONFIG_TEST_";
        for (name, value) in [
            ("QUEUE_CAPACITY", "77"),
            ("RETENTION__INTERVAL_SECS", "5"),
            ("ADMIN_TOKEN", "not-a-config-key"),
            (
                "OUTBOUND_ALLOW_CIDRS",
                r#"["127.0.0.1/32", "10.20.0.0/16"]"#,
            ),
        ] {
            // SAFETY: these names are read by this test alone, and no
            // thread in this process calls setenv or getenv concurrently on
            // them; the other unit tests change only names of their own
            // prefix.
            unsafe { std::env::set_var(format!("{prefix}{name}"), value) };
        }
        let config = ServiceConfig::load_with_prefix(Some(&file), prefix).unwrap();
        assert_eq!(
            config.outbound_allow_cidrs,
            vec![
                "127.0.0.1/32".parse::<ipnet::IpNet>().unwrap(),
                "10.20.0.0/16".parse().unwrap()
            ]
        );
        assert!(ServiceConfig::default().outbound_allow_cidrs.is_empty());
        assert_eq!(config.workers, 3);
        assert_eq!(config.queue_capacity, 77);
        assert_eq!(config.retention.max_age_hours, 2);
        assert_eq!(config.retention.interval_secs, 5);
        assert_eq!(config.listen, "127.0.0.1:8080");
    }

    #[test]
    fn unknown_environment_variables_are_errors_naming_them() {
        let names = |names: &[&str]| {
            names
                .iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        let known = [
            "WOLFE_WORKERS",
            "WOLFE_RETENTION__MAX_AGE_HOURS",
            "wolfe_limits__max_fuel",
            "WOLFE_ADMIN_TOKEN",
            "WOLFE_LOG_FORMAT",
            "WOLFE_TOKEN",
            "WOLFE_STORE",
            "WOLFE_FUZZ_STATS",
            "WOLFE_",
            "PATH",
            "WOLFEX_WORKRES",
        ];
        assert!(check_env_names("WOLFE_", names(&known)).is_ok());
        let cases = [
            ("WOLFE_WORKRES", "WOLFE_WORKRES"),
            (
                "WOLFE_RETENTON__MAX_AGE_HOURS",
                "WOLFE_RETENTON__MAX_AGE_HOURS",
            ),
            ("Wolfe_Admin", "Wolfe_Admin"),
        ];
        for (name, named) in cases {
            let err = check_env_names("WOLFE_", names(&["WOLFE_LOG", name]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(named) && !err.contains('\n'), "{name}: {err}");
        }
        // Through loading, with a prefix no other test reads.
        let prefix = "WOLFE_ENV_NAMES_TEST_";
        // SAFETY: as in `file_then_environment_override_defaults`: this
        // name is read by this test alone.
        unsafe { std::env::set_var(format!("{prefix}WORKRES"), "4") };
        let err = ServiceConfig::load_with_prefix(None, prefix)
            .unwrap_err()
            .to_string();
        assert!(err.contains("WOLFE_ENV_NAMES_TEST_WORKRES"), "{err}");
    }

    #[test]
    fn unknown_limits_are_errors_and_defaults_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wolfe.toml");
        std::fs::write(
            &file,
            "[limits]
max_fuel = 5
",
        )
        .unwrap();
        let config = ServiceConfig::load_with_prefix(Some(&file), "WOLFE_LIMITS_TEST_").unwrap();
        assert_eq!(config.limits.max_fuel, 5);
        assert_eq!(
            config.limits.max_memory_mb,
            HostLimits::default().max_memory_mb
        );
        std::fs::write(
            &file,
            "[limits]
max_memroy_mb = 5
",
        )
        .unwrap();
        let err = ServiceConfig::load_with_prefix(Some(&file), "WOLFE_LIMITS_TEST_")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_memroy_mb"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wolfe.toml");
        std::fs::write(&file, "wokers = 3\n").unwrap();
        let err = ServiceConfig::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("wokers"), "{err}");
    }
}
