//! The event log and the executions it fires: idempotent event writes, one
//! execution per (event, rule) ever, the pending set resumed after a crash,
//! listing, and retention.

use super::keys::{key, last_part, prefix};
use super::{SledStore, decode, encode, get};
use crate::safety::gate::Gate;
use crate::store::model::event::Event;
use crate::store::model::execution::ExecutionRecord;
use crate::store::model::stats::{ExecutionFact, StatsFacts};
use crate::store::model::{
    Claim, ExecutionFilter, ExecutionPage, IngestOutcome, Lease, Pruned, Rescued, Retention,
    not_due_for,
};
use crate::store::{ExecutionStore, StoreError, StoreResult};
use async_trait::async_trait;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

#[async_trait]
impl ExecutionStore for SledStore {
    /// Stores the event unless one with its id exists; returns the stored one.
    async fn put_event_if_absent(&self, event: &Event) -> StoreResult<IngestOutcome> {
        let k = key(&[&event.tenant, &event.id]);
        let swapped =
            self.trees
                .events
                .compare_and_swap(&k, None as Option<&[u8]>, Some(encode(event)?))?;
        match swapped {
            Ok(()) => {
                let seq = uuid::Uuid::now_v7();
                self.trees
                    .events_by_time
                    .insert(seq.as_bytes(), key(&[&event.tenant, &event.id]))?;
                Ok(IngestOutcome {
                    event: event.clone(),
                    duplicate: false,
                })
            }
            Err(current) => Ok(IngestOutcome {
                event: decode(
                    &current
                        .current
                        .expect("a failed swap from None has a value"),
                )?,
                duplicate: true,
            }),
        }
    }

    async fn get_event(&self, tenant: &str, id: &str) -> StoreResult<Option<Event>> {
        get(&self.trees.events, &key(&[tenant, id]))
    }

    /// Creates a queued (or already terminal) execution. For an (event,
    /// rule) pair that already has one, returns `false`: a redelivered or
    /// re-posted event never runs a rule twice. Safe to repeat after a
    /// crash at any point.
    async fn create_execution(
        &self,
        record: &mut ExecutionRecord,
        gate: Option<&Gate>,
    ) -> StoreResult<bool> {
        if let Some(gate) = gate {
            return self.create_gated(record, gate);
        }
        if let Some(pair) = pair_key(record) {
            let claimed = self.trees.execution_keys.compare_and_swap(
                &pair,
                None as Option<&[u8]>,
                Some(record.id.as_bytes()),
            )?;
            if let Err(existing) = claimed {
                let id = String::from_utf8_lossy(&existing.current.expect("swap from None"))
                    .into_owned();
                if self
                    .trees
                    .executions
                    .contains_key(key(&[&record.tenant, &id]))?
                {
                    return Ok(false);
                }
                // A crash left the claim without its record: finish the job.
                record.id = id;
            }
        }
        let k = key(&[&record.tenant, &record.id]);
        if record.is_pending() {
            self.trees.pending.insert(&k, &[])?;
        }
        self.trees.executions.insert(&k, encode(&*record)?)?;
        Ok(true)
    }

    async fn get_execution(&self, tenant: &str, id: &str) -> StoreResult<Option<ExecutionRecord>> {
        get(&self.trees.executions, &key(&[tenant, id]))
    }

    async fn put_transcript(&self, tenant: &str, id: &str, stored: &[u8]) -> StoreResult<()> {
        self.trees.transcripts.insert(key(&[tenant, id]), stored)?;
        Ok(())
    }

    async fn get_transcript(&self, tenant: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .trees
            .transcripts
            .get(key(&[tenant, id]))?
            .map(|v| v.to_vec()))
    }

    /// Saves a queued or running execution's new state.
    async fn update_execution(&self, record: &ExecutionRecord) -> StoreResult<()> {
        self.trees
            .executions
            .insert(key(&[&record.tenant, &record.id]), encode(record)?)?;
        Ok(())
    }

    /// Saves a terminal execution and takes it off the pending set.
    async fn finish_execution(&self, record: &ExecutionRecord) -> StoreResult<()> {
        if record.is_gated() {
            return self.save_gated(record, None).map(|_| ());
        }
        let k = key(&[&record.tenant, &record.id]);
        self.trees.executions.insert(&k, encode(record)?)?;
        self.trees.pending.remove(&k)?;
        Ok(())
    }

    /// Every execution that is not terminal: (tenant, id), oldest first.
    async fn pending_executions(&self) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        for k in self.trees.pending.iter().keys() {
            let k = k?;
            let split = k.iter().position(|&b| b == 0).unwrap_or(k.len());
            out.push((
                String::from_utf8_lossy(&k[..split]).into_owned(),
                last_part(&k),
            ));
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    /// Newest first, filtered, one page at a time.
    async fn list_executions(
        &self,
        tenant: &str,
        filter: &ExecutionFilter,
    ) -> StoreResult<ExecutionPage> {
        let limit = filter.limit.max(1);
        let candidates: Box<dyn Iterator<Item = StoreResult<ExecutionRecord>>> = match &filter
            .event_id
        {
            // The (event, rule) claims index the executions of one event.
            Some(event) => {
                let mut ids: Vec<String> = self
                    .trees
                    .execution_keys
                    .scan_prefix(prefix(&[tenant, event]))
                    .values()
                    .filter_map(|v| v.ok().map(|v| String::from_utf8_lossy(&v).into_owned()))
                    .collect();
                ids.sort_unstable_by(|a, b| b.cmp(a));
                Box::new(ids.into_iter().filter_map(|id| {
                    get::<ExecutionRecord>(&self.trees.executions, &key(&[tenant, &id])).transpose()
                }))
            }
            None => Box::new(
                self.trees
                    .executions
                    .scan_prefix(prefix(&[tenant]))
                    .values()
                    .rev()
                    .map(|v| decode::<ExecutionRecord>(&v?)),
            ),
        };
        let mut executions = Vec::new();
        let mut more = false;
        for record in candidates {
            let record = record?;
            if filter.cursor.as_ref().is_some_and(|c| record.id >= *c)
                || filter
                    .runbook
                    .as_ref()
                    .is_some_and(|r| *r != record.runbook)
                || filter.status.is_some_and(|s| s != record.status)
                || filter
                    .denied
                    .is_some_and(|d| d != record.capability_calls.iter().any(|c| !c.allowed))
                || filter
                    .reason
                    .is_some_and(|r| record.suppressed.as_ref().is_none_or(|s| s.reason != r))
                || filter
                    .rule
                    .as_ref()
                    .is_some_and(|r| record.rule.as_ref() != Some(r))
                || filter.since_id.as_ref().is_some_and(|s| record.id < *s)
                || filter.until_id.as_ref().is_some_and(|u| record.id >= *u)
                || !filter
                    .input
                    .iter()
                    .all(|(path, value)| crate::store::model::input_has(&record.input, path, value))
            {
                continue;
            }
            if executions.len() == limit {
                more = true;
                break;
            }
            executions.push(record);
        }
        let next_cursor = if more {
            executions.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(ExecutionPage {
            executions,
            next_cursor,
        })
    }

    /// Executions from the tenant's first id of the window on (ids are
    /// uuid v7, so key order is creation order), each event's time looked
    /// up once; events through the arrival-time index from the window's
    /// start, keeping the tenant's.
    async fn stats_facts(&self, tenant: &str, since_ms: u64) -> StoreResult<StatsFacts> {
        let own = prefix(&[tenant]);
        let mut event_times: HashMap<String, Option<String>> = HashMap::new();
        let mut facts = StatsFacts::default();
        let start = key(&[tenant, &crate::store::model::id_at(since_ms)]);
        for entry in self.trees.executions.range(start..) {
            let (k, v) = entry?;
            if !k.starts_with(&own) {
                break;
            }
            let record: ExecutionRecord = decode(&v)?;
            let event_time = match &record.event_id {
                None => None,
                Some(id) => match event_times.get(id) {
                    Some(time) => time.clone(),
                    None => {
                        let time =
                            get::<Event>(&self.trees.events, &key(&[tenant, id]))?.map(|e| e.time);
                        event_times.insert(id.clone(), time.clone());
                        time
                    }
                },
            };
            facts
                .executions
                .push(ExecutionFact::from_record(&record, event_time.as_deref()));
        }
        // The index's keys are uuid v7 bytes: 48 bits of milliseconds first.
        let mut since_seq = [0u8; 16];
        since_seq[..6].copy_from_slice(&since_ms.min((1 << 48) - 1).to_be_bytes()[2..]);
        for entry in self.trees.events_by_time.range(since_seq..) {
            let (_, event_key) = entry?;
            if !event_key.starts_with(&own) {
                continue;
            }
            if let Some(event) = get::<Event>(&self.trees.events, &event_key)? {
                *facts.events_by_source.entry(event.source).or_default() += 1;
            }
        }
        Ok(facts)
    }

    async fn prune(&self, retention: &Retention) -> StoreResult<Pruned> {
        // A long scan of sled: off the async runtime's threads.
        let (this, retention) = (self.clone(), *retention);
        tokio::task::spawn_blocking(move || this.prune_now(&retention))
            .await
            .map_err(|e| StoreError::Backend(format!("retention pass panicked: {e}")))?
    }

    fn is_shared(&self) -> bool {
        false
    }

    async fn executions_to_resume(&self) -> StoreResult<Vec<(String, String)>> {
        self.pending_executions().await
    }

    // One process owns a sled directory: leases always hold.

    async fn claim_execution(
        &self,
        tenant: &str,
        id: &str,
        // One host: the dispatcher's per-tenant gate holds the quota.
        _max_concurrent: Option<u32>,
    ) -> StoreResult<Claim> {
        let record: Option<ExecutionRecord> = get(&self.trees.executions, &key(&[tenant, id]))?;
        let Some(r) = record.filter(|r| r.is_pending()) else {
            return Ok(Claim::Gone);
        };
        Ok(match not_due_for(&r) {
            Some(wait) => Claim::NotYet(wait),
            None if !self.may_start(&r)? => Claim::Busy,
            None => Claim::Claimed(Box::new(r), Lease { token: 0 }),
        })
    }

    async fn unclaimed_executions(&self, _limit: usize) -> StoreResult<Vec<(String, String)>> {
        Ok(Vec::new()) // one host: it queued all of them itself
    }

    async fn announce_work(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn work_announced(&self) {
        std::future::pending().await
    }

    async fn cancel_waiting(
        &self,
        record: &ExecutionRecord,
        expected: crate::sandbox::report::ExecutionStatus,
    ) -> StoreResult<bool> {
        self.save_gated(record, Some(expected))
    }

    async fn announce_cancel(&self, _tenant: &str, _id: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn cancel_announced(&self) -> (String, String) {
        std::future::pending().await
    }

    async fn spend_rate_quota(
        &self,
        tenant: &str,
        executions: u32,
        per_minute: u32,
    ) -> StoreResult<Result<(), u32>> {
        Ok(self.rate_windows.spend(tenant, executions, per_minute))
    }

    async fn update_leased(&self, record: &ExecutionRecord, _lease: Lease) -> StoreResult<bool> {
        self.update_execution(record).await.map(|()| true)
    }

    async fn finish_leased(&self, record: &ExecutionRecord, _lease: Lease) -> StoreResult<bool> {
        self.finish_execution(record).await.map(|()| true)
    }

    async fn renew_leases(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn rescue_expired(&self, _limit: usize) -> StoreResult<Vec<Rescued>> {
        Ok(Vec::new())
    }

    async fn commit(&self) -> StoreResult<()> {
        self.committer.commit().await.map_err(StoreError::Commit)
    }

    fn commit_soon(&self) {
        self.committer.request();
    }

    async fn flush(&self) -> StoreResult<()> {
        self.db.flush()?;
        Ok(())
    }
}

impl SledStore {
    /// Removes events and terminal executions past the retention policy.
    fn prune_now(&self, retention: &Retention) -> StoreResult<Pruned> {
        let cutoff_ms = SystemTime::now()
            .checked_sub(retention.max_age)
            .unwrap_or(UNIX_EPOCH)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let mut pruned = Pruned::default();

        // Events: oldest first through the time index.
        let total_events = self.trees.events_by_time.len();
        let mut excess = total_events.saturating_sub(retention.max_events);
        for entry in self.trees.events_by_time.iter() {
            let (seq, event_key) = entry?;
            let old = uuid_millis(&seq).is_some_and(|ms| ms < cutoff_ms);
            if !old && excess == 0 {
                break;
            }
            self.trees.events.remove(&event_key)?;
            self.trees.events_by_time.remove(&seq)?;
            excess = excess.saturating_sub(1);
            pruned.events += 1;
        }

        // Executions: per tenant, oldest first (ids are uuid v7), never pending.
        for tenant in self.trees.tenants.iter().keys() {
            let tenant = String::from_utf8_lossy(&tenant?).into_owned();
            let keys: Vec<sled::IVec> = self
                .trees
                .executions
                .scan_prefix(prefix(&[&tenant]))
                .keys()
                .collect::<Result<_, _>>()?;
            let mut excess = keys
                .len()
                .saturating_sub(retention.max_executions_per_tenant);
            for k in keys {
                if self.trees.pending.contains_key(&k)? {
                    continue;
                }
                let id = last_part(&k);
                let old = uuid::Uuid::parse_str(&id)
                    .ok()
                    .and_then(|u| uuid_millis(u.as_bytes()))
                    .is_some_and(|ms| ms < cutoff_ms);
                if !old && excess == 0 {
                    break;
                }
                if let Some(record) =
                    get::<ExecutionRecord>(&self.trees.executions, &key(&[&tenant, &id]))?
                    && let Some(pair) = pair_key(&record)
                {
                    self.trees.execution_keys.remove(pair)?;
                }
                self.trees.executions.remove(&k)?;
                self.trees.transcripts.remove(&k)?;
                excess = excess.saturating_sub(1);
                pruned.executions += 1;
            }
        }
        Ok(pruned)
    }
}

/// The key of an execution's (event, rule, retry) in `execution_keys`:
/// one execution per triple, ever. A first run's key has no retry part
/// (as before retries existed).
pub(super) fn pair_key(record: &ExecutionRecord) -> Option<Vec<u8>> {
    let (event, rule) = (record.event_id.as_ref()?, record.rule.as_ref()?);
    Some(match record.retry {
        0 => key(&[&record.tenant, event, rule]),
        n => key(&[&record.tenant, event, rule, &n.to_string()]),
    })
}

/// The millisecond timestamp of a uuid v7 (its first 48 bits).
fn uuid_millis(bytes: &[u8]) -> Option<u64> {
    let b: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
    Some(u64::from_be_bytes([
        0, 0, b[0], b[1], b[2], b[3], b[4], b[5],
    ]))
}
