//! `events.emit`: a runbook puts an event into the pipeline for other rules
//! to act on, when its manifest says `capabilities.emit = true`. The host
//! gives each event an id derived from the execution and the call's place
//! in it (a resumed execution emits nothing twice) and bounds chains of
//! runbooks started by emitted events.

use super::describe;
use super::trail::{DRY_RUN, SharedTrail};
use super::transcript::{
    Recorded, Tape, answer_result, result_size, result_value, scrub_error, text_size,
};
use crate::wit::wolfe::runbook::events::Host;
use crate::wit::wolfe::runbook::types::Error as GuestError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;

/// Events one execution may emit.
pub const MAX_EMITS_PER_EXECUTION: u32 = 100;
/// The longest event type.
pub const MAX_EVENT_TYPE_BYTES: usize = 128;

/// Why an emit did not go through.
#[derive(Debug)]
pub enum EmitError {
    /// The chain is as deep as it may be.
    Limited(String),
    Failed(String),
}

/// Where an execution's events go: the pipeline, in the service.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Emits the execution's `seq`-th event (0, 1, …); returns its id.
    async fn emit(
        &self,
        seq: u32,
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<String, EmitError>;
}

/// The `events` interface's per-execution state.
pub struct EventsState {
    /// Whether the manifest declares `capabilities.emit = true`.
    granted: bool,
    /// Where events go; `None` outside the service.
    sink: Option<Arc<dyn EventSink>>,
    /// Events emitted so far (each one's place in the execution).
    emitted: u32,
    dry_run: bool,
    trail: SharedTrail,
    tape: Tape,
}

impl EventsState {
    pub fn new(
        granted: bool,
        sink: Option<Arc<dyn EventSink>>,
        dry_run: bool,
        trail: SharedTrail,
        tape: Tape,
    ) -> Self {
        Self {
            granted,
            sink,
            emitted: 0,
            dry_run,
            trail,
            tape,
        }
    }
}

impl Host for EventsState {
    async fn emit(
        &mut self,
        event_type: String,
        data: String,
    ) -> wasmtime::Result<Result<String, GuestError>> {
        let request = || EmitCall::request_value(&event_type, &data);
        let refusal = || (!self.granted).then(not_granted);
        if let Some(answer) = self.tape.replay("events", "emit", request, refusal) {
            return Ok(answer_result(&answer, |v| v.as_str().map(str::to_string)));
        }
        let result = self.emit_checked(&event_type, &data).await;
        if self.tape.is_on() {
            self.tape.record(EmitCall {
                event_type,
                data,
                answer: result.clone(),
            });
        }
        Ok(result)
    }
}

fn not_granted() -> GuestError {
    GuestError::Denied(
        "emitting events is not declared in the manifest (capabilities.emit = true)".into(),
    )
}

/// An `events` call as a transcript keeps it.
#[derive(Debug)]
struct EmitCall {
    event_type: String,
    data: String,
    answer: Result<String, GuestError>,
}

impl EmitCall {
    fn request_value(event_type: &str, data: &str) -> serde_json::Value {
        serde_json::json!({ "type": event_type, "data": data })
    }
}

impl Recorded for EmitCall {
    fn interface(&self) -> &'static str {
        "events"
    }

    fn operation(&self) -> &'static str {
        "emit"
    }

    fn request(&self) -> serde_json::Value {
        Self::request_value(&self.event_type, &self.data)
    }

    fn answer(&self) -> serde_json::Value {
        result_value(&self.answer, |id| serde_json::Value::String(id.clone()))
    }

    fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        scrub(&mut self.event_type);
        scrub(&mut self.data);
        match &mut self.answer {
            Ok(id) => scrub(id),
            Err(e) => scrub_error(e, scrub),
        }
    }

    fn size(&self) -> usize {
        text_size(&self.event_type)
            + text_size(&self.data)
            + result_size(&self.answer, |id| text_size(id))
    }
}

impl EventsState {
    async fn emit_checked(&mut self, event_type: &str, data: &str) -> Result<String, GuestError> {
        let started = Instant::now();
        let seq = self.emitted;
        let result = self.try_emit(seq, event_type, data).await;
        let (allowed, outcome) = match &result {
            Ok(_) if self.dry_run => (true, DRY_RUN.to_string()),
            Ok(id) => (true, format!("ok: {id}")),
            Err(e @ GuestError::Denied(_)) => (false, describe(e)),
            Err(e) => (true, describe(e)),
        };
        self.trail
            .record("events", "emit", event_type, allowed, outcome, started);
        result
    }
}

impl EventsState {
    async fn try_emit(
        &mut self,
        seq: u32,
        event_type: &str,
        data: &str,
    ) -> Result<String, GuestError> {
        if !self.granted {
            return Err(not_granted());
        }
        if event_type.is_empty()
            || event_type.len() > MAX_EVENT_TYPE_BYTES
            || event_type.chars().any(char::is_control)
        {
            return Err(GuestError::Invalid(format!(
                "the event type must be 1 to {MAX_EVENT_TYPE_BYTES} bytes without control characters"
            )));
        }
        let data: serde_json::Value = serde_json::from_str(data)
            .map_err(|e| GuestError::Invalid(format!("the event data is not JSON: {e}")))?;
        if seq >= MAX_EMITS_PER_EXECUTION {
            return Err(GuestError::Limited(format!(
                "at most {MAX_EMITS_PER_EXECUTION} events per execution"
            )));
        }
        self.emitted += 1;
        if self.dry_run {
            // Withheld like every other write of a dry run.
            return Ok(format!("dry-run:{seq}"));
        }
        let Some(sink) = &self.sink else {
            return Err(GuestError::Failed(
                "this host has no pipeline to emit into (wolfe run)".into(),
            ));
        };
        sink.emit(seq, event_type, data).await.map_err(|e| match e {
            EmitError::Limited(m) => GuestError::Limited(m),
            EmitError::Failed(m) => GuestError::Failed(m),
        })
    }
}
