//! Bodies of the runbook registry: uploads, versions, deployments, manual
//! runs, and the capability report for security teams.

use crate::manifest::{Language, Manifest};
use crate::registry::Environment;
use crate::registry::report::CapabilityView;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `POST …/runbooks` (multipart/form-data): the manifest and the component.
#[derive(Debug, Clone, ToSchema)]
#[allow(dead_code)] // describes the form for the document; the handler reads the parts
pub struct UploadForm {
    /// `runbook.toml`, as text.
    pub manifest: String,
    /// The WebAssembly component's bytes.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub component: Vec<u8>,
}

/// A version as stored by an upload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadedVersion {
    pub name: String,
    pub version: String,
    /// sha256 of the component: versions are content-addressed.
    pub sha256: String,
}

/// A runbook's files: the body of `POST …/runbooks/{name}/source` (built
/// and stored by the server) and of `GET …/versions/{version}/source`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookSource {
    /// Path relative to the runbook folder (`runbook.toml`, `app.py`,
    /// `src/lib.rs`, ...) → its text (UTF-8). No absolute paths, `..`,
    /// empty or hidden names; the server limits how many files and bytes.
    pub files: BTreeMap<String, String>,
}

/// A version built from source and stored: what an upload answers, plus
/// the source it keeps and the build's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuiltVersion {
    pub name: String,
    pub version: String,
    /// sha256 of the component: versions are content-addressed.
    pub sha256: String,
    /// sha256 of the stored source (`GET …/versions/{version}/source`
    /// reads it back); for an unchanged version, the source stored first,
    /// null when it was uploaded as a component.
    pub source_sha256: Option<String>,
    /// The build's output (the toolchain's stderr), bounded.
    pub log: String,
    /// How long the build took, waiting for an earlier build excluded.
    pub build_ms: u64,
}

/// `GET /v1/build/languages`: what this server can build from source.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuildLanguages {
    pub languages: Vec<LanguageSupport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LanguageSupport {
    pub language: Language,
    pub available: bool,
    /// Why not, when not: a missing toolchain, or builds that cannot be
    /// isolated on this server.
    pub reason: Option<String>,
}

/// `GET /v1/build/templates/{language}?name=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// The new runbook's name [default: `my-runbook`].
    pub name: Option<String>,
}

/// The files `wolfe new --lang LANGUAGE NAME` writes, and its sample event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookTemplate {
    pub name: String,
    pub language: Language,
    /// Path → text, as in [`RunbookSource`]; a Rust template depends on
    /// the SDK by a path this server's builds resolve.
    pub files: BTreeMap<String, String>,
    /// `event.json`, parsed: the input the template runs with.
    pub event: Value,
}

/// `GET …/runbooks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookList {
    pub runbooks: Vec<RunbookSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookSummary {
    pub name: String,
    /// Every uploaded version, oldest first.
    pub versions: Vec<String>,
}

/// `GET …/runbooks/{name}`: its versions and where each environment stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookDetail {
    pub name: String,
    pub versions: Vec<VersionInfo>,
    /// Environment (`dev`, `test`, `prod`) → the version deployed there.
    pub deployments: BTreeMap<String, String>,
}

/// One uploaded version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub uploaded_at: String,
    pub manifest: Manifest,
    /// Every interface the component imports.
    pub imports: Vec<String>,
}

/// `PUT …/runbooks/{name}/environments/{env}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    pub version: String,
}

/// `POST …/runbooks/{name}/promote`: one step, dev → test or test → prod.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub from: Environment,
    pub to: Environment,
}

/// `POST …/runbooks/{name}/run`: a manual run of the deployed version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub environment: Environment,
    /// The runbook's input [default: null].
    #[serde(default)]
    pub input: Value,
    /// Run it, but send only reads: writes get a synthetic success and kv
    /// writes are dropped.
    #[serde(default)]
    pub dry_run: bool,
}

/// An execution created and queued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExecutionAccepted {
    pub execution_id: String,
}

/// `GET …/report`: what every version of every runbook may reach.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CapabilityReport {
    pub tenant: String,
    pub runbooks: Vec<RunbookCapabilities>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunbookCapabilities {
    pub name: String,
    pub versions: Vec<VersionCapabilities>,
}

/// One version's capabilities and the environments it is deployed to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionCapabilities {
    #[serde(flatten)]
    pub view: CapabilityView,
    pub environments: Vec<Environment>,
}

/// `GET …/runbooks/{name}/diff?from=&to=`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// An environment (`dev`, `test`, `prod`: the version deployed there) or a version.
    pub from: String,
    /// The same, for the other side.
    pub to: String,
}

/// `GET …/reach?host=|secret=|connector=`: exactly one of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReachQuery {
    /// A host name: which versions' URL grants reach it.
    pub host: Option<String>,
    /// A secret name: which versions may read it.
    pub secret: Option<String>,
    /// A connector name: which versions may call it.
    pub connector: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReachReport {
    pub matches: Vec<ReachMatch>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReachMatch {
    pub runbook: String,
    pub version: String,
    pub environments: Vec<Environment>,
    /// The grants that reach it.
    pub grants: Vec<String>,
}
