//! What executions read through the store: one runbook's kv namespace and
//! one tenant's connectors, as the capabilities' provider traits.

use super::Store;
use crate::capabilities::connectors::{ConnectorProvider, ConnectorSpec};
use crate::capabilities::kv::KvProvider;
use async_trait::async_trait;

/// One runbook's kv data in one tenant.
pub struct RunbookKv {
    store: Store,
    tenant: String,
    runbook: String,
}

impl RunbookKv {
    pub fn new(store: Store, tenant: &str, runbook: &str) -> Self {
        Self {
            store,
            tenant: tenant.to_string(),
            runbook: runbook.to_string(),
        }
    }
}

#[async_trait]
impl KvProvider for RunbookKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.store
            .kv_get(&self.tenant, &self.runbook, key)
            .await
            .map_err(|e| e.to_string())
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.store
            .kv_set(&self.tenant, &self.runbook, key, value)
            .await
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, key: &str) -> Result<(), String> {
        self.store
            .kv_delete(&self.tenant, &self.runbook, key)
            .await
            .map_err(|e| e.to_string())
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, String> {
        self.store
            .kv_compare_and_swap(&self.tenant, &self.runbook, key, expected, new)
            .await
            .map_err(|e| e.to_string())
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

#[async_trait]
impl ConnectorProvider for TenantConnectors {
    async fn get(&self, name: &str) -> Result<Option<ConnectorSpec>, String> {
        self.store
            .get_connector(&self.tenant, name)
            .await
            .map(|r| r.map(|r| r.spec))
            .map_err(|e| format!("connector {name:?} cannot be read: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn kv_namespaces_do_not_see_each_other() {
        let store = Store::temporary().unwrap();
        let a = RunbookKv::new(store.clone(), "t1", "flap");
        let b = RunbookKv::new(store.clone(), "t1", "flap2");
        let c = RunbookKv::new(store.clone(), "t2", "flap");
        a.set("k", b"1").await.unwrap();
        assert_eq!(a.get("k").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(b.get("k").await.unwrap(), None);
        assert_eq!(c.get("k").await.unwrap(), None);
        a.delete("k").await.unwrap();
        assert_eq!(a.get("k").await.unwrap(), None);
    }
}
