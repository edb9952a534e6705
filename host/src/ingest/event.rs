//! The event: what a source reports, as stored in the event log and seen by
//! rules (as the envelope `{id, source, type, time, data, metadata}`). The
//! record itself is defined with the store ([`crate::store::model::event`]);
//! here are its ids, its timestamps and its envelope.

use serde_json::{Value, json};

pub use crate::store::model::event::Event;

/// The fields of the envelope, [`Event::envelope`]: every criterion path
/// and every template variable starts at one of them.
pub const ENVELOPE_FIELDS: [&str; 6] = ["id", "source", "type", "time", "data", "metadata"];

impl Event {
    /// What rules and parameter templates see: [`ENVELOPE_FIELDS`].
    pub fn envelope(&self) -> Value {
        json!({
            "id": self.id,
            "source": self.source,
            "type": self.event_type,
            "time": self.time,
            "data": self.data,
            "metadata": self.metadata,
        })
    }
}

/// Namespace for idempotent event ids (uuid v5 of tenant/source/key).
const EVENT_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6a1f_4c2e_9b7d_4e11_a3c5_77d2_0e9f_b001);

/// A fresh, time-ordered event id.
pub fn new_event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The id of an event whose sender gave it an idempotency key: the same key
/// from the same source always yields the same id.
pub fn idempotent_event_id(tenant: &str, source: &str, key: &str) -> String {
    uuid::Uuid::new_v5(
        &EVENT_ID_NAMESPACE,
        format!("{tenant}\0{source}\0{key}").as_bytes(),
    )
    .to_string()
}

/// Current time in RFC 3339, UTC, always with microseconds
/// (`2026-11-21T06:21:38.020417Z`), so timestamps sort as text and an
/// execution's timing can be read off its record.
pub fn now_rfc3339() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(FORMAT)
        .expect("formatting a valid UTC time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_has_exactly_its_fields() {
        let event = Event {
            id: "e".into(),
            tenant: "t".into(),
            source: "s".into(),
            event_type: "x".into(),
            time: now_rfc3339(),
            data: json!({}),
            metadata: Default::default(),
        };
        let envelope = event.envelope();
        let mut keys: Vec<&str> = envelope
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut fields = ENVELOPE_FIELDS.to_vec();
        keys.sort_unstable();
        fields.sort_unstable();
        assert_eq!(keys, fields);
    }
}
