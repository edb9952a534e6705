//! Sources, rules, and the SQS messages a source could not parse.

use super::{PostgresStore, docs, from_doc, to_doc};
use crate::store::model::rule::Rule;
use crate::store::model::source::Source;
use crate::store::model::{MAX_REJECTED_PER_SOURCE, RejectedMessage};
use crate::store::{StoreResult, TriggerStore};
use async_trait::async_trait;

#[async_trait]
impl TriggerStore for PostgresStore {
    async fn put_source(&self, tenant: &str, source: &Source) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO sources (tenant, name, doc) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, name) DO UPDATE SET doc = EXCLUDED.doc",
            &[&tenant, &source.name, &to_doc(source)?],
        )
        .await?;
        self.caches
            .sources
            .forget(&(tenant.to_string(), source.name.clone()));
        Ok(())
    }

    async fn get_source(&self, tenant: &str, name: &str) -> StoreResult<Option<Source>> {
        let read = async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached("SELECT doc FROM sources WHERE tenant = $1 AND name = $2")
                .await?;
            c.query_opt(&stmt, &[&tenant, &name])
                .await?
                .map(|r| from_doc(&r, 0))
                .transpose()
        };
        self.caches
            .sources
            .get_or_load((tenant.to_string(), name.to_string()), read)
            .await
    }

    async fn delete_source(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM sources WHERE tenant = $1 AND name = $2",
                &[&tenant, &name],
            )
            .await?;
        self.caches
            .sources
            .forget(&(tenant.to_string(), name.to_string()));
        Ok(n > 0)
    }

    async fn list_sources(&self, tenant: &str) -> StoreResult<Vec<Source>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM sources WHERE tenant = $1 ORDER BY name",
                &[&tenant],
            )
            .await?,
        )
    }

    async fn record_rejected(&self, tenant: &str, message: &RejectedMessage) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO rejected_messages (tenant, source, message_id, last_seen, doc)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, source, message_id)
             DO UPDATE SET last_seen = EXCLUDED.last_seen, doc = EXCLUDED.doc",
            &[
                &tenant,
                &message.source,
                &message.message_id,
                &message.last_seen,
                &to_doc(message)?,
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM rejected_messages WHERE tenant = $1 AND source = $2 AND message_id IN (
                SELECT message_id FROM rejected_messages WHERE tenant = $1 AND source = $2
                ORDER BY last_seen DESC OFFSET $3)",
            &[&tenant, &message.source, &(MAX_REJECTED_PER_SOURCE as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_rejected(&self, tenant: &str, source: &str) -> StoreResult<Vec<RejectedMessage>> {
        let c = self.client().await?;
        docs(
            &c.query(
                "SELECT doc FROM rejected_messages WHERE tenant = $1 AND source = $2
                 ORDER BY last_seen DESC",
                &[&tenant, &source],
            )
            .await?,
        )
    }

    async fn put_rule(&self, tenant: &str, rule: &Rule) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO rules (tenant, name, doc) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, name) DO UPDATE SET doc = EXCLUDED.doc",
            &[&tenant, &rule.name, &to_doc(rule)?],
        )
        .await?;
        Ok(())
    }

    async fn get_rule(&self, tenant: &str, name: &str) -> StoreResult<Option<Rule>> {
        let c = self.client().await?;
        c.query_opt(
            "SELECT doc FROM rules WHERE tenant = $1 AND name = $2",
            &[&tenant, &name],
        )
        .await?
        .map(|r| from_doc(&r, 0))
        .transpose()
    }

    async fn delete_rule(&self, tenant: &str, name: &str) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM rules WHERE tenant = $1 AND name = $2",
                &[&tenant, &name],
            )
            .await?;
        Ok(n > 0)
    }

    async fn list_rules(&self, tenant: &str) -> StoreResult<Vec<Rule>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT doc FROM rules WHERE tenant = $1 ORDER BY name")
            .await?;
        docs(&c.query(&stmt, &[&tenant]).await?)
    }
}
