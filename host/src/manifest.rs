//! `runbook.toml`: the manifest that names a runbook, its language, its limits
//! and every capability it may use. Parsing is strict: an unknown key or an
//! out-of-range limit is an error that names the key, because a typo in a
//! security declaration must never silently mean something else.

use crate::sandbox::limits::{FUEL_RANGE, MEMORY_MB_RANGE, TIMEOUT_MS_RANGE};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::Path;

/// File name of the manifest inside a runbook folder.
pub const MANIFEST_FILE: &str = "runbook.toml";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid manifest: {0}")]
    Syntax(String),
    #[error("invalid manifest: `{key}` {problem}")]
    Invalid { key: String, problem: String },
}

/// The language a runbook is written in; selects the build toolchain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    Js,
}

/// A parsed and validated `runbook.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub language: Language,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub limits: DeclaredLimits,
    #[serde(default)]
    pub capabilities: DeclaredCapabilities,
}

/// `[limits]` as declared; `None` means the host default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredLimits {
    pub memory_mb: Option<u64>,
    pub fuel: Option<u64>,
    pub timeout_ms: Option<u64>,
}

/// `[capabilities]` as declared. Anything absent is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredCapabilities {
    #[serde(default)]
    pub http: Vec<DeclaredHttp>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub kv: bool,
    /// Tenant-configured connectors this runbook may call, by name.
    #[serde(default)]
    pub connectors: Vec<String>,
    /// May put events into the pipeline (`events.emit`).
    #[serde(default)]
    pub emit: bool,
}

// Declared here, compiled and checked by `url_grants`, which depends on
// nothing else in Wolfe.
pub use crate::url_grants::DeclaredHttp;
use crate::url_grants::{GrantError, HttpPolicy};

impl From<GrantError> for ManifestError {
    fn from(e: GrantError) -> Self {
        ManifestError::Invalid {
            key: e.key(),
            problem: e.problem,
        }
    }
}

impl Manifest {
    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(one_line(&e.to_string())))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Reads `runbook.toml` from a file, or from a runbook folder.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let file = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Read {
            path: file.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        check_identifier("name", &self.name, 64)?;
        if self.version.is_empty()
            || self.version.len() > 64
            || !self
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-_".contains(c))
        {
            return Err(invalid(
                "version",
                "must be 1-64 characters of letters, digits and . + - _",
            ));
        }
        check_range("limits.memory_mb", self.limits.memory_mb, MEMORY_MB_RANGE)?;
        check_range("limits.fuel", self.limits.fuel, FUEL_RANGE)?;
        check_range(
            "limits.timeout_ms",
            self.limits.timeout_ms,
            TIMEOUT_MS_RANGE,
        )?;
        for (i, secret) in self.capabilities.secrets.iter().enumerate() {
            check_secret_name(&format!("capabilities.secrets[{i}]"), secret)?;
        }
        for (i, connector) in self.capabilities.connectors.iter().enumerate() {
            check_identifier(&format!("capabilities.connectors[{i}]"), connector, 64)?;
        }
        // URL patterns and methods are validated by compiling them, as the
        // http capability will (its error names the key).
        HttpPolicy::from_declared(&self.capabilities.http)?;
        Ok(())
    }
}

fn invalid(key: &str, problem: &str) -> ManifestError {
    ManifestError::Invalid {
        key: key.to_string(),
        problem: problem.to_string(),
    }
}

fn check_range(
    key: &str,
    value: Option<u64>,
    range: RangeInclusive<u64>,
) -> Result<(), ManifestError> {
    match value {
        Some(v) if !range.contains(&v) => Err(invalid(
            key,
            &format!(
                "is {v}, outside the allowed range {}..={}",
                range.start(),
                range.end()
            ),
        )),
        _ => Ok(()),
    }
}

/// Runbook names appear in URLs, store keys and file names.
pub fn check_identifier(key: &str, value: &str, max: usize) -> Result<(), ManifestError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            &format!(
                "must be 1-{max} characters of lowercase letters, digits, - and _, starting with a letter or digit (got {value:?})"
            ),
        ))
    }
}

pub fn check_secret_name(key: &str, value: &str) -> Result<(), ManifestError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            &format!("must be 1-128 characters of letters, digits, _ - . (got {value:?})"),
        ))
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
name = "kafka-broker-offline"
version = "1.4.0"
language = "python"
description = "Diagnose an offline Kafka broker"

[limits]
memory_mb = 64
fuel = 500_000_000
timeout_ms = 10_000

[capabilities]
http = [{ url = "https://kafka-admin.internal/api/*", methods = ["GET", "POST"] }]
secrets = ["KAFKA_ADMIN_TOKEN"]
kv = true
"#;

    #[test]
    fn parses_the_design_example() {
        let m = Manifest::parse(FULL).unwrap();
        assert_eq!(m.name, "kafka-broker-offline");
        assert_eq!(m.language, Language::Python);
        assert_eq!(m.limits.fuel, Some(500_000_000));
        assert_eq!(m.capabilities.http[0].methods, vec!["GET", "POST"]);
        assert!(m.capabilities.kv);
    }

    #[test]
    fn missing_capabilities_mean_nothing_is_granted() {
        let m = Manifest::parse("name = \"a\"\nversion = \"1\"\nlanguage = \"rust\"\n").unwrap();
        assert!(m.capabilities.http.is_empty());
        assert!(m.capabilities.secrets.is_empty());
        assert!(!m.capabilities.kv);
    }

    /// Each negative case: manifest text and a fragment the error must contain.
    #[test]
    fn invalid_manifests_name_the_problem() {
        let base = "name = \"a\"\nversion = \"1\"\nlanguage = \"rust\"\n";
        let cases = [
            (format!("{base}colour = 1\n"), "colour"),
            (format!("{base}[limits]\nmemroy_mb = 1\n"), "memroy_mb"),
            (
                format!("{base}[limits]\nmemory_mb = 0\n"),
                "limits.memory_mb",
            ),
            (
                format!("{base}[limits]\nmemory_mb = 9999\n"),
                "limits.memory_mb",
            ),
            (
                format!("{base}[limits]\ntimeout_ms = 0\n"),
                "limits.timeout_ms",
            ),
            (format!("{base}[limits]\nfuel = 5\n"), "limits.fuel"),
            (format!("{base}[capabilities]\nsockets = true\n"), "sockets"),
            (
                format!("{base}[capabilities]\nsecrets = [\"a b\"]\n"),
                "capabilities.secrets[0]",
            ),
            (
                format!("{base}[capabilities]\nhttp = [{{ url = \"ftp://x/\" }}]\n"),
                "capabilities.http[0].url",
            ),
            (
                format!(
                    "{base}[capabilities]\nhttp = [{{ url = \"https://x/\", methods = [\"FETCH\"] }}]\n"
                ),
                "capabilities.http[0].methods",
            ),
            (
                "name = \"Bad Name\"\nversion = \"1\"\nlanguage = \"rust\"\n".to_string(),
                "name",
            ),
            (
                "name = \"a\"\nversion = \"1\"\nlanguage = \"cobol\"\n".to_string(),
                "cobol",
            ),
            ("name = \"a\"\nlanguage = \"rust\"\n".to_string(), "version"),
        ];
        for (text, expected) in cases {
            let err = Manifest::parse(&text).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "error {err:?} should mention {expected:?} for:\n{text}"
            );
        }
    }
}
