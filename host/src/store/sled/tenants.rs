//! The server admin token's hash, tenants and their API tokens.

use super::{SledStore, encode, get, scan};
use crate::store::{StoreError, StoreResult, TenantStore};
use crate::tenancy::{Tenant, TokenRecord};
use async_trait::async_trait;

const ADMIN_TOKEN_KEY: &[u8] = b"admin_token_sha256";

#[async_trait]
impl TenantStore for SledStore {
    async fn admin_token_hash(&self) -> StoreResult<Option<String>> {
        Ok(self
            .trees
            .meta
            .get(ADMIN_TOKEN_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    async fn set_admin_token_hash(&self, hash: &str) -> StoreResult<()> {
        self.trees.meta.insert(ADMIN_TOKEN_KEY, hash.as_bytes())?;
        Ok(())
    }

    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let created = self.trees.tenants.compare_and_swap(
            tenant.name.as_bytes(),
            None as Option<&[u8]>,
            Some(encode(tenant)?),
        )?;
        created
            .map_err(|_| StoreError::Conflict(format!("tenant {:?} already exists", tenant.name)))
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        scan(&self.trees.tenants, b"")
    }

    /// Replaces an existing tenant's record (its quota).
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        self.trees
            .tenants
            .insert(tenant.name.as_bytes(), encode(tenant)?)?;
        Ok(())
    }

    async fn get_tenant(&self, name: &str) -> StoreResult<Option<Tenant>> {
        get(&self.trees.tenants, name.as_bytes())
    }

    async fn put_token(&self, hash: &str, record: &TokenRecord) -> StoreResult<()> {
        self.trees.tokens.insert(hash.as_bytes(), encode(record)?)?;
        Ok(())
    }

    async fn get_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        get(&self.trees.tokens, hash.as_bytes())
    }
}
