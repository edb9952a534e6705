//! Events runbooks emit (`events.emit`): source `runbook:{name}`, matched
//! by rules like any event, so a diagnostic runbook hands its findings to a
//! remediation runbook through a rule with its own policy. An event's id is
//! derived from the emitting execution and the call's place in it, so an
//! execution resumed after a crash emits nothing twice; chains of runbooks
//! started by emitted events are bounded (`max_chain_depth`, default
//! [`DEFAULT_MAX_CHAIN_DEPTH`]).

use super::event::{Event, idempotent_event_id, now_rfc3339};
use crate::capabilities::events::{EmitError, EventSink};
use crate::pipeline::Pipeline;
use async_trait::async_trait;
use serde_json::{Map, Value, json};

/// How deep a chain may go unless configured: an execution started by an
/// event its predecessor emitted is one deeper than it.
pub const DEFAULT_MAX_CHAIN_DEPTH: u32 = 5;
/// The deepest chain a host may be configured to allow.
pub const MAX_CHAIN_DEPTH: u32 = 20;

/// The source of a runbook's events.
pub fn source_of(runbook: &str) -> String {
    format!("runbook:{runbook}")
}

/// One execution's emitted events, into the pipeline.
pub struct EmittedEvents {
    pub pipeline: Pipeline,
    pub tenant: String,
    pub runbook: String,
    pub execution: String,
    /// The emitting execution's depth (0: started by an outside event).
    pub chain: u32,
    /// The deepest event it may emit.
    pub max_depth: u32,
}

#[async_trait]
impl EventSink for EmittedEvents {
    async fn emit(&self, seq: u32, event_type: &str, data: Value) -> Result<String, EmitError> {
        let depth = self.chain + 1;
        if depth > self.max_depth {
            return Err(EmitError::Limited(format!(
                "this execution is {} deep in a chain of emitted events (at most {})",
                self.chain, self.max_depth
            )));
        }
        let source = source_of(&self.runbook);
        let mut metadata = Map::new();
        metadata.insert("chain".into(), json!(depth));
        metadata.insert("emitted_by".into(), json!(self.execution));
        let event = Event {
            id: idempotent_event_id(&self.tenant, &source, &format!("{}/{seq}", self.execution)),
            tenant: self.tenant.clone(),
            source,
            event_type: event_type.to_string(),
            time: now_rfc3339(),
            data,
            metadata,
        };
        let accepted = self
            .pipeline
            .accept(&self.tenant, vec![event])
            .await
            .map_err(|e| EmitError::Failed(e.to_string()))?;
        Ok(accepted
            .into_iter()
            .next()
            .map(|a| a.event_id)
            .unwrap_or_default())
    }
}

/// The chain depth and emitter an event carries (0 and none for events
/// from outside).
pub fn chain_of(event: &Event) -> (u32, Option<String>) {
    let depth = event
        .metadata
        .get("chain")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32;
    let by = event
        .metadata
        .get("emitted_by")
        .and_then(Value::as_str)
        .map(str::to_string);
    (depth, by)
}
