//! Prepared runbook versions, loaded from the store on first use and kept in
//! memory: compiling (or loading precompiled) happens once per version.

use crate::registry::RunbookVersion;
use crate::sandbox::{PreparedRunbook, Sandbox};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type VersionKey = (String, String, String);

pub struct RunbookCache {
    sandbox: Arc<Sandbox>,
    store: Store,
    prepared: Mutex<HashMap<VersionKey, PreparedRunbook>>,
}

impl RunbookCache {
    pub fn new(sandbox: Arc<Sandbox>, store: Store) -> Self {
        Self {
            sandbox,
            store,
            prepared: Mutex::new(HashMap::new()),
        }
    }

    /// The prepared version, loading it on a blocking thread on first use.
    pub async fn get(
        &self,
        tenant: &str,
        name: &str,
        version: &str,
    ) -> Result<PreparedRunbook, String> {
        let k = (tenant.to_string(), name.to_string(), version.to_string());
        if let Some(hit) = self
            .prepared
            .lock()
            .expect("runbook cache poisoned")
            .get(&k)
        {
            return Ok(hit.clone());
        }
        let record: RunbookVersion = self
            .store
            .get_version(tenant, name, version)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("runbook {name} {version} does not exist"))?;
        let component = self
            .store
            .get_component(&record.sha256)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("component {} of {name} {version} is missing", record.sha256))?;
        let sandbox = self.sandbox.clone();
        let prepared =
            tokio::task::spawn_blocking(move || sandbox.prepare(&record.manifest, &component))
                .await
                .map_err(|e| format!("loading {name} {version} panicked: {e}"))?
                .map_err(|e| e.to_string())?;
        self.prepared
            .lock()
            .expect("runbook cache poisoned")
            .insert(k, prepared.clone());
        Ok(prepared)
    }
}
