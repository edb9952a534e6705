//! What security teams read instead of code: for each runbook version, the
//! access its manifest grants, the interfaces its component imports, and
//! the limits it runs with; the difference between two versions (what does
//! promoting to prod change?); and reverse look-ups (which runbooks can
//! reach this host, read this secret?).

use super::RunbookVersion;
use crate::capabilities::http::HttpPolicy;
use crate::sandbox::limits::{ExecutionLimits, HostLimits};
use serde::Serialize;
use std::collections::BTreeSet;

/// The capabilities of one runbook version.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CapabilityView {
    pub runbook: String,
    pub version: String,
    pub sha256: String,
    pub language: String,
    /// `METHOD URL-pattern` per granted method, sorted.
    pub http: Vec<String>,
    pub secrets: Vec<String>,
    pub kv: bool,
    pub connectors: Vec<String>,
    pub imports: Vec<String>,
    pub declared_limits: crate::manifest::DeclaredLimits,
    /// After the host's ceilings (`clamped` says what was cut).
    pub effective_limits: ExecutionLimits,
}

impl CapabilityView {
    pub fn of(version: &RunbookVersion, host: &HostLimits) -> Self {
        let m = &version.manifest;
        let mut http: Vec<String> = m
            .capabilities
            .http
            .iter()
            .flat_map(|h| {
                h.methods
                    .iter()
                    .map(move |method| format!("{} {}", method.to_ascii_uppercase(), h.url.trim()))
            })
            .collect();
        http.sort();
        http.dedup();
        let mut secrets = m.capabilities.secrets.clone();
        secrets.sort();
        Self {
            runbook: version.name.clone(),
            version: version.version.clone(),
            sha256: version.sha256.clone(),
            language: serde_json::to_value(m.language)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            http,
            secrets,
            kv: m.capabilities.kv,
            connectors: {
                let mut c = m.capabilities.connectors.clone();
                c.sort();
                c
            },
            imports: version.imports.clone(),
            declared_limits: m.limits.clone(),
            effective_limits: ExecutionLimits::clamp(
                m.limits.memory_mb,
                m.limits.fuel,
                m.limits.timeout_ms,
                host,
            ),
        }
    }
}

/// Added and removed entries of one list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl Change {
    fn between(from: &[String], to: &[String]) -> Self {
        let (a, b): (BTreeSet<_>, BTreeSet<_>) = (from.iter().collect(), to.iter().collect());
        Self {
            added: b.difference(&a).map(|s| s.to_string()).collect(),
            removed: a.difference(&b).map(|s| s.to_string()).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// What changes from one version to another.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CapabilityDiff {
    pub from: String,
    pub to: String,
    pub http: Change,
    pub secrets: Change,
    /// `Some((from, to))` when kv access changes.
    pub kv: Option<(bool, bool)>,
    pub connectors: Change,
    pub imports: Change,
    /// `limit: from -> to` for each effective limit that changes.
    pub limits: Vec<String>,
    /// True when `to` may reach anything `from` could not: a new URL or
    /// method, a new secret, kv, a new import, or a higher limit.
    pub widens_access: bool,
    pub unchanged: bool,
}

pub fn diff(from: &CapabilityView, to: &CapabilityView) -> CapabilityDiff {
    let http = Change::between(&from.http, &to.http);
    let secrets = Change::between(&from.secrets, &to.secrets);
    let imports = Change::between(&from.imports, &to.imports);
    let connectors = Change::between(&from.connectors, &to.connectors);
    let kv = (from.kv != to.kv).then_some((from.kv, to.kv));
    let (a, b) = (&from.effective_limits, &to.effective_limits);
    let mut limits = Vec::new();
    let mut raised = false;
    for (name, x, y) in [
        ("memory_mb", a.memory_mb, b.memory_mb),
        ("fuel", a.fuel, b.fuel),
        ("timeout_ms", a.timeout_ms, b.timeout_ms),
    ] {
        if x != y {
            limits.push(format!("{name}: {x} -> {y}"));
            raised |= y > x;
        }
    }
    let widens_access = !http.added.is_empty()
        || !secrets.added.is_empty()
        || kv == Some((false, true))
        || !imports.added.is_empty()
        || !connectors.added.is_empty()
        || raised;
    let unchanged = http.is_empty()
        && secrets.is_empty()
        && kv.is_none()
        && connectors.is_empty()
        && imports.is_empty()
        && limits.is_empty();
    CapabilityDiff {
        from: format!("{}@{}", from.runbook, from.version),
        to: format!("{}@{}", to.runbook, to.version),
        http,
        secrets,
        kv,
        connectors,
        imports,
        limits,
        widens_access,
        unchanged,
    }
}

/// The grants of `version` that cover `host`, as `METHOD URL-pattern`.
pub fn http_reaching(version: &RunbookVersion, host: &str) -> Vec<String> {
    let Ok(policy) = HttpPolicy::from_declared(&version.manifest.capabilities.http) else {
        return Vec::new();
    };
    let patterns: BTreeSet<&str> = policy
        .grants_reaching(host)
        .iter()
        .map(|g| g.pattern.as_str())
        .collect();
    CapabilityView::of(version, &HostLimits::default())
        .http
        .into_iter()
        .filter(|entry| {
            entry
                .split_once(' ')
                .is_some_and(|(_, url)| patterns.contains(url))
        })
        .collect()
}
