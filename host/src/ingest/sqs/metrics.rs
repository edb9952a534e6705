//! Per-source SQS counters, registered in the service's Prometheus registry
//! (`GET /metrics`) and shown in `GET /v1/tenants/{t}/sources/{s}`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::sync::Mutex;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub tenant: String,
    pub source: String,
}

/// The counter families of every SQS source.
#[derive(Clone, Default)]
pub struct SqsMetricFamilies {
    received: Family<SourceLabels, Counter>,
    accepted: Family<SourceLabels, Counter>,
    duplicates: Family<SourceLabels, Counter>,
    rejected: Family<SourceLabels, Counter>,
    delete_failures: Family<SourceLabels, Counter>,
    poll_errors: Family<SourceLabels, Counter>,
}

impl SqsMetricFamilies {
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("wolfe_sqs");
        r.register(
            "messages_received",
            "Messages received from SQS",
            self.received.clone(),
        );
        r.register(
            "events_accepted",
            "Messages made durable as new events",
            self.accepted.clone(),
        );
        r.register(
            "duplicates",
            "Messages whose event was already stored (redeliveries)",
            self.duplicates.clone(),
        );
        r.register(
            "messages_rejected",
            "Messages that could not be parsed (left for the dead-letter queue)",
            self.rejected.clone(),
        );
        r.register(
            "delete_failures",
            "Messages whose delete failed after their event was durable",
            self.delete_failures.clone(),
        );
        r.register(
            "poll_errors",
            "Failed receive calls",
            self.poll_errors.clone(),
        );
    }

    pub fn source(&self, tenant: &str, source: &str) -> SourceMetrics {
        let labels = SourceLabels {
            tenant: tenant.to_string(),
            source: source.to_string(),
        };
        SourceMetrics {
            received: self.received.get_or_create(&labels).clone(),
            accepted: self.accepted.get_or_create(&labels).clone(),
            duplicates: self.duplicates.get_or_create(&labels).clone(),
            rejected: self.rejected.get_or_create(&labels).clone(),
            delete_failures: self.delete_failures.get_or_create(&labels).clone(),
            poll_errors: self.poll_errors.get_or_create(&labels).clone(),
            last_error: Default::default(),
        }
    }
}

/// One source's counters (handles into the families).
#[derive(Debug, Default)]
pub struct SourceMetrics {
    pub received: Counter,
    pub accepted: Counter,
    pub duplicates: Counter,
    pub rejected: Counter,
    pub delete_failures: Counter,
    pub poll_errors: Counter,
    pub last_error: Mutex<Option<String>>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MetricsSnapshot {
    pub received: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub delete_failures: u64,
    pub poll_errors: u64,
    pub last_error: Option<String>,
}

impl SourceMetrics {
    pub fn record_error(&self, error: String) {
        *self.last_error.lock().expect("metrics lock poisoned") = Some(error);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            received: self.received.get(),
            accepted: self.accepted.get(),
            duplicates: self.duplicates.get(),
            rejected: self.rejected.get(),
            delete_failures: self.delete_failures.get(),
            poll_errors: self.poll_errors.get(),
            last_error: self
                .last_error
                .lock()
                .expect("metrics lock poisoned")
                .clone(),
        }
    }
}
