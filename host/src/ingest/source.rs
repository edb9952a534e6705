//! Source configuration: how events arrive for a tenant under a name, and how
//! they are authenticated and cut into events.

use crate::rules::path;
use serde::{Deserialize, Serialize};

/// `PUT /v1/tenants/{t}/sources/{name}` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    #[serde(default, rename = "type")]
    pub kind: SourceKind,
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

/// One JSON path, or several whose values are joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdPaths {
    One(String),
    Many(Vec<String>),
}

impl IdPaths {
    pub fn paths(&self) -> &[String] {
        match self {
            IdPaths::One(p) => std::slice::from_ref(p),
            IdPaths::Many(ps) => ps,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
    Webhook,
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

/// Event type when neither `type_path` nor `type_header` yields one.
pub const DEFAULT_EVENT_TYPE: &str = "webhook";

impl SourceSpec {
    /// Checks the spec; the error names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        match &self.auth {
            None => return Err("auth: required (`{\"type\":\"bearer\"}` or `{\"type\":\"hmac-sha256\",\"secret\":…}`)".into()),
            Some(WebhookAuth::HmacSha256 { secret, header, .. }) => {
                if secret.len() < 16 {
                    return Err("auth.secret: must be at least 16 characters".into());
                }
                axum::http::HeaderName::from_bytes(header.as_bytes())
                    .map_err(|_| format!("auth.header: {header:?} is not a header name"))?;
            }
            Some(WebhookAuth::Bearer) => {}
        }
        let id_paths = self.id.as_ref().map(IdPaths::paths).unwrap_or_default();
        if self.id.is_some() && id_paths.is_empty() {
            return Err("id: give at least one path".into());
        }
        let paths = id_paths
            .iter()
            .map(|p| ("id", p))
            .chain(self.split.iter().map(|p| ("split", p)))
            .chain(self.type_path.iter().map(|p| ("type_path", p)));
        for (field, p) in paths {
            path::validate(p).map_err(|e| format!("{field}: {e}"))?;
        }
        Ok(())
    }

    /// The spec as shown to API readers: the HMAC secret is write-only.
    pub fn redacted(&self) -> Self {
        let mut shown = self.clone();
        if let Some(WebhookAuth::HmacSha256 { secret, .. }) = &mut shown.auth {
            *secret = "[REDACTED]".into();
        }
        shown
    }
}

/// A stored source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    #[serde(flatten)]
    pub spec: SourceSpec,
    pub updated_at: String,
}
