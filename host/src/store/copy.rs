//! `wolfe store copy`: every record of one store written into another, empty
//! one — how a stopped sled deployment moves onto PostgreSQL. Most records
//! go through the domain's own operations; [`CopyStore`] adds what those
//! lack: enumerating everything (tokens, kv, the audit chains, events,
//! executions and their transcripts) and writing the records whose normal write would change them
//! (an audit append rehashes, an execution is created queued) exactly as
//! they are. Secrets travel sealed: the copy never holds a master key.

use super::model::RejectedMessage;
use super::{Store, StoreError, StoreResult};
use crate::store::model::event::Event;
use crate::store::model::execution::ExecutionRecord;
use crate::tenancy::TokenRecord;
use async_trait::async_trait;
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// Records read and written per round trip for the kinds that can be large.
const PAGE: usize = 500;

/// What a copy needs of a backend beyond the domain's operations. Reads
/// return records as stored; imports write them as given and refuse to
/// overwrite (the target of a copy is empty).
#[async_trait]
pub trait CopyStore: Send + Sync {
    /// Every API token: (its hash as stored, the record).
    async fn all_tokens(&self) -> StoreResult<Vec<(String, TokenRecord)>>;
    /// Whether any tenant has a runbook version (a target that does is not
    /// empty).
    async fn has_versions(&self) -> StoreResult<bool>;
    /// Every rejected message of `tenant`, of every source — a deleted
    /// source's too, since deleting a source keeps them.
    async fn all_rejected(&self, tenant: &str) -> StoreResult<Vec<RejectedMessage>>;
    /// Every tenant with an audit chain, in name order.
    async fn audit_tenants(&self) -> StoreResult<Vec<String>>;
    /// Stores a chain as [`audit_chain`](super::AuditStore::audit_chain)
    /// returned it: each entry's JSON byte for byte under its sequence
    /// number, so its hashes — and a break, if there is one — stay as they
    /// were.
    async fn import_audit(&self, tenant: &str, chain: &[(u64, Vec<u8>)]) -> StoreResult<()>;
    /// Runbook kv entries of every tenant and runbook, a page at a time.
    async fn kv_page(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<KvEntry>>;
    /// Events in the order they arrived, a page at a time.
    async fn events_page(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Event>>;
    /// Stores events in the given (arrival) order; each counts as received
    /// at its `time`, so retention ages it as it would have.
    async fn import_events(&self, events: &[Event]) -> StoreResult<()>;
    /// Executions of every tenant, in any status, a page at a time.
    async fn executions_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<ExecutionRecord>>;
    /// Stores executions as they are (status, attempt, trail). One still
    /// pending is pending here too, to be resumed like a queued one; its
    /// (event, rule) pair is taken, so the event never fires the rule again.
    async fn import_executions(&self, records: &[ExecutionRecord]) -> StoreResult<()>;
}

/// One page of a listing.
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` after the last. A cursor
    /// means something only to the backend that returned it.
    pub next: Option<String>,
}

/// One runbook kv entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvEntry {
    pub tenant: String,
    pub runbook: String,
    pub key: String,
    pub value: Vec<u8>,
}

/// How many records of each kind were copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyCounts {
    /// 1 when the source had a server admin token hash.
    pub admin_token: usize,
    pub tenants: usize,
    pub tokens: usize,
    pub runbook_versions: usize,
    pub deployments: usize,
    pub sources: usize,
    pub rules: usize,
    pub rejected_messages: usize,
    pub secrets: usize,
    pub connectors: usize,
    /// Tenants with pauses or silences.
    pub safety_settings: usize,
    pub kv_entries: usize,
    pub audit_entries: usize,
    pub events: usize,
    pub executions: usize,
    /// Executions' transcripts, as stored.
    pub transcripts: usize,
}

impl CopyCounts {
    /// (kind, count), named as serialised, for the summary line.
    pub fn kinds(&self) -> [(&'static str, usize); 16] {
        [
            ("admin_token", self.admin_token),
            ("tenants", self.tenants),
            ("tokens", self.tokens),
            ("runbook_versions", self.runbook_versions),
            ("deployments", self.deployments),
            ("sources", self.sources),
            ("rules", self.rules),
            ("rejected_messages", self.rejected_messages),
            ("secrets", self.secrets),
            ("connectors", self.connectors),
            ("safety_settings", self.safety_settings),
            ("kv_entries", self.kv_entries),
            ("audit_entries", self.audit_entries),
            ("events", self.events),
            ("executions", self.executions),
            ("transcripts", self.transcripts),
        ]
    }
}

/// One line: `admin_token 1, tenants 2, tokens 7, …`.
impl std::fmt::Display for CopyCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .kinds()
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target holds data already; nothing was written.
    #[error("{target} is not empty (it holds {found}): copy only into a new, empty database")]
    NotEmpty { target: String, found: String },
    /// Reading the target failed before anything was written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A read or write failed once writing had begun.
    #[error(
        "the copy stopped part-way and {target} holds part of the data (drop and recreate it before copying again): {error}"
    )]
    Partial { target: String, error: StoreError },
}

/// Copies every record of `from` into `to`, which must be empty: no tenant,
/// no runbook version, no server admin token. Both must be stopped — no
/// host may write to either while the copy runs.
pub async fn copy_store(from: &Store, to: &Store) -> Result<CopyCounts, CopyError> {
    refuse_non_empty(to).await?;
    let mut counts = CopyCounts::default();
    let copied = async {
        copy_records(from, to, &mut counts).await?;
        to.flush().await
    };
    copied.await.map_err(|error| CopyError::Partial {
        target: to.describe(),
        error,
    })?;
    Ok(counts)
}

async fn refuse_non_empty(to: &Store) -> Result<(), CopyError> {
    let mut found = Vec::new();
    if !to.list_tenants().await?.is_empty() {
        found.push("tenants");
    }
    if to.has_versions().await? {
        found.push("runbook versions");
    }
    if to.admin_token_hash().await?.is_some() {
        found.push("a server admin token");
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(CopyError::NotEmpty {
        target: to.describe(),
        found: found.join(", "),
    })
}

async fn copy_records(from: &Store, to: &Store, counts: &mut CopyCounts) -> StoreResult<()> {
    if let Some(hash) = from.admin_token_hash().await? {
        to.set_admin_token_hash(&hash).await?;
        counts.admin_token = 1;
    }
    let tenants = from.list_tenants().await?;
    for tenant in &tenants {
        to.create_tenant(tenant).await?;
        counts.tenants += 1;
    }
    for (hash, record) in from.all_tokens().await? {
        to.put_token(&hash, &record).await?;
        counts.tokens += 1;
    }
    for tenant in &tenants {
        copy_tenant(from, to, &tenant.name, counts).await?;
    }
    // Sealed records, copied as they are: their value is never opened.
    for (tenant, record) in from.all_secrets().await? {
        to.put_secret(&tenant, &record).await?;
        counts.secrets += 1;
    }
    for tenant in from.audit_tenants().await? {
        let chain = from.audit_chain(&tenant).await?;
        to.import_audit(&tenant, &chain).await?;
        counts.audit_entries += chain.len();
    }
    copy_kv(from, to, counts).await?;
    copy_events(from, to, counts).await?;
    copy_executions(from, to, counts).await
}

/// One tenant's registry and triggers.
async fn copy_tenant(
    from: &Store,
    to: &Store,
    tenant: &str,
    counts: &mut CopyCounts,
) -> StoreResult<()> {
    let versions = from.list_all_versions(tenant).await?;
    for version in &versions {
        let component = from.get_component(&version.sha256).await?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "the component of {tenant}/{} {} (sha256 {}) is missing from the source",
                version.name, version.version, version.sha256
            ))
        })?;
        // The source a version was built from travels with it.
        if let Some(sha256) = &version.source_sha256 {
            let bundle = from.get_source_bundle(sha256).await?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "the source of {tenant}/{} {} (sha256 {sha256}) is missing from the source store",
                    version.name, version.version
                ))
            })?;
            to.put_source_bundle(sha256, &bundle).await?;
        }
        to.put_version(tenant, version, &component).await?;
        counts.runbook_versions += 1;
    }
    // A deployment names a stored version, so the runbooks with versions
    // are every runbook that can have one.
    let runbooks: BTreeSet<&str> = versions.iter().map(|v| v.name.as_str()).collect();
    for runbook in runbooks {
        for deployment in from.list_deployments(tenant, runbook).await? {
            to.put_deployment(tenant, &deployment).await?;
            counts.deployments += 1;
        }
    }
    for source in from.list_sources(tenant).await? {
        to.put_source(tenant, &source).await?;
        // A schedule's last tick travels with it: the first start on the
        // target neither repeats that tick nor forgets the ones since.
        if let Some(tick) = from.last_tick(tenant, &source.name).await? {
            to.set_last_tick(tenant, &source.name, tick).await?;
        }
        counts.sources += 1;
    }
    for rule in from.list_rules(tenant).await? {
        to.put_rule(tenant, &rule).await?;
        counts.rules += 1;
    }
    // Oldest first, so the target's "newest N per source" keeps the same N.
    let mut rejected = from.all_rejected(tenant).await?;
    rejected.sort_by(|a, b| a.last_seen.cmp(&b.last_seen));
    for message in &rejected {
        to.record_rejected(tenant, message).await?;
        counts.rejected_messages += 1;
    }
    for connector in from.list_connectors(tenant).await? {
        to.put_connector(tenant, &connector).await?;
        counts.connectors += 1;
    }
    // Pauses and silences are configuration and move with the tenant. The
    // policies' windows and circuits are not copied: they start empty on
    // the new store (a copy is made with the service stopped).
    let settings = from.safety_settings(tenant).await?;
    if settings != Default::default() {
        to.update_safety_settings(tenant, &|s| *s = settings.clone())
            .await?;
        counts.safety_settings += 1;
    }
    Ok(())
}

async fn copy_kv(from: &Store, to: &Store, counts: &mut CopyCounts) -> StoreResult<()> {
    let mut after = None;
    loop {
        let page = from.kv_page(after.as_deref(), PAGE).await?;
        for e in &page.items {
            to.kv_set(&e.tenant, &e.runbook, &e.key, &e.value).await?;
            counts.kv_entries += 1;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

async fn copy_events(from: &Store, to: &Store, counts: &mut CopyCounts) -> StoreResult<()> {
    let mut after = None;
    loop {
        let page = from.events_page(after.as_deref(), PAGE).await?;
        to.import_events(&page.items).await?;
        counts.events += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

async fn copy_executions(from: &Store, to: &Store, counts: &mut CopyCounts) -> StoreResult<()> {
    let mut after = None;
    loop {
        let page = from.executions_page(after.as_deref(), PAGE).await?;
        to.import_executions(&page.items).await?;
        counts.executions += page.items.len();
        // Each recorded execution's transcript, so it can still be replayed.
        for record in page.items.iter().filter(|r| r.transcript.is_some()) {
            if let Some(stored) = from.get_transcript(&record.tenant, &record.id).await? {
                to.put_transcript(&record.tenant, &record.id, &stored)
                    .await?;
                counts.transcripts += 1;
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// An RFC 3339 time (an event's `time`, an execution's `created_at`) as
/// time since the Unix epoch; `None` when it does not parse or is earlier.
pub(super) fn since_epoch(rfc3339: &str) -> Option<Duration> {
    let at = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    let nanos = u64::try_from(at.unix_timestamp_nanos()).ok()?;
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Deployment, Environment, RunbookVersion};
    use crate::store::model::{AuditActor, AuditRecord};
    use crate::tenancy::Tenant;

    fn tenant(name: &str) -> Tenant {
        Tenant {
            name: name.into(),
            created_at: "t".into(),
            quota: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_copy_holds_every_record_and_a_second_copy_is_refused() {
        let from = Store::temporary().unwrap();
        from.set_admin_token_hash("h-admin").await.unwrap();
        from.create_tenant(&tenant("acme")).await.unwrap();
        from.kv_set("acme", "flap", "k", b"v").await.unwrap();
        for i in 0..3 {
            let record = AuditRecord {
                actor: AuditActor {
                    token_id: "tok".into(),
                    role: "admin".into(),
                },
                action: "rule.put",
                target: format!("r{i}"),
                before: None,
                after: None,
            };
            from.append_audit("acme", record, format!("t{i}"))
                .await
                .unwrap();
        }
        let manifest_text = "name = \"flap\"\nversion = \"1.0.0\"\nlanguage = \"rust\"\n";
        let version = RunbookVersion {
            name: "flap".into(),
            version: "1.0.0".into(),
            sha256: "abc".into(),
            size: 4,
            manifest: crate::manifest::Manifest::parse(manifest_text).unwrap(),
            manifest_text: manifest_text.into(),
            imports: Vec::new(),
            uploaded_at: "t".into(),
            source_sha256: Some("src".into()),
        };
        from.put_source_bundle("src", b"{}").await.unwrap();
        from.put_version("acme", &version, b"wasm").await.unwrap();
        let deployment = Deployment {
            runbook: "flap".into(),
            environment: Environment::Dev,
            version: "1.0.0".into(),
            deployed_at: "t".into(),
        };
        from.put_deployment("acme", &deployment).await.unwrap();
        let pause = crate::safety::settings::Pause {
            at: "t".into(),
            by: "tok".into(),
        };
        from.update_safety_settings("acme", &|s| {
            s.paused_runbooks.insert("flap".into(), pause.clone());
        })
        .await
        .unwrap();

        let to = Store::temporary().unwrap();
        let counts = copy_store(&from, &to).await.unwrap();
        assert_eq!(
            (
                counts.admin_token,
                counts.tenants,
                counts.runbook_versions,
                counts.deployments,
                counts.kv_entries,
                counts.audit_entries,
                counts.safety_settings
            ),
            (1, 1, 1, 1, 1, 3, 1),
            "{counts}"
        );
        assert_eq!(to.get_component("abc").await.unwrap().unwrap(), b"wasm");
        assert_eq!(to.get_source_bundle("src").await.unwrap().unwrap(), b"{}");
        assert!(
            to.safety_settings("acme")
                .await
                .unwrap()
                .pause_of("flap")
                .is_some(),
            "a paused runbook stays paused on the new store"
        );
        assert!(
            to.get_deployment("acme", "flap", Environment::Dev)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            to.audit_chain("acme").await.unwrap(),
            from.audit_chain("acme").await.unwrap()
        );
        let verdict = crate::store::audit::verify_audit(&to, "acme")
            .await
            .unwrap();
        assert!(verdict.ok && verdict.entries == 3, "{verdict:?}");
        assert!(matches!(
            copy_store(&from, &to).await,
            Err(CopyError::NotEmpty { .. })
        ));
    }
}
