//! What a notification says, per connector kind: a readable Slack message,
//! a PagerDuty Events v2 trigger (the chain's first execution id as dedup
//! key, so a later success resolves it), a JSON POST for an `http`
//! connector. Every message names the runbook, environment, status, error,
//! event and a link to the execution.

use super::model::{Notification, RESOLVED};
use crate::capabilities::connectors::{ConnectorSpec, HttpAuth, PAGERDUTY_EVENTS_URL};
use crate::capabilities::secrets::SecretsProvider;
use crate::dispatch::record::ExecutionRecord;
use serde_json::{Value, json};

/// An HTTP request to send, credentials filled in.
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// What to send, or `Ok(None)` when this connector has nothing to say at
/// this moment (a resolve is only for PagerDuty).
pub async fn build(
    spec: &ConnectorSpec,
    secrets: &dyn SecretsProvider,
    record: &ExecutionRecord,
    n: &Notification,
    link: &str,
) -> Result<Option<Outgoing>, String> {
    let facts = facts(record, n, link);
    let summary = summary(record, n);
    let secret = |name: String| async move {
        secrets.get(&name).await?.ok_or_else(|| {
            format!(
                "connector {:?}: its secret {name:?} is not set",
                n.connector
            )
        })
    };
    Ok(Some(match spec {
        ConnectorSpec::Slack { webhook_url_secret } => {
            if n.on == RESOLVED {
                return Ok(None);
            }
            Outgoing {
                url: secret(webhook_url_secret.clone()).await?,
                headers: Vec::new(),
                body: json!({
                    "text": summary,
                    "blocks": [
                        {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{summary}*\n{}", detail(record))}},
                        {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{link}|execution {}>", record.id)}]},
                    ],
                }),
            }
        }
        ConnectorSpec::Pagerduty {
            routing_key_secret,
            events_url,
        } => {
            let dedup_key = record
                .first_attempt
                .clone()
                .unwrap_or_else(|| record.id.clone());
            let action = if n.on == RESOLVED {
                "resolve"
            } else {
                "trigger"
            };
            let mut event = json!({
                "routing_key": secret(routing_key_secret.clone()).await?,
                "event_action": action,
                "dedup_key": dedup_key,
            });
            if action == "trigger" {
                event["payload"] = json!({
                    "summary": summary,
                    "source": format!("wolfe/{}/{}", record.tenant, record.runbook),
                    "severity": if n.on == "suppressed" || n.on == "awaiting_approval" { "warning" } else { "error" },
                    "custom_details": facts,
                });
                event["links"] = json!([{"href": link, "text": "Execution in Wolfe"}]);
            }
            Outgoing {
                url: events_url
                    .clone()
                    .unwrap_or_else(|| PAGERDUTY_EVENTS_URL.into()),
                headers: Vec::new(),
                body: event,
            }
        }
        ConnectorSpec::Http { base_url, auth } => {
            let mut headers = Vec::new();
            match auth {
                HttpAuth::None => {}
                HttpAuth::Bearer { secret: name } => {
                    headers.push((
                        "authorization".into(),
                        format!("Bearer {}", secret(name.clone()).await?),
                    ));
                }
                HttpAuth::Basic {
                    username,
                    secret: name,
                } => {
                    use base64::Engine;
                    let password = secret(name.clone()).await?;
                    let encoded = base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{password}"));
                    headers.push(("authorization".into(), format!("Basic {encoded}")));
                }
                HttpAuth::Header {
                    header,
                    secret: name,
                } => {
                    headers.push((header.clone(), secret(name.clone()).await?));
                }
            }
            let mut body = facts;
            body["summary"] = json!(summary);
            Outgoing {
                url: base_url.clone(),
                headers,
                body,
            }
        }
    }))
}

/// The facts every message carries.
fn facts(record: &ExecutionRecord, n: &Notification, link: &str) -> Value {
    json!({
        "on": n.on,
        "tenant": record.tenant,
        "execution": record.id,
        "runbook": record.runbook,
        "version": record.version,
        "environment": record.environment,
        "status": record.status,
        "error": record.error,
        "suppressed": record.suppressed,
        "rule": record.rule,
        "event": record.event_id,
        "retry": record.retry,
        "retries_exhausted": record.retries_exhausted,
        "link": link,
    })
}

fn summary(record: &ExecutionRecord, n: &Notification) -> String {
    let what = match n.on.as_str() {
        RESOLVED => "succeeded on retry".to_string(),
        "retries_exhausted" => format!("{} after its last retry", record.status.as_str()),
        "awaiting_approval" => "is awaiting approval".to_string(),
        "suppressed" => format!(
            "was suppressed ({})",
            record
                .suppressed
                .as_ref()
                .map_or("?", |s| s.reason.as_str())
        ),
        other => other.replace('_', " "),
    };
    format!(
        "[wolfe] {} in {}: {what}",
        record.runbook, record.environment
    )
}

fn detail(record: &ExecutionRecord) -> String {
    let mut lines = Vec::new();
    if let Some(e) = &record.error {
        lines.push(format!("error: {}", e.message));
    }
    if let Some(s) = &record.suppressed {
        lines.push(format!("held back: {}", s.detail));
    }
    if let Some(event) = &record.event_id {
        lines.push(format!(
            "event: {event} (rule {})",
            record.rule.as_deref().unwrap_or("-")
        ));
    }
    lines.join("\n")
}
