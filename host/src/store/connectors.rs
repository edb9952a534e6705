//! Tenant connector configurations (kind, URL, which secrets hold the
//! credentials — never credential values), and the provider executions of a
//! tenant read them through.

use super::keys::{key, prefix};
use super::{Store, StoreResult, encode, get, scan};
use crate::capabilities::connectors::{ConnectorProvider, ConnectorSpec};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorRecord {
    pub name: String,
    pub spec: ConnectorSpec,
    pub updated_at: String,
}

impl Store {
    pub fn put_connector(&self, tenant: &str, record: &ConnectorRecord) -> StoreResult<()> {
        self.trees
            .connectors
            .insert(key(&[tenant, &record.name]), encode(record)?)?;
        Ok(())
    }

    pub fn get_connector(&self, tenant: &str, name: &str) -> StoreResult<Option<ConnectorRecord>> {
        get(&self.trees.connectors, &key(&[tenant, name]))
    }

    pub fn list_connectors(&self, tenant: &str) -> StoreResult<Vec<ConnectorRecord>> {
        scan(&self.trees.connectors, &prefix(&[tenant]))
    }

    pub fn delete_connector(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self
            .trees
            .connectors
            .remove(key(&[tenant, name]))?
            .is_some())
    }
}

/// One tenant's connectors, as its executions see them.
pub struct TenantConnectors {
    store: Store,
    tenant: String,
}

impl TenantConnectors {
    pub fn new(store: Store, tenant: &str) -> Self {
        Self {
            store,
            tenant: tenant.to_string(),
        }
    }
}

impl ConnectorProvider for TenantConnectors {
    fn get(&self, name: &str) -> Result<Option<ConnectorSpec>, String> {
        self.store
            .get_connector(&self.tenant, name)
            .map(|r| r.map(|r| r.spec))
            .map_err(|e| format!("connector {name:?} cannot be read: {e}"))
    }
}
