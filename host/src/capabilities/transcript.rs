//! The transcript of one execution: every host call the guest made, in
//! order, with what the host answered, and every value the guest obtained
//! from the clocks and the random sources. With it an execution is a pure
//! function of its input: a replay ([`Tape::replaying`]) answers each call
//! from the transcript, and nothing leaves the machine.
//!
//! One [`Tape`] per execution is shared by every capability (and by the WASI
//! clocks and random sources, `sandbox::tape_clocks`). Live, it records;
//! replaying, it answers from the source transcript and records what the
//! replay asked, so the two can be compared call by call.
//!
//! Secret values never stay in a transcript: the sandbox redacts it with
//! the execution's record ([`Transcript::scrub`]). A transcript that would
//! outgrow [`MAX_TRANSCRIPT_BYTES`] stops there and says so (`complete`
//! false): it cannot be replayed.

use crate::wit::wolfe::runbook::types::Error as GuestError;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The most a transcript holds, counted as the JSON of its calls plus 8
/// bytes per clock or random value. Past it recording stops.
pub const MAX_TRANSCRIPT_BYTES: usize = 8 * 1024 * 1024;

/// The placeholder of the execution record (`sandbox::redact::REDACTED`).
pub const SECRET_PLACEHOLDER: &str = "[REDACTED]";

/// What a replay hands the guest for a secret of `len` bytes: the
/// placeholder, repeated or cut to that length, so the guest does the same
/// work with it (the same fuel) as with the value. A transcript keeps only
/// the length.
pub fn secret_placeholder(len: usize) -> String {
    SECRET_PLACEHOLDER.chars().cycle().take(len).collect()
}

/// What a replay answers to a call the transcript does not have.
pub const NOT_RECORDED: &str = "not recorded";

/// Everything an execution received from outside its sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transcript {
    /// Capability calls (`log`, `http`, `wasi:http`, `secrets`, `kv`,
    /// `connectors`, `events`), in the order the guest made them.
    pub calls: Vec<HostCall>,
    /// Each reading of the wall clock, in nanoseconds since the epoch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wall_clock_ns: Vec<u64>,
    /// Each reading of the monotonic clock, in nanoseconds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monotonic_clock_ns: Vec<u64>,
    /// The secure random bytes handed out, in order, as hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub random: String,
    /// The insecure random bytes handed out, in order, as hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub insecure_random: String,
    /// The seed `wasi:random/insecure-seed` answers (a u128, in decimal).
    pub insecure_seed: String,
    /// False when recording stopped at [`MAX_TRANSCRIPT_BYTES`].
    pub complete: bool,
    /// The recorded size, as counted against the cap.
    pub bytes: u64,
}

/// One capability call and the host's answer: `{"ok": …}` or
/// `{"error": {"denied" | "invalid" | "failed" | "limited": message}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostCall {
    pub interface: String,
    pub operation: String,
    pub request: Value,
    pub answer: Value,
}

/// What an execution record says of its transcript, which is stored beside
/// it (`GET …/executions/{id}/export` has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TranscriptSummary {
    pub calls: u64,
    /// Its size as stored (compressed).
    pub stored_bytes: u64,
    /// False when it outgrew its cap: the execution cannot be replayed.
    pub complete: bool,
}

impl Transcript {
    /// The transcript as stored: gzip-compressed JSON.
    pub fn compress(&self) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut out, self)?;
        out.flush()?;
        out.finish()
    }

    /// The transcript [`Transcript::compress`] stored.
    pub fn decompress(bytes: &[u8]) -> std::io::Result<Self> {
        let reader = flate2::read::GzDecoder::new(bytes);
        Ok(serde_json::from_reader(std::io::BufReader::new(reader))?)
    }

    pub fn summary(&self, stored_bytes: usize) -> TranscriptSummary {
        TranscriptSummary {
            calls: self.calls.len() as u64,
            stored_bytes: stored_bytes as u64,
            complete: self.complete,
        }
    }

    /// Applies `scrub` to every string the transcript holds (secret values
    /// are replaced by the record's placeholder).
    pub fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        for call in &mut self.calls {
            scrub_value(&mut call.request, scrub);
            scrub_value(&mut call.answer, scrub);
        }
    }
}

fn scrub_value(value: &mut Value, scrub: &dyn Fn(&mut String)) {
    match value {
        Value::String(s) => scrub(s),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, scrub)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_value(v, scrub)),
        _ => {}
    }
}

/// Records, or answers from a transcript, the host calls of one execution.
/// Cheap to clone; the default records nothing.
#[derive(Clone, Default)]
pub struct Tape(Option<Arc<Mutex<TapeState>>>);

struct TapeState {
    recorded: Transcript,
    /// `recorded.insecure_seed`, as a number.
    seed: u128,
    replay: Option<Cursor>,
}

/// How far a replay has read each stream of its source transcript.
struct Cursor {
    source: Arc<Transcript>,
    call: usize,
    wall: usize,
    monotonic: usize,
    random: usize,
    insecure: usize,
}

impl Tape {
    /// Records every call; the insecure seed is `seed`.
    pub fn recording(seed: u128) -> Self {
        Self::with(
            Transcript {
                insecure_seed: seed.to_string(),
                complete: true,
                ..Transcript::default()
            },
            None,
        )
    }

    /// Answers every call from `source`, recording what the replay asks.
    pub fn replaying(source: Arc<Transcript>) -> Self {
        let recorded = Transcript {
            insecure_seed: source.insecure_seed.clone(),
            complete: true,
            ..Transcript::default()
        };
        Self::with(
            recorded,
            Some(Cursor {
                source,
                call: 0,
                wall: 0,
                monotonic: 0,
                random: 0,
                insecure: 0,
            }),
        )
    }

    fn with(recorded: Transcript, replay: Option<Cursor>) -> Self {
        let seed = recorded.insecure_seed.parse().unwrap_or_default();
        Self(Some(Arc::new(Mutex::new(TapeState {
            recorded,
            seed,
            replay,
        }))))
    }

    fn state(&self) -> Option<std::sync::MutexGuard<'_, TapeState>> {
        self.0
            .as_ref()
            .map(|s| s.lock().expect("transcript lock poisoned"))
    }

    /// The seed `wasi:random/insecure-seed` answers on this tape.
    pub fn insecure_seed(&self) -> Option<u128> {
        Some(self.state()?.seed)
    }

    /// Whether calls are recorded (live or in a replay).
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Whether answers come from a transcript rather than the world.
    pub fn is_replaying(&self) -> bool {
        self.state().is_some_and(|s| s.replay.is_some())
    }

    /// In a replay, the recorded answer to this call — or `failed("not
    /// recorded")` when the transcript's next call is another one — and the
    /// call is recorded with it. `None` when live: make the call, then
    /// [`Tape::record`] it.
    pub fn replay(&self, interface: &str, operation: &str, request: &Value) -> Option<Value> {
        let mut state = self.state()?;
        let cursor = state.replay.as_mut()?;
        let answer = match cursor.source.calls.get(cursor.call) {
            Some(call)
                if call.interface == interface
                    && call.operation == operation
                    && call.request == *request =>
            {
                cursor.call += 1;
                call.answer.clone()
            }
            _ => error_value(&GuestError::Failed(NOT_RECORDED.into())),
        };
        push_call(
            &mut state.recorded,
            interface,
            operation,
            request.clone(),
            answer.clone(),
        );
        Some(answer)
    }

    /// Records a live call and its answer.
    pub fn record(&self, interface: &str, operation: &str, request: Value, answer: Value) {
        if let Some(mut state) = self.state() {
            push_call(&mut state.recorded, interface, operation, request, answer);
        }
    }

    /// Takes the next place in the transcript for a call whose request and
    /// answer come later: a `fetch()`, which a JavaScript runbook may leave
    /// in flight beside others. Places are taken in the order the guest
    /// makes its calls, so calls in flight together are recorded, and
    /// replayed, in that order rather than the order they finished. `None`
    /// when the tape is off.
    pub fn reserve(&self, interface: &str, operation: &str) -> Option<Slot> {
        let mut state = self.state()?;
        let index = state.recorded.calls.len();
        let source_index = state.replay.as_mut().map(|cursor| {
            cursor.call += 1;
            cursor.call - 1
        });
        if state.recorded.complete {
            state.recorded.calls.push(HostCall {
                interface: interface.to_string(),
                operation: operation.to_string(),
                request: Value::Null,
                answer: Value::Null,
            });
        }
        Some(Slot {
            interface: interface.to_string(),
            operation: operation.to_string(),
            index,
            source_index,
        })
    }

    /// In a replay, the answer recorded at `slot`'s place — or `failed("not
    /// recorded")` when that call asked something else — filled in. `None`
    /// when live: make the call, then [`Tape::fill`] the slot.
    pub fn replay_slot(&self, slot: &Slot, request: &Value) -> Option<Value> {
        let source_index = slot.source_index?;
        let mut state = self.state()?;
        let source = state.replay.as_ref()?.source.clone();
        let answer = match source.calls.get(source_index) {
            Some(call)
                if call.interface == slot.interface
                    && call.operation == slot.operation
                    && call.request == *request =>
            {
                call.answer.clone()
            }
            _ => error_value(&GuestError::Failed(NOT_RECORDED.into())),
        };
        fill_call(
            &mut state.recorded,
            slot.index,
            request.clone(),
            answer.clone(),
        );
        Some(answer)
    }

    /// Records a reserved call's request and answer.
    pub fn fill(&self, slot: Slot, request: Value, answer: Value) {
        if let Some(mut state) = self.state() {
            fill_call(&mut state.recorded, slot.index, request, answer);
        }
    }

    /// A wall clock reading: recorded live, answered from the transcript in
    /// a replay (after its last reading, the last one again).
    pub fn wall_clock(&self, live: impl FnOnce() -> u64) -> u64 {
        self.clock(
            live,
            |t| &mut t.wall_clock_ns,
            |c| (&c.source.wall_clock_ns, &mut c.wall),
        )
    }

    /// A monotonic clock reading, as [`Tape::wall_clock`].
    pub fn monotonic_clock(&self, live: impl FnOnce() -> u64) -> u64 {
        self.clock(
            live,
            |t| &mut t.monotonic_clock_ns,
            |c| (&c.source.monotonic_clock_ns, &mut c.monotonic),
        )
    }

    fn clock(
        &self,
        live: impl FnOnce() -> u64,
        stream: fn(&mut Transcript) -> &mut Vec<u64>,
        cursor: fn(&mut Cursor) -> (&Vec<u64>, &mut usize),
    ) -> u64 {
        let Some(mut state) = self.state() else {
            return live();
        };
        let value = match state.replay.as_mut() {
            Some(c) => {
                let (recorded, next) = cursor(c);
                let value = recorded
                    .get(*next)
                    .or(recorded.last())
                    .copied()
                    .unwrap_or(0);
                *next += 1;
                value
            }
            None => live(),
        };
        if reserve(&mut state.recorded, 8) {
            stream(&mut state.recorded).push(value);
        }
        value
    }

    /// Random bytes into `dest`: from `live` and recorded, or from the
    /// transcript in a replay (zeros past its end).
    pub fn random(&self, secure: bool, dest: &mut [u8], live: impl FnOnce(&mut [u8])) {
        let Some(mut state) = self.state() else {
            return live(dest);
        };
        match state.replay.as_mut() {
            Some(c) => {
                let (hex_bytes, next) = if secure {
                    (&c.source.random, &mut c.random)
                } else {
                    (&c.source.insecure_random, &mut c.insecure)
                };
                for byte in dest.iter_mut() {
                    *byte = hex_bytes
                        .get(*next * 2..*next * 2 + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .unwrap_or(0);
                    *next += 1;
                }
            }
            None => live(dest),
        }
        if reserve(&mut state.recorded, dest.len()) {
            let stream = if secure {
                &mut state.recorded.random
            } else {
                &mut state.recorded.insecure_random
            };
            stream.push_str(&hex::encode(&*dest));
        }
    }

    /// What was recorded, once the execution is over.
    pub fn finish(&self) -> Option<Transcript> {
        self.state().map(|mut s| std::mem::take(&mut s.recorded))
    }
}

/// A reserved place in the transcript ([`Tape::reserve`]).
pub struct Slot {
    /// The call, as [`Tape::replay`] compares it.
    interface: String,
    operation: String,
    /// Where the call goes in what is recorded.
    index: usize,
    /// In a replay, which recorded call answers it.
    source_index: Option<usize>,
}

fn fill_call(transcript: &mut Transcript, index: usize, request: Value, answer: Value) {
    let size = json_len(&request) + json_len(&answer);
    let fits = reserve(transcript, size);
    if let Some(call) = transcript.calls.get_mut(index).filter(|_| fits) {
        call.request = request;
        call.answer = answer;
    }
}

/// Counts `bytes` against the cap; false (and the transcript marked
/// incomplete) when they do not fit.
fn reserve(transcript: &mut Transcript, bytes: usize) -> bool {
    if !transcript.complete {
        return false;
    }
    if transcript.bytes as usize + bytes > MAX_TRANSCRIPT_BYTES {
        transcript.complete = false;
        return false;
    }
    transcript.bytes += bytes as u64;
    true
}

fn push_call(
    transcript: &mut Transcript,
    interface: &str,
    operation: &str,
    request: Value,
    answer: Value,
) {
    let size = json_len(&request) + json_len(&answer) + interface.len() + operation.len();
    if reserve(transcript, size) {
        transcript.calls.push(HostCall {
            interface: interface.to_string(),
            operation: operation.to_string(),
            request,
            answer,
        });
    }
}

/// About the size of `value` as JSON (strings unescaped), counted without
/// writing it out: this runs on every recorded call.
fn json_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 20,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_len(v) + 1).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 4 + json_len(v))
                .sum::<usize>()
        }
    }
}

/// `{"ok": value}`.
pub fn ok_value(value: Value) -> Value {
    json!({ "ok": value })
}

/// A guest error as a transcript answer.
pub fn error_value(e: &GuestError) -> Value {
    let (kind, message) = match e {
        GuestError::Denied(m) => ("denied", m),
        GuestError::Invalid(m) => ("invalid", m),
        GuestError::Failed(m) => ("failed", m),
        GuestError::Limited(m) => ("limited", m),
    };
    json!({ "error": { kind: message } })
}

/// An answer as the result the guest gets: `ok` through `decode`, an error
/// as itself; anything else (a transcript edited by hand) fails the call.
pub fn answer_result<T>(
    answer: &Value,
    decode: impl FnOnce(&Value) -> Option<T>,
) -> Result<T, GuestError> {
    if let Some(ok) = answer.get("ok") {
        return decode(ok).ok_or_else(|| GuestError::Failed(NOT_RECORDED.into()));
    }
    let error = answer
        .get("error")
        .and_then(Value::as_object)
        .and_then(|e| e.iter().next());
    let message = |m: &Value| m.as_str().unwrap_or_default().to_string();
    Err(match error {
        Some((kind, m)) if kind == "denied" => GuestError::Denied(message(m)),
        Some((kind, m)) if kind == "invalid" => GuestError::Invalid(message(m)),
        Some((kind, m)) if kind == "limited" => GuestError::Limited(message(m)),
        Some((_, m)) => GuestError::Failed(message(m)),
        None => GuestError::Failed(NOT_RECORDED.into()),
    })
}

/// The answer for a result: `ok` through `encode`, or the error.
pub fn result_value<T>(result: &Result<T, GuestError>, encode: impl FnOnce(&T) -> Value) -> Value {
    match result {
        Ok(v) => ok_value(encode(v)),
        Err(e) => error_value(e),
    }
}

/// Bytes as JSON: `{"text": …}` when they are UTF-8, else `{"base64": …}`.
pub fn bytes_value(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!({ "text": text }),
        Err(_) => json!({ "base64": base64::engine::general_purpose::STANDARD.encode(bytes) }),
    }
}

/// The bytes [`bytes_value`] wrote.
pub fn value_bytes(value: &Value) -> Option<Vec<u8>> {
    if let Some(text) = value.get("text").and_then(Value::as_str) {
        return Some(text.as_bytes().to_vec());
    }
    let encoded = value.get("base64")?.as_str()?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_answers_in_order_and_refuses_what_differs() {
        let live = Tape::recording(7);
        live.record("kv", "get", json!({"key": "a"}), ok_value(json!(null)));
        live.record(
            "kv",
            "get",
            json!({"key": "b"}),
            ok_value(json!({"text": "1"})),
        );
        let mut bytes = [0u8; 4];
        live.random(true, &mut bytes, |d| d.copy_from_slice(&[1, 2, 3, 4]));
        assert_eq!(live.wall_clock(|| 42), 42);
        let source = Arc::new(live.finish().unwrap());
        assert_eq!(source.random, "01020304");

        let replay = Tape::replaying(source.clone());
        assert!(replay.is_replaying());
        let first = replay.replay("kv", "get", &json!({"key": "a"})).unwrap();
        assert_eq!(first, source.calls[0].answer);
        // The next recorded call is for "b": "c" is not recorded.
        let other = replay.replay("kv", "get", &json!({"key": "c"})).unwrap();
        let refused = answer_result(&other, |_| Some(()));
        assert!(matches!(refused, Err(GuestError::Failed(m)) if m == NOT_RECORDED));
        let mut again = [0u8; 4];
        replay.random(true, &mut again, |_| {
            panic!("a replay never draws randomness")
        });
        assert_eq!(again, [1, 2, 3, 4]);
        assert_eq!(replay.wall_clock(|| panic!("nor reads the clock")), 42);
        let replayed = replay.finish().unwrap();
        assert_eq!(replayed.calls.len(), 2);
        assert_eq!(replayed.calls[1].request, json!({"key": "c"}));
    }

    #[test]
    fn calls_in_flight_together_keep_the_order_they_were_made_in() {
        let live = Tape::recording(1);
        let first = live.reserve("wasi:http", "send").unwrap();
        let second = live.reserve("wasi:http", "send").unwrap();
        // The second finishes first.
        live.fill(second, json!("b"), ok_value(json!(2)));
        live.fill(first, json!("a"), ok_value(json!(1)));
        let source = Arc::new(live.finish().unwrap());
        assert_eq!(source.calls[0].request, json!("a"));

        let replay = Tape::replaying(source);
        let first = replay.reserve("wasi:http", "send").unwrap();
        let second = replay.reserve("wasi:http", "send").unwrap();
        assert_eq!(
            replay.replay_slot(&second, &json!("b")),
            Some(ok_value(json!(2)))
        );
        assert_eq!(
            replay.replay_slot(&first, &json!("a")),
            Some(ok_value(json!(1)))
        );
        let replayed = replay.finish().unwrap();
        assert_eq!(replayed.calls[1].answer, ok_value(json!(2)));
    }

    #[test]
    fn a_transcript_over_its_cap_stops_and_says_so() {
        let tape = Tape::recording(0);
        let big = "x".repeat(MAX_TRANSCRIPT_BYTES / 2);
        for _ in 0..3 {
            tape.record("log", "log", json!({ "message": big }), json!(null));
        }
        let transcript = tape.finish().unwrap();
        assert!(!transcript.complete);
        assert_eq!(transcript.calls.len(), 1);
        assert!(transcript.bytes as usize <= MAX_TRANSCRIPT_BYTES);
    }

    #[test]
    fn a_stored_transcript_reads_back_the_same() {
        let tape = Tape::recording(9);
        tape.record(
            "kv",
            "get",
            json!({"key": "k"}),
            ok_value(json!({"text": "v"})),
        );
        let transcript = tape.finish().unwrap();
        let stored = transcript.compress().unwrap();
        assert_eq!(Transcript::decompress(&stored).unwrap(), transcript);
        assert!(Transcript::decompress(b"not gzip").is_err());
    }

    #[test]
    fn answers_round_trip() {
        for e in [
            GuestError::Denied("d".into()),
            GuestError::Invalid("i".into()),
            GuestError::Failed("f".into()),
            GuestError::Limited("l".into()),
        ] {
            let back = answer_result(&error_value(&e), |_| Some(()));
            assert_eq!(format!("{:?}", back.unwrap_err()), format!("{e:?}"));
        }
        for bytes in [b"plain".to_vec(), vec![0xff, 0, 1]] {
            assert_eq!(value_bytes(&bytes_value(&bytes)).unwrap(), bytes);
        }
    }
}
