//! SQS sources: the supervisor starts a source's pollers when it is
//! configured and stops them when it is changed or removed — no restart.
//! Credentials come from the standard AWS provider chain (`aws-config`).

pub mod message;
pub mod metrics;
pub mod poller;

use crate::ingest::source::{SourceSpec, SqsSpec};
use crate::pipeline::Pipeline;
use crate::store::Store;
use metrics::{MetricsSnapshot, SourceMetrics, SqsMetricFamilies};
use poller::Poller;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type SourceKey = (String, String);

struct Running {
    spec: SqsSpec,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

pub struct SqsSupervisor {
    pipeline: Pipeline,
    store: Store,
    families: SqsMetricFamilies,
    running: tokio::sync::Mutex<HashMap<SourceKey, Running>>,
    metrics: Mutex<HashMap<SourceKey, Arc<SourceMetrics>>>,
}

impl SqsSupervisor {
    pub fn new(pipeline: Pipeline, store: Store, families: SqsMetricFamilies) -> Self {
        Self {
            pipeline,
            store,
            families,
            running: Default::default(),
            metrics: Default::default(),
        }
    }

    /// Starts every configured SQS source (at service start).
    pub async fn start_all(&self) -> anyhow::Result<usize> {
        let mut started = 0;
        for tenant in self.store.list_tenants().await? {
            for source in self.store.list_sources(&tenant.name).await? {
                if let SourceSpec::Sqs(spec) = &source.spec
                    && spec.enabled
                {
                    self.start(&tenant.name, &source.name, spec.clone()).await;
                    started += 1;
                }
            }
        }
        Ok(started)
    }

    /// Brings a source's pollers in line with its new spec (`None`: removed).
    pub async fn apply(&self, tenant: &str, name: &str, spec: Option<&SourceSpec>) {
        let key = (tenant.to_string(), name.to_string());
        let wanted = match spec {
            // A disabled source runs no pollers: its messages wait.
            Some(SourceSpec::Sqs(s)) if s.enabled => Some(s.clone()),
            _ => None,
        };
        let unchanged = {
            let running = self.running.lock().await;
            matches!((running.get(&key), &wanted), (Some(r), Some(w)) if r.spec == *w)
        };
        if unchanged {
            return;
        }
        self.stop(&key).await;
        if let Some(spec) = wanted {
            self.start(tenant, name, spec).await;
        }
    }

    async fn start(&self, tenant: &str, name: &str, spec: SqsSpec) {
        let key = (tenant.to_string(), name.to_string());
        let client = build_client(&spec).await;
        let metrics = self
            .metrics
            .lock()
            .expect("metrics lock poisoned")
            .entry(key.clone())
            .or_insert_with(|| Arc::new(self.families.source(tenant, name)))
            .clone();
        let stop = CancellationToken::new();
        let tasks = (0..spec.pollers)
            .map(|_| {
                let poller = Poller {
                    tenant: tenant.to_string(),
                    source: name.to_string(),
                    spec: spec.clone(),
                    client: client.clone(),
                    pipeline: self.pipeline.clone(),
                    store: self.store.clone(),
                    metrics: metrics.clone(),
                };
                tokio::spawn(poller.run(stop.clone()))
            })
            .collect();
        tracing::info!(%tenant, source = %name, pollers = spec.pollers, queue = %spec.queue_url, "SQS source started");
        self.running
            .lock()
            .await
            .insert(key, Running { spec, stop, tasks });
    }

    /// Stops a source's pollers; in-flight receives are abandoned (their
    /// messages return to the queue), in-flight deletes finish.
    async fn stop(&self, key: &SourceKey) {
        let removed = self.running.lock().await.remove(key);
        if let Some(running) = removed {
            running.stop.cancel();
            for task in running.tasks {
                let _ = task.await;
            }
            tracing::info!(tenant = %key.0, source = %key.1, "SQS source stopped");
        }
    }

    /// On a store shared by several hosts, sources change on other hosts
    /// too: every second, brings this host's pollers in line with what the
    /// store holds, until `shutdown`. Several hosts poll one queue safely:
    /// the event id is the message id, so a message is one event.
    pub async fn follow_store(self: Arc<Self>, shutdown: CancellationToken) {
        if !self.store.is_shared() {
            return;
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.reconcile().await {
                tracing::warn!(error = %e, "cannot read the SQS sources from the store");
            }
        }
    }

    async fn reconcile(&self) -> crate::store::StoreResult<()> {
        let mut wanted = HashMap::new();
        for tenant in self.store.list_tenants().await? {
            for source in self.store.list_sources(&tenant.name).await? {
                if matches!(&source.spec, SourceSpec::Sqs(s) if s.enabled) {
                    wanted.insert((tenant.name.clone(), source.name), source.spec);
                }
            }
        }
        let running: Vec<SourceKey> = self.running.lock().await.keys().cloned().collect();
        for key in running {
            if !wanted.contains_key(&key) {
                self.apply(&key.0, &key.1, None).await;
            }
        }
        for ((tenant, name), spec) in &wanted {
            self.apply(tenant, name, Some(spec)).await;
        }
        Ok(())
    }

    /// Stops everything (service shutdown).
    pub async fn shutdown(&self) {
        let keys: Vec<SourceKey> = self.running.lock().await.keys().cloned().collect();
        for key in keys {
            self.stop(&key).await;
        }
    }

    pub fn metrics(&self, tenant: &str, name: &str) -> Option<MetricsSnapshot> {
        self.metrics
            .lock()
            .expect("metrics lock poisoned")
            .get(&(tenant.to_string(), name.to_string()))
            .map(|m| m.snapshot())
    }
}

/// The HTTP client every SQS client uses: hyper with rustls on ring, so no
/// aws-lc-sys C build is needed.
pub fn http_client() -> aws_sdk_sqs::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// An SQS client from the standard provider chain.
async fn build_client(spec: &SqsSpec) -> aws_sdk_sqs::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(spec.region.clone()))
        .http_client(http_client())
        .load()
        .await;
    let mut config = aws_sdk_sqs::config::Builder::from(&shared);
    if let Some(endpoint) = &spec.endpoint_url {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}
