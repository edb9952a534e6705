//! SQS message bodies (`ingest::sqs::message::event_from_message`): the SNS
//! envelope (`format = "sns"`) and raw JSON (`format = "raw"`).
//!
//! Inputs: the message body as text (raw), or an envelope built from parts
//! (first byte 0: `Message` holding encoded JSON, attributes, a receive
//! count). Properties: the event id is the `MessageId`; an SNS event comes
//! only from a `Notification` with a `Message` string, its data is that
//! message (JSON, or the string itself); a raw event's data is the body;
//! the type is the `type_path` string or `sqs`.
#![no_main]

use arbitrary::{Result, Unstructured};
use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use wolfe::ingest::source::{SqsFormat, SqsSpec};
use wolfe::ingest::sqs::message::{DEFAULT_SQS_EVENT_TYPE, event_from_message, receive_count};
use wolfe::rules::path;

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0) {
        let _ = structured(&mut Unstructured::new(&data[1..]));
        return;
    }
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let message = Message::builder().message_id("m-1").body(body).build();
    for type_path in [
        None,
        Some("kind"),
        Some("labels.alertname"),
        Some("/detail-type"),
    ] {
        check(&message, type_path);
    }
});

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let mut envelope = Map::new();
    if u.ratio(7u8, 8)? {
        let kind = if u.ratio(3u8, 4)? {
            json!("Notification")
        } else {
            wolfe_fuzz::json(u, 1)?
        };
        envelope.insert("Type".into(), kind);
    }
    if u.ratio(7u8, 8)? {
        let message = match u.int_in_range(0..=2)? {
            0 => Value::String(
                serde_json::to_string(&wolfe_fuzz::json(u, 4)?).expect("JSON encodes"),
            ),
            1 => Value::String(wolfe_fuzz::word(u)?),
            _ => wolfe_fuzz::json(u, 2)?,
        };
        envelope.insert("Message".into(), message);
    }
    for field in ["MessageId", "TopicArn", "Subject", "Timestamp"] {
        if u.arbitrary()? {
            envelope.insert(field.into(), wolfe_fuzz::json(u, 1)?);
        }
    }
    if u.arbitrary()? {
        let mut attributes = Map::new();
        for _ in 0..u.int_in_range(0..=3)? {
            let value = if u.ratio(3u8, 4)? {
                json!({"Type": "String", "Value": wolfe_fuzz::json(u, 1)?})
            } else {
                wolfe_fuzz::json(u, 2)?
            };
            attributes.insert(wolfe_fuzz::word(u)?, value);
        }
        envelope.insert("MessageAttributes".into(), attributes.into());
    }
    let body = serde_json::to_string(&envelope).expect("JSON encodes");
    let mut builder = Message::builder()
        .message_id(wolfe_fuzz::word(u)?)
        .body(body)
        .attributes(
            MessageSystemAttributeName::ApproximateReceiveCount,
            wolfe_fuzz::word(u)?,
        )
        .attributes(
            MessageSystemAttributeName::SentTimestamp,
            wolfe_fuzz::word(u)?,
        );
    for _ in 0..u.int_in_range(0..=2)? {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(wolfe_fuzz::word(u)?)
            .build()
            .expect("data_type is set");
        builder = builder.message_attributes(wolfe_fuzz::word(u)?, value);
    }
    let type_path = wolfe_fuzz::path(u)?;
    check(&builder.build(), Some(&type_path));
    Ok(())
}

fn check(message: &Message, type_path: Option<&str>) {
    let _ = receive_count(message);
    let body = message.body().expect("a body");
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    for format in [SqsFormat::Sns, SqsFormat::Raw] {
        let spec: SqsSpec = serde_json::from_value(json!({
            "queue_url": "http://127.0.0.1:9324/000000000000/q",
            "region": "us-east-1",
            "format": format,
            "type_path": type_path,
        }))
        .expect("a valid spec");
        let result = event_from_message("tenant", "queue", &spec, message);
        let Ok(event) = result else {
            if format == SqsFormat::Raw {
                assert!(parsed.is_none(), "a JSON body was refused: {result:?}");
            }
            continue;
        };
        assert_eq!(Some(event.id.as_str()), message.message_id());
        assert!(event.metadata["sqs"].is_object());
        let expected = match format {
            SqsFormat::Raw => parsed.clone().expect("raw events come from JSON bodies"),
            SqsFormat::Sns => {
                let envelope = parsed
                    .as_ref()
                    .expect("SNS events come from JSON envelopes");
                assert_eq!(envelope["Type"], "Notification");
                assert!(event.metadata["sns"].is_object());
                let text = envelope["Message"].as_str().expect("a Message string");
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
            }
        };
        assert_eq!(event.data, expected);
        let expected_type = type_path
            .and_then(|p| path::lookup(&event.data, p))
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_SQS_EVENT_TYPE);
        assert_eq!(event.event_type, expected_type);
    }
}
