//! The runbook registry: immutable, content-addressed runbook versions and
//! their deployments to environments (`dev` → `test` → `prod`).

pub mod report;

use crate::manifest::Manifest;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An uploaded runbook version. Immutable once stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunbookVersion {
    pub name: String,
    pub version: String,
    /// sha256 of the component; the component bytes are stored under it.
    pub sha256: String,
    pub size: u64,
    pub manifest: Manifest,
    /// The manifest as uploaded, for audit.
    pub manifest_text: String,
    /// Every interface the component imports (checked at upload), for audit.
    #[serde(default)]
    pub imports: Vec<String>,
    pub uploaded_at: String,
    /// sha256 of the source bundle the server built the component from
    /// (`POST …/runbooks/{name}/source`), stored beside the components;
    /// absent for a component uploaded as built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
}

/// A deployment environment. Promotion goes one step at a time.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Dev,
    Test,
    Prod,
}

impl Environment {
    pub const ALL: [Environment; 3] = [Environment::Dev, Environment::Test, Environment::Prod];

    /// The environment a version in `self` is promoted to.
    pub fn next(self) -> Option<Environment> {
        match self {
            Environment::Dev => Some(Environment::Test),
            Environment::Test => Some(Environment::Prod),
            Environment::Prod => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Test => "test",
            Environment::Prod => "prod",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" => Ok(Environment::Dev),
            "test" => Ok(Environment::Test),
            "prod" => Ok(Environment::Prod),
            other => Err(format!(
                "unknown environment {other:?}; use dev, test or prod"
            )),
        }
    }
}

/// Which version of a runbook an environment runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deployment {
    pub runbook: String,
    pub environment: Environment,
    pub version: String,
    pub deployed_at: String,
}
