//! Runbook versions with their components (the bytes are in the database,
//! so any host can run a version another host received) and deployments.

use super::{PostgresStore, docs, from_doc, to_doc};
use crate::registry::{Deployment, Environment, RunbookVersion};
use crate::store::model::PutOutcome;
use crate::store::{RegistryStore, StoreError, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl RegistryStore for PostgresStore {
    async fn put_version(
        &self,
        tenant: &str,
        version: &RunbookVersion,
        component: &[u8],
    ) -> StoreResult<PutOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Content-addressed: the same bytes are stored once for every version.
        tx.execute(
            "INSERT INTO components (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
            &[&version.sha256, &component],
        )
        .await?;
        let inserted = tx
            .execute(
                "INSERT INTO runbook_versions (tenant, name, version, sha256, doc)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, name, version) DO NOTHING",
                &[
                    &tenant,
                    &version.name,
                    &version.version,
                    &version.sha256,
                    &to_doc(version)?,
                ],
            )
            .await?;
        let outcome = if inserted == 1 {
            PutOutcome::Created
        } else {
            let existing: String = tx
                .query_one(
                    "SELECT sha256 FROM runbook_versions WHERE tenant = $1 AND name = $2 AND version = $3",
                    &[&tenant, &version.name, &version.version],
                )
                .await?
                .try_get(0)?;
            if existing != version.sha256 {
                return Err(StoreError::Conflict(format!(
                    "{} {} already exists with sha256 {existing}; versions are immutable, upload a new version",
                    version.name, version.version
                )));
            }
            PutOutcome::Unchanged
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn get_version(
        &self,
        tenant: &str,
        name: &str,
        version: &str,
    ) -> StoreResult<Option<RunbookVersion>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT doc FROM runbook_versions WHERE tenant = $1 AND name = $2 AND version = $3",
            )
            .await?;
        c.query_opt(&stmt, &[&tenant, &name, &version])
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()
    }

    async fn list_versions(&self, tenant: &str, name: &str) -> StoreResult<Vec<RunbookVersion>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM runbook_versions WHERE tenant = $1 AND name = $2 ORDER BY version",
                &[&tenant, &name],
            )
            .await?,
        )
    }

    async fn list_all_versions(&self, tenant: &str) -> StoreResult<Vec<RunbookVersion>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM runbook_versions WHERE tenant = $1 ORDER BY name, version",
                &[&tenant],
            )
            .await?,
        )
    }

    async fn get_component(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT bytes FROM components WHERE sha256 = $1", &[&sha256])
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    /// In `components`: content-addressed bytes, whatever they are.
    async fn put_source_bundle(&self, sha256: &str, bundle: &[u8]) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO components (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
            &[&sha256, &bundle],
        )
        .await?;
        Ok(())
    }

    async fn get_source_bundle(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        self.get_component(sha256).await
    }

    async fn put_deployment(&self, tenant: &str, deployment: &Deployment) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO deployments (tenant, runbook, environment, doc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, runbook, environment) DO UPDATE SET doc = EXCLUDED.doc",
            &[
                &tenant,
                &deployment.runbook,
                &deployment.environment.as_str(),
                &to_doc(deployment)?,
            ],
        )
        .await?;
        self.caches.deployments.forget(&(
            tenant.to_string(),
            deployment.runbook.clone(),
            deployment.environment,
        ));
        Ok(())
    }

    async fn get_deployment(
        &self,
        tenant: &str,
        runbook: &str,
        env: Environment,
    ) -> StoreResult<Option<Deployment>> {
        let read = async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(
                    "SELECT doc FROM deployments WHERE tenant = $1 AND runbook = $2 AND environment = $3",
                )
                .await?;
            c.query_opt(&stmt, &[&tenant, &runbook, &env.as_str()])
                .await?
                .map(|r| from_doc(&r, 0))
                .transpose()
        };
        self.caches
            .deployments
            .get_or_load((tenant.to_string(), runbook.to_string(), env), read)
            .await
    }

    async fn list_deployments(&self, tenant: &str, runbook: &str) -> StoreResult<Vec<Deployment>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM deployments WHERE tenant = $1 AND runbook = $2 ORDER BY environment",
                &[&tenant, &runbook],
            )
            .await?,
        )
    }
}
