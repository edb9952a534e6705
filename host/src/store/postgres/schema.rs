//! Versioned schema migrations, applied at start. Hosts starting together
//! take a session advisory lock first, so exactly one applies each
//! migration and the others see it done; a database migrated by a newer
//! Wolfe is refused rather than misread.

use crate::store::{StoreError, StoreResult};
use deadpool_postgres::Object;

/// The advisory lock every host takes while it migrates ("wolfe" in ASCII).
const MIGRATION_LOCK: i64 = 0x0077_6f6c_6665;

/// Migrations in order; the version of each is its position, from 1. Never
/// edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: everything the single-host store kept, as tables.
    r#"
    CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE tenants (name text PRIMARY KEY, doc text NOT NULL);
    CREATE TABLE tokens (hash text PRIMARY KEY, doc text NOT NULL);
    CREATE TABLE components (sha256 text PRIMARY KEY, bytes bytea NOT NULL);
    CREATE TABLE runbook_versions (
        tenant text NOT NULL, name text NOT NULL, version text NOT NULL,
        sha256 text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, name, version)
    );
    CREATE TABLE deployments (
        tenant text NOT NULL, runbook text NOT NULL, environment text NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (tenant, runbook, environment)
    );
    CREATE TABLE sources (
        tenant text NOT NULL, name text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, name)
    );
    CREATE TABLE rules (
        tenant text NOT NULL, name text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, name)
    );
    CREATE TABLE rejected_messages (
        tenant text NOT NULL, source text NOT NULL, message_id text NOT NULL,
        last_seen text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, source, message_id)
    );
    CREATE TABLE events (
        tenant text NOT NULL, id text NOT NULL,
        seq bigserial NOT NULL UNIQUE,
        received_at timestamptz NOT NULL DEFAULT now(),
        doc text NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    CREATE TABLE executions (
        tenant text NOT NULL, id text NOT NULL,
        event_id text, rule text,
        runbook text NOT NULL, status text NOT NULL,
        pending boolean NOT NULL, denied boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- The host running it (or holding it queued), and the fencing token
        -- of that host's claim; the lease lasts while the host's heartbeat
        -- in `hosts` does.
        lease_owner text, lease_token bigint,
        lost_leases integer NOT NULL DEFAULT 0,
        doc text NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    CREATE SEQUENCE lease_tokens;
    CREATE INDEX executions_lease_owner ON executions (lease_owner) WHERE pending;
    -- One heartbeat per host, not per execution: renewing costs one row
    -- however many executions the host holds.
    CREATE TABLE hosts (id text PRIMARY KEY, expires timestamptz NOT NULL);
    -- One execution per (event, rule), ever: a constraint, not a check.
    CREATE UNIQUE INDEX executions_event_rule ON executions (tenant, event_id, rule)
        WHERE event_id IS NOT NULL AND rule IS NOT NULL;
    -- The pending set stays small: finished executions leave it.
    CREATE INDEX executions_pending ON executions (id) WHERE pending;
    CREATE TABLE secrets (
        tenant text NOT NULL, name text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, name)
    );
    CREATE TABLE connectors (
        tenant text NOT NULL, name text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, name)
    );
    CREATE TABLE audit (
        tenant text NOT NULL, seq bigint NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, seq)
    );
    CREATE TABLE kv (
        tenant text NOT NULL, runbook text NOT NULL, key text NOT NULL,
        value bytea NOT NULL,
        PRIMARY KEY (tenant, runbook, key)
    );
    "#,
    // 2: work sharing and quotas across hosts.
    r#"
    -- Claims and takeovers change only lease columns: with no index on them
    -- and room left in each page, that update is a HOT update (no index
    -- writes). Queries by owner scan the pending set, which stays small.
    DROP INDEX executions_lease_owner;
    ALTER TABLE executions SET (fillfactor = 80);
    -- Executions created per tenant in the current minute, against
    -- `max_executions_per_minute`, counted by every host.
    CREATE TABLE rate_windows (
        tenant text PRIMARY KEY, minute bigint NOT NULL, used bigint NOT NULL
    );
    "#,
    // 3: safety — rule policy state, pauses and silences, approvals.
    r#"
    CREATE TABLE policy_keys (
        tenant text NOT NULL, rule text NOT NULL, key text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, rule, key)
    );
    CREATE TABLE policy_rules (
        tenant text NOT NULL, rule text NOT NULL, doc text NOT NULL,
        PRIMARY KEY (tenant, rule)
    );
    CREATE TABLE safety_settings (tenant text PRIMARY KEY, doc text NOT NULL);
    -- Executions waiting for an operator: few, found by the timeout sweep.
    ALTER TABLE executions ADD COLUMN awaiting boolean NOT NULL DEFAULT false;
    CREATE INDEX executions_awaiting ON executions (id) WHERE awaiting;
    "#,
    // 4: retries — one execution per (event, rule, retry), ever.
    r#"
    ALTER TABLE executions ADD COLUMN retry integer NOT NULL DEFAULT 0;
    DROP INDEX executions_event_rule;
    CREATE UNIQUE INDEX executions_event_rule ON executions (tenant, event_id, rule, retry)
        WHERE event_id IS NOT NULL AND rule IS NOT NULL;
    "#,
    // 5: schedule sources — the last tick fired per (tenant, source), so a
    // restart neither repeats a tick nor forgets the ones it missed.
    r#"
    CREATE TABLE schedule_ticks (
        tenant text NOT NULL, source text NOT NULL,
        -- Seconds since the Unix epoch (UTC): ticks fall on whole seconds.
        last_tick bigint NOT NULL,
        PRIMARY KEY (tenant, source)
    );
    "#,
    // 6: the notification outbox.
    r#"
    CREATE TABLE outbox (
        tenant text NOT NULL, id text NOT NULL,
        -- When it is due (ms since the Unix epoch): the next try, or the end
        -- of a host's claim on it.
        next_at bigint NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    CREATE INDEX outbox_due ON outbox (next_at);
    "#,
    // 7: finding executions by rule and by their input (`input.x=…`).
    r#"
    ALTER TABLE executions ADD COLUMN input jsonb;
    UPDATE executions SET input = doc::jsonb -> 'input';
    CREATE INDEX executions_input ON executions USING gin (input jsonb_path_ops);
    CREATE INDEX executions_rule ON executions (tenant, rule, id);
    "#,
    // 8: overview statistics count a tenant's events received in a window.
    r#"
    CREATE INDEX events_received ON events (tenant, received_at);
    "#,
    // 9: each execution's transcript (JSON, gzip when large), gone with its
    // record.
    r#"
    CREATE TABLE transcripts (
        tenant text NOT NULL, id text NOT NULL, data bytea NOT NULL,
        PRIMARY KEY (tenant, id),
        FOREIGN KEY (tenant, id) REFERENCES executions (tenant, id) ON DELETE CASCADE
    );
    "#,
];

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database to [`current_version`].
pub async fn migrate(client: &mut Object) -> StoreResult<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = migrate_locked(client).await;
    // Unlock whatever happened; a lost connection releases it anyway.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result
}

async fn migrate_locked(client: &mut Object) -> StoreResult<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version bigint PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
    let applied: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    if applied > current_version() {
        return Err(StoreError::Backend(format!(
            "the database schema is version {applied}, newer than this Wolfe's {}: upgrade Wolfe",
            current_version()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = i as i64 + 1;
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied a store schema migration");
    }
    Ok(())
}
