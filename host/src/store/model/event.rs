//! The event as stored in the event log: what a source reported, and when
//! Wolfe accepted it. Ids, timestamps and the envelope rules see live in
//! `ingest::event`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub id: String,
    pub tenant: String,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339, when Wolfe accepted the event.
    pub time: String,
    pub data: Value,
    /// Transport facts (e.g. SQS message attributes); empty for webhooks.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}
