//! The `log` capability and the execution log it writes to. Guest stdout and
//! stderr land in the same log (see `sandbox::output`), so all the text a
//! runbook produces is bounded by one budget: [`MAX_LOG_BYTES`] and
//! [`MAX_LOG_ENTRIES`]. Past the budget entries are dropped, and the finished
//! log ends with a marker entry saying how many were.

use crate::capabilities::limits::{MAX_LOG_BYTES, MAX_LOG_ENTRIES};
use crate::capabilities::transcript::{Recorded, Tape, text_size};
use crate::wit::wolfe::runbook::log::{Host, Level};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    Log,
    Stdout,
    Stderr,
    /// Written by the host itself (the truncation marker).
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One log line of an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogEntry {
    /// Milliseconds since the execution started.
    pub at_ms: u64,
    pub level: LogLevel,
    pub source: LogSource,
    pub message: String,
}

/// The bounded log of one execution. Shared (behind a mutex) between the log
/// capability and the captured stdout/stderr streams.
#[derive(Debug)]
pub struct ExecutionLog {
    started: Instant,
    entries: Vec<LogEntry>,
    bytes: usize,
    dropped_entries: u64,
    dropped_bytes: u64,
}

pub type SharedLog = Arc<Mutex<ExecutionLog>>;

impl ExecutionLog {
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            entries: Vec::new(),
            bytes: 0,
            dropped_entries: 0,
            dropped_bytes: 0,
        }
    }

    pub fn shared(started: Instant) -> SharedLog {
        Arc::new(Mutex::new(Self::new(started)))
    }

    /// Appends one entry, or counts it as dropped when the budget is spent.
    /// A message that only partly fits is cut at a character boundary.
    pub fn push(&mut self, level: LogLevel, source: LogSource, message: &str) {
        let room = MAX_LOG_BYTES.saturating_sub(self.bytes);
        if self.entries.len() >= MAX_LOG_ENTRIES || room == 0 {
            self.dropped_entries += 1;
            self.dropped_bytes += message.len() as u64;
            return;
        }
        let kept = truncate_at_char_boundary(message, room);
        if kept.len() < message.len() {
            self.dropped_bytes += (message.len() - kept.len()) as u64;
        }
        self.bytes += kept.len();
        self.entries.push(LogEntry {
            at_ms: self.started.elapsed().as_millis() as u64,
            level,
            source,
            message: kept.to_string(),
        });
    }

    /// The entries, ending with a truncation marker when anything was dropped.
    pub fn finish(mut self) -> Vec<LogEntry> {
        if self.dropped_entries > 0 || self.dropped_bytes > 0 {
            self.entries.push(LogEntry {
                at_ms: self.started.elapsed().as_millis() as u64,
                level: LogLevel::Warn,
                source: LogSource::Host,
                message: format!(
                    "[log truncated: {} entries and {} bytes dropped; limits are {} entries, {} bytes]",
                    self.dropped_entries, self.dropped_bytes, MAX_LOG_ENTRIES, MAX_LOG_BYTES
                ),
            });
        }
        self.entries
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character.
pub(crate) fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl From<Level> for LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

/// The `log` interface's per-execution state: the execution's log, which the
/// guest's stdout and stderr also write to.
pub struct LogState {
    log: SharedLog,
    tape: Tape,
}

impl LogState {
    pub fn new(log: SharedLog, tape: Tape) -> Self {
        Self { log, tape }
    }
}

impl Host for LogState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = LogLevel::from(level);
        // Nothing is answered; a replay only checks the call was made.
        let replayed = self.tape.replay(
            "log",
            "log",
            || LogCall::request_value(level, &message),
            || None,
        );
        if replayed.is_none() && self.tape.is_on() {
            self.tape.record(LogCall {
                level,
                message: message.clone(),
            });
        }
        self.log
            .lock()
            .expect("execution log lock poisoned")
            .push(level, LogSource::Log, &message);
        Ok(())
    }
}

/// A `log` call as a transcript keeps it.
#[derive(Debug)]
struct LogCall {
    level: LogLevel,
    message: String,
}

impl LogCall {
    fn request_value(level: LogLevel, message: &str) -> serde_json::Value {
        serde_json::json!({ "level": level, "message": message })
    }
}

impl Recorded for LogCall {
    fn interface(&self) -> &'static str {
        "log"
    }

    fn operation(&self) -> &'static str {
        "log"
    }

    fn request(&self) -> serde_json::Value {
        Self::request_value(self.level, &self.message)
    }

    fn answer(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        scrub(&mut self.message);
    }

    fn size(&self) -> usize {
        text_size(&self.message) + 20
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_and_marked() {
        let mut log = ExecutionLog::new(Instant::now());
        for i in 0..(MAX_LOG_ENTRIES + 10) {
            log.push(LogLevel::Info, LogSource::Log, &format!("line {i}"));
        }
        let entries = log.finish();
        assert_eq!(entries.len(), MAX_LOG_ENTRIES + 1);
        let marker = entries.last().unwrap();
        assert_eq!(marker.source, LogSource::Host);
        assert!(marker.message.contains("10 entries"), "{}", marker.message);
    }

    #[test]
    fn byte_budget_cuts_at_a_character_boundary() {
        let mut log = ExecutionLog::new(Instant::now());
        let big = "é".repeat(MAX_LOG_BYTES); // two bytes each
        log.push(LogLevel::Info, LogSource::Stdout, &big);
        let entries = log.finish();
        assert_eq!(entries[0].message.len(), MAX_LOG_BYTES);
        assert!(entries[1].message.contains("log truncated"));
    }

    #[test]
    fn nothing_dropped_means_no_marker() {
        let mut log = ExecutionLog::new(Instant::now());
        log.push(LogLevel::Warn, LogSource::Log, "hello");
        assert_eq!(log.finish().len(), 1);
    }
}
