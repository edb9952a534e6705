//! The webhook pipeline's parsing (`ingest::webhook`, `ingest::source`):
//! a source spec is checked, an HMAC signature verified, and a body cut
//! into events by `split`, `id` and `type_path` (or `type_header`).
//!
//! Inputs: a body (raw, starting with `{` or `[`) posted to the example
//! Alertmanager source and to a plain one, or a spec, headers and body
//! built from parts. Properties: at most `MAX_EVENTS_PER_REQUEST` events;
//! one event without `split`; ids from `id` paths are stable across
//! re-posts, fresh ones unique; the type falls back to `webhook`; the
//! signature a sender computes verifies, and not over another body.
#![no_main]

use arbitrary::{Result, Unstructured};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use std::collections::BTreeSet;
use wolfe::ingest::source::{DEFAULT_EVENT_TYPE, IdPaths, SourceSpec, WebhookAuth, WebhookSpec};
use wolfe::ingest::webhook::{IngestError, MAX_EVENTS_PER_REQUEST, events_from_body, verify_hmac};

fuzz_target!(|data: &[u8]| {
    if matches!(data.first(), Some(b'{' | b'[')) {
        let alertmanager = WebhookSpec {
            auth: Some(WebhookAuth::Bearer),
            split: Some("alerts".into()),
            id: Some(IdPaths::Many(vec![
                "fingerprint".into(),
                "status".into(),
                "startsAt".into(),
            ])),
            type_path: Some("labels.alertname".into()),
            type_header: None,
            enabled: true,
        };
        let plain = WebhookSpec {
            auth: Some(WebhookAuth::Bearer),
            split: None,
            id: None,
            type_path: None,
            type_header: Some("x-github-event".into()),
            enabled: true,
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", HeaderValue::from_static("push"));
        check(&alertmanager, &headers, data);
        check(&plain, &headers, data);
        return;
    }
    let _ = structured(&mut Unstructured::new(data));
});

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let id = match u.int_in_range(0..=2)? {
        0 => None,
        1 => Some(IdPaths::One(wolfe_fuzz::path(u)?)),
        _ => {
            let n = u.int_in_range(0..=3)?;
            Some(IdPaths::Many(
                (0..n).map(|_| wolfe_fuzz::path(u)).collect::<Result<_>>()?,
            ))
        }
    };
    let header_names = [
        "x-hub-signature-256",
        "x-github-event",
        "x-event-type",
        "content-type",
    ];
    let auth = if u.arbitrary()? {
        Some(WebhookAuth::HmacSha256 {
            secret: if u.arbitrary()? {
                "0123456789abcdef".into()
            } else {
                wolfe_fuzz::text(u, 32)?
            },
            header: if u.ratio(3u8, 4)? {
                "X-Hub-Signature-256".into()
            } else {
                wolfe_fuzz::text(u, 16)?
            },
            prefix: u.choose(&["sha256=", "", "v0="])?.to_string(),
        })
    } else {
        Some(WebhookAuth::Bearer)
    };
    let spec = WebhookSpec {
        auth,
        split: if u.arbitrary()? {
            Some(wolfe_fuzz::path(u)?)
        } else {
            None
        },
        id,
        type_path: if u.arbitrary()? {
            Some(wolfe_fuzz::path(u)?)
        } else {
            None
        },
        type_header: if u.arbitrary()? {
            Some(u.choose(&header_names)?.to_string())
        } else {
            None
        },
        enabled: true,
    };
    let mut headers = HeaderMap::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let name = *u.choose(&header_names)?;
        let value: &[u8] = u.arbitrary()?;
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    let body = if u.ratio(3u8, 4)? {
        let mut data = wolfe_fuzz::json(u, 4)?;
        if let Some(split) = &spec.split
            && u.arbitrary()?
        {
            // Put an array where the split path points, often enough.
            let n = u.int_in_range(0..=4)?;
            let items = (0..n)
                .map(|_| wolfe_fuzz::json(u, 3))
                .collect::<Result<Vec<_>>>()?;
            let mut map = serde_json::Map::new();
            map.insert(split.trim_start_matches("$.").to_string(), items.into());
            data = map.into();
        }
        serde_json::to_vec(&data).expect("JSON encodes")
    } else {
        u.arbitrary::<&[u8]>()?.to_vec()
    };
    check(&spec, &headers, &body);
    Ok(())
}

fn check(spec: &WebhookSpec, headers: &HeaderMap, body: &[u8]) {
    let _ = SourceSpec::Webhook(spec.clone()).validate();
    if let Some(
        auth @ WebhookAuth::HmacSha256 {
            secret,
            header,
            prefix,
        },
    ) = &spec.auth
    {
        let _ = verify_hmac(auth, headers, body);
        // A sender's signature verifies over its body, not over another.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        let signature = format!("{prefix}{}", hex::encode(mac.finalize().into_bytes()));
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.as_bytes()),
            HeaderValue::from_str(&signature),
        ) && signature.trim().strip_prefix(prefix.as_str()).is_some()
        {
            let mut signed = HeaderMap::new();
            signed.insert(name, value);
            assert_eq!(
                verify_hmac(auth, &signed, body),
                Ok(()),
                "signed with {signature:?}"
            );
            let mut other = body.to_vec();
            other.push(b' ');
            assert_eq!(
                verify_hmac(auth, &signed, &other),
                Err(IngestError::Unauthorized)
            );
        }
    }
    let events = events_from_body("tenant", "source", spec, headers, body);
    let Ok(events) = events else {
        return;
    };
    assert!(
        serde_json::from_slice::<serde_json::Value>(body).is_ok(),
        "events from a body that is not JSON"
    );
    assert!(events.len() <= MAX_EVENTS_PER_REQUEST);
    if spec.split.is_none() {
        assert_eq!(events.len(), 1);
    }
    if spec.type_path.is_none() && spec.type_header.is_none() {
        assert!(events.iter().all(|e| e.event_type == DEFAULT_EVENT_TYPE));
    }
    for e in &events {
        assert_eq!((e.tenant.as_str(), e.source.as_str()), ("tenant", "source"));
    }
    let again = events_from_body("tenant", "source", spec, headers, body).expect("parsing is pure");
    assert_eq!(again.len(), events.len());
    for (a, b) in events.iter().zip(&again) {
        assert_eq!((&a.data, &a.event_type), (&b.data, &b.event_type));
    }
    let ids: BTreeSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    if spec.id.is_some() {
        // A re-post is the same events.
        assert!(events.iter().zip(&again).all(|(a, b)| a.id == b.id));
    } else {
        assert_eq!(ids.len(), events.len(), "fresh ids are unique");
        assert!(events.iter().zip(&again).all(|(a, b)| a.id != b.id));
    }
}
