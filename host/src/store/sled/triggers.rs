//! Sources, rules, and the SQS messages a source could not parse.

use super::keys::{key, prefix};
use super::{SledStore, decode, encode, get, scan};
use crate::store::model::rule::Rule;
use crate::store::model::source::Source;
use crate::store::model::{MAX_REJECTED_PER_SOURCE, RejectedMessage};
use crate::store::{StoreResult, TriggerStore};
use async_trait::async_trait;

#[async_trait]
impl TriggerStore for SledStore {
    async fn put_source(&self, tenant: &str, source: &Source) -> StoreResult<()> {
        self.trees
            .sources
            .insert(key(&[tenant, &source.name]), encode(source)?)?;
        Ok(())
    }

    async fn get_source(&self, tenant: &str, name: &str) -> StoreResult<Option<Source>> {
        get(&self.trees.sources, &key(&[tenant, name]))
    }

    async fn delete_source(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self.trees.sources.remove(key(&[tenant, name]))?.is_some())
    }

    async fn list_sources(&self, tenant: &str) -> StoreResult<Vec<Source>> {
        scan(&self.trees.sources, &prefix(&[tenant]))
    }

    /// Records (or updates) a rejected message, keeping the newest
    /// [`MAX_REJECTED_PER_SOURCE`] per source.
    async fn record_rejected(&self, tenant: &str, message: &RejectedMessage) -> StoreResult<()> {
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
                Ok((k, decode(&v)?))
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

    async fn list_rejected(&self, tenant: &str, source: &str) -> StoreResult<Vec<RejectedMessage>> {
        let mut all: Vec<RejectedMessage> = scan(&self.trees.rejected, &prefix(&[tenant, source]))?;
        all.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
        Ok(all)
    }

    async fn put_rule(&self, tenant: &str, rule: &Rule) -> StoreResult<()> {
        self.trees
            .rules
            .insert(key(&[tenant, &rule.name]), encode(rule)?)?;
        Ok(())
    }

    async fn get_rule(&self, tenant: &str, name: &str) -> StoreResult<Option<Rule>> {
        get(&self.trees.rules, &key(&[tenant, name]))
    }

    async fn delete_rule(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        Ok(self.trees.rules.remove(key(&[tenant, name]))?.is_some())
    }

    async fn list_rules(&self, tenant: &str) -> StoreResult<Vec<Rule>> {
        scan(&self.trees.rules, &prefix(&[tenant]))
    }
}
