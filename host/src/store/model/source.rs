//! The source as stored: how events arrive for a tenant under a name, and
//! how they are authenticated and cut into events. Checking and redacting
//! specs live in `ingest::source`.

use serde::{Deserialize, Serialize};

/// `PUT /v1/tenants/{t}/sources/{name}` body: `"type": "webhook"` (the
/// default), `"type": "sqs"` or `"type": "schedule"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SourceSpec {
    Webhook(WebhookSpec),
    Sqs(SqsSpec),
    Schedule(ScheduleSpec),
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
            Schedule(ScheduleSpec),
        }
        let mut value = serde_json::Value::deserialize(deserializer)?;
        if let serde_json::Value::Object(map) = &mut value {
            map.entry("type").or_insert_with(|| "webhook".into());
        }
        match Tagged::deserialize(value).map_err(serde::de::Error::custom)? {
            Tagged::Webhook(w) => Ok(SourceSpec::Webhook(w)),
            Tagged::Sqs(q) => Ok(SourceSpec::Sqs(q)),
            Tagged::Schedule(s) => Ok(SourceSpec::Schedule(s)),
        }
    }
}

/// A webhook source: `POST /v1/hooks/{tenant}/{source}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// `false` stops the source without deleting it: posts are refused with 409 (the sender keeps
    /// them). Default
    /// `true`.
    #[serde(default = "enabled", skip_serializing_if = "is_enabled")]
    pub enabled: bool,
}

/// An Amazon SQS queue polled by the host (`ingest::sqs`). Credentials come
/// from the standard AWS provider chain (environment, profile, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// `false` stops the source without deleting it: its pollers stop, and its messages wait in the
    /// queue. Default
    /// `true`.
    #[serde(default = "enabled", skip_serializing_if = "is_enabled")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SqsFormat {
    #[default]
    Raw,
    Sns,
}

fn enabled() -> bool {
    true
}
fn is_enabled(enabled: &bool) -> bool {
    *enabled
}

impl SourceSpec {
    /// Whether the source takes events now (see each spec's `enabled`).
    pub fn enabled(&self) -> bool {
        match self {
            SourceSpec::Webhook(s) => s.enabled,
            SourceSpec::Sqs(s) => s.enabled,
            SourceSpec::Schedule(s) => s.enabled,
        }
    }
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

/// A clock that fires events itself (`ingest::schedule`): a cron pattern
/// in a time zone, or a fixed interval — exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// A cron pattern: five fields (minute hour day-of-month month
    /// day-of-week), or six with seconds first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The IANA zone `cron` is read in (`Europe/Amsterdam`). Default UTC;
    /// only with `cron`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Seconds between ticks, aligned to multiples of it since the Unix
    /// epoch, so every host agrees on the ticks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_secs: Option<u64>,
    /// What to do with the ticks missed while no host was up. Default
    /// `one`.
    #[serde(default)]
    pub catch_up: CatchUp,
    /// `false` stops the source without deleting it: it fires no tick (when it is enabled again,
    /// `catch_up` decides about the ticks missed). Default
    /// `true`.
    #[serde(default = "enabled", skip_serializing_if = "is_enabled")]
    pub enabled: bool,
}

/// Ticks missed while no host was up: `one` fires one event for the
/// latest, counting the missed ones (`data.missed`); `none` skips them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    #[default]
    One,
    None,
}

/// One JSON path, or several whose values are joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum IdPaths {
    One(String),
    Many(Vec<String>),
}

// Read through `StrictWebhookAuth`, so `{"type": "bearer", "token": …}` is
// refused rather than its `token` silently dropped; written as derived
// (`{"type": "bearer"}`), so stored sources read back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", deny_unknown_fields, from = "StrictWebhookAuth")]
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

/// [`WebhookAuth`] as read. serde lets an internally tagged unit variant
/// ignore other keys even with `deny_unknown_fields`; an empty struct
/// variant refuses them, with the same JSON form.
#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum StrictWebhookAuth {
    #[serde(rename = "bearer")]
    Bearer {},
    #[serde(rename = "hmac-sha256")]
    HmacSha256 {
        secret: String,
        #[serde(default = "default_hmac_header")]
        header: String,
        #[serde(default = "default_hmac_prefix")]
        prefix: String,
    },
}

impl From<StrictWebhookAuth> for WebhookAuth {
    fn from(auth: StrictWebhookAuth) -> Self {
        match auth {
            StrictWebhookAuth::Bearer {} => Self::Bearer,
            StrictWebhookAuth::HmacSha256 {
                secret,
                header,
                prefix,
            } => Self::HmacSha256 {
                secret,
                header,
                prefix,
            },
        }
    }
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

/// The OpenAPI schemas of [`SourceSpec`] and [`Source`], by hand: one
/// object per `type`, each with the variant's fields and `type` itself (not
/// required for `webhook`, the default). A derived schema composes the
/// variant's struct, which refuses unknown fields, with `type` in an
/// `allOf` that no object satisfies.
mod schema {
    use super::{ScheduleSpec, Source, SourceSpec, SqsSpec, WebhookSpec};
    use crate::store::model::schema::{text, with_fields};
    use utoipa::openapi::schema::{OneOf, Schema, Type};
    use utoipa::openapi::{ObjectBuilder, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    type Named = Vec<(String, RefOr<Schema>)>;

    /// One object per source type. `strict` refuses other fields (a request
    /// body); a stored source carries `extra` fields beside them.
    fn variants(strict: bool, extra: &[(&str, RefOr<Schema>)]) -> RefOr<Schema> {
        let mut one_of = OneOf::new();
        for (tag, fields, tag_required) in [
            ("webhook", WebhookSpec::schema(), false),
            ("sqs", SqsSpec::schema(), true),
            ("schedule", ScheduleSpec::schema(), true),
        ] {
            let mut object = with_fields(fields, extra, strict);
            let tag_schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([tag]))
                .build();
            object.properties.insert("type".into(), tag_schema.into());
            if tag_required {
                object.required.push("type".into());
            }
            one_of.items.push(Schema::Object(object).into());
        }
        Schema::OneOf(one_of).into()
    }

    fn dependencies(schemas: &mut Named) {
        WebhookSpec::schemas(schemas);
        SqsSpec::schemas(schemas);
        ScheduleSpec::schemas(schemas);
    }

    impl PartialSchema for SourceSpec {
        fn schema() -> RefOr<Schema> {
            variants(true, &[])
        }
    }

    impl ToSchema for SourceSpec {
        fn schemas(schemas: &mut Named) {
            dependencies(schemas);
        }
    }

    impl PartialSchema for Source {
        fn schema() -> RefOr<Schema> {
            variants(false, &[("name", text()), ("updated_at", text())])
        }
    }

    impl ToSchema for Source {
        fn schemas(schemas: &mut Named) {
            dependencies(schemas);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Stored sources from before `enabled` read back enabled, and an
    /// enabled source is written as it was before (no new field).
    #[test]
    fn enabled_is_left_out_when_true_and_kept_when_false() {
        let on: SourceSpec = serde_json::from_value(json!({"auth": {"type": "bearer"}})).unwrap();
        assert!(on.enabled());
        assert!(serde_json::to_value(&on).unwrap().get("enabled").is_none());
        let off: SourceSpec =
            serde_json::from_value(json!({"type": "schedule", "every_secs": 60, "enabled": false}))
                .unwrap();
        assert!(!off.enabled());
        assert_eq!(serde_json::to_value(&off).unwrap()["enabled"], false);
    }

    #[test]
    fn auth_is_stored_and_read_back_in_the_same_form() {
        let cases = [
            (WebhookAuth::Bearer, json!({"type": "bearer"})),
            (
                WebhookAuth::HmacSha256 {
                    secret: "0123456789abcdef".into(),
                    header: "X-Sig".into(),
                    prefix: "".into(),
                },
                json!({"type": "hmac-sha256", "secret": "0123456789abcdef", "header": "X-Sig", "prefix": ""}),
            ),
        ];
        for (auth, stored) in cases {
            assert_eq!(serde_json::to_value(&auth).unwrap(), stored);
            assert_eq!(serde_json::from_value::<WebhookAuth>(stored).unwrap(), auth);
        }
    }

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
        let extra_keys = [
            (json!({"type": "bearer", "token": "s3cret"}), "token"),
            (
                json!({"type": "hmac-sha256", "secret": "0123456789abcdef", "algo": "sha1"}),
                "algo",
            ),
        ];
        for (auth, extra) in extra_keys {
            let err = serde_json::from_value::<WebhookAuth>(auth.clone()).unwrap_err();
            assert!(err.to_string().contains(extra), "{auth}: {err}");
            let source = json!({"auth": auth});
            assert!(serde_json::from_value::<SourceSpec>(source).is_err());
        }
        let s: SourceSpec = serde_json::from_value(
            json!({"type": "schedule", "cron": "0 3 * * *", "timezone": "Europe/Amsterdam"}),
        )
        .unwrap();
        let SourceSpec::Schedule(s) = s else {
            panic!("schedule")
        };
        assert_eq!(
            (s.cron.as_deref(), s.every_secs, s.catch_up),
            (Some("0 3 * * *"), None, CatchUp::One)
        );
        assert!(
            serde_json::from_value::<SourceSpec>(
                json!({"type": "schedule", "every_secs": 5, "catchup": "none"})
            )
            .is_err()
        );
    }
}
