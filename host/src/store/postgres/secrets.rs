//! Sealed tenant secrets and connector configurations.

use super::{PostgresStore, docs, from_doc, to_doc};
use crate::store::model::{ConnectorRecord, SecretRecord};
use crate::store::{SecretStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl SecretStore for PostgresStore {
    async fn put_secret(&self, tenant: &str, record: &SecretRecord) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO secrets (tenant, name, doc) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, name) DO UPDATE SET doc = EXCLUDED.doc",
            &[&tenant, &record.name, &to_doc(record)?],
        )
        .await?;
        Ok(())
    }

    async fn get_secret(&self, tenant: &str, name: &str) -> StoreResult<Option<SecretRecord>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT doc FROM secrets WHERE tenant = $1 AND name = $2")
            .await?;
        c.query_opt(&stmt, &[&tenant, &name])
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()
    }

    async fn list_secrets(&self, tenant: &str) -> StoreResult<Vec<SecretRecord>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM secrets WHERE tenant = $1 ORDER BY name",
                &[&tenant],
            )
            .await?,
        )
    }

    async fn all_secrets(&self) -> StoreResult<Vec<(String, SecretRecord)>> {
        let c = self.client().await?;
        c.query("SELECT tenant, doc FROM secrets ORDER BY tenant, name", &[])
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, from_doc(r, 1)?)))
            .collect()
    }

    async fn delete_secret(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM secrets WHERE tenant = $1 AND name = $2",
                &[&tenant, &name],
            )
            .await?;
        Ok(n > 0)
    }

    async fn put_connector(&self, tenant: &str, record: &ConnectorRecord) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO connectors (tenant, name, doc) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, name) DO UPDATE SET doc = EXCLUDED.doc",
            &[&tenant, &record.name, &to_doc(record)?],
        )
        .await?;
        Ok(())
    }

    async fn get_connector(
        &self,
        tenant: &str,
        name: &str,
    ) -> StoreResult<Option<ConnectorRecord>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT doc FROM connectors WHERE tenant = $1 AND name = $2")
            .await?;
        c.query_opt(&stmt, &[&tenant, &name])
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()
    }

    async fn list_connectors(&self, tenant: &str) -> StoreResult<Vec<ConnectorRecord>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM connectors WHERE tenant = $1 ORDER BY name",
                &[&tenant],
            )
            .await?,
        )
    }

    async fn delete_connector(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM connectors WHERE tenant = $1 AND name = $2",
                &[&tenant, &name],
            )
            .await?;
        Ok(n > 0)
    }
}
