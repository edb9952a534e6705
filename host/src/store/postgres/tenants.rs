//! The server admin token's hash, tenants and their API tokens.

use super::{PostgresStore, docs, from_doc, to_doc};
use crate::store::{StoreError, StoreResult, TenantStore};
use crate::tenancy::{Tenant, TokenRecord};
use async_trait::async_trait;

const ADMIN_TOKEN_KEY: &str = "admin_token_sha256";

#[async_trait]
impl TenantStore for PostgresStore {
    async fn admin_token_hash(&self) -> StoreResult<Option<String>> {
        self.caches
            .admin_token
            .get_or_load((), self.read_admin_token_hash())
            .await
    }

    async fn set_admin_token_hash(&self, hash: &str) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&ADMIN_TOKEN_KEY, &hash],
        )
        .await?;
        self.caches.admin_token.forget(&());
        Ok(())
    }

    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let c = self.client().await?;
        let inserted = c
            .execute(
                "INSERT INTO tenants (name, doc) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&tenant.name, &to_doc(tenant)?],
            )
            .await?;
        self.caches.tenants.forget(&tenant.name);
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "tenant {:?} already exists",
                tenant.name
            )));
        }
        Ok(())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let c = self.client().await?;
        docs(
            &c.query("SELECT doc FROM tenants ORDER BY name", &[])
                .await?,
        )
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO tenants (name, doc) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc",
            &[&tenant.name, &to_doc(tenant)?],
        )
        .await?;
        self.caches.tenants.forget(&tenant.name);
        Ok(())
    }

    async fn get_tenant(&self, name: &str) -> StoreResult<Option<Tenant>> {
        self.caches
            .tenants
            .get_or_load(name.to_string(), self.read_tenant(name))
            .await
    }

    async fn put_token(&self, hash: &str, record: &TokenRecord) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO tokens (hash, doc) VALUES ($1, $2)
             ON CONFLICT (hash) DO UPDATE SET doc = EXCLUDED.doc",
            &[&hash, &to_doc(record)?],
        )
        .await?;
        self.caches.tokens.forget(&hash.to_string());
        Ok(())
    }

    async fn get_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.caches
            .tokens
            .get_or_load(hash.to_string(), self.read_token(hash))
            .await
    }
}

impl PostgresStore {
    async fn read_admin_token_hash(&self) -> StoreResult<Option<String>> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&ADMIN_TOKEN_KEY])
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn read_tenant(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT doc FROM tenants WHERE name = $1")
            .await?;
        c.query_opt(&stmt, &[&name])
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()
    }

    async fn read_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT doc FROM tokens WHERE hash = $1")
            .await?;
        c.query_opt(&stmt, &[&hash])
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()
    }
}
