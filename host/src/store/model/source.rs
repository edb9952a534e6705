//! The source as stored: how events arrive for a tenant under a name, and
//! how they are authenticated and cut into events. Checking and redacting
//! specs live in `ingest::source`.

use serde::{Deserialize, Serialize};

/// `PUT /v1/tenants/{t}/sources/{name}` body: `"type": "webhook"` (the
/// default) or `"type": "sqs"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SourceSpec {
    Webhook(WebhookSpec),
    Sqs(SqsSpec),
}

/// Deserialization defaults `type` to `webhook`, which serde's internally
/// tagged enums cannot do on their own.
impl<'de> Deserialize<'de> for SourceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "lowercase")]
        enum Tagged {
            Webhook(WebhookSpec),
            Sqs(SqsSpec),
        }
        let mut value = serde_json::Value::deserialize(deserializer)?;
        if let serde_json::Value::Object(map) = &mut value {
            map.entry("type").or_insert_with(|| "webhook".into());
        }
        match Tagged::deserialize(value).map_err(serde::de::Error::custom)? {
            Tagged::Webhook(w) => Ok(SourceSpec::Webhook(w)),
            Tagged::Sqs(q) => Ok(SourceSpec::Sqs(q)),
        }
    }
}

/// A webhook source: `POST /v1/hooks/{tenant}/{source}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// How webhook requests prove who sent them. Required: deny by default.
    #[serde(default)]
    pub auth: Option<WebhookAuth>,
    /// A JSON path to an array: one event per element (Alertmanager posts
    /// many alerts at once: `"alerts"`). Absent: the body is one event.
    #[serde(default)]
    pub split: Option<String>,
    /// JSON paths (within each event) whose values together form a
    /// sender-given idempotency key: a re-post with the same key is the same
    /// event. One path or several: Alertmanager re-sends a still-firing alert
    /// with the same `fingerprint`, and fires it anew with a new `startsAt`,
    /// so `["fingerprint", "status", "startsAt"]` dedupes retries only.
    #[serde(default)]
    pub id: Option<IdPaths>,
    /// A JSON path (within each event) to the event's type.
    #[serde(default)]
    pub type_path: Option<String>,
    /// A request header holding the event's type (GitHub: `X-GitHub-Event`).
    #[serde(default)]
    pub type_header: Option<String>,
}

/// An Amazon SQS queue polled by the host (`ingest::sqs`). Credentials come
/// from the standard AWS provider chain (environment, profile, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsSpec {
    pub queue_url: String,
    pub region: String,
    /// A non-AWS endpoint (an SQS-compatible server). Default: AWS's.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Long-poll wait, 0-20 s. Default 20: cheap and prompt.
    #[serde(default = "default_wait")]
    pub wait_time_seconds: i32,
    /// Messages per receive, 1-10. Default 10.
    #[serde(default = "default_max_messages")]
    pub max_messages: i32,
    /// Seconds a received message stays hidden before it is redelivered,
    /// 0-43200. Default 30: far longer than a durable write takes.
    #[serde(default = "default_visibility")]
    pub visibility_timeout: i32,
    /// Concurrent receive loops, 1-16. Default 1.
    #[serde(default = "default_pollers")]
    pub pollers: usize,
    /// `raw`: the body is the event JSON; `sns`: the body is an SNS
    /// notification whose `Message` is the event JSON. Default raw.
    #[serde(default)]
    pub format: SqsFormat,
    /// A JSON path (within the event) to its type. Default `sqs`.
    #[serde(default)]
    pub type_path: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqsFormat {
    #[default]
    Raw,
    Sns,
}

fn default_wait() -> i32 {
    20
}
fn default_max_messages() -> i32 {
    10
}
fn default_visibility() -> i32 {
    30
}
fn default_pollers() -> usize {
    1
}

/// One JSON path, or several whose values are joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdPaths {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum WebhookAuth {
    /// `Authorization: Bearer <token>` with a `sender` (or `admin`) token of
    /// the tenant.
    #[serde(rename = "bearer")]
    Bearer,
    /// An HMAC-SHA256 of the raw body in a header, GitHub-style by default.
    #[serde(rename = "hmac-sha256")]
    HmacSha256 {
        secret: String,
        #[serde(default = "default_hmac_header")]
        header: String,
        #[serde(default = "default_hmac_prefix")]
        prefix: String,
    },
}

fn default_hmac_header() -> String {
    "X-Hub-Signature-256".into()
}

fn default_hmac_prefix() -> String {
    "sha256=".into()
}

/// A stored source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    #[serde(flatten)]
    pub spec: SourceSpec,
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_defaults_to_webhook_and_unknown_fields_are_rejected() {
        let w: SourceSpec =
            serde_json::from_value(json!({"auth": {"type": "bearer"}, "split": "alerts"})).unwrap();
        assert!(matches!(
            w,
            SourceSpec::Webhook(WebhookSpec { split: Some(_), .. })
        ));
        assert_eq!(serde_json::to_value(&w).unwrap()["type"], "webhook");
        let q: SourceSpec = serde_json::from_value(json!({
            "type": "sqs", "queue_url": "http://127.0.0.1:5000/123/q", "region": "us-east-1", "format": "sns"
        }))
        .unwrap();
        let SourceSpec::Sqs(q) = q else { panic!("sqs") };
        assert_eq!(
            (q.wait_time_seconds, q.max_messages, q.pollers, q.format),
            (20, 10, 1, SqsFormat::Sns)
        );
        assert!(
            serde_json::from_value::<SourceSpec>(
                json!({"auth": {"type": "bearer"}, "splitt": "x"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<SourceSpec>(
                json!({"type": "sqs", "queue_url": "x", "region": "r", "bogus": 1})
            )
            .is_err()
        );
        assert!(serde_json::from_value::<SourceSpec>(json!({"type": "kafka"})).is_err());
    }
}
