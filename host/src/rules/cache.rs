//! Compiled rules per tenant, loaded from the store on first use and dropped
//! whenever a rule of the tenant changes.

use super::CompiledRule;
use crate::store::{Store, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct RuleCache {
    store: Store,
    compiled: Mutex<HashMap<String, Arc<Vec<CompiledRule>>>>,
}

impl RuleCache {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            compiled: Mutex::new(HashMap::new()),
        }
    }

    pub fn rules(&self, tenant: &str) -> StoreResult<Arc<Vec<CompiledRule>>> {
        if let Some(hit) = self
            .compiled
            .lock()
            .expect("rule cache poisoned")
            .get(tenant)
        {
            return Ok(hit.clone());
        }
        let compiled: Vec<CompiledRule> = self
            .store
            .list_rules(tenant)?
            .into_iter()
            .filter_map(|rule| {
                let name = rule.name.clone();
                CompiledRule::compile(rule)
                    .map_err(|e| tracing::error!(%tenant, rule = %name, error = %e, "stored rule does not compile; skipping it"))
                    .ok()
            })
            .collect();
        let compiled = Arc::new(compiled);
        self.compiled
            .lock()
            .expect("rule cache poisoned")
            .insert(tenant.to_string(), compiled.clone());
        Ok(compiled)
    }

    pub fn invalidate(&self, tenant: &str) {
        self.compiled
            .lock()
            .expect("rule cache poisoned")
            .remove(tenant);
    }
}
