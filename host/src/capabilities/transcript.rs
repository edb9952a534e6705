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
//! A live call is kept in its capability's own types ([`Recorded`]), which
//! costs a clone of what was asked and answered; it is written out as JSON
//! ([`HostCall`]) only when the transcript is stored, exported or compared.
//!
//! Secret values never stay in a transcript: the sandbox redacts it with
//! the execution's record ([`Transcript::scrub`]). A transcript that would
//! outgrow [`MAX_TRANSCRIPT_BYTES`] stops there and says so (`complete`
//! false): it cannot be replayed.

use crate::redaction::Redactor;
use crate::wit::wolfe::runbook::types::Error as GuestError;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

/// The most a transcript holds, counted as about the JSON of its calls plus 8
/// bytes per clock or random value. Past it recording stops.
pub const MAX_TRANSCRIPT_BYTES: usize = 8 * 1024 * 1024;

/// A stored transcript whose JSON is longer is gzip-compressed.
pub const COMPRESS_ABOVE: usize = 4096;

/// How a gzip stream starts (RFC 1952); a JSON transcript starts with `{`.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What a replay hands the guest for a secret of `len` bytes (a transcript
/// keeps only the length): `~` that many times, so the guest does the same
/// work with it (the same fuel) as with the value. The replay redacts it
/// like a secret, so a request carrying it compares equal to the recorded
/// one, which carries `[REDACTED]` where the value was. Not made of the
/// placeholder itself: redacting a stand-in such as `[RED` would also
/// mangle every `[REDACTED]` already in the answers the replay copies.
pub fn secret_stand_in(len: usize) -> String {
    "~".repeat(len)
}

/// What a replay answers to a call the transcript does not have.
pub const NOT_RECORDED: &str = "not recorded";

/// Everything an execution received from outside its sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transcript {
    /// Capability calls (`log`, `http`, `wasi:http`, `secrets`, `kv`,
    /// `connectors`, `events`), in the order the guest made them.
    #[schema(value_type = Vec<HostCall>)]
    pub calls: Vec<Call>,
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

/// A capability call as its capability recorded it, live: the request and
/// the answer in the capability's own types. Recording one costs a clone;
/// its JSON is written only when asked for.
pub trait Recorded: std::fmt::Debug + Send + Sync {
    fn interface(&self) -> &'static str;
    fn operation(&self) -> &'static str;
    /// The request as JSON: what a replay compares.
    fn request(&self) -> Value;
    /// The answer as JSON (see [`HostCall`]).
    fn answer(&self) -> Value;
    /// Applies `scrub` to every string of the request and the answer that
    /// came from the guest or the world.
    fn scrub(&mut self, scrub: &dyn Fn(&mut String));
    /// About its request and answer's size as JSON, counted against the cap.
    fn size(&self) -> usize;
}

/// One call of a [`Transcript`]: as a capability recorded it, or as read
/// back from JSON. Either way it serializes as a [`HostCall`].
pub struct Call(CallForm);

enum CallForm {
    Written(HostCall),
    Live(Box<dyn Recorded>),
}

impl Call {
    pub fn interface(&self) -> &str {
        match &self.0 {
            CallForm::Written(call) => &call.interface,
            CallForm::Live(call) => call.interface(),
        }
    }

    pub fn operation(&self) -> &str {
        match &self.0 {
            CallForm::Written(call) => &call.operation,
            CallForm::Live(call) => call.operation(),
        }
    }

    pub fn request(&self) -> Cow<'_, Value> {
        match &self.0 {
            CallForm::Written(call) => Cow::Borrowed(&call.request),
            CallForm::Live(call) => Cow::Owned(call.request()),
        }
    }

    pub fn answer(&self) -> Cow<'_, Value> {
        match &self.0 {
            CallForm::Written(call) => Cow::Borrowed(&call.answer),
            CallForm::Live(call) => Cow::Owned(call.answer()),
        }
    }

    /// The call as JSON.
    pub fn host_call(&self) -> Cow<'_, HostCall> {
        match &self.0 {
            CallForm::Written(call) => Cow::Borrowed(call),
            CallForm::Live(call) => Cow::Owned(HostCall {
                interface: call.interface().to_string(),
                operation: call.operation().to_string(),
                request: call.request(),
                answer: call.answer(),
            }),
        }
    }

    /// Whether this call asks what `interface`, `operation` and `request`
    /// ask: a replay answers only such a call.
    pub fn asks(&self, interface: &str, operation: &str, request: &Value) -> bool {
        self.interface() == interface
            && self.operation() == operation
            && *self.request() == *request
    }

    fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        match &mut self.0 {
            CallForm::Written(call) => {
                scrub_value(&mut call.request, scrub);
                scrub_value(&mut call.answer, scrub);
            }
            CallForm::Live(call) => call.scrub(scrub),
        }
    }

    fn written(interface: &str, operation: &str, request: Value, answer: Value) -> Self {
        Self(CallForm::Written(HostCall {
            interface: interface.to_string(),
            operation: operation.to_string(),
            request,
            answer,
        }))
    }
}

impl From<HostCall> for Call {
    fn from(call: HostCall) -> Self {
        Self(CallForm::Written(call))
    }
}

/// A clone is written out: a live call's types need not be `Clone`.
impl Clone for Call {
    fn clone(&self) -> Self {
        Self(CallForm::Written(self.host_call().into_owned()))
    }
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        self.host_call() == other.host_call()
    }
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.host_call().fmt(f)
    }
}

impl Serialize for Call {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.host_call().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        HostCall::deserialize(deserializer).map(Call::from)
    }
}

/// What an execution record says of its transcript, which is stored beside
/// it (`GET …/executions/{id}/export` has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TranscriptSummary {
    pub calls: u64,
    /// Its size as stored (compressed when large).
    pub stored_bytes: u64,
    /// False when it outgrew its cap: the execution cannot be replayed.
    pub complete: bool,
}

impl Transcript {
    /// The transcript as stored: its JSON, gzip-compressed when longer than
    /// [`COMPRESS_ABOVE`] bytes. Below that gzip saves little (a small
    /// transcript comes out larger, with its header) and costs more than
    /// the execution did: its compressor is made anew each time.
    pub fn to_stored(&self) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        let json = serde_json::to_vec(self)?;
        if json.len() <= COMPRESS_ABOVE {
            return Ok(json);
        }
        let mut out = flate2::write::GzEncoder::new(
            Vec::with_capacity(json.len() / 4),
            flate2::Compression::fast(),
        );
        out.write_all(&json)?;
        out.finish()
    }

    /// The transcript [`Transcript::to_stored`] stored, compressed or not.
    pub fn from_stored(bytes: &[u8]) -> std::io::Result<Self> {
        if !bytes.starts_with(&GZIP_MAGIC) {
            return Ok(serde_json::from_slice(bytes)?);
        }
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
            call.scrub(scrub);
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
pub struct Tape(Option<Arc<TapeInner>>);

struct TapeInner {
    /// Whether answers come from a source transcript: fixed for the
    /// execution, so asking takes no lock.
    replaying: bool,
    state: Mutex<TapeState>,
}

struct TapeState {
    recorded: Transcript,
    /// In a replay, the secrets' stand-ins handed out so far, as a
    /// redactor: a request is redacted with it before it is compared.
    stand_ins: Vec<String>,
    redactor: Option<Redactor>,
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
        Self(Some(Arc::new(TapeInner {
            replaying: replay.is_some(),
            state: Mutex::new(TapeState {
                recorded,
                stand_ins: Vec::new(),
                redactor: None,
                seed,
                replay,
            }),
        })))
    }

    fn state(&self) -> Option<std::sync::MutexGuard<'_, TapeState>> {
        self.0
            .as_ref()
            .map(|s| s.state.lock().expect("transcript lock poisoned"))
    }

    /// The seed `wasi:random/insecure-seed` answers on this tape.
    pub fn insecure_seed(&self) -> Option<u128> {
        Some(self.state()?.seed)
    }

    /// Whether calls are recorded (live or in a replay).
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Whether answers come from a transcript rather than the world: the
    /// capability asks [`Tape::replay`] instead of making the call.
    pub fn is_replaying(&self) -> bool {
        self.0.as_ref().is_some_and(|inner| inner.replaying)
    }

    /// In a replay, the recorded answer to this call — or `failed("not
    /// recorded")` when the transcript's next call is another one — and the
    /// call is recorded with it. `None` when live: make the call, then
    /// [`Tape::record`] it. `request` is only written out in a replay.
    ///
    /// `refusal` is what the runbook being replayed (another build, maybe,
    /// with other grants) may not do: its manifest is checked as it would
    /// be live, and a refused call is answered with the refusal instead.
    pub fn replay(
        &self,
        interface: &str,
        operation: &str,
        request: impl FnOnce() -> Value,
        refusal: impl FnOnce() -> Option<GuestError>,
    ) -> Option<Value> {
        if !self.is_replaying() {
            return None;
        }
        let request = request();
        let refused = refusal();
        let mut state = self.state()?;
        let probe = redacted(state.redactor.as_ref(), &request);
        let cursor = state.replay.as_mut()?;
        let source = cursor.source.calls.get(cursor.call);
        let (asked, answer) = replayed_answer(source, interface, operation, &probe, refused);
        if asked {
            cursor.call += 1;
        }
        let size = json_len(&request) + json_len(&answer);
        push_call(
            &mut state.recorded,
            size,
            Call::written(interface, operation, request, answer.clone()),
        );
        Some(answer)
    }

    /// Remembers a secret's stand-in handed out in a replay
    /// ([`secret_stand_in`]): later requests are compared with it redacted,
    /// as the recording was.
    pub fn remember_stand_in(&self, stand_in: String) {
        if let Some(mut state) = self.state() {
            state.stand_ins.push(stand_in);
            let redactor = Redactor::new(&state.stand_ins);
            state.redactor = (!redactor.is_empty()).then_some(redactor);
        }
    }

    /// Records a live call and its answer.
    pub fn record(&self, call: impl Recorded + 'static) {
        if let Some(mut state) = self.state() {
            let size = call.size();
            push_call(
                &mut state.recorded,
                size,
                Call(CallForm::Live(Box::new(call))),
            );
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
            state.recorded.calls.push(Call::written(
                interface,
                operation,
                Value::Null,
                Value::Null,
            ));
        }
        Some(Slot {
            interface: interface.to_string(),
            operation: operation.to_string(),
            index,
            source_index,
        })
    }

    /// In a replay, the answer recorded at `slot`'s place — or `failed("not
    /// recorded")` when that call asked something else, or the `refusal`
    /// as in [`Tape::replay`] — filled in. `None` when live: make the call,
    /// then [`Tape::fill`] the slot.
    pub fn replay_slot(
        &self,
        slot: &Slot,
        request: impl FnOnce() -> Value,
        refusal: impl FnOnce() -> Option<GuestError>,
    ) -> Option<Value> {
        let source_index = slot.source_index?;
        let request = request();
        let refused = refusal();
        let mut state = self.state()?;
        let probe = redacted(state.redactor.as_ref(), &request);
        let source = state.replay.as_ref()?.source.clone();
        let (_, answer) = replayed_answer(
            source.calls.get(source_index),
            &slot.interface,
            &slot.operation,
            &probe,
            refused,
        );
        let size = json_len(&request) + json_len(&answer);
        let call = Call::written(&slot.interface, &slot.operation, request, answer.clone());
        fill_call(&mut state.recorded, slot.index, size, call);
        Some(answer)
    }

    /// Records a reserved call's request and answer.
    pub fn fill(&self, slot: Slot, call: impl Recorded + 'static) {
        if let Some(mut state) = self.state() {
            let size = call.size();
            let call = Call(CallForm::Live(Box::new(call)));
            fill_call(&mut state.recorded, slot.index, size, call);
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

/// `request` as the recording holds it: the secrets' stand-ins redacted.
fn redacted<'a>(redactor: Option<&Redactor>, request: &'a Value) -> Cow<'a, Value> {
    match redactor {
        None => Cow::Borrowed(request),
        Some(redactor) => {
            let mut probe = request.clone();
            scrub_value(&mut probe, &|text| redactor.scrub(text));
            Cow::Owned(probe)
        }
    }
}

/// How a replay answers a call, given the recorded call in its place, and
/// whether that recorded call asked the same. When it did: its answer — or
/// the replayed build's refusal, when the recording was answered (a call
/// the recording already failed keeps its error: the checks made before a
/// refusal, a malformed request or a spent budget, answered it, as they
/// would again). When it did not: the refusal, or `failed("not recorded")`.
fn replayed_answer(
    source: Option<&Call>,
    interface: &str,
    operation: &str,
    request: &Value,
    refused: Option<GuestError>,
) -> (bool, Value) {
    match source {
        Some(call) if call.asks(interface, operation, request) => {
            let answer = call.answer().into_owned();
            let answer = match refused {
                Some(e) if answer.get("ok").is_some() => error_value(&e),
                _ => answer,
            };
            (true, answer)
        }
        _ => {
            let e = refused.unwrap_or_else(|| GuestError::Failed(NOT_RECORDED.into()));
            (false, error_value(&e))
        }
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

fn fill_call(transcript: &mut Transcript, index: usize, size: usize, call: Call) {
    let fits = reserve(transcript, size);
    if let Some(place) = transcript.calls.get_mut(index).filter(|_| fits) {
        *place = call;
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

/// Appends `call` (its request and answer about `size` bytes as JSON).
fn push_call(transcript: &mut Transcript, size: usize, call: Call) {
    let size = size + call.interface().len() + call.operation().len();
    if reserve(transcript, size) {
        transcript.calls.push(call);
    }
}

/// About the size of `value` as JSON (strings unescaped), counted without
/// writing it out.
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

/// The size a [`Recorded`] call counts for a string, bytes or an error:
/// about their length as JSON, with room for the key that names them.
pub fn text_size(text: &str) -> usize {
    text.len() + 16
}

/// As [`text_size`], for bytes (base64 when not UTF-8: a third more).
pub fn bytes_size(bytes: &[u8]) -> usize {
    bytes.len() * 4 / 3 + 24
}

/// As [`text_size`], for an answer: the ok value's size, or the error's.
pub fn result_size<T>(result: &Result<T, GuestError>, size: impl FnOnce(&T) -> usize) -> usize {
    match result {
        Ok(v) => size(v) + 8,
        Err(e) => text_size(error_message(e)) + 20,
    }
}

fn error_message(e: &GuestError) -> &str {
    match e {
        GuestError::Denied(m)
        | GuestError::Invalid(m)
        | GuestError::Failed(m)
        | GuestError::Limited(m) => m,
    }
}

/// Applies `scrub` to a recorded error's message.
pub fn scrub_error(e: &mut GuestError, scrub: &dyn Fn(&mut String)) {
    match e {
        GuestError::Denied(m)
        | GuestError::Invalid(m)
        | GuestError::Failed(m)
        | GuestError::Limited(m) => scrub(m),
    }
}

/// Applies `scrub` to recorded bytes: text as text; other bytes in the
/// base64 form they are written out in ([`bytes_value`]), which is kept as
/// text when it held a secret (`[REDACTED]` is not base64).
pub fn scrub_bytes(bytes: &mut Vec<u8>, scrub: &dyn Fn(&mut String)) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut text = text.to_string();
            scrub(&mut text);
            *bytes = text.into_bytes();
        }
        Err(_) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let mut text = encoded.clone();
            scrub(&mut text);
            if text != encoded {
                *bytes = text.into_bytes();
            }
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

    /// A call as a capability would record it.
    #[derive(Debug)]
    struct TestCall {
        operation: &'static str,
        request: Value,
        answer: Value,
    }

    fn kv_get(request: Value, answer: Value) -> TestCall {
        TestCall {
            operation: "get",
            request,
            answer,
        }
    }

    impl Recorded for TestCall {
        fn interface(&self) -> &'static str {
            "kv"
        }
        fn operation(&self) -> &'static str {
            self.operation
        }
        fn request(&self) -> Value {
            self.request.clone()
        }
        fn answer(&self) -> Value {
            self.answer.clone()
        }
        fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
            scrub_value(&mut self.request, scrub);
        }
        fn size(&self) -> usize {
            json_len(&self.request) + json_len(&self.answer)
        }
    }

    #[test]
    fn a_replay_answers_in_order_and_refuses_what_differs() {
        let live = Tape::recording(7);
        live.record(kv_get(json!({"key": "a"}), ok_value(json!(null))));
        live.record(kv_get(json!({"key": "b"}), ok_value(json!({"text": "1"}))));
        let mut bytes = [0u8; 4];
        live.random(true, &mut bytes, |d| d.copy_from_slice(&[1, 2, 3, 4]));
        assert_eq!(live.wall_clock(|| 42), 42);
        let source = Arc::new(live.finish().unwrap());
        assert_eq!(source.random, "01020304");

        let replay = Tape::replaying(source.clone());
        assert!(replay.is_replaying());
        let first = replay
            .replay("kv", "get", || json!({"key": "a"}), || None)
            .unwrap();
        assert_eq!(first, *source.calls[0].answer());
        // The next recorded call is for "b": "c" is not recorded.
        let other = replay
            .replay("kv", "get", || json!({"key": "c"}), || None)
            .unwrap();
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
        assert_eq!(*replayed.calls[1].request(), json!({"key": "c"}));
    }

    #[test]
    fn a_replay_answers_what_its_manifest_refuses_with_the_refusal() {
        let live = Tape::recording(7);
        live.record(kv_get(json!({"key": "a"}), ok_value(json!({"text": "1"}))));
        live.record(kv_get(json!({"key": "b"}), ok_value(json!(null))));
        let replay = Tape::replaying(Arc::new(live.finish().unwrap()));
        let denied = GuestError::Denied("kv is not declared in the manifest".into());
        let first = replay.replay("kv", "get", || json!({"key": "a"}), || Some(denied.clone()));
        assert_eq!(first, Some(error_value(&denied)));
        // The refused call was made: the next one is still answered.
        let second = replay.replay("kv", "get", || json!({"key": "b"}), || None);
        assert_eq!(second, Some(ok_value(json!(null))));
        let replayed = replay.finish().unwrap();
        assert_eq!(*replayed.calls[0].answer(), error_value(&denied));
    }

    #[test]
    fn a_request_carrying_a_secrets_stand_in_matches_the_redacted_recording() {
        let live = Tape::recording(7);
        // As recorded, then redacted: the value became the placeholder.
        let header =
            |token: &str| json!({"headers": [["authorization", format!("Bearer {token}")]]});
        live.record(kv_get(
            header("[REDACTED]"),
            ok_value(json!("[REDACTED] echoed")),
        ));
        let replay = Tape::replaying(Arc::new(live.finish().unwrap()));
        let stand_in = secret_stand_in(8);
        replay.remember_stand_in(stand_in.clone());
        let answer = replay.replay("kv", "get", || header(&stand_in), || None);
        assert_eq!(answer, Some(ok_value(json!("[REDACTED] echoed"))));
    }

    #[test]
    fn calls_in_flight_together_keep_the_order_they_were_made_in() {
        let live = Tape::recording(1);
        let first = live.reserve("kv", "get").unwrap();
        let second = live.reserve("kv", "get").unwrap();
        // The second finishes first.
        live.fill(second, kv_get(json!("b"), ok_value(json!(2))));
        live.fill(first, kv_get(json!("a"), ok_value(json!(1))));
        let source = Arc::new(live.finish().unwrap());
        assert_eq!(*source.calls[0].request(), json!("a"));

        let replay = Tape::replaying(source);
        let first = replay.reserve("kv", "get").unwrap();
        let second = replay.reserve("kv", "get").unwrap();
        assert_eq!(
            replay.replay_slot(&second, || json!("b"), || None),
            Some(ok_value(json!(2)))
        );
        assert_eq!(
            replay.replay_slot(&first, || json!("a"), || None),
            Some(ok_value(json!(1)))
        );
        let replayed = replay.finish().unwrap();
        assert_eq!(*replayed.calls[1].answer(), ok_value(json!(2)));
    }

    #[test]
    fn a_transcript_over_its_cap_stops_and_says_so() {
        let tape = Tape::recording(0);
        let big = "x".repeat(MAX_TRANSCRIPT_BYTES / 2);
        for _ in 0..3 {
            tape.record(kv_get(json!({ "message": big }), json!(null)));
        }
        let transcript = tape.finish().unwrap();
        assert!(!transcript.complete);
        assert_eq!(transcript.calls.len(), 1);
        assert!(transcript.bytes as usize <= MAX_TRANSCRIPT_BYTES);
    }

    #[test]
    fn a_stored_transcript_reads_back_the_same() {
        let tape = Tape::recording(9);
        tape.record(kv_get(json!({"key": "k"}), ok_value(json!({"text": "v"}))));
        let small = tape.finish().unwrap();
        let stored = small.to_stored().unwrap();
        assert_eq!(stored[0], b'{', "a small transcript is stored as JSON");
        // Read back, the live call is its JSON, and equal to it.
        let read = Transcript::from_stored(&stored).unwrap();
        assert_eq!(read, small);
        assert_eq!(read.calls[0].host_call().operation, "get");

        let tape = Tape::recording(9);
        for i in 0..200 {
            tape.record(kv_get(
                json!({"key": format!("k{i}")}),
                ok_value(json!(null)),
            ));
        }
        let large = tape.finish().unwrap();
        let stored = large.to_stored().unwrap();
        assert!(stored.starts_with(&GZIP_MAGIC));
        assert!(stored.len() < serde_json::to_vec(&large).unwrap().len() / 2);
        assert_eq!(Transcript::from_stored(&stored).unwrap(), large);

        assert!(Transcript::from_stored(b"not json").is_err());
        assert!(Transcript::from_stored(&[0x1f, 0x8b, 0]).is_err());
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
