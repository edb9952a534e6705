//! Sealed tenant secrets (never plaintext; sealing is the vault's job) and
//! connector configurations (kind, URL, which secrets hold the credentials —
//! never credential values), keyed by tenant and name.

use super::keys::{key, prefix};
use super::{SledStore, decode, encode, get, scan};
use crate::store::model::{ConnectorRecord, SecretRecord};
use crate::store::{SecretStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl SecretStore for SledStore {
    async fn put_secret(&self, tenant: &str, record: &SecretRecord) -> StoreResult<()> {
        self.trees
            .secrets
            .insert(key(&[tenant, &record.name]), encode(record)?)?;
        Ok(())
    }

    async fn get_secret(&self, tenant: &str, name: &str) -> StoreResult<Option<SecretRecord>> {
        get(&self.trees.secrets, &key(&[tenant, name]))
    }

    async fn list_secrets(&self, tenant: &str) -> StoreResult<Vec<SecretRecord>> {
        scan(&self.trees.secrets, &prefix(&[tenant]))
    }

    /// Every tenant's secrets, for a key rotation: (tenant, record).
    async fn all_secrets(&self) -> StoreResult<Vec<(String, SecretRecord)>> {
        self.trees
            .secrets
            .iter()
            .map(|entry| {
                let (k, v) = entry?;
                let tenant = k.split(|&b| b == 0).next().unwrap_or_default();
                Ok((String::from_utf8_lossy(tenant).into_owned(), decode(&v)?))
            })
            .collect()
    }

    /// Whether a secret was there to delete.
    async fn delete_secret(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self.trees.secrets.remove(key(&[tenant, name]))?.is_some())
    }

    async fn put_connector(&self, tenant: &str, record: &ConnectorRecord) -> StoreResult<()> {
        self.trees
            .connectors
            .insert(key(&[tenant, &record.name]), encode(record)?)?;
        Ok(())
    }

    async fn get_connector(
        &self,
        tenant: &str,
        name: &str,
    ) -> StoreResult<Option<ConnectorRecord>> {
        get(&self.trees.connectors, &key(&[tenant, name]))
    }

    async fn list_connectors(&self, tenant: &str) -> StoreResult<Vec<ConnectorRecord>> {
        scan(&self.trees.connectors, &prefix(&[tenant]))
    }

    async fn delete_connector(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self
            .trees
            .connectors
            .remove(key(&[tenant, name]))?
            .is_some())
    }
}
