//! Configuration records: tenants, tokens, runbook versions and components,
//! deployments, sources and rules.

use super::keys::{key, prefix};
use super::{Store, StoreError, StoreResult, encode, get, scan};
use crate::ingest::source::Source;
use crate::registry::{Deployment, Environment, RunbookVersion};
use crate::rules::Rule;
use crate::tenancy::{Tenant, TokenRecord};

/// What storing a runbook version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// The same version with the same bytes was already stored.
    Unchanged,
}

/// An SQS message that could not be parsed, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RejectedMessage {
    pub message_id: String,
    pub source: String,
    pub reason: String,
    /// SQS's receive count at the last rejection: it reaches the queue's
    /// `maxReceiveCount`, then the message moves to the dead-letter queue.
    pub receive_count: u64,
    /// The first 512 characters of the body.
    pub body_excerpt: String,
    pub last_seen: String,
}

/// Rejected messages kept per source; older ones are dropped first.
const MAX_REJECTED_PER_SOURCE: usize = 1_000;

const ADMIN_TOKEN_KEY: &[u8] = b"admin_token_sha256";

impl Store {
    // --- server admin -----------------------------------------------------

    pub fn admin_token_hash(&self) -> StoreResult<Option<String>> {
        Ok(self
            .trees
            .meta
            .get(ADMIN_TOKEN_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn set_admin_token_hash(&self, hash: &str) -> StoreResult<()> {
        self.trees.meta.insert(ADMIN_TOKEN_KEY, hash.as_bytes())?;
        Ok(())
    }

    // --- tenants and tokens -----------------------------------------------

    pub fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let created = self.trees.tenants.compare_and_swap(
            tenant.name.as_bytes(),
            None as Option<&[u8]>,
            Some(encode(tenant)?),
        )?;
        created
            .map_err(|_| StoreError::Conflict(format!("tenant {:?} already exists", tenant.name)))
    }

    pub fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        scan(&self.trees.tenants, b"")
    }

    /// Replaces an existing tenant's record (its quota).
    pub fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        self.trees
            .tenants
            .insert(tenant.name.as_bytes(), encode(tenant)?)?;
        Ok(())
    }

    pub fn get_tenant(&self, name: &str) -> StoreResult<Option<Tenant>> {
        get(&self.trees.tenants, name.as_bytes())
    }

    pub fn put_token(&self, hash: &str, record: &TokenRecord) -> StoreResult<()> {
        self.trees.tokens.insert(hash.as_bytes(), encode(record)?)?;
        Ok(())
    }

    pub fn get_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        get(&self.trees.tokens, hash.as_bytes())
    }

    // --- runbook versions -------------------------------------------------

    /// Stores an immutable version: the same bytes again is a no-op, other
    /// bytes under the same version are a conflict.
    pub fn put_version(
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
            Err(_) => self.put_version(tenant, version, component),
        }
    }

    pub fn get_version(
        &self,
        tenant: &str,
        name: &str,
        version: &str,
    ) -> StoreResult<Option<RunbookVersion>> {
        get(&self.trees.versions, &key(&[tenant, name, version]))
    }

    pub fn list_versions(&self, tenant: &str, name: &str) -> StoreResult<Vec<RunbookVersion>> {
        scan(&self.trees.versions, &prefix(&[tenant, name]))
    }

    /// Every version of every runbook in the tenant.
    pub fn list_all_versions(&self, tenant: &str) -> StoreResult<Vec<RunbookVersion>> {
        scan(&self.trees.versions, &prefix(&[tenant]))
    }

    pub fn get_component(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .trees
            .components
            .get(sha256.as_bytes())?
            .map(|v| v.to_vec()))
    }

    // --- deployments ------------------------------------------------------

    pub fn put_deployment(&self, tenant: &str, deployment: &Deployment) -> StoreResult<()> {
        let k = key(&[tenant, &deployment.runbook, deployment.environment.as_str()]);
        self.trees.deployments.insert(k, encode(deployment)?)?;
        Ok(())
    }

    pub fn get_deployment(
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

    pub fn list_deployments(&self, tenant: &str, runbook: &str) -> StoreResult<Vec<Deployment>> {
        scan(&self.trees.deployments, &prefix(&[tenant, runbook]))
    }

    // --- sources and rules ------------------------------------------------

    pub fn put_source(&self, tenant: &str, source: &Source) -> StoreResult<()> {
        self.trees
            .sources
            .insert(key(&[tenant, &source.name]), encode(source)?)?;
        Ok(())
    }

    pub fn get_source(&self, tenant: &str, name: &str) -> StoreResult<Option<Source>> {
        get(&self.trees.sources, &key(&[tenant, name]))
    }

    pub fn delete_source(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self.trees.sources.remove(key(&[tenant, name]))?.is_some())
    }

    pub fn list_sources(&self, tenant: &str) -> StoreResult<Vec<Source>> {
        scan(&self.trees.sources, &prefix(&[tenant]))
    }

    /// Records (or updates) a rejected message, keeping the newest
    /// [`MAX_REJECTED_PER_SOURCE`] per source.
    pub fn record_rejected(&self, tenant: &str, message: &RejectedMessage) -> StoreResult<()> {
        let source_prefix = prefix(&[tenant, &message.source]);
        let mut k = source_prefix.clone();
        k.extend_from_slice(message.message_id.as_bytes());
        self.trees.rejected.insert(&k, encode(message)?)?;
        let mut kept: Vec<(sled::IVec, RejectedMessage)> = self
            .trees
            .rejected
            .scan_prefix(&source_prefix)
            .map(|e| -> StoreResult<_> {
                let (k, v) = e?;
                Ok((k, super::decode(&v)?))
            })
            .collect::<StoreResult<_>>()?;
        if kept.len() > MAX_REJECTED_PER_SOURCE {
            kept.sort_by(|a, b| a.1.last_seen.cmp(&b.1.last_seen));
            for (k, _) in &kept[..kept.len() - MAX_REJECTED_PER_SOURCE] {
                self.trees.rejected.remove(k)?;
            }
        }
        Ok(())
    }

    pub fn list_rejected(&self, tenant: &str, source: &str) -> StoreResult<Vec<RejectedMessage>> {
        let mut all: Vec<RejectedMessage> = scan(&self.trees.rejected, &prefix(&[tenant, source]))?;
        all.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
        Ok(all)
    }

    pub fn put_rule(&self, tenant: &str, rule: &Rule) -> StoreResult<()> {
        self.trees
            .rules
            .insert(key(&[tenant, &rule.name]), encode(rule)?)?;
        Ok(())
    }

    pub fn get_rule(&self, tenant: &str, name: &str) -> StoreResult<Option<Rule>> {
        get(&self.trees.rules, &key(&[tenant, name]))
    }

    pub fn delete_rule(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self.trees.rules.remove(key(&[tenant, name]))?.is_some())
    }

    pub fn list_rules(&self, tenant: &str) -> StoreResult<Vec<Rule>> {
        scan(&self.trees.rules, &prefix(&[tenant]))
    }
}
