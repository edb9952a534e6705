//! One receive loop of an SQS source: long-poll receive → parse → durable
//! event write → batch delete. A message is deleted only after its event is
//! durable; one that cannot be parsed is never deleted, so it returns after
//! its visibility timeout and reaches the queue's dead-letter queue through
//! the queue's own redrive policy.

use super::message::{event_from_message, receive_count};
use super::metrics::SourceMetrics;
use crate::ingest::event::now_rfc3339;
use crate::ingest::source::SqsSpec;
use crate::pipeline::{Pipeline, PipelineError};
use crate::store::{RejectedMessage, Store};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// First and longest pause after a failed receive; doubles in between.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Pause while the execution queue has no room.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(100);

/// The fail point (feature `failpoints`) at which a test crashes the host
/// right after a batch is durable and before it is deleted — the crash that
/// at-least-once delivery must survive: `FAILPOINTS=sqs-before-delete=return`.
pub const CRASH_BEFORE_DELETE: &str = "sqs-before-delete";

pub struct Poller {
    pub tenant: String,
    pub source: String,
    pub spec: SqsSpec,
    pub client: aws_sdk_sqs::Client,
    pub pipeline: Pipeline,
    pub store: Store,
    pub metrics: Arc<SourceMetrics>,
}

impl Poller {
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        while !stop.is_cancelled() {
            // Backpressure: receive only what the queue can hold.
            if !self
                .pipeline
                .dispatcher()
                .has_room_for(self.spec.max_messages as usize)
            {
                pause(&stop, QUEUE_FULL_PAUSE).await;
                continue;
            }
            let receive = self
                .client
                .receive_message()
                .queue_url(&self.spec.queue_url)
                .max_number_of_messages(self.spec.max_messages)
                .wait_time_seconds(self.spec.wait_time_seconds)
                .visibility_timeout(self.spec.visibility_timeout)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .message_attribute_names("All")
                .send();
            let received = tokio::select! {
                _ = stop.cancelled() => break,
                r = receive => r,
            };
            let output = match received {
                Ok(o) => {
                    backoff = MIN_BACKOFF;
                    o
                }
                Err(e) => {
                    let error = format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e));
                    tracing::warn!(tenant = %self.tenant, source = %self.source, %error, "SQS receive failed");
                    self.metrics.poll_errors.inc();
                    self.metrics.record_error(error);
                    pause(&stop, backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                continue;
            }
            self.metrics.received.inc_by(messages.len() as u64);
            self.handle(messages).await;
        }
    }

    /// Parses, makes durable, deletes. Runs to completion even when a stop
    /// arrives meanwhile, so deletes in flight finish.
    async fn handle(&self, messages: Vec<aws_sdk_sqs::types::Message>) {
        let mut events = Vec::new();
        let mut receipts = Vec::new();
        for message in &messages {
            match event_from_message(&self.tenant, &self.source, &self.spec, message) {
                Ok(event) => {
                    receipts.push((
                        event.id.clone(),
                        message.receipt_handle().unwrap_or_default().to_string(),
                    ));
                    events.push(event);
                }
                Err(reason) => self.reject(message, reason).await,
            }
        }
        if events.is_empty() {
            return;
        }
        match self.pipeline.accept(&self.tenant, events).await {
            Ok(accepted) => {
                let duplicates = accepted.iter().filter(|a| a.duplicate).count() as u64;
                self.metrics.duplicates.inc_by(duplicates);
                self.metrics
                    .accepted
                    .inc_by(accepted.len() as u64 - duplicates);
            }
            Err(PipelineError::QueueFull(_) | PipelineError::QuotaExceeded { .. }) => {
                // Not deleted: the messages return after their visibility timeout.
                return;
            }
            Err(e) => {
                tracing::error!(tenant = %self.tenant, source = %self.source, error = %e, "cannot make SQS events durable");
                self.metrics.record_error(e.to_string());
                return;
            }
        }
        fail::fail_point!(CRASH_BEFORE_DELETE, |_| {
            eprintln!(
                "wolfe: fail point {CRASH_BEFORE_DELETE}: aborting after the durable write, before the delete"
            );
            std::process::abort();
        });
        self.delete(receipts).await;
    }

    async fn delete(&self, receipts: Vec<(String, String)>) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = receipts
            .iter()
            .enumerate()
            .filter_map(|(i, (_, handle))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        let total = entries.len() as u64;
        let result = self
            .client
            .delete_message_batch()
            .queue_url(&self.spec.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        let failed = match result {
            Ok(output) => output.failed().len() as u64,
            Err(e) => {
                self.metrics.record_error(format!(
                    "delete failed: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ));
                total
            }
        };
        if failed > 0 {
            // Harmless: the message returns and is recognised as a duplicate.
            tracing::warn!(tenant = %self.tenant, source = %self.source, failed, "SQS delete failed; the messages will be redelivered and deduplicated");
            self.metrics.delete_failures.inc_by(failed);
        }
    }

    async fn reject(&self, message: &aws_sdk_sqs::types::Message, reason: String) {
        self.metrics.rejected.inc();
        let body = message.body().unwrap_or_default();
        let mut excerpt: String = body.chars().take(512).collect();
        if excerpt.len() < body.len() {
            excerpt.push('…');
        }
        let record = RejectedMessage {
            message_id: message.message_id().unwrap_or("<none>").to_string(),
            source: self.source.clone(),
            reason,
            receive_count: receive_count(message),
            body_excerpt: excerpt,
            last_seen: now_rfc3339(),
        };
        if let Err(e) = self.store.record_rejected(&self.tenant, &record).await {
            tracing::error!(error = %e, "cannot record a rejected SQS message");
        }
    }
}

async fn pause(stop: &CancellationToken, duration: Duration) {
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(duration) => {}
    }
}
