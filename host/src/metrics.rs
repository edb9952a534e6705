//! The host's own Prometheus metrics for `GET /metrics`, beside the SQS and
//! safety families: executions by tenant, runbook and status, how long they
//! ran and waited to start, webhook requests and their acknowledgement
//! latency per source, how long the store's durable writes take, and the
//! dispatcher's queue. Every host counts what it did; sum over hosts.

use crate::store::model::execution::ExecutionRecord;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExecutionLabels {
    tenant: String,
    runbook: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunbookLabels {
    tenant: String,
    runbook: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    tenant: String,
    source: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    tenant: String,
    source: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    operation: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1 ms to about 9 minutes: runbooks, and the wait before one starts.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 15))
}

/// 0.1 ms to about 3 s: acknowledgements and store writes.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

static EXECUTIONS: LazyLock<Family<ExecutionLabels, Counter>> = LazyLock::new(Family::default);
static DURATION: LazyLock<Histograms<RunbookLabels>> =
    LazyLock::new(|| Family::new_with_constructor(seconds_buckets));
static START_DELAY: LazyLock<Histograms<RunbookLabels>> =
    LazyLock::new(|| Family::new_with_constructor(seconds_buckets));
static WEBHOOKS: LazyLock<Family<WebhookLabels, Counter>> = LazyLock::new(Family::default);
static WEBHOOKS_REFUSED: LazyLock<Counter> = LazyLock::new(Counter::default);
static ACK_LATENCY: LazyLock<Histograms<SourceLabels>> =
    LazyLock::new(|| Family::new_with_constructor(latency_buckets));
static STORE_WRITES: LazyLock<Histograms<WriteLabels>> =
    LazyLock::new(|| Family::new_with_constructor(latency_buckets));
static QUEUE_DEPTH: LazyLock<Gauge> = LazyLock::new(Gauge::default);
static QUEUE_CAPACITY: LazyLock<Gauge> = LazyLock::new(Gauge::default);

/// Counts an execution that reached its end on this host: ran, failed
/// before it ran, or was suppressed. How long it ran and how long it waited
/// are observed for executions that started.
pub fn execution_finished(record: &ExecutionRecord) {
    EXECUTIONS
        .get_or_create(&ExecutionLabels {
            tenant: record.tenant.clone(),
            runbook: record.runbook.clone(),
            status: record.status.as_str(),
        })
        .inc();
    let Some(started) = record.started_at.as_deref() else {
        return;
    };
    let labels = RunbookLabels {
        tenant: record.tenant.clone(),
        runbook: record.runbook.clone(),
    };
    DURATION
        .get_or_create(&labels)
        .observe(record.duration_ms as f64 / 1000.0);
    if let Some(waited) = seconds_between(&record.created_at, started) {
        START_DELAY.get_or_create(&labels).observe(waited);
    }
}

fn seconds_between(from: &str, to: &str) -> Option<f64> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let from = OffsetDateTime::parse(from, &Rfc3339).ok()?;
    let to = OffsetDateTime::parse(to, &Rfc3339).ok()?;
    Some((to - from).as_seconds_f64().max(0.0))
}

/// Counts a webhook request to a source that exists and authenticated it,
/// with its status; a 202's time to acknowledge is observed.
pub fn webhook_answered(tenant: &str, source: &str, status: u16, took: Duration) {
    WEBHOOKS
        .get_or_create(&WebhookLabels {
            tenant: tenant.to_string(),
            source: source.to_string(),
            status,
        })
        .inc();
    if status == 202 {
        ACK_LATENCY
            .get_or_create(&SourceLabels {
                tenant: tenant.to_string(),
                source: source.to_string(),
            })
            .observe(took.as_secs_f64());
    }
}

/// Counts a webhook request refused before its source was known to be
/// real: without labels, so unauthenticated senders cannot make series.
pub fn webhook_refused() {
    WEBHOOKS_REFUSED.inc();
}

/// Observes one durable store write: `ingest` (events and their executions,
/// before the 202), `finish` (an execution's result), `flush` (sled's group
/// commit).
pub fn store_write(operation: &'static str, took: Duration) {
    STORE_WRITES
        .get_or_create(&WriteLabels { operation })
        .observe(took.as_secs_f64());
}

/// The dispatcher's queue as of this scrape.
pub fn set_queue(in_flight: usize, capacity: usize) {
    QUEUE_DEPTH.set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    QUEUE_CAPACITY.set(i64::try_from(capacity).unwrap_or(i64::MAX));
}

pub fn register(registry: &mut Registry) {
    let r = registry.sub_registry_with_prefix("wolfe");
    r.register(
        "executions",
        "Executions that ended on this host, by tenant, runbook and status",
        EXECUTIONS.clone(),
    );
    r.register_with_unit(
        "execution_duration",
        "How long executions ran",
        prometheus_client::registry::Unit::Seconds,
        DURATION.clone(),
    );
    r.register_with_unit(
        "execution_start_delay",
        "Time from an execution's creation (its event's arrival) to its start",
        prometheus_client::registry::Unit::Seconds,
        START_DELAY.clone(),
    );
    r.register(
        "webhook_requests",
        "Webhook requests to existing sources that passed authentication, by status",
        WEBHOOKS.clone(),
    );
    r.register(
        "webhook_requests_refused",
        "Webhook requests refused as unauthenticated (unknown tenant or source included)",
        WEBHOOKS_REFUSED.clone(),
    );
    r.register_with_unit(
        "webhook_ack",
        "Time to acknowledge a webhook (202 once its events are durable)",
        prometheus_client::registry::Unit::Seconds,
        ACK_LATENCY.clone(),
    );
    r.register_with_unit(
        "store_write",
        "Durable store writes by operation",
        prometheus_client::registry::Unit::Seconds,
        STORE_WRITES.clone(),
    );
    r.register(
        "executions_in_flight",
        "Executions queued or running on this host",
        QUEUE_DEPTH.clone(),
    );
    r.register(
        "queue_capacity",
        "Executions the queue holds before webhooks get 503",
        QUEUE_CAPACITY.clone(),
    );
}
