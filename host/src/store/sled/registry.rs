//! Runbook versions, their components (content-addressed by sha256) and
//! deployments.

use super::keys::{key, prefix};
use super::{SledStore, encode, get, scan};
use crate::registry::{Deployment, Environment, RunbookVersion};
use crate::store::model::PutOutcome;
use crate::store::{RegistryStore, StoreError, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl RegistryStore for SledStore {
    /// Stores an immutable version: the same bytes again is a no-op, other
    /// bytes under the same version are a conflict.
    async fn put_version(
        &self,
        tenant: &str,
        version: &RunbookVersion,
        component: &[u8],
    ) -> StoreResult<PutOutcome> {
        let k = key(&[tenant, &version.name, &version.version]);
        if let Some(existing) = get::<RunbookVersion>(&self.trees.versions, &k)? {
            return if existing.sha256 == version.sha256 {
                Ok(PutOutcome::Unchanged)
            } else {
                Err(StoreError::Conflict(format!(
                    "{} {} already exists with sha256 {}; versions are immutable, upload a new version",
                    version.name, version.version, existing.sha256
                )))
            };
        }
        // Content-addressed: written before the version that points to it.
        self.trees
            .components
            .insert(version.sha256.as_bytes(), component)?;
        let stored = self.trees.versions.compare_and_swap(
            &k,
            None as Option<&[u8]>,
            Some(encode(version)?),
        )?;
        match stored {
            Ok(()) => Ok(PutOutcome::Created),
            Err(_) => self.put_version(tenant, version, component).await,
        }
    }

    async fn get_version(
        &self,
        tenant: &str,
        name: &str,
        version: &str,
    ) -> StoreResult<Option<RunbookVersion>> {
        get(&self.trees.versions, &key(&[tenant, name, version]))
    }

    async fn list_versions(&self, tenant: &str, name: &str) -> StoreResult<Vec<RunbookVersion>> {
        scan(&self.trees.versions, &prefix(&[tenant, name]))
    }

    /// Every version of every runbook in the tenant.
    async fn list_all_versions(&self, tenant: &str) -> StoreResult<Vec<RunbookVersion>> {
        scan(&self.trees.versions, &prefix(&[tenant]))
    }

    async fn get_component(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .trees
            .components
            .get(sha256.as_bytes())?
            .map(|v| v.to_vec()))
    }

    /// Content-addressed like components, in the same tree: a bundle's
    /// sha256 names its bytes as a component's does.
    async fn put_source_bundle(&self, sha256: &str, bundle: &[u8]) -> StoreResult<()> {
        self.trees.components.insert(sha256.as_bytes(), bundle)?;
        Ok(())
    }

    async fn get_source_bundle(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        self.get_component(sha256).await
    }

    async fn put_deployment(&self, tenant: &str, deployment: &Deployment) -> StoreResult<()> {
        let k = key(&[tenant, &deployment.runbook, deployment.environment.as_str()]);
        self.trees.deployments.insert(k, encode(deployment)?)?;
        Ok(())
    }

    async fn get_deployment(
        &self,
        tenant: &str,
        runbook: &str,
        env: Environment,
    ) -> StoreResult<Option<Deployment>> {
        get(
            &self.trees.deployments,
            &key(&[tenant, runbook, env.as_str()]),
        )
    }

    async fn list_deployments(&self, tenant: &str, runbook: &str) -> StoreResult<Vec<Deployment>> {
        scan(&self.trees.deployments, &prefix(&[tenant, runbook]))
    }
}
