//! Source configuration: how events arrive for a tenant under a name, and how
//! they are authenticated and cut into events. The specs themselves are
//! defined with the store ([`crate::store::model::source`]); here they are
//! checked and redacted.

use crate::rules::path;

pub use crate::store::model::source::{
    CatchUp, IdPaths, ScheduleSpec, Source, SourceSpec, SqsFormat, SqsSpec, WebhookAuth,
    WebhookSpec,
};

impl IdPaths {
    pub fn paths(&self) -> &[String] {
        match self {
            IdPaths::One(p) => std::slice::from_ref(p),
            IdPaths::Many(ps) => ps,
        }
    }
}

/// Event type when neither `type_path` nor `type_header` yields one.
pub const DEFAULT_EVENT_TYPE: &str = "webhook";

/// Receive loops one SQS source may run.
pub const MAX_POLLERS: usize = 16;

impl SourceSpec {
    /// Checks the spec; the error names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            SourceSpec::Webhook(w) => w.validate(),
            SourceSpec::Sqs(q) => q.validate(),
            SourceSpec::Schedule(s) => super::schedule::ticks::Schedule::new(s)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }

    /// The spec as shown to API readers: the HMAC secret is write-only.
    pub fn redacted(&self) -> Self {
        match self {
            SourceSpec::Webhook(w) => SourceSpec::Webhook(w.redacted()),
            other => other.clone(),
        }
    }
}

impl SqsSpec {
    fn validate(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.queue_url).map_err(|e| format!("queue_url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("queue_url: must be an http(s) URL".into());
        }
        if let Some(endpoint) = &self.endpoint_url {
            url::Url::parse(endpoint).map_err(|e| format!("endpoint_url: {e}"))?;
        }
        if self.region.trim().is_empty() {
            return Err("region: required (e.g. us-east-1)".into());
        }
        let ranges = [
            ("wait_time_seconds", self.wait_time_seconds, 0, 20),
            ("max_messages", self.max_messages, 1, 10),
            ("visibility_timeout", self.visibility_timeout, 0, 43_200),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(format!("{field}: {value} is outside {min}..={max}"));
            }
        }
        // Compared as given: a cast to i32 would wrap 2^32 + 1 to 1.
        if !(1..=MAX_POLLERS).contains(&self.pollers) {
            return Err(format!(
                "pollers: {} is outside 1..={MAX_POLLERS}",
                self.pollers
            ));
        }
        if let Some(p) = &self.type_path {
            path::validate(p).map_err(|e| format!("type_path: {e}"))?;
        }
        Ok(())
    }
}

impl WebhookSpec {
    fn validate(&self) -> Result<(), String> {
        match &self.auth {
            None => return Err("auth: required (`{\"type\":\"bearer\"}` or `{\"type\":\"hmac-sha256\",\"secret\":…}`)".into()),
            Some(WebhookAuth::HmacSha256 { secret, header, .. }) => {
                if secret.len() < 16 {
                    return Err("auth.secret: must be at least 16 characters".into());
                }
                check_header_name("auth.header", header)?;
            }
            Some(WebhookAuth::Bearer) => {}
        }
        // A name no request can carry would type every event `webhook`.
        if let Some(header) = &self.type_header {
            check_header_name("type_header", header)?;
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

    fn redacted(&self) -> Self {
        let mut shown = self.clone();
        if let Some(WebhookAuth::HmacSha256 { secret, .. }) = &mut shown.auth {
            *secret = REDACTED.into();
        }
        shown
    }
}

/// What a shown source has in place of its HMAC secret.
pub const REDACTED: &str = "[REDACTED]";

impl SourceSpec {
    /// A spec read back from the API and put again carries [`REDACTED`]
    /// for its HMAC secret: that means "keep the secret stored", which is
    /// taken from `stored`. Without an HMAC secret stored there is nothing
    /// to keep, and the placeholder is refused.
    pub fn keep_redacted_secret(&mut self, stored: Option<&SourceSpec>) -> Result<(), String> {
        let SourceSpec::Webhook(WebhookSpec {
            auth: Some(WebhookAuth::HmacSha256 { secret, .. }),
            ..
        }) = self
        else {
            return Ok(());
        };
        if secret != REDACTED {
            return Ok(());
        }
        match stored {
            Some(SourceSpec::Webhook(WebhookSpec {
                auth: Some(WebhookAuth::HmacSha256 { secret: kept, .. }),
                ..
            })) => {
                *secret = kept.clone();
                Ok(())
            }
            _ => Err(format!(
                "auth.secret: {REDACTED} keeps the stored secret, but this source has none: give the secret"
            )),
        }
    }
}

/// Checks `name` is a valid HTTP header name; the error names `field`.
fn check_header_name(field: &str, name: &str) -> Result<(), String> {
    axum::http::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| format!("{field}: {name:?} is not a header name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_redacted_secret_put_back_keeps_the_stored_one() {
        let spec = |secret: &str| -> SourceSpec {
            serde_json::from_value(json!({"auth": {"type": "hmac-sha256", "secret": secret}}))
                .unwrap()
        };
        let stored = spec("0123456789abcdef-real");
        let mut shown = stored.redacted();
        shown.keep_redacted_secret(Some(&stored)).unwrap();
        assert_eq!(shown, stored);
        // A new secret replaces the stored one.
        let mut new = spec("fedcba9876543210-new");
        new.keep_redacted_secret(Some(&stored)).unwrap();
        assert_eq!(new, spec("fedcba9876543210-new"));
        // Nothing to keep: the placeholder is refused, never stored.
        let mut orphan = spec(REDACTED);
        let bearer: SourceSpec =
            serde_json::from_value(json!({"auth": {"type": "bearer"}})).unwrap();
        assert!(
            orphan
                .keep_redacted_secret(Some(&bearer))
                .unwrap_err()
                .starts_with("auth.secret")
        );
        assert!(orphan.keep_redacted_secret(None).is_err());
    }

    #[test]
    fn sqs_ranges_are_checked() {
        let spec = |extra: serde_json::Value| {
            let mut v = json!({"type": "sqs", "queue_url": "http://h/1/q", "region": "us-east-1"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            serde_json::from_value::<SourceSpec>(v).unwrap().validate()
        };
        assert!(spec(json!({})).is_ok());
        assert!(
            spec(json!({"max_messages": 11}))
                .unwrap_err()
                .starts_with("max_messages")
        );
        assert!(
            spec(json!({"wait_time_seconds": 21}))
                .unwrap_err()
                .starts_with("wait_time_seconds")
        );
        assert!(
            spec(json!({"pollers": 0}))
                .unwrap_err()
                .starts_with("pollers")
        );
        assert!(
            spec(json!({"queue_url": "nope"}))
                .unwrap_err()
                .starts_with("queue_url")
        );
        for pollers in [17_u64, 4_294_967_297, u64::MAX] {
            let err = spec(json!({"pollers": pollers})).unwrap_err();
            assert!(err.starts_with("pollers"), "{pollers}: {err}");
        }
        assert!(spec(json!({"pollers": 16})).is_ok());
    }

    #[test]
    fn the_example_source_validates() {
        // Its paths are relative to the body (each split element), not to
        // the envelope rules see: `labels.alertname`.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/alertmanager/source.toml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut spec = serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
        spec.as_object_mut().unwrap().remove("name");
        let spec: SourceSpec = serde_json::from_value(spec).unwrap();
        assert_eq!(spec.validate(), Ok(()));
    }

    #[test]
    fn webhook_header_names_are_checked() {
        let spec = |extra: serde_json::Value| {
            let mut v = json!({"auth": {"type": "bearer"}});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            serde_json::from_value::<SourceSpec>(v).unwrap().validate()
        };
        let hmac = |header: &str| json!({"auth": {"type": "hmac-sha256", "secret": "0123456789abcdef", "header": header}});
        let cases = [
            (json!({"type_header": "X-GitHub-Event"}), None),
            (
                json!({"type_header": "X GitHub Event"}),
                Some("type_header"),
            ),
            (json!({"type_header": "X-Event:"}), Some("type_header")),
            (json!({"type_header": ""}), Some("type_header")),
            (hmac("X-Hub-Signature-256"), None),
            (hmac("X Hub"), Some("auth.header")),
        ];
        for (extra, refused) in cases {
            match (spec(extra.clone()), refused) {
                (Ok(()), None) => {}
                (Err(e), Some(field)) => assert!(e.starts_with(field), "{extra}: {e}"),
                (got, _) => panic!("{extra}: {got:?}"),
            }
        }
    }
}
