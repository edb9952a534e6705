//! The store's interface: the domain's own operations, grouped by area. A
//! backend implements every group ([`Backend`]); callers hold a
//! [`Store`](super::Store) and import the groups they use.
//!
//! Every operation is one atomic write (a sled batch or one PostgreSQL
//! transaction). Writes may be durable only after [`ExecutionStore::commit`]
//! (sled's group commit); on PostgreSQL each operation is durable when it
//! returns and `commit` has nothing left to do.

use super::StoreResult;
use super::model::{
    AuditEntry, AuditRecord, Claim, ConnectorRecord, ExecutionFilter, ExecutionPage, IngestOutcome,
    Ingested, Inserted, Lease, NewEvent, Pruned, PutOutcome, RejectedMessage, Rescued, Retention,
    SecretRecord,
};
use crate::notify::{Notification, NotificationOutcome};
use crate::registry::{Deployment, Environment, RunbookVersion};
use crate::safety::gate::{Gate, KeyState, RuleState};
use crate::safety::settings::SafetySettings;
use crate::store::model::event::Event;
use crate::store::model::execution::ExecutionRecord;
use crate::store::model::rule::Rule;
use crate::store::model::source::Source;
use crate::tenancy::{Tenant, TokenRecord};
use async_trait::async_trait;

/// The server admin token's hash, tenants and their API tokens.
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn admin_token_hash(&self) -> StoreResult<Option<String>>;
    async fn set_admin_token_hash(&self, hash: &str) -> StoreResult<()>;
    /// Fails with `Conflict` when the name is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// Replaces an existing tenant's record (its quota).
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn get_tenant(&self, name: &str) -> StoreResult<Option<Tenant>>;
    async fn put_token(&self, hash: &str, record: &TokenRecord) -> StoreResult<()>;
    async fn get_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>>;
}

/// Runbook versions (immutable, with their component bytes) and deployments.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Stores an immutable version: the same bytes again is a no-op, other
    /// bytes under the same version are a `Conflict`.
    async fn put_version(
        &self,
        tenant: &str,
        version: &RunbookVersion,
        component: &[u8],
    ) -> StoreResult<PutOutcome>;
    async fn get_version(
        &self,
        tenant: &str,
        name: &str,
        version: &str,
    ) -> StoreResult<Option<RunbookVersion>>;
    async fn list_versions(&self, tenant: &str, name: &str) -> StoreResult<Vec<RunbookVersion>>;
    /// Every version of every runbook in the tenant.
    async fn list_all_versions(&self, tenant: &str) -> StoreResult<Vec<RunbookVersion>>;
    /// A component's bytes by their sha256.
    async fn get_component(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores a source bundle (the files a version was built from) under
    /// its sha256, beside the components; storing it again is a no-op.
    /// Written before the version that names it.
    async fn put_source_bundle(&self, sha256: &str, bundle: &[u8]) -> StoreResult<()>;
    /// A source bundle by its sha256.
    async fn get_source_bundle(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn put_deployment(&self, tenant: &str, deployment: &Deployment) -> StoreResult<()>;
    async fn get_deployment(
        &self,
        tenant: &str,
        runbook: &str,
        env: Environment,
    ) -> StoreResult<Option<Deployment>>;
    async fn list_deployments(&self, tenant: &str, runbook: &str) -> StoreResult<Vec<Deployment>>;
}

/// Sources, rules, and the SQS messages a source could not parse.
#[async_trait]
pub trait TriggerStore: Send + Sync {
    async fn put_source(&self, tenant: &str, source: &Source) -> StoreResult<()>;
    async fn get_source(&self, tenant: &str, name: &str) -> StoreResult<Option<Source>>;
    /// Whether there was one to delete.
    async fn delete_source(&self, tenant: &str, name: &str) -> StoreResult<bool>;
    async fn list_sources(&self, tenant: &str) -> StoreResult<Vec<Source>>;
    /// Records (or updates) a rejected message, keeping the newest
    /// [`MAX_REJECTED_PER_SOURCE`](super::model::MAX_REJECTED_PER_SOURCE)
    /// per source.
    async fn record_rejected(&self, tenant: &str, message: &RejectedMessage) -> StoreResult<()>;
    /// Newest first.
    async fn list_rejected(&self, tenant: &str, source: &str) -> StoreResult<Vec<RejectedMessage>>;
    async fn put_rule(&self, tenant: &str, rule: &Rule) -> StoreResult<()>;
    async fn get_rule(&self, tenant: &str, name: &str) -> StoreResult<Option<Rule>>;
    async fn delete_rule(&self, tenant: &str, name: &str) -> StoreResult<bool>;
    async fn list_rules(&self, tenant: &str) -> StoreResult<Vec<Rule>>;
}

/// The event log and the executions it fires.
#[async_trait]
pub trait ExecutionStore: Send + Sync {
    /// Stores the event unless one with its id exists; returns the stored one.
    async fn put_event_if_absent(&self, event: &Event) -> StoreResult<IngestOutcome>;
    /// Records new events with the executions they fire, all or nothing
    /// (one transaction on PostgreSQL). An event whose id is already
    /// stored is left as it is, its executions not written. Up to `claim`
    /// queued executions are leased to this host at once, for workers that
    /// are free to run them now.
    ///
    /// Gated executions are decided by their rule's policy in the same
    /// write: the records in `batch` leave as they were stored (suppressed,
    /// awaiting approval, or queued).
    async fn ingest(&self, batch: &mut [NewEvent], claim: usize) -> StoreResult<Vec<Ingested>> {
        let _ = claim; // an embedded store has no leases
        let mut outcomes = Vec::with_capacity(batch.len());
        for new in batch {
            let stored = self.put_event_if_absent(&new.event).await?;
            if stored.duplicate {
                outcomes.push(Ingested::Duplicate(stored.event));
                continue;
            }
            let mut created = Vec::with_capacity(new.executions.len());
            for execution in &mut new.executions {
                let made = self
                    .create_execution(&mut execution.record, execution.gate.as_ref())
                    .await?;
                created.push(if made {
                    Inserted::Queued
                } else {
                    Inserted::Existing
                });
            }
            outcomes.push(Ingested::New { created });
        }
        Ok(outcomes)
    }
    async fn get_event(&self, tenant: &str, id: &str) -> StoreResult<Option<Event>>;
    /// Creates an execution (queued, or already terminal when it failed
    /// before it could run); with a gate, its rule's policy decides it in
    /// the same write and `record` is left as stored. For an (event, rule)
    /// pair that already has one, returns `false` (nothing is counted): a
    /// redelivered or re-posted event never runs a rule twice. Safe to
    /// repeat after a crash at any point.
    async fn create_execution(
        &self,
        record: &mut ExecutionRecord,
        gate: Option<&Gate>,
    ) -> StoreResult<bool>;
    async fn get_execution(&self, tenant: &str, id: &str) -> StoreResult<Option<ExecutionRecord>>;
    /// Saves a queued or running execution's new state.
    async fn update_execution(&self, record: &ExecutionRecord) -> StoreResult<()>;
    /// Saves a terminal execution and takes it off the pending set (and,
    /// when its rule's policy counts it, off its key's active executions).
    async fn finish_execution(&self, record: &ExecutionRecord) -> StoreResult<()>;
    /// Every execution that is not terminal: (tenant, id), oldest first.
    async fn pending_executions(&self) -> StoreResult<Vec<(String, String)>>;
    /// Keeps an execution's transcript (`Transcript::to_stored`, opaque
    /// here) beside its record, replacing an earlier attempt's; pruned with
    /// the record.
    async fn put_transcript(&self, tenant: &str, id: &str, stored: &[u8]) -> StoreResult<()>;
    async fn get_transcript(&self, tenant: &str, id: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Whether several hosts share this store: then executions are leased,
    /// and caches of the store must follow changes other hosts make.
    fn is_shared(&self) -> bool;
    /// The pending executions this host should queue at start: every one
    /// on an embedded store; on a shared one only those this host held
    /// before it was restarted, since other hosts may be running the rest (a
    /// dead host's work comes back through
    /// [`rescue_expired`](Self::rescue_expired)).
    async fn executions_to_resume(&self) -> StoreResult<Vec<(String, String)>>;
    /// Takes the lease on a pending execution for this host, to run it —
    /// unless its tenant already runs `max_concurrent` executions (counted
    /// across every host sharing the store).
    async fn claim_execution(
        &self,
        tenant: &str,
        id: &str,
        max_concurrent: Option<u32>,
    ) -> StoreResult<Claim>;
    /// Pending executions no host has claimed yet, oldest first (a shared
    /// store's idle hosts take work from busy ones this way).
    async fn unclaimed_executions(&self, limit: usize) -> StoreResult<Vec<(String, String)>>;
    /// Tells the other hosts that this one has more queued work than
    /// workers. Best effort: polling is the fallback.
    async fn announce_work(&self) -> StoreResult<()>;
    /// Completes when another host announced work (never on an embedded
    /// store).
    async fn work_announced(&self);
    /// Ends a waiting execution (queued or awaiting approval) as `record`
    /// (cancelled) unless its status is no longer `expected`, taking its
    /// lease away: a host that claimed it meanwhile cannot record a
    /// completion. Whether it was cancelled.
    async fn cancel_waiting(
        &self,
        record: &ExecutionRecord,
        expected: crate::sandbox::report::ExecutionStatus,
    ) -> StoreResult<bool>;
    /// Tells every host to cancel an execution if it runs there (best
    /// effort; nothing on an embedded store, where this host runs all).
    async fn announce_cancel(&self, tenant: &str, id: &str) -> StoreResult<()>;
    /// The next cancel another host announced (never on an embedded store).
    async fn cancel_announced(&self) -> (String, String);
    /// Counts `executions` against the tenant's `per_minute` quota for the
    /// current minute, across every host. `Err(retry_after_secs)` when the
    /// minute was already used up (nothing counted); like the quota's
    /// definition, one request that fans out may overshoot by its own
    /// executions.
    async fn spend_rate_quota(
        &self,
        tenant: &str,
        executions: u32,
        per_minute: u32,
    ) -> StoreResult<Result<(), u32>>;
    /// Saves a leased execution's state; `false` when the lease was lost
    /// (nothing is written).
    async fn update_leased(&self, record: &ExecutionRecord, lease: Lease) -> StoreResult<bool>;
    /// Records a leased execution's end; `false` when the lease was lost —
    /// another host took the execution over, and this completion is refused.
    async fn finish_leased(&self, record: &ExecutionRecord, lease: Lease) -> StoreResult<bool>;
    /// Renews the lease of every execution this host holds (its heartbeat).
    async fn renew_leases(&self) -> StoreResult<()>;
    /// Leases to this host up to `limit` executions whose lease expired.
    async fn rescue_expired(&self, limit: usize) -> StoreResult<Vec<Rescued>>;
    /// Newest first, filtered, one page at a time.
    async fn list_executions(
        &self,
        tenant: &str,
        filter: &ExecutionFilter,
    ) -> StoreResult<ExecutionPage>;
    /// What the overview statistics count for `tenant`: every execution
    /// created, and every event received, at or after `since_ms` (ms since
    /// the Unix epoch).
    async fn stats_facts(
        &self,
        tenant: &str,
        since_ms: u64,
    ) -> StoreResult<crate::store::model::stats::StatsFacts>;
    /// Removes events and terminal executions past the retention policy.
    async fn prune(&self, retention: &Retention) -> StoreResult<Pruned>;

    /// Waits until every write made before the call is durable.
    async fn commit(&self) -> StoreResult<()>;
    /// Makes everything written so far durable soon, without waiting: for
    /// writes that are safe to lose in a crash (they are redone after it).
    fn commit_soon(&self);
    /// Makes everything durable now (shutdown, a command about to exit).
    async fn flush(&self) -> StoreResult<()>;
}

/// Safety state: a tenant's pauses and silences, the policy state of each
/// rule's keys, and executions awaiting approval.
#[async_trait]
pub trait SafetyStore: Send + Sync {
    async fn safety_settings(&self, tenant: &str) -> StoreResult<SafetySettings>;
    /// Changes the settings read-modify-write, atomically against every
    /// host; returns them as changed.
    async fn update_safety_settings(
        &self,
        tenant: &str,
        change: &(dyn for<'s> Fn(&'s mut SafetySettings) + Send + Sync),
    ) -> StoreResult<SafetySettings>;
    /// The keys of a rule that have policy state, in key order, at most
    /// `limit`.
    async fn policy_keys(
        &self,
        tenant: &str,
        rule: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, KeyState)>>;
    async fn policy_rule_state(&self, tenant: &str, rule: &str) -> StoreResult<RuleState>;
    /// One key's policy state (empty when it has none).
    async fn policy_key_state(&self, tenant: &str, rule: &str, key: &str) -> StoreResult<KeyState>;
    /// Forgets a key's failures and closes its circuit; whether the key had
    /// state.
    async fn close_circuit(&self, tenant: &str, rule: &str, key: &str) -> StoreResult<bool>;
    /// Executions awaiting approval in every tenant, (tenant, id), oldest
    /// first.
    async fn awaiting_approval(&self, limit: usize) -> StoreResult<Vec<(String, String)>>;
    /// Replaces an execution awaiting approval with its decided state —
    /// queued (approved) or suppressed (rejected, timed out) — unless it
    /// was decided already (by another operator or host): whether this
    /// decision was the one recorded.
    async fn decide_approval(&self, record: &ExecutionRecord) -> StoreResult<bool>;
}

/// The notification outbox: entries wait here until delivered, whichever
/// host delivers them.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Puts a notification in the outbox unless one with its id is there
    /// or was delivered.
    async fn enqueue_notification(&self, n: &Notification) -> StoreResult<()>;
    /// Up to `limit` notifications due now, each claimed for `claim_ms` (so
    /// no other host delivers it meanwhile; one whose host died is due
    /// again after that).
    async fn due_notifications(
        &self,
        limit: usize,
        claim_ms: u64,
    ) -> StoreResult<Vec<Notification>>;
    /// Saves a notification's attempts and its next try.
    async fn reschedule_notification(&self, n: &Notification) -> StoreResult<()>;
    /// Takes a notification out of the outbox and adds its outcome to its
    /// execution's record, together.
    async fn complete_notification(
        &self,
        n: &Notification,
        outcome: &NotificationOutcome,
    ) -> StoreResult<()>;
}

/// Sealed tenant secrets and connector configurations.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn put_secret(&self, tenant: &str, record: &SecretRecord) -> StoreResult<()>;
    async fn get_secret(&self, tenant: &str, name: &str) -> StoreResult<Option<SecretRecord>>;
    async fn list_secrets(&self, tenant: &str) -> StoreResult<Vec<SecretRecord>>;
    /// Every tenant's secrets, for a key rotation: (tenant, record).
    async fn all_secrets(&self) -> StoreResult<Vec<(String, SecretRecord)>>;
    /// Whether a secret was there to delete.
    async fn delete_secret(&self, tenant: &str, name: &str) -> StoreResult<bool>;
    async fn put_connector(&self, tenant: &str, record: &ConnectorRecord) -> StoreResult<()>;
    async fn get_connector(&self, tenant: &str, name: &str)
    -> StoreResult<Option<ConnectorRecord>>;
    async fn list_connectors(&self, tenant: &str) -> StoreResult<Vec<ConnectorRecord>>;
    async fn delete_connector(&self, tenant: &str, name: &str) -> StoreResult<bool>;
}

/// The hash-chained audit log, one chain per tenant.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry after the tenant's last one: the backend serialises
    /// appends per tenant so the chain stays linear whoever writes.
    async fn append_audit(
        &self,
        tenant: &str,
        record: AuditRecord,
        at: String,
    ) -> StoreResult<AuditEntry>;
    /// Entries oldest first, starting after `after_seq`, at most `limit`.
    async fn list_audit(
        &self,
        tenant: &str,
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// The whole chain as stored: (the sequence number it is stored under,
    /// its JSON), in stored order, for verification — an unreadable entry
    /// must reach the verifier, not fail the read.
    async fn audit_chain(&self, tenant: &str) -> StoreResult<Vec<(u64, Vec<u8>)>>;
    /// Test support: overwrite or delete (`None`) a stored entry, as an
    /// attacker with access to the data would.
    #[doc(hidden)]
    async fn tamper_audit_entry(
        &self,
        tenant: &str,
        seq: u64,
        entry: Option<&AuditEntry>,
    ) -> StoreResult<()>;
}

/// Runbook kv data: one namespace per (tenant, runbook).
#[async_trait]
pub trait KvStore: Send + Sync {
    async fn kv_get(&self, tenant: &str, runbook: &str, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn kv_set(&self, tenant: &str, runbook: &str, key: &str, value: &[u8])
    -> StoreResult<()>;
    async fn kv_delete(&self, tenant: &str, runbook: &str, key: &str) -> StoreResult<()>;
    /// Sets `key` to `new` only if it holds `expected` (`None`: absent),
    /// atomically against every host; whether it was set.
    async fn kv_compare_and_swap(
        &self,
        tenant: &str,
        runbook: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> StoreResult<bool>;
}

/// The last tick each schedule source fired, so that a restart neither
/// repeats a tick nor forgets the ones missed while no host was up. Ticks
/// are whole seconds since the Unix epoch (UTC).
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    async fn last_tick(&self, tenant: &str, source: &str) -> StoreResult<Option<i64>>;
    /// Records `tick` as fired unless the same or a later one is recorded
    /// already (several hosts fire every tick; a slow one must not move it
    /// back), atomically against every host: whether it moved forward.
    async fn set_last_tick(&self, tenant: &str, source: &str, tick: i64) -> StoreResult<bool>;
}

/// Everything a backend provides.
pub trait Backend:
    TenantStore
    + RegistryStore
    + TriggerStore
    + ExecutionStore
    + SecretStore
    + AuditStore
    + KvStore
    + SafetyStore
    + NotificationStore
    + ScheduleStore
    + super::copy::CopyStore
{
    /// What the backend is, for start-up messages: `sled at DIR`,
    /// `postgres at HOST:PORT/DB`.
    fn describe(&self) -> String;
}
