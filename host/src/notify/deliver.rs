//! Delivering the outbox: every host takes due notifications (claimed, so
//! no two hosts send one), checks the moment still holds (an execution
//! re-run after a crash may have ended otherwise), sends through the
//! tenant's connector with the host's outbound address policy, and records
//! the outcome in the execution record; a failure is retried with backoff.

use super::message::{self, Outgoing};
use super::model::{Notification, NotificationOutcome, RESOLVED};
use crate::capabilities::http::Outbound;
use crate::dispatch::record::ExecutionRecord;
use crate::ingest::event::now_rfc3339;
use crate::safety::gate::now_ms;
use crate::sandbox::report::ExecutionStatus;
use crate::secrets::TenantSecrets;
use crate::secrets::vault::Vault;
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the outbox is looked at.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// Notifications taken per look.
const BATCH: usize = 50;
/// How long a host holds a notification it is sending.
const CLAIM_MS: u64 = 60_000;
/// One delivery attempt's time limit.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts before giving up: with the backoff below, about a day.
const MAX_ATTEMPTS: u32 = 300;
/// The longest wait between attempts.
const MAX_BACKOFF_MS: u64 = 5 * 60_000;

pub struct Deliverer {
    pub store: Store,
    pub vault: Arc<Vault>,
    pub outbound: Outbound,
    /// Where links in messages point: `{public_url}/executions/{id}`.
    pub public_url: String,
}

impl Deliverer {
    /// Delivers until shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(POLL_EVERY) => {}
            }
            if let Err(e) = self.deliver_due().await {
                tracing::debug!(error = %e, "cannot read the notification outbox");
            }
        }
    }

    async fn deliver_due(&self) -> Result<(), StoreError> {
        for n in self.store.due_notifications(BATCH, CLAIM_MS).await? {
            self.deliver(n).await?;
        }
        Ok(())
    }

    async fn deliver(&self, mut n: Notification) -> Result<(), StoreError> {
        let Some(record) = self.store.get_execution(&n.tenant, &n.execution).await? else {
            // Pruned: nobody is left to read the outcome.
            return self
                .store
                .complete_notification(&n, &outcome(&n, "superseded: the execution is gone"))
                .await;
        };
        let mut verdict = holds(&record, &n.on);
        if n.on == RESOLVED
            && matches!(verdict, Holds::Yes)
            && self.trigger_pending(&record, &n).await?
        {
            // A resolve must not overtake the trigger it resolves.
            verdict = Holds::NotYet;
        }
        match verdict {
            Holds::Yes => {}
            Holds::NotYet => {
                // Enqueued just before a crash, and re-running: wait for its end.
                n.next_at_ms = now_ms() + 5_000;
                return self.store.reschedule_notification(&n).await;
            }
            Holds::No => {
                return self
                    .store
                    .complete_notification(
                        &n,
                        &outcome(&n, "superseded: the execution ended otherwise"),
                    )
                    .await;
            }
        }
        let sent = self.send(&record, &n).await;
        n.attempts += 1;
        match sent {
            Ok(Some(())) => {
                self.store
                    .complete_notification(&n, &outcome(&n, "delivered"))
                    .await
            }
            Ok(None) => {
                self.store
                    .complete_notification(
                        &n,
                        &outcome(&n, "skipped: nothing to send on this connector"),
                    )
                    .await
            }
            Err(why) if n.attempts >= MAX_ATTEMPTS => {
                tracing::warn!(tenant = %n.tenant, execution = %n.execution, connector = %n.connector, error = %why, "giving up on a notification");
                self.store
                    .complete_notification(&n, &outcome(&n, &format!("undeliverable: {why}")))
                    .await
            }
            Err(why) => {
                tracing::info!(tenant = %n.tenant, execution = %n.execution, connector = %n.connector, attempts = n.attempts, error = %why, "notification not delivered; retrying");
                n.next_at_ms = now_ms() + backoff_ms(n.attempts);
                n.last_error = Some(why);
                self.store.reschedule_notification(&n).await
            }
        }
    }

    /// Whether an earlier run of the retry chain still has a notification
    /// on this connector to deliver (its record has no outcome for it yet).
    async fn trigger_pending(
        &self,
        record: &ExecutionRecord,
        n: &Notification,
    ) -> Result<bool, StoreError> {
        let mut previous = record.retry_of.clone();
        while let Some(id) = previous {
            let Some(earlier) = self.store.get_execution(&n.tenant, &id).await? else {
                return Ok(false);
            };
            let owes = super::due_for(&earlier)
                .iter()
                .any(|due| due.connector == n.connector);
            let settled = earlier
                .notifications
                .iter()
                .any(|o| o.connector == n.connector);
            if owes && !settled {
                return Ok(true);
            }
            previous = earlier.retry_of.clone();
        }
        Ok(false)
    }

    /// `Ok(None)`: nothing to send on this connector at this moment.
    async fn send(&self, record: &ExecutionRecord, n: &Notification) -> Result<Option<()>, String> {
        let spec = self
            .store
            .get_connector(&n.tenant, &n.connector)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("connector {:?} is not configured", n.connector))?
            .spec;
        let secrets = TenantSecrets::new(self.store.clone(), self.vault.clone(), &n.tenant);
        let link = format!(
            "{}/executions/{}",
            self.public_url.trim_end_matches('/'),
            record.id
        );
        let Some(outgoing) = message::build(&spec, &secrets, record, n, &link).await? else {
            return Ok(None);
        };
        self.post(outgoing).await.map(Some)
    }

    async fn post(&self, out: Outgoing) -> Result<(), String> {
        let url = reqwest::Url::parse(&out.url).map_err(|e| format!("bad connector URL: {e}"))?;
        // Names are checked by the client's resolver; literal addresses here.
        crate::capabilities::http::check_ip_literal(&self.outbound.addresses, &url)
            .map_err(|e| e.to_string())?;
        let mut request = self
            .outbound
            .client
            .post(url)
            .timeout(SEND_TIMEOUT)
            .json(&out.body);
        for (name, value) in &out.headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach the connector: {}", without_url(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the connector answered HTTP {}", status.as_u16()))
        }
    }
}

/// A reqwest error without its URL (a Slack webhook URL is a credential).
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(i) = e.find(" for url (") {
        e.truncate(i);
    }
    e
}

enum Holds {
    Yes,
    /// The execution has not ended (again) yet.
    NotYet,
    No,
}

/// Whether the moment a notification is about is still true of the record.
fn holds(record: &ExecutionRecord, on: &str) -> Holds {
    if on == "awaiting_approval" {
        return match record.status {
            ExecutionStatus::AwaitingApproval => Holds::Yes,
            _ => Holds::No,
        };
    }
    if !record.is_terminal() {
        return Holds::NotYet;
    }
    let yes = match on {
        "retries_exhausted" => record.retries_exhausted,
        RESOLVED => record.status == ExecutionStatus::Succeeded,
        status => record.status.as_str() == status,
    };
    if yes { Holds::Yes } else { Holds::No }
}

fn outcome(n: &Notification, what: &str) -> NotificationOutcome {
    NotificationOutcome {
        connector: n.connector.clone(),
        on: n.on.clone(),
        outcome: what.to_string(),
        at: now_rfc3339(),
        attempts: n.attempts,
    }
}

/// 1 s, 2 s, 4 s, … up to five minutes.
fn backoff_ms(attempts: u32) -> u64 {
    (1_000u64 << attempts.saturating_sub(1).min(20)).min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff_ms(1), 1_000);
        assert_eq!(backoff_ms(2), 2_000);
        assert_eq!(backoff_ms(9), 256_000);
        assert_eq!(backoff_ms(10), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(300), MAX_BACKOFF_MS);
    }
}
