//! One SQS message → one event. The event id is the SQS `MessageId`, so a
//! message redelivered after a crash (between the durable write and the
//! delete) is the same event and fires nothing twice. Message attributes
//! (and, for `sns`, the notification's fields) become event metadata.

use crate::ingest::event::{Event, now_rfc3339};
use crate::ingest::source::{SqsFormat, SqsSpec};
use crate::rules::path;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde_json::{Map, Value, json};

/// Event type when the spec names no `type_path` (or it yields nothing).
pub const DEFAULT_SQS_EVENT_TYPE: &str = "sqs";

/// How many times SQS has delivered this message (1 on first delivery).
pub fn receive_count(message: &Message) -> u64 {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The event in a message, or why there is none (the message is poison).
pub fn event_from_message(
    tenant: &str,
    source: &str,
    spec: &SqsSpec,
    message: &Message,
) -> Result<Event, String> {
    let id = message.message_id().ok_or("the message has no MessageId")?;
    let body = message.body().ok_or("the message has no body")?;
    let mut metadata = Map::new();
    let data = match spec.format {
        SqsFormat::Raw => {
            serde_json::from_str(body).map_err(|e| format!("body is not valid JSON: {e}"))?
        }
        SqsFormat::Sns => {
            let (data, sns) = unwrap_sns(body)?;
            metadata.insert("sns".into(), sns);
            data
        }
    };
    let mut sqs = Map::new();
    sqs.insert("message_id".into(), json!(id));
    sqs.insert("receive_count".into(), json!(receive_count(message)));
    if let Some(sent) = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
    {
        sqs.insert("sent_timestamp".into(), json!(sent));
    }
    metadata.insert("sqs".into(), Value::Object(sqs));
    if let Some(attributes) = message.message_attributes() {
        let attributes: Map<String, Value> = attributes
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.string_value().map(|s| json!(s)).unwrap_or(Value::Null),
                )
            })
            .collect();
        if !attributes.is_empty() {
            metadata.insert("attributes".into(), Value::Object(attributes));
        }
    }
    let event_type = spec
        .type_path
        .as_ref()
        .and_then(|p| path::lookup(&data, p))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_SQS_EVENT_TYPE)
        .to_string();
    Ok(Event {
        id: id.to_string(),
        tenant: tenant.to_string(),
        source: source.to_string(),
        event_type,
        time: now_rfc3339(),
        data,
        metadata,
    })
}

/// An SNS notification: `{"Type": "Notification", "Message": "...", ...}`.
/// The `Message` is the event (JSON, or a plain string kept as a string);
/// the rest (topic, subject, attributes) is returned as metadata.
fn unwrap_sns(body: &str) -> Result<(Value, Value), String> {
    let envelope: Value =
        serde_json::from_str(body).map_err(|e| format!("SNS envelope is not valid JSON: {e}"))?;
    if envelope["Type"] != "Notification" {
        return Err(format!(
            "not an SNS notification (Type is {})",
            envelope
                .get("Type")
                .map(Value::to_string)
                .unwrap_or_else(|| "missing".into())
        ));
    }
    let message = envelope["Message"]
        .as_str()
        .ok_or("SNS notification has no Message string")?;
    let data = serde_json::from_str(message).unwrap_or_else(|_| Value::String(message.to_string()));
    let attributes: Map<String, Value> = envelope["MessageAttributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["Value"].clone()))
                .collect()
        })
        .unwrap_or_default();
    let sns = json!({
        "message_id": envelope["MessageId"],
        "topic_arn": envelope["TopicArn"],
        "subject": envelope["Subject"],
        "timestamp": envelope["Timestamp"],
        "attributes": attributes,
    });
    Ok((data, sns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::MessageAttributeValue;

    fn spec(format: SqsFormat) -> SqsSpec {
        serde_json::from_value(json!({
            "queue_url": "http://h/1/q", "region": "us-east-1", "format": format, "type_path": "kind"
        }))
        .unwrap()
    }

    fn message(body: &str) -> Message {
        Message::builder()
            .message_id("m-1")
            .body(body)
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "3")
            .message_attributes(
                "team",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("db")
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[test]
    fn raw_messages_become_events_keyed_by_message_id() {
        let e = event_from_message(
            "t",
            "q",
            &spec(SqsFormat::Raw),
            &message(r#"{"kind": "disk", "host": "a"}"#),
        )
        .unwrap();
        assert_eq!((e.id.as_str(), e.event_type.as_str()), ("m-1", "disk"));
        assert_eq!(e.data["host"], "a");
        assert_eq!(e.metadata["sqs"]["receive_count"], 3);
        assert_eq!(e.metadata["attributes"]["team"], "db");
    }

    #[test]
    fn sns_envelopes_are_unwrapped() {
        let body = json!({
            "Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:1:alerts",
            "Subject": "Atlas", "Message": "{\"kind\": \"cpu\", \"value\": 97}",
            "MessageAttributes": {"severity": {"Type": "String", "Value": "page"}},
        });
        let e = event_from_message("t", "q", &spec(SqsFormat::Sns), &message(&body.to_string()))
            .unwrap();
        assert_eq!(e.event_type, "cpu");
        assert_eq!(e.data["value"], 97);
        assert_eq!(
            e.metadata["sns"]["topic_arn"],
            "arn:aws:sns:us-east-1:1:alerts"
        );
        assert_eq!(e.metadata["sns"]["attributes"]["severity"], "page");
    }

    #[test]
    fn poison_messages_say_why() {
        let raw = spec(SqsFormat::Raw);
        assert!(
            event_from_message("t", "q", &raw, &message("not json"))
                .unwrap_err()
                .contains("not valid JSON")
        );
        let sns = spec(SqsFormat::Sns);
        assert!(
            event_from_message(
                "t",
                "q",
                &sns,
                &message(r#"{"Type": "SubscriptionConfirmation"}"#)
            )
            .unwrap_err()
            .contains("not an SNS notification")
        );
    }
}
