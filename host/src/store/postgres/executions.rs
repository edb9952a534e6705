//! The event log and the executions it fires. The unique index on
//! (tenant, event, rule) makes "one execution per pair, ever" a constraint
//! that holds whichever host inserts; the partial index on `pending` keeps
//! the set of work still to do small however many executions are kept.

use super::{PostgresStore, docs, from_doc, safety, to_doc};
use crate::safety::gate::Gate;
use crate::sandbox::report::ExecutionStatus;
use crate::store::model::event::Event;
use crate::store::model::execution::ExecutionRecord;
use crate::store::model::stats::{ExecutionFact, StatsFacts, rfc3339_ms};
use crate::store::model::{
    Claim, ExecutionFilter, ExecutionPage, IngestOutcome, Ingested, Inserted, Lease, NewEvent,
    Pruned, Rescued, Retention, not_due_for,
};
use crate::store::{ExecutionStore, StoreError, StoreResult};
use async_trait::async_trait;

/// The advisory lock a retention pass holds (any constant unlike the others).
const RETENTION_LOCK: i64 = 0x7765_7265_7465;

/// `GET /executions`; `INPUT_FILTER` is replaced by the input condition.
const LIST: &str = "SELECT doc FROM executions
                 WHERE tenant = $1
                   AND ($2::text IS NULL OR runbook = $2)
                   AND ($3::text IS NULL OR status = $3)
                   AND ($4::text IS NULL OR event_id = $4)
                   AND ($5::bool IS NULL OR denied = $5)
                   AND ($6::text IS NULL OR id < $6)
                   AND ($8::text IS NULL
                        OR (status = 'suppressed' AND doc::jsonb -> 'suppressed' ->> 'reason' = $8))
                   AND ($9::text IS NULL OR rule = $9)
                   AND ($10::text IS NULL OR id >= $10)
                   AND ($11::text IS NULL OR id < $11)
                   AND INPUT_FILTER
                 ORDER BY id DESC
                 LIMIT $7";

/// The input filters as one JSON document for `input @> doc` (the GIN
/// index answers it): values parsed as JSON where they parse (`typed`), or
/// all as strings — a query string cannot say which was meant.
fn containment(filters: &[(String, String)], typed: bool) -> Option<String> {
    if filters.is_empty() {
        return None;
    }
    let mut doc = serde_json::Value::Object(Default::default());
    for (path, raw) in filters {
        let value = match typed {
            true => {
                serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.clone()))
            }
            false => serde_json::Value::String(raw.clone()),
        };
        let mut at = &mut doc;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let map = match at {
                serde_json::Value::Object(map) => map,
                _ => return Some("null".into()), // two filters disagree on a path: nothing matches
            };
            at = if i + 1 == parts.len() {
                map.insert(part.to_string(), value.clone());
                break;
            } else {
                map.entry(part.to_string())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()))
            };
        }
    }
    Some(doc.to_string())
}

/// The input as `jsonb` can hold it: jsonb refuses `\u0000`, so an input
/// holding one is left out of the column (input filters do not find it;
/// the record keeps it whole).
fn input_column(input: &serde_json::Value) -> Option<String> {
    let text = input.to_string();
    (!text.contains("\\u0000")).then_some(text)
}

/// The columns an execution's row keeps beside its document.
pub(super) struct ExecutionColumns {
    pub status: &'static str,
    /// Waits for a worker or runs.
    pub pending: bool,
    /// Waits for an operator's approval.
    pub awaiting: bool,
    /// Shows a denied capability call (a filter).
    pub denied: bool,
    pub doc: String,
}

impl ExecutionColumns {
    pub fn of(record: &ExecutionRecord) -> StoreResult<Self> {
        Ok(Self {
            status: record.status.as_str(),
            pending: record.is_pending(),
            awaiting: record.status == ExecutionStatus::AwaitingApproval,
            denied: record.capability_calls.iter().any(|c| !c.allowed),
            doc: to_doc(record)?,
        })
    }
}

#[async_trait]
impl ExecutionStore for PostgresStore {
    async fn put_event_if_absent(&self, event: &Event) -> StoreResult<IngestOutcome> {
        let c = self.client().await?;
        let insert = c
            .prepare_cached(
                "INSERT INTO events (tenant, id, doc) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, id) DO NOTHING",
            )
            .await?;
        if c.execute(&insert, &[&event.tenant, &event.id, &to_doc(event)?])
            .await?
            == 1
        {
            return Ok(IngestOutcome {
                event: event.clone(),
                duplicate: false,
            });
        }
        let stored = c
            .query_one(
                "SELECT doc FROM events WHERE tenant = $1 AND id = $2",
                &[&event.tenant, &event.id],
            )
            .await?;
        Ok(IngestOutcome {
            event: from_doc(&stored, 0)?,
            duplicate: true,
        })
    }

    async fn get_event(&self, tenant: &str, id: &str) -> StoreResult<Option<Event>> {
        let c = self.client().await?;
        c.query_opt(
            "SELECT doc FROM events WHERE tenant = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await?
        .map(|r| from_doc(&r, 0))
        .transpose()
    }

    async fn create_execution(
        &self,
        record: &mut ExecutionRecord,
        gate: Option<&Gate>,
    ) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let inserted = match gate {
            Some(gate) => {
                safety::take_locks(&tx, safety::gate_locks(&record.tenant, gate)).await?;
                safety::insert_gated(&tx, record, gate, None).await?
            }
            None => insert_execution(&tx, record, None).await?,
        };
        tx.commit().await?;
        Ok(inserted != Inserted::Existing)
    }

    async fn ingest(&self, batch: &mut [NewEvent], claim: usize) -> StoreResult<Vec<Ingested>> {
        // One transaction for the request's events and their executions:
        // the 202 waits for exactly one commit.
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The policy locks of every gate first, in one order, so two hosts'
        // transactions never wait on each other in a cycle.
        let locks = batch
            .iter()
            .flat_map(|n| &n.executions)
            .filter_map(|e| Some(safety::gate_locks(&e.record.tenant, e.gate.as_ref()?)))
            .flatten()
            .collect();
        safety::take_locks(&tx, locks).await?;
        let insert_event = tx
            .prepare_cached(
                "INSERT INTO events (tenant, id, doc) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, id) DO NOTHING",
            )
            .await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut claimed = 0;
        for new in batch.iter_mut() {
            let event = &new.event;
            if tx
                .execute(&insert_event, &[&event.tenant, &event.id, &to_doc(event)?])
                .await?
                == 0
            {
                let stored = tx
                    .query_one(
                        "SELECT doc FROM events WHERE tenant = $1 AND id = $2",
                        &[&event.tenant, &event.id],
                    )
                    .await?;
                outcomes.push(Ingested::Duplicate(from_doc(&stored, 0)?));
                continue;
            }
            let mut created = Vec::with_capacity(new.executions.len());
            for execution in &mut new.executions {
                let owner = (claimed < claim).then_some(&*self.host_id);
                let inserted = match &execution.gate {
                    Some(gate) => {
                        safety::insert_gated(&tx, &mut execution.record, gate, owner).await?
                    }
                    None => {
                        let owner = owner.filter(|_| execution.record.is_pending());
                        insert_execution(&tx, &execution.record, owner).await?
                    }
                };
                claimed += usize::from(matches!(inserted, Inserted::Claimed(_)));
                created.push(inserted);
            }
            outcomes.push(Ingested::New { created });
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn get_execution(&self, tenant: &str, id: &str) -> StoreResult<Option<ExecutionRecord>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT doc FROM executions WHERE tenant = $1 AND id = $2")
            .await?;
        c.query_opt(&stmt, &[&tenant, &id])
            .await?
            .map(|r| from_doc(&r, 0))
            .transpose()
    }

    async fn update_execution(&self, record: &ExecutionRecord) -> StoreResult<()> {
        self.save_execution(record, None).await.map(|_| ())
    }

    async fn put_transcript(&self, tenant: &str, id: &str, stored: &[u8]) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO transcripts (tenant, id, data) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, id) DO UPDATE SET data = EXCLUDED.data",
            &[&tenant, &id, &stored],
        )
        .await?;
        Ok(())
    }

    async fn get_transcript(&self, tenant: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT data FROM transcripts WHERE tenant = $1 AND id = $2",
                &[&tenant, &id],
            )
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn finish_execution(&self, record: &ExecutionRecord) -> StoreResult<()> {
        self.save_execution(record, None).await.map(|_| ())
    }

    async fn pending_executions(&self) -> StoreResult<Vec<(String, String)>> {
        let c = self.client().await?;
        execution_refs(
            &c.query(
                "SELECT tenant, id FROM executions WHERE pending ORDER BY id",
                &[],
            )
            .await?,
        )
    }

    async fn list_executions(
        &self,
        tenant: &str,
        filter: &ExecutionFilter,
    ) -> StoreResult<ExecutionPage> {
        let limit = filter.limit.max(1);
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&LIST.replace(
                "INPUT_FILTER",
                if filter.input.is_empty() {
                    "$12::text IS NULL AND $13::text IS NULL"
                } else {
                    // Without an IS NULL branch, so the planner uses the
                    // GIN index on `input`.
                    "(input @> $12::text::jsonb OR input @> $13::text::jsonb)"
                },
            ))
            .await?;
        let rows = c
            .query(
                &stmt,
                &[
                    &tenant,
                    &filter.runbook,
                    &filter.status.map(|s| s.as_str()),
                    &filter.event_id,
                    &filter.denied,
                    &filter.cursor,
                    &(limit as i64 + 1),
                    &filter.reason.map(|r| r.as_str()),
                    &filter.rule,
                    &filter.since_id,
                    &filter.until_id,
                    &containment(&filter.input, true),
                    &containment(&filter.input, false),
                ],
            )
            .await?;
        let mut executions: Vec<ExecutionRecord> = docs(&rows)?;
        let next_cursor = if executions.len() > limit {
            executions.truncate(limit);
            executions.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(ExecutionPage {
            executions,
            next_cursor,
        })
    }

    /// Only the fields the statistics need leave the database (not the
    /// records' logs and trails); events are counted there, through the
    /// `(tenant, received_at)` index.
    async fn stats_facts(&self, tenant: &str, since_ms: u64) -> StoreResult<StatsFacts> {
        let c = self.client().await?;
        let since_id = crate::store::model::id_at(since_ms);
        let rows = c
            .query(
                "SELECT e.runbook, e.status, x.d ->> 'created_at', x.d ->> 'started_at',
                        COALESCE((x.d ->> 'duration_ms')::bigint, 0),
                        x.d -> 'suppressed' ->> 'reason',
                        COALESCE((x.d ->> 'retry')::bigint, 0) = 0 AND x.d ->> 'rerun_of' IS NULL,
                        ev.doc::jsonb ->> 'time'
                 FROM executions e
                 CROSS JOIN LATERAL (SELECT e.doc::jsonb AS d) x
                 LEFT JOIN events ev ON ev.tenant = e.tenant AND ev.id = e.event_id
                 WHERE e.tenant = $1 AND e.id >= $2",
                &[&tenant, &since_id],
            )
            .await?;
        let mut facts = StatsFacts::default();
        for row in rows {
            let status: String = row.try_get(1)?;
            let reason: Option<String> = row.try_get(5)?;
            let first_attempt: bool = row.try_get(6)?;
            let event_time: Option<String> = row.try_get(7)?;
            let created: Option<String> = row.try_get(2)?;
            let started: Option<String> = row.try_get(3)?;
            let duration: i64 = row.try_get(4)?;
            facts.executions.push(ExecutionFact {
                runbook: row.try_get(0)?,
                status: from_name(&status)?,
                created_ms: created.as_deref().and_then(rfc3339_ms).unwrap_or(0),
                started_ms: started.as_deref().and_then(rfc3339_ms),
                duration_ms: u64::try_from(duration).unwrap_or(0),
                suppressed: reason.as_deref().map(from_name).transpose()?,
                event_received_ms: event_time
                    .as_deref()
                    .filter(|_| first_attempt)
                    .and_then(rfc3339_ms),
            });
        }
        let since = since_ms as f64 / 1000.0;
        for row in c
            .query(
                "SELECT doc::jsonb ->> 'source', count(*) FROM events
                 WHERE tenant = $1 AND received_at >= to_timestamp($2)
                 GROUP BY 1",
                &[&tenant, &since],
            )
            .await?
        {
            let source: Option<String> = row.try_get(0)?;
            let count: i64 = row.try_get(1)?;
            facts.events_by_source.insert(
                source.unwrap_or_default(),
                u64::try_from(count).unwrap_or(0),
            );
        }
        Ok(facts)
    }

    async fn prune(&self, retention: &Retention) -> StoreResult<Pruned> {
        let max_age = retention.max_age.as_secs_f64();
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // One host at a time: the others find the lock taken and skip.
        let leader: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&RETENTION_LOCK])
            .await?
            .try_get(0)?;
        if !leader {
            return Ok(Pruned::default());
        }
        let events = tx
            .execute(
                "DELETE FROM events WHERE received_at < now() - make_interval(secs => $1)
                    OR seq IN (SELECT seq FROM events ORDER BY seq DESC OFFSET $2)",
                &[&max_age, &(retention.max_events as i64)],
            )
            .await?;
        // Oldest first per tenant, never pending.
        let executions = tx
            .execute(
                "DELETE FROM executions e USING (
                    SELECT tenant, id, row_number() OVER (PARTITION BY tenant ORDER BY id DESC) AS n
                    FROM executions
                 ) ranked
                 WHERE e.tenant = ranked.tenant AND e.id = ranked.id AND NOT e.pending
                   AND (ranked.n > $2 OR e.created_at < now() - make_interval(secs => $1))",
                &[&max_age, &(retention.max_executions_per_tenant as i64)],
            )
            .await?;
        tx.commit().await?;
        Ok(Pruned {
            events: events as usize,
            executions: executions as usize,
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn executions_to_resume(&self) -> StoreResult<Vec<(String, String)>> {
        // This host's own (it was restarted) and the unclaimed: other hosts
        // may be running the rest, and a dead host's come back as its
        // leases expire.
        let c = self.client().await?;
        execution_refs(
            &c.query(
                "SELECT tenant, id FROM executions
                 WHERE pending AND (lease_owner = $1 OR lease_owner IS NULL) ORDER BY id",
                &[&self.host_id],
            )
            .await?,
        )
    }

    async fn claim_execution(
        &self,
        tenant: &str,
        id: &str,
        max_concurrent: Option<u32>,
    ) -> StoreResult<Claim> {
        let mut c = self.progress_client().await?;
        let Some(max) = max_concurrent else {
            // No quota: one statement, one round trip.
            let stmt = c.prepare_cached(CLAIM).await?;
            let claim = claimed(c.query_opt(&stmt, &[&tenant, &id, &self.host_id]).await?)?;
            return self.unless_not_its_turn(&c, claim).await;
        };
        let tx = c.transaction().await?;
        // Claims of one tenant take turns, so two hosts cannot both take
        // its last slot.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('wolfe.claims.' || $1, 0))",
            &[&tenant],
        )
        .await?;
        let running = tx
            .prepare_cached(
                "SELECT count(*) FROM executions e
                 WHERE e.tenant = $1 AND e.pending AND e.id <> $2
                   AND EXISTS (SELECT 1 FROM hosts h
                               WHERE h.id = e.lease_owner AND h.expires > now())",
            )
            .await?;
        let running: i64 = tx.query_one(&running, &[&tenant, &id]).await?.try_get(0)?;
        if running >= i64::from(max) {
            return Ok(Claim::Busy);
        }
        let stmt = tx.prepare_cached(CLAIM).await?;
        let claim = claimed(tx.query_opt(&stmt, &[&tenant, &id, &self.host_id]).await?)?;
        if let Claim::Claimed(record, _) = &claim {
            if let Some(wait) = not_due_for(record) {
                tx.commit().await?;
                return Ok(Claim::NotYet(wait));
            }
            if !safety::may_start(&tx, record).await? {
                return Ok(Claim::Busy); // rolled back: not claimed
            }
        }
        tx.commit().await?;
        Ok(claim)
    }

    async fn unclaimed_executions(&self, limit: usize) -> StoreResult<Vec<(String, String)>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT tenant, id FROM executions
                 WHERE pending AND lease_owner IS NULL ORDER BY id LIMIT $1",
            )
            .await?;
        execution_refs(&c.query(&stmt, &[&(limit as i64)]).await?)
    }

    async fn announce_work(&self) -> StoreResult<()> {
        let c = self.progress_client().await?;
        c.execute(
            "SELECT pg_notify($1, $2)",
            &[&super::notify::WORK_CHANNEL, &self.host_id],
        )
        .await?;
        Ok(())
    }

    async fn work_announced(&self) {
        self.work.notified().await
    }

    async fn cancel_waiting(
        &self,
        record: &ExecutionRecord,
        expected: ExecutionStatus,
    ) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let ends_key = record.is_gated() && record.is_terminal();
        if ends_key {
            safety::lock_record_key(&tx, record).await?;
        }
        let columns = ExecutionColumns::of(record)?;
        let cancelled = tx
            .execute(
                "UPDATE executions
                 SET status = $3, pending = $4, awaiting = $5, doc = $6,
                     lease_owner = NULL, lease_token = NULL
                 WHERE tenant = $1 AND id = $2 AND status = $7",
                &[
                    &record.tenant,
                    &record.id,
                    &columns.status,
                    &columns.pending,
                    &columns.awaiting,
                    &columns.doc,
                    &expected.as_str(),
                ],
            )
            .await?;
        if cancelled == 0 {
            return Ok(false);
        }
        if ends_key {
            safety::finish_key(&tx, record).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn announce_cancel(&self, tenant: &str, id: &str) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "SELECT pg_notify($1, $2)",
            &[&super::notify::CANCEL_CHANNEL, &format!("{tenant}/{id}")],
        )
        .await?;
        Ok(())
    }

    async fn cancel_announced(&self) -> (String, String) {
        match self.cancels.lock().await.recv().await {
            Some(cancel) => cancel,
            None => std::future::pending().await,
        }
    }

    async fn spend_rate_quota(
        &self,
        tenant: &str,
        executions: u32,
        per_minute: u32,
    ) -> StoreResult<Result<(), u32>> {
        let (minute, left) = crate::store::model::current_minute();
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO rate_windows AS w (tenant, minute, used) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant) DO UPDATE SET
                     minute = EXCLUDED.minute,
                     used = CASE WHEN w.minute = EXCLUDED.minute THEN w.used + EXCLUDED.used
                                 ELSE EXCLUDED.used END
                 WHERE w.minute <> EXCLUDED.minute OR w.used < $4
                 RETURNING used",
            )
            .await?;
        let counted = c
            .query_opt(
                &stmt,
                &[
                    &tenant,
                    &(minute as i64),
                    &i64::from(executions),
                    &i64::from(per_minute),
                ],
            )
            .await?;
        Ok(match counted {
            Some(_) => Ok(()),
            None => Err(left.max(1)),
        })
    }

    async fn update_leased(&self, record: &ExecutionRecord, lease: Lease) -> StoreResult<bool> {
        self.save_execution(record, Some(lease)).await
    }

    async fn finish_leased(&self, record: &ExecutionRecord, lease: Lease) -> StoreResult<bool> {
        self.save_execution(record, Some(lease)).await
    }

    async fn renew_leases(&self) -> StoreResult<()> {
        let c = self.progress_client().await?;
        self.heartbeat(&c).await
    }

    async fn rescue_expired(&self, limit: usize) -> StoreResult<Vec<Rescued>> {
        let c = self.progress_client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE executions e
                 SET lease_owner = $1, lease_token = nextval('lease_tokens'),
                     lost_leases = e.lost_leases + 1
                 FROM (SELECT x.tenant, x.id FROM executions x
                       LEFT JOIN hosts h ON h.id = x.lease_owner
                       WHERE x.pending AND x.lease_owner IS NOT NULL AND x.lease_owner <> $1
                         AND (h.id IS NULL OR h.expires < now())
                       ORDER BY x.id LIMIT $2 FOR UPDATE OF x SKIP LOCKED) expired
                 WHERE e.tenant = expired.tenant AND e.id = expired.id
                 RETURNING e.tenant, e.id, e.lost_leases",
            )
            .await?;
        c.query(&stmt, &[&self.host_id, &(limit as i64)])
            .await?
            .iter()
            .map(|r| {
                let lost: i32 = r.try_get(2)?;
                Ok(Rescued {
                    tenant: r.try_get(0)?,
                    id: r.try_get(1)?,
                    lost_leases: lost.max(0) as u32,
                })
            })
            .collect()
    }

    async fn commit(&self) -> StoreResult<()> {
        // Every operation committed its own transaction before returning.
        Ok(())
    }

    fn commit_soon(&self) {}

    async fn flush(&self) -> StoreResult<()> {
        Ok(())
    }
}

impl PostgresStore {
    /// A claim of an execution whose key's turn has not come is given back.
    async fn unless_not_its_turn(
        &self,
        c: &deadpool_postgres::Object,
        claim: Claim,
    ) -> StoreResult<Claim> {
        let Claim::Claimed(record, lease) = &claim else {
            return Ok(claim);
        };
        // A retry before its time stays leased to this host, which sleeps
        // until then: other hosts do not pick it up meanwhile (a dead
        // host's lease expires and another takes it over as usual).
        if let Some(wait) = not_due_for(record) {
            return Ok(Claim::NotYet(wait));
        }
        if safety::may_start(c, record).await? {
            return Ok(claim);
        }
        c.execute(
            "UPDATE executions SET lease_owner = NULL
             WHERE tenant = $1 AND id = $2 AND lease_token = $3",
            &[&record.tenant, &record.id, &lease.token],
        )
        .await?;
        Ok(Claim::Busy)
    }

    /// Saves the record — when `lease` is given, only while it is the
    /// execution's current lease (`false`: lost, nothing written). A
    /// terminal record leaves the pending set and lets go of its lease.
    async fn save_execution(
        &self,
        record: &ExecutionRecord,
        lease: Option<Lease>,
    ) -> StoreResult<bool> {
        // A leased execution's progress needs no fsync before the worker
        // moves on, like sled's group commit: if the database loses the
        // last moments, the execution is pending again and runs again.
        let mut c = match lease {
            Some(_) => self.progress_client().await?,
            None => self.client().await?,
        };
        let columns = ExecutionColumns::of(record)?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
            &record.tenant,
            &record.id,
            &columns.status,
            &columns.pending,
            &columns.awaiting,
            &columns.denied,
            &columns.doc,
            &lease.map(|l| l.token),
        ];
        // An end its rule's policy counts is saved with its key's state,
        // under the key's lock.
        if record.is_gated() && record.is_terminal() {
            let tx = c.transaction().await?;
            safety::lock_record_key(&tx, record).await?;
            let stmt = tx.prepare_cached(SAVE).await?;
            if tx.execute(&stmt, &params).await? != 1 {
                return Ok(false);
            }
            safety::finish_key(&tx, record).await?;
            tx.commit().await?;
            return Ok(true);
        }
        let stmt = c.prepare_cached(SAVE).await?;
        Ok(c.execute(&stmt, &params).await? == 1)
    }
}

/// (tenant, id) of each row.
fn execution_refs(rows: &[tokio_postgres::Row]) -> StoreResult<Vec<(String, String)>> {
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Saves an execution's row ($1 tenant, $2 id, $3–$7 [`ExecutionColumns`])
/// while its lease is $8 (or whatever it is, $8 null). A row that leaves
/// the pending set lets go of its lease.
const SAVE: &str = "UPDATE executions
     SET status = $3, pending = $4, awaiting = $5, denied = $6, doc = $7,
         lease_owner = CASE WHEN $4 THEN lease_owner END
     WHERE tenant = $1 AND id = $2
       AND ($8::bigint IS NULL OR lease_token = $8)";

/// Inserts a queued (or already failed) execution unless its (event, rule)
/// pair has one. It has no owner until a worker claims it — or, with
/// `owner`, it is leased to that host from the start.
pub(super) async fn insert_execution(
    tx: &deadpool_postgres::Transaction<'_>,
    record: &ExecutionRecord,
    owner: Option<&str>,
) -> StoreResult<Inserted> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO executions
                (tenant, id, event_id, rule, runbook, status, pending, denied, doc,
                 lease_owner, lease_token, awaiting, retry, input)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                     $10, CASE WHEN $10::text IS NOT NULL THEN nextval('lease_tokens') END, $11, $12,
                     $13::text::jsonb)
             ON CONFLICT DO NOTHING
             RETURNING lease_token",
        )
        .await?;
    let columns = ExecutionColumns::of(record)?;
    let row = tx
        .query_opt(
            &stmt,
            &[
                &record.tenant,
                &record.id,
                &record.event_id,
                &record.rule,
                &record.runbook,
                &columns.status,
                &columns.pending,
                &columns.denied,
                &columns.doc,
                &owner,
                &columns.awaiting,
                &(record.retry as i32),
                &input_column(&record.input),
            ],
        )
        .await?;
    Ok(match row {
        None => Inserted::Existing,
        Some(row) => match row.try_get::<_, Option<i64>>(0)? {
            Some(token) => Inserted::Claimed(Lease { token }),
            None => Inserted::Queued,
        },
    })
}

/// Leases a pending execution ($1 tenant, $2 id) to host $3 unless another
/// live host holds it.
const CLAIM: &str = "UPDATE executions e
     SET lease_owner = $3, lease_token = nextval('lease_tokens')
     WHERE tenant = $1 AND id = $2 AND pending
       AND (lease_owner = $3 OR lease_owner IS NULL OR NOT EXISTS (
            SELECT 1 FROM hosts h WHERE h.id = e.lease_owner AND h.expires > now()))
     RETURNING doc, lease_token";

/// What [`CLAIM`] returned.
fn claimed(row: Option<tokio_postgres::Row>) -> StoreResult<Claim> {
    Ok(match row {
        Some(r) => Claim::Claimed(
            Box::new(from_doc(&r, 0)?),
            Lease {
                token: r.try_get(1)?,
            },
        ),
        None => Claim::Gone,
    })
}

/// A status or reason as stored by name (its serde name).
fn from_name<T: serde::de::DeserializeOwned>(name: &str) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|e| StoreError::Backend(format!("unknown name {name:?} in the store: {e}")))
}
