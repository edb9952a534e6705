//! Compiled rules per tenant, loaded from the store on first use and dropped
//! whenever a rule of the tenant changes on this host. On a store shared by
//! several hosts a rule may change on another, so entries are also reloaded
//! once they are [`SHARED_STORE_TTL`] old.

use super::CompiledRule;
use crate::store::{Store, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How stale a tenant's rules may be on a shared store: a rule changed on
/// another host takes effect here within this time.
pub const SHARED_STORE_TTL: Duration = Duration::from_millis(500);

/// A tenant's compiled rules and when they were loaded.
type Loaded = (Instant, Arc<Vec<CompiledRule>>);

pub struct RuleCache {
    store: Store,
    compiled: Mutex<HashMap<String, Loaded>>,
}

impl RuleCache {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            compiled: Mutex::new(HashMap::new()),
        }
    }

    pub async fn rules(&self, tenant: &str) -> StoreResult<Arc<Vec<CompiledRule>>> {
        if let Some((loaded, hit)) = self
            .compiled
            .lock()
            .expect("rule cache poisoned")
            .get(tenant)
            && (!self.store.is_shared() || loaded.elapsed() < SHARED_STORE_TTL)
        {
            return Ok(hit.clone());
        }
        let compiled: Vec<CompiledRule> = self
            .store
            .list_rules(tenant)
            .await?
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
            .insert(tenant.to_string(), (Instant::now(), compiled.clone()));
        Ok(compiled)
    }

    pub fn invalidate(&self, tenant: &str) {
        self.compiled
            .lock()
            .expect("rule cache poisoned")
            .remove(tenant);
    }
}
