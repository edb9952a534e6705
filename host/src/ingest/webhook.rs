//! Webhook ingestion: authenticate a request against its source, then cut
//! its JSON body into events.

use super::event::{Event, idempotent_event_id, new_event_id, now_rfc3339};
#[cfg(test)]
use super::source::IdPaths;
use super::source::{DEFAULT_EVENT_TYPE, WebhookAuth, WebhookSpec};
use crate::rules::path;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{0}")]
    InvalidBody(String),
}

/// Most events one request may carry after splitting.
pub const MAX_EVENTS_PER_REQUEST: usize = 1_000;

/// Checks an HMAC signature in constant time. Bearer tokens are checked by
/// the caller, which owns the token store.
pub fn verify_hmac(
    auth: &WebhookAuth,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), IngestError> {
    let WebhookAuth::HmacSha256 {
        secret,
        header,
        prefix,
    } = auth
    else {
        return Err(IngestError::Unauthorized);
    };
    let given = headers
        .get(header.as_str())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix(prefix.as_str()))
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
        .ok_or(IngestError::Unauthorized)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| IngestError::Unauthorized)?;
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| IngestError::Unauthorized)
}

/// The events in a webhook body.
pub fn events_from_body(
    tenant: &str,
    source: &str,
    spec: &WebhookSpec,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Event>, IngestError> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| IngestError::InvalidBody(format!("body is not valid JSON: {e}")))?;
    let items: Vec<Value> = match &spec.split {
        None => vec![json],
        Some(split) => match path::lookup(&json, split) {
            Some(Value::Array(items)) => items.clone(),
            _ => {
                return Err(IngestError::InvalidBody(format!(
                    "the body has no array at {split:?} to split into events"
                )));
            }
        },
    };
    if items.len() > MAX_EVENTS_PER_REQUEST {
        return Err(IngestError::InvalidBody(format!(
            "{} events in one request; the limit is {MAX_EVENTS_PER_REQUEST}",
            items.len()
        )));
    }
    let header_type = spec
        .type_header
        .as_ref()
        .and_then(|h| headers.get(h.as_str()))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let time = now_rfc3339();
    items
        .into_iter()
        .map(|data| {
            let id = match &spec.id {
                Some(id_paths) => {
                    let mut parts = Vec::new();
                    for id_path in id_paths.paths() {
                        parts.push(match path::lookup(&data, id_path) {
                            Some(Value::String(s)) if !s.is_empty() => s.clone(),
                            Some(v @ Value::Number(_)) => v.to_string(),
                            _ => {
                                return Err(IngestError::InvalidBody(format!(
                                    "an event has no string or number at its id path {id_path:?}"
                                )));
                            }
                        });
                    }
                    // Encoded as a JSON array: unambiguous whatever the parts hold.
                    let key = serde_json::to_string(&parts).expect("strings encode");
                    idempotent_event_id(tenant, source, &key)
                }
                None => new_event_id(),
            };
            let event_type = spec
                .type_path
                .as_ref()
                .and_then(|p| path::lookup(&data, p))
                .and_then(|v| v.as_str().map(str::to_string))
                .or_else(|| header_type.clone())
                .unwrap_or_else(|| DEFAULT_EVENT_TYPE.to_string());
            Ok(Event {
                id,
                tenant: tenant.to_string(),
                source: source.to_string(),
                event_type,
                time: time.clone(),
                data,
                metadata: Default::default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> WebhookSpec {
        WebhookSpec {
            auth: Some(WebhookAuth::Bearer),
            split: Some("alerts".into()),
            id: Some(IdPaths::One("fingerprint".into())),
            type_path: Some("labels.alertname".into()),
            type_header: None,
            enabled: true,
        }
    }

    #[test]
    fn splits_alertmanager_posts_with_stable_ids() {
        let body = json!({"alerts": [
            {"fingerprint": "a1", "labels": {"alertname": "DiskFull"}},
            {"fingerprint": "b2", "labels": {}},
        ]});
        let body = serde_json::to_vec(&body).unwrap();
        let events = events_from_body("t", "am", &spec(), &HeaderMap::new(), &body).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event_type, "DiskFull");
        assert_eq!(events[1].event_type, DEFAULT_EVENT_TYPE);
        let again = events_from_body("t", "am", &spec(), &HeaderMap::new(), &body).unwrap();
        assert_eq!(events[0].id, again[0].id);
        assert_ne!(events[0].id, events[1].id);
        let other_source =
            events_from_body("t", "other", &spec(), &HeaderMap::new(), &body).unwrap();
        assert_ne!(events[0].id, other_source[0].id);
    }

    #[test]
    fn several_id_paths_tell_a_refiring_from_a_retry() {
        let spec = WebhookSpec {
            id: Some(IdPaths::Many(vec!["fingerprint".into(), "startsAt".into()])),
            ..spec()
        };
        let post = |starts: &str| {
            let body = json!({"alerts": [{"fingerprint": "a1", "startsAt": starts, "labels": {}}]});
            events_from_body(
                "t",
                "am",
                &spec,
                &HeaderMap::new(),
                &serde_json::to_vec(&body).unwrap(),
            )
            .unwrap()[0]
                .id
                .clone()
        };
        assert_eq!(post("06:00"), post("06:00"), "a retry is the same event");
        assert_ne!(post("06:00"), post("07:00"), "a new firing is a new event");
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let h = HeaderMap::new();
        assert!(
            matches!(events_from_body("t", "s", &spec(), &h, b"{"), Err(IngestError::InvalidBody(m)) if m.contains("not valid JSON"))
        );
        assert!(
            matches!(events_from_body("t", "s", &spec(), &h, b"{}"), Err(IngestError::InvalidBody(m)) if m.contains("\"alerts\""))
        );
        let no_id = br#"{"alerts": [{"labels": {}}]}"#;
        assert!(
            matches!(events_from_body("t", "s", &spec(), &h, no_id), Err(IngestError::InvalidBody(m)) if m.contains("id path"))
        );
    }

    #[test]
    fn hmac_signatures_are_verified() {
        let auth = WebhookAuth::HmacSha256 {
            secret: "0123456789abcdef".into(),
            header: "X-Hub-Signature-256".into(),
            prefix: "sha256=".into(),
        };
        let body = b"{\"a\":1}";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"0123456789abcdef").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", good.parse().unwrap());
        assert_eq!(verify_hmac(&auth, &headers, body), Ok(()));
        assert_eq!(
            verify_hmac(&auth, &headers, b"{\"a\":2}"),
            Err(IngestError::Unauthorized)
        );
        headers.insert("x-hub-signature-256", "sha256=00".parse().unwrap());
        assert_eq!(
            verify_hmac(&auth, &headers, body),
            Err(IngestError::Unauthorized)
        );
        assert_eq!(
            verify_hmac(&auth, &HeaderMap::new(), body),
            Err(IngestError::Unauthorized)
        );
    }
}
