//! Tenant secrets as stored: sealed values (never plaintext), keyed by
//! tenant and name. Sealing and opening is the vault's job
//! (`secrets::vault`); this module only keeps the records.

use super::keys::{key, prefix};
use super::{Store, StoreResult, encode, get, scan};
use crate::secrets::vault::Sealed;
use serde::{Deserialize, Serialize};

/// One secret of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    pub name: String,
    pub sealed: Sealed,
    pub created_at: String,
    pub updated_at: String,
}

impl Store {
    pub fn put_secret(&self, tenant: &str, record: &SecretRecord) -> StoreResult<()> {
        self.trees
            .secrets
            .insert(key(&[tenant, &record.name]), encode(record)?)?;
        Ok(())
    }

    pub fn get_secret(&self, tenant: &str, name: &str) -> StoreResult<Option<SecretRecord>> {
        get(&self.trees.secrets, &key(&[tenant, name]))
    }

    pub fn list_secrets(&self, tenant: &str) -> StoreResult<Vec<SecretRecord>> {
        scan(&self.trees.secrets, &prefix(&[tenant]))
    }

    /// Every tenant's secrets, for a key rotation: (tenant, record).
    pub fn all_secrets(&self) -> StoreResult<Vec<(String, SecretRecord)>> {
        self.trees
            .secrets
            .iter()
            .map(|entry| {
                let (k, v) = entry?;
                let tenant = k.split(|&b| b == 0).next().unwrap_or_default();
                Ok((
                    String::from_utf8_lossy(tenant).into_owned(),
                    super::decode(&v)?,
                ))
            })
            .collect()
    }

    /// Whether a secret was there to delete.
    pub fn delete_secret(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self.trees.secrets.remove(key(&[tenant, name]))?.is_some())
    }
}
