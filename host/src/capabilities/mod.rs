//! Host capabilities, one module per WIT interface. Each follows the same
//! shape: linked once into the `Linker` (`sandbox::engine`), configured once
//! per runbook version from the manifest ([`Grants`]), prepared per execution
//! (`sandbox::state::ExecutionState`), and checked at every call — deny by
//! default, every call recorded in the [`trail`].

pub mod connectors;
pub mod events;
pub mod http;
pub mod kv;
pub mod log;
pub mod secrets;
pub mod trail;

use crate::manifest::{Manifest, ManifestError};
use crate::sandbox::bindings::wolfe::runbook::types::Error as GuestError;
use std::collections::BTreeSet;

/// What one runbook version may do, computed once from its manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub http: http::HttpPolicy,
    pub secrets: BTreeSet<String>,
    pub kv: bool,
    pub connectors: BTreeSet<String>,
    pub emit: bool,
}

impl Grants {
    pub fn from_manifest(manifest: &Manifest) -> Result<Self, ManifestError> {
        let caps = &manifest.capabilities;
        Ok(Self {
            http: http::HttpPolicy::from_declared(&caps.http)?,
            secrets: caps.secrets.iter().cloned().collect(),
            kv: caps.kv,
            connectors: caps.connectors.iter().cloned().collect(),
            emit: caps.emit,
        })
    }
}

// The `types` interface has no functions; the trait only marks it linked.
impl crate::sandbox::bindings::wolfe::runbook::types::Host
    for crate::sandbox::state::ExecutionState
{
}

/// A guest-visible error as it appears in the trail's `outcome`.
pub(crate) fn describe(e: &GuestError) -> String {
    match e {
        GuestError::Denied(m) => format!("denied: {m}"),
        GuestError::Invalid(m) => format!("invalid: {m}"),
        GuestError::Failed(m) => format!("failed: {m}"),
        GuestError::Limited(m) => format!("limited: {m}"),
    }
}
